//! The full verification on a bundle of the committed tiny model: it passes as built, and each
//! model, label and golden fault stops it at the right step with a message naming the cause.

mod common;

use std::fs;
use std::path::Path;

use common::{Failures, TempDir, VERSION, golden_tensors, write_tiny_bundle};
use litecnn_bundle::golden::compare;
use litecnn_bundle::writer::{write_checksums, write_golden};
use litecnn_bundle::{Bundle, BundleError, GoldenError, Status, verify};
use litecnn_engine::Tensor;
use serde_json::{Value, json};

fn step_names(report: &litecnn_bundle::VerifyReport) -> Vec<&str> {
    report.steps.iter().map(|s| s.name).collect()
}

#[test]
fn a_good_bundle_passes_every_step() {
    let root = TempDir::new("good");
    let dir = root.path().join(VERSION);
    write_tiny_bundle(&dir, |_| {});
    let outcome = verify(&dir, None);
    let report = &outcome.report;
    assert!(report.ok(), "{report}");
    assert_eq!(
        step_names(report),
        [
            "checksums",
            "signature",
            "manifest",
            "directory name",
            "model",
            "labels",
            "golden"
        ]
    );
    assert!(
        report.steps.iter().all(|s| s.status == Status::Passed),
        "{report}"
    );
    let verified = outcome.result.unwrap();
    assert_eq!(report.digest.as_ref(), Some(verified.bundle.digest()));
    assert_eq!(report.version.as_deref(), Some(VERSION));
    let golden = &verified.golden;
    assert_eq!((golden.samples, golden.classes), (2, 10));
    // litecnn against ONNX Runtime on the same input: float rounding only.
    assert!(golden.max_abs_error < 1e-4, "{}", golden.max_abs_error);
    let text = report.to_string();
    for needle in [
        "✓ checksums",
        "digest sha256:",
        "✓ golden",
        "max abs error",
        "10 labels",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
}

#[test]
fn the_directory_name_is_a_warning_outside_a_repository() {
    let dir = TempDir::new("staging");
    write_tiny_bundle(dir.path(), |_| {});
    let outcome = verify(dir.path(), None);
    assert!(outcome.report.ok(), "{}", outcome.report);
    let step = &outcome.report.steps[3];
    assert_eq!(
        (step.name, step.status, step.ok),
        ("directory name", Status::Warning, true)
    );
    assert!(step.detail.contains(VERSION), "{}", step.detail);
    let bundle = outcome.result.unwrap().bundle;
    let err = bundle.check_dir_name().unwrap_err();
    assert!(matches!(err, BundleError::DirName { .. }), "{err}");
}

/// Manifest edits that the model, labels or golden steps must catch.
#[test]
fn model_and_label_faults_stop_at_their_step() {
    type Edit = fn(&mut Value);
    #[rustfmt::skip]
    let cases: Vec<(&str, Edit, &str, &str)> = vec![
        (
            "nine labels",
            |m| {
                m["labels"].as_array_mut().unwrap().pop();
            },
            "labels",
            "model.onnx: 10 output classes, but litecnn.json has 9 labels",
        ),
        ("unknown output", |m| m["model"]["output"] = json!("probs"), "model", r#"model.onnx: has no output named "probs" (manifest model.output); it has "logits""#),
        ("unknown input", |m| m["model"]["input"] = json!("image"), "model", r#"has no input named "image" (manifest model.input)"#),
        ("crop mismatch", |m| m["preprocess"]["center_crop"] = json!([224, 224]), "model", "model.onnx: input is 64x64 but litecnn.json preprocess.center_crop is [224, 224]"),
        (
            "tight tolerance",
            |m| {
                m["golden"]["atol"] = json!(0);
                m["golden"]["rtol"] = json!(0)
            },
            "golden",
            "outputs exceed the tolerance",
        ),
    ];
    let mut failures = Failures::default();
    for (case, edit, step, needle) in cases {
        let dir = TempDir::new("fault");
        write_tiny_bundle(dir.path(), edit);
        let outcome = verify(dir.path(), None);
        let last = outcome.report.steps.last().unwrap();
        failures.check(last.name == step && !last.ok, || {
            format!(
                "{case}: expected to fail at {step}, report:\n{}",
                outcome.report
            )
        });
        failures.expect_err(case, outcome.result.map(|_| ()), needle);
    }
    failures.assert_none();
}

/// Rewrites the golden file (and the checksums, as a publisher would) with edited tensors.
fn rewrite_golden(dir: &Path, edit: impl FnOnce(&mut Vec<f32>, &mut Vec<f32>)) {
    let (input, output) = golden_tensors();
    let (mut x, mut y) = (
        input.as_f32().unwrap().to_vec(),
        output.as_f32().unwrap().to_vec(),
    );
    edit(&mut x, &mut y);
    let x = Tensor::from_f32(input.shape().to_vec(), x).unwrap();
    let y = Tensor::from_f32(output.shape().to_vec(), y).unwrap();
    write_golden(&dir.join("golden.safetensors"), &x, &y).unwrap();
    write_checksums(dir).unwrap();
}

#[test]
fn golden_faults_are_named() {
    type Edit = fn(&mut Vec<f32>, &mut Vec<f32>);
    #[rustfmt::skip]
    let cases: Vec<(&str, Edit, &str)> = vec![
        ("one value off", |_, y| y[13] += 0.5, "1 of 20 outputs exceed the tolerance; worst [1, 3]"),
        ("NaN input gives NaN output", |x, _| x[0] = f32::NAN, "output [0, 0] is NaN"),
        ("NaN in the golden output", |_, y| y[4] = f32::NAN, "golden.safetensors: output [0, 4] is NaN; golden outputs must be finite"),
    ];
    let mut failures = Failures::default();
    for (case, edit, needle) in cases {
        let dir = TempDir::new("golden");
        write_tiny_bundle(dir.path(), |_| {});
        rewrite_golden(dir.path(), edit);
        let outcome = verify(dir.path(), None);
        let last = outcome.report.steps.last().unwrap();
        failures.check(
            last.name == "golden" && last.status == Status::Failed,
            || format!("{case}: report:\n{}", outcome.report),
        );
        failures.expect_err(case, outcome.result.map(|_| ()), needle);
    }
    failures.assert_none();
}

#[test]
fn golden_file_faults_are_named() {
    #[rustfmt::skip]
    let bad_files: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not safetensors", b"hello".to_vec(), "golden.safetensors: not a safetensors file"),
        ("no output tensor", only_input(), r#"golden.safetensors: has no tensor "output""#),
    ];
    let mut failures = Failures::default();
    for (case, bytes, needle) in bad_files {
        let dir = TempDir::new("golden-file");
        write_tiny_bundle(dir.path(), |_| {});
        fs::write(dir.path().join("golden.safetensors"), bytes).unwrap();
        write_checksums(dir.path()).unwrap();
        failures.expect_err(case, verify(dir.path(), None).result.map(|_| ()), needle);
    }
    failures.assert_none();
}

fn only_input() -> Vec<u8> {
    let (input, _) = golden_tensors();
    let bytes: Vec<u8> = input
        .as_f32()
        .unwrap()
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let view = safetensors::tensor::TensorView::new(
        safetensors::Dtype::F32,
        input.shape().to_vec(),
        &bytes,
    )
    .unwrap();
    safetensors::serialize([("input", view)], None).unwrap()
}

#[test]
fn tolerance_is_atol_plus_rtol_times_golden() {
    // (ours, golden, atol, rtol, passes)
    let cases = [
        (1.0, 1.0, 0.0, 0.0, true),
        (1.5, 1.0, 0.5, 0.0, true),
        (1.5, 1.0, 0.25, 0.25, true),
        (1.51, 1.0, 0.25, 0.25, false),
        (-3.0, -2.0, 0.0, 0.5, true),
        (-3.01, -2.0, 0.0, 0.5, false),
        (1e-7, 0.0, 0.0, 1.0, false),
    ];
    let mut failures = Failures::default();
    for (ours, golden, atol, rtol, passes) in cases {
        let result = compare(&[ours], &[golden], 1, atol, rtol);
        failures.check(result.is_ok() == passes, || {
            format!("ours {ours} golden {golden} atol {atol} rtol {rtol}: {result:?}")
        });
    }
    let nan = compare(&[f32::NAN], &[1.0], 1, 1e9, 1e9);
    failures.check(matches!(nan, Err(GoldenError::NotFinite { .. })), || {
        format!("NaN: {nan:?}")
    });
    failures.assert_none();
}

#[test]
fn open_is_cheap_and_stops_at_checksums() {
    let dir = TempDir::new("open");
    write_tiny_bundle(dir.path(), |_| {});
    let bundle = Bundle::open(dir.path(), None).unwrap();
    assert_eq!(bundle.labels().len(), 10);
    assert_eq!(bundle.model_path(), dir.path().join("model.onnx"));
    let model = bundle.load_model().unwrap();
    assert!(bundle.check_golden(&model).is_ok());
    // The typed writer round-trips through open.
    let typed = TempDir::new("typed");
    common::write_typed_bundle(typed.path(), bundle.manifest());
    assert_eq!(
        Bundle::open(typed.path(), None).unwrap().manifest(),
        bundle.manifest()
    );
    // A tampered model fails before anything parses it, and is worth a retry.
    let mut bytes = fs::read(dir.path().join("model.onnx")).unwrap();
    bytes[100] ^= 1;
    fs::write(dir.path().join("model.onnx"), bytes).unwrap();
    let outcome = verify(dir.path(), None);
    assert_eq!(step_names(&outcome.report), ["checksums"]);
    let err = outcome.result.unwrap_err();
    assert!(
        err.to_string().starts_with("model.onnx: SHA-256 is "),
        "{err}"
    );
    assert!(!err.is_permanent());
}
