//! Where candidate models come from (DESIGN §3 SOURCE). Every kind of source — a local
//! directory, SFTP, S3, HTTP — is the same small read-only file system rooted at the SOURCE's
//! directory: stat a file, read a small one, stream a large one from an offset, list a
//! directory. Everything above it (following `LATEST`, finding a bundle's files from its
//! `SHA256SUMS`, picking the newest stable checkpoint) is written once, in [`crate::candidate`].
//!
//! Paths given to a [`Source`] are relative to its root and `/`-separated; the root itself
//! is `""`.

mod glob;
mod http;
mod local;
mod remote_path;
mod s3;
mod spec;
mod ssh;

use std::fmt;
use std::io::Write;
use std::time::{Duration, SystemTime};

pub use glob::{is_glob, matches as glob_matches};
pub use http::HttpSource;
pub use local::LocalSource;
pub use s3::S3Source;
pub use spec::{Location, SourceOptions, SourceSpec, open};
pub use ssh::SshSource;

/// What a source says about one file, cheaply (no content read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileMeta {
    pub size: u64,
    pub modified: Option<SystemTime>,
    /// An opaque change token where the source has one (HTTP ETag, S3 ETag).
    pub etag: Option<String>,
}

/// One entry of [`Source::list`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub meta: FileMeta,
    pub is_dir: bool,
}

/// A read-only view of the files under a SOURCE.
pub trait Source: Send {
    /// The SOURCE as history and logs show it (never a secret).
    fn describe(&self) -> String;

    /// Metadata of `path`, or `None` when there is no such file.
    fn stat(&mut self, path: &str) -> Result<Option<FileMeta>, SourceError>;

    /// Streams `path` from byte `offset` into `out` and returns how many bytes it wrote.
    /// `progress` is called with the running total (offset included) as bytes arrive.
    fn fetch(
        &mut self,
        path: &str,
        offset: u64,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, SourceError>;

    /// The entries of directory `dir` (not recursive). Sources without listings (plain HTTP)
    /// answer [`SourceErrorKind::Unsupported`].
    fn list(&mut self, dir: &str) -> Result<Vec<DirEntry>, SourceError>;

    /// Blocks until the source may have changed (true), or `timeout` has passed (false).
    /// Sources with change events (a local directory) wake early; the others just wait.
    fn wait_for_change(&mut self, timeout: Duration) -> bool {
        std::thread::sleep(timeout);
        false
    }

    /// Reads a small file (`LATEST`, `SHA256SUMS`, a signature) whole, refusing one larger
    /// than `limit` bytes so a hostile source cannot make us buffer gigabytes.
    fn read_small(&mut self, path: &str, limit: u64) -> Result<Vec<u8>, SourceError> {
        let mut out = Capped {
            bytes: Vec::new(),
            limit,
        };
        match self.fetch(path, 0, &mut out, &mut |_| {}) {
            Ok(_) => Ok(out.bytes),
            Err(e) if out.bytes.len() as u64 >= limit => Err(SourceError::new(
                SourceErrorKind::TooLarge,
                format!("{path}: larger than {limit} bytes ({e})"),
            )),
            Err(e) => Err(e),
        }
    }
}

/// A `Write` that refuses to hold more than `limit` bytes.
struct Capped {
    bytes: Vec<u8>,
    limit: u64,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() as u64 + buf.len() as u64 > self.limit {
            self.bytes.extend_from_slice(buf);
            return Err(std::io::Error::other("size limit reached"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What went wrong, in the terms the deployer acts on: whether retrying can help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceErrorKind {
    /// No such file or directory at the source.
    NotFound,
    /// Network trouble: refused connection, timeout, reset, a 5xx. Retried with backoff.
    Unreachable,
    /// The source refused us: key not accepted, unknown or changed host key, 401/403.
    /// Retrying cannot help until someone fixes the configuration.
    Refused,
    /// A file larger than we accept for its purpose.
    TooLarge,
    /// Writing what we fetched failed (disk full, read-only store).
    LocalWrite,
    /// The source cannot do this (e.g. list a plain HTTP server).
    Unsupported,
    /// Anything else (malformed answer, bad URL).
    Other,
}

impl SourceErrorKind {
    /// True when a later retry of the same operation may succeed.
    pub fn is_transient(self) -> bool {
        matches!(self, SourceErrorKind::Unreachable)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceError {
    pub kind: SourceErrorKind,
    pub message: String,
}

impl SourceError {
    pub fn new(kind: SourceErrorKind, message: impl Into<String>) -> SourceError {
        SourceError {
            kind,
            message: message.into(),
        }
    }

    pub fn not_found(path: &str) -> SourceError {
        SourceError::new(SourceErrorKind::NotFound, format!("{path}: no such file"))
    }

    /// A failed write into our own staging file: never the source's fault.
    pub fn local_write(path: &str, e: &std::io::Error) -> SourceError {
        use std::io::ErrorKind::{FileTooLarge, QuotaExceeded, StorageFull};
        // What the operator has to do differs from a plain I/O error: say it.
        let hint = match e.kind() {
            StorageFull | FileTooLarge | QuotaExceeded => {
                " (disk full: free space on the store's file system, or raise its file-size \
                 limit; the current model is untouched)"
            }
            _ => "",
        };
        SourceError::new(
            SourceErrorKind::LocalWrite,
            format!("cannot write {path} into the store: {e}{hint}"),
        )
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SourceError {}

/// `stat`'s convention: a file that is not there is `Ok(None)`, not an error.
pub(crate) fn absent_as_none<T>(result: Result<T, SourceError>) -> Result<Option<T>, SourceError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.kind == SourceErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Joins a root-relative directory and a name into a root-relative path.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{}/{name}", dir.trim_end_matches('/'))
    }
}
