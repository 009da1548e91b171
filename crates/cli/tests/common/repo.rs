//! A model repository written the way the publisher writes it (bundle first, `LATEST` last by
//! rename), from the two committed demo bundles, for deployer tests.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub const V1: &str = "20261126T093546Z-e025eb";
pub const V2: &str = "20261126T094737Z-70eb3a";

pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

pub fn holdout() -> String {
    examples()
        .join("fashion-mnist/holdout")
        .display()
        .to_string()
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Publishes committed demo bundle `from` into the repository as `version`, rewriting its
/// manifest's version (and so its digest) when they differ, then `edit` may spoil it; LATEST
/// is written last, by rename, as the publisher does.
pub fn publish(repo: &Path, from: &str, version: &str, edit: impl FnOnce(&Path)) {
    let dir = repo.join(version);
    copy_dir(&examples().join("models/fashion-mnist").join(from), &dir);
    if from != version {
        let path = dir.join("litecnn.json");
        let mut manifest: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        manifest["version"] = Value::String(version.to_owned());
        fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
        litecnn_bundle::writer::write_checksums(&dir).unwrap();
    }
    edit(&dir);
    fs::write(repo.join("LATEST.tmp"), format!("{version}\n")).unwrap();
    fs::rename(repo.join("LATEST.tmp"), repo.join("LATEST")).unwrap();
}

/// Spoils a published bundle: one flipped byte in the middle of its model, after
/// `SHA256SUMS` was written (a transfer fault or tampering; caught at verify).
pub fn flip_a_byte(dir: &Path) {
    let path = dir.join("model.onnx");
    let mut bytes = fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&path, bytes).unwrap();
}

/// Spoils a published bundle: one label fewer than the model has classes, with checksums
/// that match (caught by the gate).
pub fn drop_a_label(dir: &Path) {
    let path = dir.join("litecnn.json");
    let mut manifest: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    manifest["labels"].as_array_mut().unwrap().pop();
    fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    litecnn_bundle::writer::write_checksums(dir).unwrap();
}
