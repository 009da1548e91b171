//! Step 2, fetch (DESIGN §4.1): stream each file into the attempt's staging directory,
//! retrying network errors with backoff and resuming from the bytes already there. Nothing
//! outside `staging/` changes until the whole bundle is verified and moved into the store.

use std::fs::{self, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use crate::report::Reporter;
use crate::source::{Source, SourceError, SourceErrorKind, join};

/// How often a transient error is retried within one attempt, and the first wait (doubled
/// each time).
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub retries: u32,
    pub first_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            retries: 3,
            first_wait: Duration::from_millis(500),
        }
    }
}

/// Fetches `files` of source directory `dir` into `staging`, and returns the bytes moved.
pub fn fetch_files(
    source: &mut dyn Source,
    dir: &str,
    files: &[String],
    staging: &Path,
    retry: RetryPolicy,
    reporter: &dyn Reporter,
) -> Result<u64, SourceError> {
    let mut total = 0;
    for file in files {
        total += fetch_one(
            source,
            &join(dir, file),
            &staging.join(file),
            retry,
            reporter,
        )?;
    }
    Ok(total)
}

/// A transfer that ended before the size the source announced — a connection dropped in a
/// way the client reported as end of file — is a network fault, retried (and resumed) like
/// any other, not a finished file that verify would then reject.
fn short_transfer(remote: &str, have: u64, expected: Option<u64>) -> Result<(), SourceError> {
    match expected {
        Some(size) if have < size => Err(SourceError::new(
            SourceErrorKind::Unreachable,
            format!("{remote}: the transfer ended after {have} of {size} bytes"),
        )),
        _ => Ok(()),
    }
}

/// Fetches one file, resuming after a partial copy. Returns the bytes it wrote.
pub fn fetch_one(
    source: &mut dyn Source,
    remote: &str,
    local: &Path,
    retry: RetryPolicy,
    reporter: &dyn Reporter,
) -> Result<u64, SourceError> {
    let local_err = |e: io::Error| SourceError::local_write(remote, &e);
    if let Some(parent) = local.parent() {
        fs::create_dir_all(parent).map_err(local_err)?;
    }
    let expected = source.stat(remote)?.map(|m| m.size);
    let mut wait = retry.first_wait;
    let mut attempt = 0;
    loop {
        let have = fs::metadata(local).map_or(0, |m| m.len());
        if expected.is_some_and(|size| have == size) && have > 0 {
            return Ok(0);
        }
        // More than the source has: not a prefix of it; start over.
        let offset = if expected.is_some_and(|size| have > size) {
            0
        } else {
            have
        };
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .append(offset > 0)
            .truncate(offset == 0)
            .open(local)
            .map_err(local_err)?;
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        let mut progress = |done: u64| reporter.progress(remote, done, expected);
        let result = source
            .fetch(remote, offset, &mut out, &mut progress)
            .and_then(|n| {
                out.flush().map_err(local_err)?;
                out.get_ref().sync_all().map_err(local_err)?;
                Ok(n)
            })
            .and_then(|n| short_transfer(remote, offset + n, expected).map(|()| n));
        match result {
            Ok(n) => return Ok(n),
            Err(e) if e.kind.is_transient() && attempt < retry.retries => {
                attempt += 1;
                reporter.log(&format!(
                    "fetch {remote}: {e}; retry {attempt}/{} in {:.1}s",
                    retry.retries,
                    wait.as_secs_f64()
                ));
                std::thread::sleep(wait);
                wait *= 2;
            }
            Err(e) => return Err(e),
        }
    }
}
