//! The store's layout (DESIGN §4, §9), shared by the deployer that writes it and the server
//! that reads it:
//!
//! ```text
//! <store>/current               "sha256:<hex>\n": the promoted bundle, replaced by rename
//! <store>/bundles/<hex>/        each kept bundle, in a directory named by its digest's hex
//! ```

use std::io;
use std::path::{Path, PathBuf};

use crate::digest::Digest;

pub const CURRENT_FILE: &str = "current";
pub const BUNDLES_DIR: &str = "bundles";

#[derive(Debug, thiserror::Error)]
pub enum CurrentError {
    #[error("{}: cannot read: {cause}", path.display())]
    Read { path: PathBuf, cause: io::Error },
    #[error("{}: expected sha256:<64 hex digits>, found {found:?}", path.display())]
    BadDigest { path: PathBuf, found: String },
}

/// The digest `<store>/current` names, or `None` when there is no current model yet.
pub fn current_digest(store: &Path) -> Result<Option<Digest>, CurrentError> {
    let path = store.join(CURRENT_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(cause) => return Err(CurrentError::Read { path, cause }),
    };
    match Digest::parse(text.trim()) {
        Some(digest) => Ok(Some(digest)),
        None => Err(CurrentError::BadDigest {
            path,
            found: text.trim().to_owned(),
        }),
    }
}

/// Where the bundle with `digest` lives.
pub fn bundle_dir(store: &Path, digest: &Digest) -> PathBuf {
    store.join(BUNDLES_DIR).join(digest.hex())
}
