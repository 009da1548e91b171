//! The model repository (DESIGN §2): `<repo>/<name>/<version>/` is a bundle, and
//! `<repo>/<name>/LATEST` holds the newest version's name. The publisher replaces `LATEST`
//! atomically only after the bundle is complete, so reading it first never finds a half-written
//! version.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::names::is_identifier;

pub const LATEST_FILE: &str = "LATEST";

#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    #[error("cannot read {}: {reason}", path.display())]
    Read { path: PathBuf, reason: io::Error },
    #[error("{} is empty", path.display())]
    Empty { path: PathBuf },
    #[error("{}: {version:?} is not a version name (A-Z a-z 0-9 . _ -, up to 128)", path.display())]
    BadVersion { path: PathBuf, version: String },
    #[error("{} names version {version:?}, but {} is not a directory", path.display(), dir.display())]
    MissingVersion {
        path: PathBuf,
        version: String,
        dir: PathBuf,
    },
}

/// The version `<model_dir>/LATEST` names (trimmed), once its bundle directory is known to
/// exist. The name is checked before it is joined to a path, so `LATEST` cannot point outside
/// the model directory.
pub fn latest_version(model_dir: &Path) -> Result<String, RepositoryError> {
    latest(model_dir).map(|(version, _)| version)
}

/// The bundle directory of the latest version, `<model_dir>/<version>/`.
pub fn latest_bundle_dir(model_dir: &Path) -> Result<PathBuf, RepositoryError> {
    latest(model_dir).map(|(_, dir)| dir)
}

fn latest(model_dir: &Path) -> Result<(String, PathBuf), RepositoryError> {
    let path = model_dir.join(LATEST_FILE);
    let text = fs::read_to_string(&path).map_err(|reason| RepositoryError::Read {
        path: path.clone(),
        reason,
    })?;
    let version = text.trim().to_owned();
    if version.is_empty() {
        return Err(RepositoryError::Empty { path });
    }
    if !is_identifier(&version) {
        return Err(RepositoryError::BadVersion { path, version });
    }
    let dir = model_dir.join(&version);
    if !dir.is_dir() {
        return Err(RepositoryError::MissingVersion { path, version, dir });
    }
    Ok((version, dir))
}
