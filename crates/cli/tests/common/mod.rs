//! Helpers shared by the CLI test binaries: the committed fixtures, running the real binary,
//! and scratch directories.

#![allow(dead_code)] // each test binary uses its own subset

pub mod history;
pub mod http;
pub mod repo;
pub mod server;
pub mod store;
pub mod traffic;
pub mod webhook;
pub mod wrk;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A file of the repository's `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

/// Runs the `litecnn` binary built for these tests.
pub fn litecnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_litecnn"))
        .args(args)
        .output()
        .expect("litecnn starts")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh, empty scratch directory unique to this test process and `tag`.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("litecnn-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
