//! The deployer's side of the store (DESIGN §4): it writes what the server reads.
//!
//! ```text
//! <store>/current            "sha256:<hex>\n", replaced by rename (the server watches it)
//! <store>/bundles/<hex>/     the kept bundles, each moved in whole by one rename
//! <store>/staging/           downloads and conversions in progress (safe to delete any time)
//! <store>/history.sqlite     attempts, promotions, rejections (history.rs)
//! <store>/deploy.lock        one deployer at a time (lock.rs)
//! <store>/watcher.json       the watcher's heartbeat (status.rs)
//! ```
//!
//! Every change a reader can see is one `rename`, so a crash at any moment leaves either the
//! old state or the new one: a half-fetched bundle only ever exists under `staging/`.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use litecnn_bundle::Digest;
use litecnn_bundle::store_layout::{self, BUNDLES_DIR, CURRENT_FILE, CurrentError};

pub const STAGING_DIR: &str = "staging";
pub const HISTORY_FILE: &str = "history.sqlite";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {}: {what}: {cause}", root.display())]
    Io {
        root: PathBuf,
        what: String,
        cause: io::Error,
    },
    #[error(transparent)]
    Current(#[from] CurrentError),
}

#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Opens the store at `root`, creating its directories when missing.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        let store = Store {
            root: root.to_path_buf(),
        };
        for dir in [root.to_path_buf(), root.join(BUNDLES_DIR), root.join(STAGING_DIR)] {
            fs::create_dir_all(&dir).map_err(|cause| store.io(format!("create {}", dir.display()), cause))?;
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn io(&self, what: impl Into<String>, cause: io::Error) -> StoreError {
        StoreError::Io {
            root: self.root.clone(),
            what: what.into(),
            cause,
        }
    }

    pub fn current(&self) -> Result<Option<Digest>, StoreError> {
        Ok(store_layout::current_digest(&self.root)?)
    }

    pub fn bundle_dir(&self, digest: &Digest) -> PathBuf {
        store_layout::bundle_dir(&self.root, digest)
    }

    pub fn has_bundle(&self, digest: &Digest) -> bool {
        self.bundle_dir(digest).join("SHA256SUMS").is_file()
    }

    pub fn history_path(&self) -> PathBuf {
        self.root.join(HISTORY_FILE)
    }

    /// A fresh, empty staging directory for one attempt (any leftover of a crashed attempt
    /// with the same name is removed first).
    pub fn staging(&self, name: &str) -> Result<PathBuf, StoreError> {
        let dir = self.root.join(STAGING_DIR).join(name);
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(|e| self.io(format!("clear {}", dir.display()), e))?;
        }
        fs::create_dir_all(&dir).map_err(|e| self.io(format!("create {}", dir.display()), e))?;
        Ok(dir)
    }

    /// Moves a verified bundle from staging into `bundles/<hex>/` with one rename. A bundle
    /// already there (the same digest fetched again) is kept and the staged copy dropped.
    pub fn install(&self, staged: &Path, digest: &Digest) -> Result<PathBuf, StoreError> {
        let dest = self.bundle_dir(digest);
        if self.has_bundle(digest) {
            let _ = fs::remove_dir_all(staged);
            return Ok(dest);
        }
        if dest.exists() {
            // A directory without SHA256SUMS is debris of an interrupted install.
            fs::remove_dir_all(&dest).map_err(|e| self.io(format!("clear {}", dest.display()), e))?;
        }
        fs::rename(staged, &dest).map_err(|e| {
            self.io(format!("move {} to {}", staged.display(), dest.display()), e)
        })?;
        sync_dir(&self.root.join(BUNDLES_DIR));
        Ok(dest)
    }

    /// Points `current` at `digest`: write a temporary file, flush it to disk, rename it over
    /// `current`. The server picks the change up within its poll interval.
    pub fn set_current(&self, digest: &Digest) -> Result<(), StoreError> {
        let tmp = self.root.join(format!(".{CURRENT_FILE}.tmp"));
        let write = || -> io::Result<()> {
            let mut file = File::create(&tmp)?;
            writeln!(file, "{digest}")?;
            file.sync_all()?;
            fs::rename(&tmp, self.root.join(CURRENT_FILE))
        };
        write().map_err(|e| self.io("switch current", e))?;
        sync_dir(&self.root);
        Ok(())
    }

    /// Removes every bundle not in `keep`, and everything left in staging by crashed attempts.
    /// Failures are reported, never fatal: a bundle that cannot be removed only costs space.
    pub fn prune(&self, keep: &[Digest]) -> Vec<String> {
        let mut problems = Vec::new();
        let bundles = self.root.join(BUNDLES_DIR);
        if let Ok(entries) = fs::read_dir(&bundles) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if keep.iter().any(|d| d.hex() == name) {
                    continue;
                }
                if let Err(e) = fs::remove_dir_all(entry.path()) {
                    problems.push(format!("cannot remove {}: {e}", entry.path().display()));
                }
            }
        }
        problems
    }

    /// The staging directory `name`, kept with its content when it exists: a bundle whose
    /// fetch was interrupted (even by a crash) resumes from the bytes already there.
    pub fn staging_keep(&self, name: &str) -> Result<PathBuf, StoreError> {
        let dir = self.root.join(STAGING_DIR).join(name);
        fs::create_dir_all(&dir).map_err(|e| self.io(format!("create {}", dir.display()), e))?;
        Ok(dir)
    }

    /// Removes what crashed or abandoned attempts left in staging, except `keep` (called under
    /// the lock: nobody else uses staging).
    pub fn clear_staging_except(&self, keep: &str) {
        if let Ok(entries) = fs::read_dir(self.root.join(STAGING_DIR)) {
            for entry in entries.flatten() {
                if entry.file_name().to_str() == Some(keep) {
                    continue;
                }
                let _ = fs::remove_dir_all(entry.path()).or_else(|_| fs::remove_file(entry.path()));
            }
        }
    }
}

/// Flushes a directory's entries (the renames in it) to disk; best effort, and a no-op where
/// directories cannot be opened.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

impl Store {
    /// The manifest name of a kept bundle (for messages), without verifying it.
    pub fn model_name(&self, digest: &Digest) -> Option<String> {
        let text = fs::read(self.bundle_dir(digest).join("litecnn.json")).ok()?;
        let value: serde_json::Value = serde_json::from_slice(&text).ok()?;
        value.get("name")?.as_str().map(str::to_owned)
    }
}
