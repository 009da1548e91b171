//! The Python interpreter with PIL + torchvision (+ scikit-image for its photos): the test
//! venv that `./scripts/test` builds from `tests/requirements.txt`. Missing is a failure, not a
//! skip: a parity test that silently does not run proves nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `$LITECNN_PYTHON`, else the venv this machine's `./scripts/test` built.
pub fn interpreter() -> PathBuf {
    let path = std::env::var_os("LITECNN_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME is set");
            Path::new(&home).join(".cache/litecnn/venv-bc2463333c1b/bin/python")
        });
    assert!(
        path.exists(),
        "the reference Python interpreter {} does not exist: run ./scripts/test once (it builds \
         the venv from tests/requirements.txt) or set LITECNN_PYTHON to a python with torch, \
         torchvision, pillow and scikit-image",
        path.display()
    );
    path
}

/// Runs `script args...` and panics with its stderr if it fails.
pub fn run(script: &Path, args: &[&str]) {
    let out = Command::new(interpreter())
        .arg(script)
        .args(args)
        .output()
        .expect("the reference interpreter starts");
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
