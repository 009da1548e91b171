//! The error of opening or verifying a bundle: one variant per step, each wrapping that step's
//! typed error (which names the file and the field).

use crate::checksums::ChecksumError;
use crate::golden::GoldenError;
use crate::manifest::ManifestError;
use crate::model::ModelError;
use crate::signature::SignatureError;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(transparent)]
    Checksums(#[from] ChecksumError),
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Golden(#[from] GoldenError),
    #[error(
        "bundle directory {dir_name:?} differs from the manifest version {version:?} \
         (in a repository, <repo>/<name>/<version>/ holds exactly that version)"
    )]
    DirName { dir_name: String, version: String },
}

impl BundleError {
    /// The verification step that failed, as named in a [`crate::VerifyReport`].
    pub fn step(&self) -> &'static str {
        match self {
            BundleError::Checksums(_) => "checksums",
            BundleError::Signature(_) => "signature",
            BundleError::Manifest(_) => "manifest",
            BundleError::Model(ModelError::ClassCount { .. }) => "labels",
            BundleError::Model(_) => "model",
            BundleError::Golden(_) => "golden",
            BundleError::DirName { .. } => "directory name",
        }
    }

    /// True when the bundle's own content is at fault, so fetching it again cannot help (the
    /// deployer marks such a digest rejected for good). Checksum and signature failures may be
    /// transfer faults, or a signature that was not uploaded yet, and are worth a retry.
    pub fn is_permanent(&self) -> bool {
        !matches!(self, BundleError::Checksums(_) | BundleError::Signature(_))
    }
}
