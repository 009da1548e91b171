//! `litecnn verify` exit codes (0 all passed, 3 rejected, 1 not a bundle at all) and bundles as
//! the MODEL of `litecnn run` and `bench`, run as a user runs them.

mod common;

use common::{fixture, litecnn};

use std::fs;
use std::path::{Path, PathBuf};

use litecnn_bundle::writer::{write_checksums, write_golden};
use litecnn_cli::npy;
use serde_json::json;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh directory per test, named after the manifest version so no warning shows.
fn bundle_dir(tag: &str) -> PathBuf {
    let root =
        std::env::temp_dir().join(format!("litecnn-cli-verify-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let dir = root.join("20261126T061200Z-3f9a1c");
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A bundle of the committed tiny model, its fixture input and ONNX Runtime's output as golden.
fn write_bundle(dir: &Path) {
    fs::copy(fixture("tiny_cnn.onnx"), dir.join("model.onnx")).unwrap();
    let input = npy::read_f32(&fixture("tiny_cnn_input.npy")).unwrap();
    let output = npy::read_f32(&fixture("tiny_cnn_expected.npy")).unwrap();
    write_golden(&dir.join("golden.safetensors"), &input, &output).unwrap();
    let labels: Vec<_> = (0..10)
        .map(|i| json!({"name": format!("class {i}")}))
        .collect();
    let manifest = json!({
        "format": "litecnn-bundle/1", "name": "tiny", "version": "20261126T061200Z-3f9a1c",
        "model": {"file": "model.onnx", "input": "input", "output": "logits", "output_kind": "logits"},
        "preprocess": {"resize_shorter": 73, "center_crop": [64, 64],
                       "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
        "labels": labels,
        "golden": {"file": "golden.safetensors", "atol": 1e-4, "rtol": 1e-3}
    });
    fs::write(
        dir.join("litecnn.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    write_checksums(dir).unwrap();
}

#[test]
fn verify_exits_0_on_a_good_bundle_and_3_on_a_rejected_one() {
    let dir = bundle_dir("codes");
    write_bundle(&dir);
    let path = dir.to_str().unwrap();
    let out = litecnn(&["verify", path]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    for needle in [
        "✓ checksums",
        "digest sha256:",
        "✓ signature",
        "✓ manifest",
        "tiny 20261126T061200Z-3f9a1c",
        "✓ labels",
        "10 labels",
        "✓ golden",
        "max abs error",
        "verified: tiny",
    ] {
        assert!(stdout.contains(needle), "{needle:?} not in:\n{stdout}");
    }

    let mut labels = fs::read_to_string(dir.join("litecnn.json")).unwrap();
    labels = labels.replace("class 9", "class nine");
    fs::write(dir.join("litecnn.json"), labels).unwrap();
    let out = litecnn(&["verify", path]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("✗ checksums"),
        "{}",
        text(&out.stdout)
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: bundle ") && stderr.contains("litecnn.json: SHA-256 is"),
        "{stderr}"
    );
    fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn verify_with_a_key_requires_a_signature() {
    let dir = bundle_dir("key");
    write_bundle(&dir);
    // A syntactically valid minisign public key (from `minisign -G`) that signed nothing here.
    let key = "RWQ2HdGhWYX7j0U43ffbpNfY/5XUCGLx09O1lzYdD/LcMxuFHe1WNidl";
    let out = litecnn(&["verify", dir.to_str().unwrap(), "--pubkey", key]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("SHA256SUMS.minisig is missing"),
        "{}",
        text(&out.stderr)
    );
    fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn usage_mistakes_exit_1() {
    let dir = bundle_dir("usage");
    write_bundle(&dir);
    #[rustfmt::skip]
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["verify", "/nonexistent/bundle"], "is not a directory"),
        (vec!["verify", dir.to_str().unwrap(), "--pubkey", "nonsense"], "bad --pubkey"),
    ];
    let mut failures = Vec::new();
    for (args, needle) in cases {
        let out = litecnn(&args);
        let stderr = text(&out.stderr);
        if out.status.code() != Some(1) || !stderr.contains(needle) {
            failures.push(format!("{args:?}: {:?} {stderr}", out.status.code()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn run_and_bench_take_a_bundle_directory() {
    let dir = bundle_dir("run");
    write_bundle(&dir);
    let out_path = dir.parent().unwrap().join("out.npy");
    let input = fixture("tiny_cnn_input.npy");
    let out = litecnn(&[
        "run",
        dir.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ours = npy::read_f32(&out_path).unwrap();
    let expected = npy::read_f32(&fixture("tiny_cnn_expected.npy")).unwrap();
    assert_eq!(ours.shape(), expected.shape());
    for (a, b) in ours
        .as_f32()
        .unwrap()
        .iter()
        .zip(expected.as_f32().unwrap())
    {
        assert!((a - b).abs() <= 1e-4 * b.abs().max(1.0), "{a} vs {b}");
    }
    let out = litecnn(&[
        "bench",
        dir.to_str().unwrap(),
        "--warmup",
        "0",
        "--iters",
        "1",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A tampered bundle is refused by `run` too, naming the file.
    fs::write(dir.join("model.onnx"), b"not a model").unwrap();
    let out = litecnn(&[
        "run",
        dir.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot open bundle") && stderr.contains("model.onnx: SHA-256 is"),
        "{stderr}"
    );
    fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}
