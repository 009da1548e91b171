//! Helpers shared by the bundle tests: temporary directories, the committed tiny model as a
//! bundle, and a collector that reports every failing case of a table at once.
#![allow(dead_code)] // each test binary uses a different subset

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use litecnn_bundle::Manifest;
use litecnn_bundle::writer::{write_checksums, write_golden, write_manifest};
use litecnn_engine::Tensor;
use serde_json::{Value, json};

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "litecnn-bundle-test-{}-{n}-{tag}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Collects the failures of a table-driven test and reports them all at the end.
#[derive(Default)]
pub struct Failures(Vec<String>);

impl Failures {
    pub fn check(&mut self, ok: bool, message: impl FnOnce() -> String) {
        if !ok {
            self.0.push(message());
        }
    }

    /// For an error expected to contain `needle`. With `SHOW_ERRORS=1` (and `--nocapture`) the
    /// expected messages are printed too, to read them as a user would.
    pub fn expect_err<T: std::fmt::Debug, E: std::fmt::Display>(
        &mut self,
        case: &str,
        result: Result<T, E>,
        needle: &str,
    ) {
        match result {
            Ok(v) => self.0.push(format!(
                "{case}: expected an error with {needle:?}, got Ok({v:?})"
            )),
            Err(e) if !e.to_string().contains(needle) => self.0.push(format!(
                "{case}: expected {needle:?} in the error, got: {e}"
            )),
            Err(e) => {
                if std::env::var_os("SHOW_ERRORS").is_some() {
                    eprintln!("{case}: {e}");
                }
            }
        }
    }

    pub fn assert_none(self) {
        assert!(
            self.0.is_empty(),
            "{} failing case(s):\n  {}",
            self.0.len(),
            self.0.join("\n  ")
        );
    }
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

/// Reads a float32, C-order `.npy` (version 1) as the fixtures are written.
pub fn read_npy(path: &Path) -> Tensor {
    let bytes = fs::read(path).unwrap();
    assert!(
        bytes.starts_with(b"\x93NUMPY\x01"),
        "{}: not a v1 .npy",
        path.display()
    );
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert!(
        header.contains("'<f4'") && header.contains("False"),
        "{header}"
    );
    let shape_text = &header[header.find("'shape': (").unwrap() + 10..];
    let shape: Vec<usize> = shape_text[..shape_text.find(')').unwrap()]
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let data = bytes[10 + header_len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Tensor::from_f32(shape, data).unwrap()
}

pub const VERSION: &str = "20261126T061200Z-3f9a1c";

/// A valid manifest for the tiny fixture model (10 classes, 64x64 input).
pub fn manifest_json() -> Value {
    let labels: Vec<Value> = (0..10)
        .map(|i| json!({"name": format!("class {i}"), "note": format!("n{i}")}))
        .collect();
    json!({
        "format": "litecnn-bundle/1",
        "name": "tiny",
        "version": VERSION,
        "created_at": "2026-11-26T06:12:00Z",
        "model": {"file": "model.onnx", "input": "input", "output": "logits", "output_kind": "logits"},
        "preprocess": {"resize_shorter": 73, "center_crop": [64, 64], "interpolation": "bilinear",
                       "antialias": true, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
                       "color": "RGB"},
        "labels": labels,
        "golden": {"file": "golden.safetensors", "atol": 1e-4, "rtol": 1e-3},
        "metrics": {"val_top1": 0.5},
        "source": {"checkpoint": "tiny.pth"}
    })
}

/// The fixture's golden tensors: its input and ONNX Runtime's output on it.
pub fn golden_tensors() -> (Tensor, Tensor) {
    (
        read_npy(&fixture("tiny_cnn_input.npy")),
        read_npy(&fixture("tiny_cnn_expected.npy")),
    )
}

/// Writes a complete, valid bundle of the tiny model into `dir` (created if needed), with
/// `edit` applied to the manifest JSON first.
pub fn write_tiny_bundle(dir: &Path, edit: impl FnOnce(&mut Value)) {
    fs::create_dir_all(dir).unwrap();
    fs::copy(fixture("tiny_cnn.onnx"), dir.join("model.onnx")).unwrap();
    let (input, output) = golden_tensors();
    write_golden(&dir.join("golden.safetensors"), &input, &output).unwrap();
    let mut json = manifest_json();
    edit(&mut json);
    fs::write(
        dir.join("litecnn.json"),
        serde_json::to_vec_pretty(&json).unwrap(),
    )
    .unwrap();
    write_checksums(dir).unwrap();
}

/// Like [`write_tiny_bundle`] but through the typed writer, as a tool would.
pub fn write_typed_bundle(dir: &Path, manifest: &Manifest) {
    fs::create_dir_all(dir).unwrap();
    fs::copy(fixture("tiny_cnn.onnx"), dir.join("model.onnx")).unwrap();
    let (input, output) = golden_tensors();
    write_golden(&dir.join("golden.safetensors"), &input, &output).unwrap();
    write_manifest(dir, manifest).unwrap();
    write_checksums(dir).unwrap();
}
