//! The demo bundle built into the binary (see `build.rs`): the newest Fashion-MNIST version of
//! `examples/models/fashion-mnist/`. `litecnn serve` without a model writes it to the cache
//! directory once and serves it from there.

use std::path::{Path, PathBuf};

use anyhow::Context;

include!(concat!(env!("OUT_DIR"), "/demo_bundle.rs"));

/// The demo bundle on disk: `<cache>/litecnn/demo/<version>/`, written when missing or when
/// its files differ from the embedded ones. The caller verifies it like any bundle.
pub fn extract() -> anyhow::Result<PathBuf> {
    let dir = cache_dir().join("demo").join(VERSION);
    if matches_embedded(&dir) {
        return Ok(dir);
    }
    write(&dir).with_context(|| format!("cannot write the demo bundle to {}", dir.display()))?;
    Ok(dir)
}

/// `$XDG_CACHE_HOME/litecnn`, else `~/.cache/litecnn`, else the temporary directory.
fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("litecnn")
}

fn matches_embedded(dir: &Path) -> bool {
    FILES
        .iter()
        .all(|(name, bytes)| std::fs::read(dir.join(name)).is_ok_and(|b| b == *bytes))
}

/// Writes into a private sibling directory, then renames it into place, so a concurrent
/// reader never sees half a bundle.
fn write(dir: &Path) -> std::io::Result<()> {
    let staging = dir.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)?;
    for (name, bytes) in FILES {
        std::fs::write(staging.join(name), bytes)?;
    }
    let _ = std::fs::remove_dir_all(dir);
    match std::fs::rename(&staging, dir) {
        Ok(()) => Ok(()),
        // Another process put the same bundle in place first.
        Err(_) if matches_embedded(dir) => std::fs::remove_dir_all(&staging),
        Err(e) => Err(e),
    }
}
