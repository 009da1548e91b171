//! litecnn-bundle/1 model bundles (DESIGN §2): a directory holding `model.onnx`, the manifest
//! `litecnn.json`, `golden.safetensors`, `SHA256SUMS` and optionally `SHA256SUMS.minisig`.
//!
//! Verification steps, one module each, in the order they run:
//! [`checksums`] (every file listed and matching, nothing unlisted) → [`digest`] (SHA-256 of
//! `SHA256SUMS`, the bundle's identity) → [`signature`] (minisign, required with a key) →
//! [`manifest`] (typed, every error naming its field; [`labels`] inside it) → [`model`]
//! (loads in the engine, inputs and outputs as declared, one class per label) → [`golden`]
//! (the engine reproduces the exported outputs within the manifest's tolerances).
//!
//! [`Bundle::open`] runs the cheap first four; [`verify`] runs them all into a
//! [`VerifyReport`]. [`repository`] reads `<repo>/<name>/LATEST`; [`writer`] writes bundle
//! parts for tests and tools; [`store_layout`] is where a deployer's store keeps bundles.
//! [`predict`] turns output scores into labelled predictions, the
//! same for the command line and the server.

mod bundle;
pub mod checksums;
pub mod digest;
mod error;
pub mod golden;
pub mod labels;
pub mod manifest;
pub mod model;
pub mod names;
pub mod predict;
mod report;
pub mod repository;
pub mod signature;
pub mod store_layout;
pub mod time;
mod verify;
pub mod writer;

pub use bundle::Bundle;
pub use checksums::{ChecksumError, Checksums};
pub use digest::Digest;
pub use error::BundleError;
pub use golden::{GoldenError, GoldenReport};
pub use labels::{Label, LabelError, parse_label_file};
pub use manifest::{Manifest, ManifestError, OutputKind};
pub use model::ModelError;
pub use report::{Status, Step, VerifyReport};
pub use repository::{RepositoryError, latest_version};
pub use signature::{PublicKey, SignatureError, SignatureStatus};
pub use verify::{Verification, Verified, verify};
