//! `litecnn.json` parsing: the valid manifest, and one case per way it can be wrong, each
//! error naming the file and the field.

mod common;

use common::{Failures, manifest_json};
use litecnn_bundle::{Manifest, OutputKind};
use serde_json::{Value, json};

fn parse(json: &Value) -> Result<Manifest, litecnn_bundle::ManifestError> {
    Manifest::parse(&serde_json::to_vec(json).unwrap())
}

/// Applies `edit` to the valid manifest; `path` is a JSON pointer.
fn edited(path: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut json = manifest_json();
    edit(
        json.pointer_mut(path)
            .unwrap_or_else(|| panic!("no {path}")),
    );
    json
}

/// Sets (or adds) the field at `path`.
fn set(path: &str, value: Value) -> Value {
    let (parent, key) = path.rsplit_once('/').unwrap();
    edited(parent, |v| match v {
        Value::Array(items) => items[key.parse::<usize>().unwrap()] = value,
        _ => {
            v.as_object_mut().unwrap().insert(key.to_owned(), value);
        }
    })
}

fn without(path: &str) -> Value {
    let (parent, key) = path.rsplit_once('/').unwrap();
    edited(parent, |v| {
        v.as_object_mut().unwrap().shift_remove(key);
    })
}

#[test]
fn the_valid_manifest_parses_into_typed_fields() {
    let m = parse(&manifest_json()).unwrap();
    assert_eq!(
        (m.name.as_str(), m.version.as_str()),
        ("tiny", common::VERSION)
    );
    assert_eq!(m.model.file, "model.onnx");
    assert_eq!(m.model.output_kind, OutputKind::Logits);
    assert_eq!(m.preprocess.center_crop, [64, 64]);
    assert_eq!(m.labels.len(), 10);
    assert_eq!(m.labels[3].name, "class 3");
    assert_eq!(m.labels[3].extra["note"], "n3");
    assert_eq!((m.golden.atol, m.golden.rtol), (1e-4, 1e-3));
    // What the writer emits, the parser reads back unchanged.
    let again = Manifest::parse(&serde_json::to_vec(&m).unwrap()).unwrap();
    assert_eq!(again, m);
}

#[test]
fn accepted_variations() {
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(serde_json::to_vec(&manifest_json()).unwrap());
    let cases: Vec<(&str, Result<Manifest, _>)> = vec![
        ("byte-order mark", Manifest::parse(&bom)),
        (
            "probabilities",
            parse(&set("/model/output_kind", json!("probabilities"))),
        ),
        (
            "unknown top-level key",
            parse(&set("/future_field", json!(1))),
        ),
        ("no metrics", parse(&without("/metrics"))),
        ("no source", parse(&without("/source"))),
        ("no created_at", parse(&without("/created_at"))),
        ("integer tolerance", parse(&set("/golden/atol", json!(0)))),
        (
            "matching index dropped",
            parse(&set("/labels/2/index", json!(2))),
        ),
    ];
    let mut failures = Failures::default();
    for (case, result) in cases {
        failures.check(result.is_ok(), || {
            format!("{case}: {}", result.unwrap_err())
        });
    }
    failures.assert_none();
    let m = parse(&set("/labels/2/index", json!(2))).unwrap();
    assert!(!m.labels[2].extra.contains_key("index"));
}

#[test]
fn every_error_names_the_file_and_the_field() {
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, &str)> = vec![
        ("missing model.file", without("/model/file"), r#"litecnn.json: field "model.file" is missing"#),
        ("missing version", without("/version"), r#"litecnn.json: field "version" is missing"#),
        ("missing golden", without("/golden"), r#"litecnn.json: field "golden" is missing"#),
        ("missing preprocess.mean", without("/preprocess/mean"), r#"field "preprocess.mean" is missing"#),
        ("missing label name", without("/labels/1/name"), r#"field "labels[1].name" is missing"#),
        ("missing format", without("/format"), r#"litecnn.json: field "format" is missing"#),
        ("atol a string", set("/golden/atol", json!("1e-4")), r#"litecnn.json: field "golden.atol": invalid type: string"#),
        ("name a number", set("/name", json!(7)), r#"field "name": invalid type: integer"#),
        ("labels an object", set("/labels", json!({"0": "a"})), r#"field "labels": invalid type: map"#),
        ("crop of one", set("/preprocess/center_crop", json!([64])), r#"field "preprocess.center_crop""#),
        ("preprocess typo", set("/preprocess/mena", json!([0, 0, 0])), r#"field "preprocess.mena": unknown field `mena`, expected one of"#),
        ("unsupported interpolation", set("/preprocess/interpolation", json!("bicubic")), r#"field "preprocess": interpolation "bicubic" is not supported"#),
        ("zero std", set("/preprocess/std", json!([0.2, 0.0, 0.2])), r#"field "preprocess": mean"#),
        ("other format", set("/format", json!("litecnn-bundle/2")), r#"litecnn.json: "format" must be "litecnn-bundle/1", got "litecnn-bundle/2""#),
        ("format a number", set("/format", json!(1)), r#""format" must be "litecnn-bundle/1", got 1"#),
        ("negative atol", set("/golden/atol", json!(-1e-4)), r#"field "golden.atol" must be a finite number ≥ 0, got -0.0001"#),
        ("negative rtol", set("/golden/rtol", json!(-1)), r#"field "golden.rtol" must be a finite number ≥ 0"#),
        ("unknown output_kind", set("/model/output_kind", json!("softmax")), r#"field "model.output_kind": unknown variant `softmax`, expected `logits` or `probabilities`"#),
        ("model file escapes", set("/model/file", json!("../model.onnx")), r#"field "model.file": must be a plain file name"#),
        ("golden file in a subdirectory", set("/golden/file", json!("g/golden.safetensors")), r#"field "golden.file": must be a plain file name"#),
        ("version with a slash", set("/version", json!("v1/../../x")), r#"field "version": must be 1-128 characters"#),
        ("empty name", set("/name", json!("")), r#"field "name": must be 1-128 characters"#),
        ("empty input name", set("/model/input", json!("")), r#"field "model.input": must not be empty"#),
        ("no labels", set("/labels", json!([])), "litecnn.json: labels: there are no labels"),
        ("reserved label key", set("/labels/4/probability", json!(0.5)), r#"litecnn.json: labels: class 4: field "probability" is reserved"#),
        ("label key `label`", set("/labels/4/label", json!("x")), r#"class 4: field "label" is reserved"#),
        ("wrong label index", set("/labels/4/index", json!(5)), r#"class 4: field "index" is 5"#),
        ("empty label name", set("/labels/0/name", json!(" ")), "class 0: the name is empty"),
        ("label name a number", set("/labels/0/name", json!(3)), r#"field "labels[0].name": invalid type: integer"#),
        ("top level a list", json!([1, 2]), "the manifest must be a JSON object"),
    ];
    let mut failures = Failures::default();
    for (case, json, needle) in cases {
        failures.expect_err(case, parse(&json), needle);
    }
    let truncated = Manifest::parse(b"{\"format\": ");
    failures.expect_err("not JSON", truncated, "litecnn.json: not valid JSON");
    failures.assert_none();
}
