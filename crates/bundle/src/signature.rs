//! The optional minisign signature of `SHA256SUMS` (DESIGN §2, §4.1 step 3). Signing the list
//! signs every file, since each file's hash is in it, so one signature covers the bundle.
//!
//! With a public key the signature is required; without one, a present signature is reported
//! as "not checked" rather than trusted. Legacy (non-prehashed) signatures are accepted, as the
//! `minisign` tool itself accepts them by default.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::checksums::{Checksums, SIGNATURE_FILE};

/// A minisign public key.
#[derive(Clone, Debug)]
pub struct PublicKey(minisign_verify::PublicKey);

/// What the signature step established.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SignatureStatus {
    /// Signed by the given key; the trusted comment is what the signer chose to sign with it.
    Verified { trusted_comment: String },
    /// `SHA256SUMS.minisig` exists, but no key was given to check it.
    NotChecked,
    /// No signature, and none was required.
    Unsigned,
}

#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("cannot read public key file {}: {reason}", path.display())]
    KeyFile { path: PathBuf, reason: io::Error },
    #[error("{origin} is not a minisign public key: {reason}")]
    BadKey {
        origin: String,
        reason: minisign_verify::Error,
    },
    #[error("SHA256SUMS.minisig is missing, but a public key was given: the signature is required")]
    Missing,
    #[error("cannot read SHA256SUMS.minisig: {0}")]
    Read(io::Error),
    #[error("SHA256SUMS.minisig is not a minisign signature: {0}")]
    Malformed(minisign_verify::Error),
    #[error("SHA256SUMS.minisig was made with a different key than the one given")]
    WrongKey,
    #[error("SHA256SUMS.minisig does not match SHA256SUMS (tampered, or signed for other content)")]
    Invalid,
}

impl PublicKey {
    /// Parses a minisign `.pub` file's content (comment line, then the key) or the bare base64
    /// key line.
    pub fn parse(text: &str) -> Result<PublicKey, SignatureError> {
        Self::parse_from(text, "the given key")
    }

    /// `--pubkey` semantics (DESIGN §9): an existing file is read, anything else is taken as
    /// the base64 key itself.
    pub fn from_arg(arg: &str) -> Result<PublicKey, SignatureError> {
        let path = Path::new(arg);
        if !path.is_file() {
            return Self::parse_from(arg, &format!("{arg:?} (not a file)"));
        }
        let text = fs::read_to_string(path).map_err(|reason| SignatureError::KeyFile {
            path: path.to_path_buf(),
            reason,
        })?;
        Self::parse_from(&text, &format!("file {}", path.display()))
    }

    fn parse_from(text: &str, origin: &str) -> Result<PublicKey, SignatureError> {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let first = lines.next().unwrap_or("");
        let key_line = match first.starts_with("untrusted comment:") {
            true => lines.next().unwrap_or(""),
            false => first,
        };
        minisign_verify::PublicKey::from_base64(key_line)
            .map(PublicKey)
            .map_err(|reason| SignatureError::BadKey {
                origin: origin.to_owned(),
                reason,
            })
    }
}

/// Checks `<dir>/SHA256SUMS.minisig` against the list's bytes, as `key` requires.
pub fn check(
    dir: &Path,
    sums: &Checksums,
    key: Option<&PublicKey>,
) -> Result<SignatureStatus, SignatureError> {
    let path = dir.join(SIGNATURE_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(SignatureError::Read(e)),
    };
    match (key, text) {
        (None, None) => Ok(SignatureStatus::Unsigned),
        (None, Some(_)) => Ok(SignatureStatus::NotChecked),
        (Some(_), None) => Err(SignatureError::Missing),
        (Some(key), Some(text)) => verify(key, sums.bytes(), &text),
    }
}

fn verify(key: &PublicKey, signed: &[u8], text: &str) -> Result<SignatureStatus, SignatureError> {
    let signature = minisign_verify::Signature::decode(text).map_err(SignatureError::Malformed)?;
    match key.0.verify(signed, &signature, true) {
        Ok(()) => Ok(SignatureStatus::Verified {
            trusted_comment: signature.trusted_comment().to_owned(),
        }),
        Err(minisign_verify::Error::UnexpectedKeyId) => Err(SignatureError::WrongKey),
        Err(_) => Err(SignatureError::Invalid),
    }
}

impl fmt::Display for SignatureStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureStatus::Verified { trusted_comment } => {
                // minisign separates the comment's fields with tabs; one line reads better.
                write!(f, "verified ({})", trusted_comment.replace('\t', " "))
            }
            SignatureStatus::NotChecked => {
                f.write_str("present, not checked (no public key given)")
            }
            SignatureStatus::Unsigned => f.write_str("none (no public key given, none required)"),
        }
    }
}
