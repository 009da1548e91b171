//! The committed demo: two versions of the Fashion-MNIST bundle and its hold-out images, and a
//! store laid out as the deployer leaves it (`<store>/bundles/<hex>/`, `<store>/current`).

use std::path::{Path, PathBuf};

use litecnn_bundle::Digest;

pub const V1: &str = "20261126T093546Z-e025eb";
pub const V2: &str = "20261126T094737Z-70eb3a"; // LATEST: the built-in demo

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

pub fn bundle(version: &str) -> PathBuf {
    examples().join("models/fashion-mnist").join(version)
}

fn sorted(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
}

/// The first hold-out image file of `class` (a PNG).
pub fn holdout_file(class: &str) -> PathBuf {
    sorted(&examples().join("fashion-mnist/holdout").join(class)).remove(0)
}

/// The first hold-out image of every class, with its class name.
pub fn holdout_images() -> Vec<(String, Vec<u8>)> {
    sorted(&examples().join("fashion-mnist/holdout"))
        .into_iter()
        .map(|dir| {
            let class = dir.file_name().unwrap().to_string_lossy().into_owned();
            let image = std::fs::read(holdout_file(&class)).unwrap();
            (class, image)
        })
        .collect()
}

/// Copies a bundle into `<store>/bundles/<hex>/` and returns its digest.
pub fn add_to_store(store: &Path, version: &str) -> Digest {
    let source = bundle(version);
    let digest = Digest::of(&std::fs::read(source.join("SHA256SUMS")).unwrap());
    let dir = store.join("bundles").join(digest.hex());
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    digest
}

/// Points `<store>/current` at `digest`, atomically (temp file + rename).
pub fn promote(store: &Path, digest: &Digest) {
    let temp = store.join("current.tmp");
    std::fs::write(&temp, format!("{digest}\n")).unwrap();
    std::fs::rename(&temp, store.join("current")).unwrap();
}
