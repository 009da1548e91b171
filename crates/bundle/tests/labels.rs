//! Label files in the three shapes of DESIGN §2/§9, and the rules every label obeys.

mod common;

use std::fs;

use common::{Failures, fixture};
use litecnn_bundle::{Label, parse_label_file};
use serde_json::{Map, Value, json};

fn names(labels: &[Label]) -> Vec<&str> {
    labels.iter().map(|l| l.name.as_str()).collect()
}

fn extra(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

#[test]
fn the_three_shapes_give_the_same_labels() {
    #[rustfmt::skip]
    let cases: Vec<(&str, &str)> = vec![
        ("list of strings", r#"["cat", "dog"]"#),
        ("list of objects", r#"[{"name": "cat"}, {"name": "dog"}]"#),
        ("keyed by index", r#"{"0": "cat", "1": {"name": "dog"}}"#),
        ("keyed, reverse order", r#"{"1": "dog", "0": "cat"}"#),
        ("first string field", r#"[{"id": 7, "en": "cat"}, {"en": "dog", "ko": "개"}]"#),
        ("index as a field", r#"[{"index": 0, "label": "cat"}, {"index": 1, "label": "dog"}]"#),
        ("byte-order mark", "\u{feff}[\"cat\", \"dog\"]"),
    ];
    let mut failures = Failures::default();
    for (case, text) in cases {
        match parse_label_file(text.as_bytes()) {
            Ok(labels) => failures.check(names(&labels) == ["cat", "dog"], || {
                format!("{case}: got {:?}", names(&labels))
            }),
            Err(e) => failures.check(false, || format!("{case}: {e}")),
        }
    }
    failures.assert_none();
}

#[test]
fn extra_fields_pass_through_in_file_order() {
    let text = r#"[{"zeta": 1, "breed_en": "Shiba Inu", "breed_ko": "시바 이누", "alpha": "a"}]"#;
    let labels = parse_label_file(text.as_bytes()).unwrap();
    // The first *string* field is the name, in file order — not alphabetical order.
    assert_eq!(labels[0].name, "Shiba Inu");
    let keys: Vec<&str> = labels[0].extra.keys().map(String::as_str).collect();
    assert_eq!(keys, ["zeta", "breed_ko", "alpha"]);
    let shown = serde_json::to_string(&labels[0]).unwrap();
    assert_eq!(
        shown,
        r#"{"name":"Shiba Inu","zeta":1,"breed_ko":"시바 이누","alpha":"a"}"#
    );
    // A matching `index` is redundant and dropped; `label` as the name source is consumed.
    let labels = parse_label_file(br#"[{"index": 0, "label": "cat", "x": 1}]"#).unwrap();
    assert_eq!(labels[0].name, "cat");
    assert_eq!(labels[0].extra, extra(json!({"x": 1})));
}

#[test]
fn index_keys_are_read_in_numeric_order() {
    // Written in string order: "10" and "11" sort before "2" as text.
    let mut keys: Vec<String> = (0..12).map(|i| i.to_string()).collect();
    keys.sort();
    let object: Map<String, Value> = keys
        .iter()
        .map(|k| (k.clone(), json!({"name": format!("class {k}")})))
        .collect();
    let labels = parse_label_file(&serde_json::to_vec(&object).unwrap()).unwrap();
    let expected: Vec<String> = (0..12).map(|i| format!("class {i}")).collect();
    assert_eq!(names(&labels), expected);
}

#[test]
fn bad_label_files_name_the_problem() {
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, &str)> = vec![
        ("gap", r#"{"0": "a", "1": "b", "3": "d"}"#, "class index 2 is missing (keys must be exactly 0..3)"),
        ("starts at 1", r#"{"1": "a", "2": "b"}"#, "class index 0 is missing"),
        ("word key", r#"{"0": "a", "cat": "b"}"#, r#"key "cat" is not a class index"#),
        ("leading zero", r#"{"0": "a", "01": "b"}"#, r#"key "01" is not a class index"#),
        ("negative", r#"{"0": "a", "-1": "b"}"#, r#"key "-1" is not a class index"#),
        ("decimal", r#"{"0": "a", "1.0": "b"}"#, r#"key "1.0" is not a class index"#),
        ("spaced", r#"{"0": "a", " 1": "b"}"#, r#"key " 1" is not a class index"#),
        ("empty list", "[]", "there are no labels"),
        ("empty object", "{}", "there are no labels"),
        ("a number", "7", "expected a list of labels or an object keyed by class index, got a number"),
        ("number entry", r#"["a", 2]"#, "class 1: expected a string or an object, got a number"),
        ("no string field", r#"[{"id": 1}]"#, r#"class 0: no "name", and no string field"#),
        ("name not a string", r#"[{"name": 1, "en": "a"}]"#, r#"class 0: "name" must be a string, got a number"#),
        ("empty name", r#"["a", ""]"#, "class 1: the name is empty"),
        ("probability", r#"[{"name": "a", "probability": 1}]"#, r#"class 0: field "probability" is reserved"#),
        ("label beside name", r#"[{"name": "a", "label": "b"}]"#, r#"class 0: field "label" is reserved"#),
        ("index mismatch", r#"[{"name": "a"}, {"name": "b", "index": 0}]"#, r#"class 1: field "index" is 0, but this is class 1"#),
        ("index as text", r#"[{"name": "a", "index": "0"}]"#, r#"class 0: field "index" is "0""#),
        ("not JSON", "[\"a\",", "not valid JSON"),
    ];
    let mut failures = Failures::default();
    for (case, text, needle) in cases {
        failures.expect_err(case, parse_label_file(text.as_bytes()), needle);
    }
    failures.assert_none();
}

#[test]
fn thudogs_labels_keyed_by_index_with_a_bom() {
    let bytes = fs::read(fixture("thudogs-labels.json")).unwrap();
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "the file is meant to carry a BOM"
    );
    let labels = parse_label_file(&bytes).unwrap();
    assert_eq!(labels.len(), 130);
    let expected = [
        (0, "Shiba Inu", "시바 이누"),
        (9, "miniature poodle", "미니어처 푸들"),
        (10, "Irish setter", "아이리시 세터"),
        (11, "affenpinscher", "아펜핀셔"),
        (129, "pug", "퍼그"),
    ];
    let mut failures = Failures::default();
    for (i, name, ko) in expected {
        let want = extra(json!({"breed_ko": ko}));
        failures.check(labels[i].name == name && labels[i].extra == want, || {
            format!("class {i}: got {:?}", labels[i])
        });
    }
    failures.check(labels.iter().all(|l| l.extra.len() == 1), || {
        "every label keeps exactly breed_ko as its extra field".into()
    });
    failures.assert_none();
}
