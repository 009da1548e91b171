//! Embeds the demo bundle — the newest Fashion-MNIST version, as named by
//! `examples/models/fashion-mnist/LATEST` — into the binary, so `litecnn serve` without a model
//! works from any directory (DESIGN §9). Generates `$OUT_DIR/demo_bundle.rs` with the version
//! and one `include_bytes!` per file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let repo = manifest_dir.join("../../examples/models/fashion-mnist");
    let latest = repo.join("LATEST");
    println!("cargo:rerun-if-changed={}", latest.display());
    let version = fs::read_to_string(&latest)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", latest.display()))
        .trim()
        .to_owned();
    let dir = repo.join(&version);
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut code =
        format!("/// The demo bundle's version.\npub const VERSION: &str = {version:?};\n");
    code.push_str(
        "/// The demo bundle's files: name and content.\npub const FILES: &[(&str, &[u8])] = &[\n",
    );
    for file in files(&dir) {
        let name = file
            .file_name()
            .expect("a file")
            .to_string_lossy()
            .into_owned();
        let path = file.canonicalize().expect("the file exists");
        println!("cargo:rerun-if-changed={}", path.display());
        let _ = writeln!(
            code,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("demo_bundle.rs");
    fs::write(&out, code).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}

/// The bundle's regular files, sorted by name.
fn files(dir: &Path) -> Vec<PathBuf> {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}
