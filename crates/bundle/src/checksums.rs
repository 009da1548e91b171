//! `SHA256SUMS`: every file of a bundle and its SHA-256, in the format `sha256sum` writes and
//! `sha256sum -c` checks (`<hex>  <file>`, or `<hex> *<file>` in binary mode).
//!
//! Parsing refuses any name that is not a plain file name in the bundle directory, so a hostile
//! list can never make us read outside it. Verification is two-way: every listed file must
//! exist and match, and every file present must be listed — an unlisted file would be
//! unprotected by the digest and the signature.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::digest::{Digest, parse_hex32, sha256_file, to_hex};
use crate::names::is_plain_file_name;

pub const SUMS_FILE: &str = "SHA256SUMS";
pub const SIGNATURE_FILE: &str = "SHA256SUMS.minisig";

/// One line of `SHA256SUMS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub file: String,
    pub sha256: [u8; 32],
}

/// A parsed `SHA256SUMS`, with its raw bytes (what the signature and the digest cover).
#[derive(Clone, Debug)]
pub struct Checksums {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
    digest: Digest,
}

#[derive(Debug, thiserror::Error)]
pub enum ChecksumError {
    #[error("cannot read {}: {reason}", path.display())]
    Read { path: PathBuf, reason: io::Error },
    #[error("SHA256SUMS is not UTF-8 text")]
    NotText,
    #[error("SHA256SUMS line {line}: expected `<64 hex digits>  <file>`, got {text:?}")]
    Syntax { line: usize, text: String },
    #[error(
        "SHA256SUMS line {line}: {file:?} is not a plain file name inside the bundle directory"
    )]
    UnsafePath { line: usize, file: String },
    #[error("SHA256SUMS line {line}: {file:?} is listed twice")]
    Duplicate { line: usize, file: String },
    #[error("SHA256SUMS lists no files")]
    Empty,
    #[error("{file}: listed in SHA256SUMS but missing from the bundle")]
    Missing { file: String },
    #[error(
        "{file}: not a regular file (a bundle holds plain files only, no links or directories)"
    )]
    NotRegular { file: String },
    #[error("{file}: in the bundle directory but not listed in SHA256SUMS")]
    Unlisted { file: String },
    #[error("{file}: SHA-256 is {actual}, SHA256SUMS says {expected} (corrupted or tampered)")]
    Mismatch {
        file: String,
        expected: String,
        actual: String,
    },
}

impl Checksums {
    /// Reads `<dir>/SHA256SUMS` and parses it (no file is hashed yet).
    pub fn read(dir: &Path) -> Result<Checksums, ChecksumError> {
        let path = dir.join(SUMS_FILE);
        let bytes = fs::read(&path).map_err(|reason| ChecksumError::Read { path, reason })?;
        Checksums::parse(bytes)
    }

    pub fn parse(bytes: Vec<u8>) -> Result<Checksums, ChecksumError> {
        let text = std::str::from_utf8(&bytes).map_err(|_| ChecksumError::NotText)?;
        let mut entries: Vec<Entry> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let entry = parse_line(i + 1, line)?;
            if entries.iter().any(|e| e.file == entry.file) {
                return Err(ChecksumError::Duplicate {
                    line: i + 1,
                    file: entry.file,
                });
            }
            entries.push(entry);
        }
        if entries.is_empty() {
            return Err(ChecksumError::Empty);
        }
        let digest = Digest::of(&bytes);
        Ok(Checksums {
            bytes,
            entries,
            digest,
        })
    }

    /// The bundle digest: SHA-256 of the `SHA256SUMS` bytes.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn lists(&self, file: &str) -> bool {
        self.entries.iter().any(|e| e.file == file)
    }

    /// Checks the directory against the list: nothing unlisted, nothing missing, every hash
    /// equal. Cheap checks run first so a wrong directory fails before any file is hashed.
    pub fn verify_files(&self, dir: &Path) -> Result<(), ChecksumError> {
        self.check_nothing_unlisted(dir)?;
        for entry in &self.entries {
            check_regular_file(dir, &entry.file)?;
        }
        self.entries.iter().try_for_each(|e| check_hash(dir, e))
    }

    fn check_nothing_unlisted(&self, dir: &Path) -> Result<(), ChecksumError> {
        let listed: BTreeSet<&str> = self.entries.iter().map(|e| e.file.as_str()).collect();
        let read_err = |reason| ChecksumError::Read {
            path: dir.to_path_buf(),
            reason,
        };
        for item in fs::read_dir(dir).map_err(read_err)? {
            let name = item.map_err(read_err)?.file_name();
            let name = name.to_string_lossy();
            let own = name == SUMS_FILE || name == SIGNATURE_FILE;
            if !own && !listed.contains(&*name) {
                return Err(ChecksumError::Unlisted {
                    file: name.into_owned(),
                });
            }
        }
        Ok(())
    }
}

/// Parses `<64 hex>  <file>` or `<64 hex> *<file>`.
fn parse_line(line: usize, text: &str) -> Result<Entry, ChecksumError> {
    let syntax = || ChecksumError::Syntax {
        line,
        text: text.to_owned(),
    };
    let (hex, rest) = text.split_at_checked(64).ok_or_else(syntax)?;
    let sha256 = parse_hex32(hex).ok_or_else(syntax)?;
    let file = rest
        .strip_prefix("  ")
        .or_else(|| rest.strip_prefix(" *"))
        .ok_or_else(syntax)?;
    if !is_plain_file_name(file) {
        return Err(ChecksumError::UnsafePath {
            line,
            file: file.to_owned(),
        });
    }
    Ok(Entry {
        file: file.to_owned(),
        sha256,
    })
}

/// Links are refused rather than followed: a verified bundle must not change under us
/// because something outside it did.
fn check_regular_file(dir: &Path, file: &str) -> Result<(), ChecksumError> {
    let path = dir.join(file);
    match fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(_) => Err(ChecksumError::NotRegular {
            file: file.to_owned(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ChecksumError::Missing {
            file: file.to_owned(),
        }),
        Err(reason) => Err(ChecksumError::Read { path, reason }),
    }
}

fn check_hash(dir: &Path, entry: &Entry) -> Result<(), ChecksumError> {
    let path = dir.join(&entry.file);
    let actual = sha256_file(&path).map_err(|reason| ChecksumError::Read { path, reason })?;
    if actual == entry.sha256 {
        return Ok(());
    }
    Err(ChecksumError::Mismatch {
        file: entry.file.clone(),
        expected: to_hex(&entry.sha256),
        actual: to_hex(&actual),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_text_and_binary_markers() {
        let hex = "ab".repeat(32);
        let sums = Checksums::parse(format!("{hex}  a.onnx\n{hex} *b.json\n").into_bytes());
        let files: Vec<_> = sums.unwrap().entries.into_iter().map(|e| e.file).collect();
        assert_eq!(files, ["a.onnx", "b.json"]);
    }
}
