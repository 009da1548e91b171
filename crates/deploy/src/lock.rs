//! One deployer per store (DESIGN §4.1): an exclusive advisory lock on `<store>/deploy.lock`,
//! held for one attempt (or one rollback), released when dropped — also when the process dies,
//! since the operating system drops the lock with the file descriptor.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const LOCK_FILE: &str = "deploy.lock";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another deployer holds the store lock {} ({holder}); try again when it is done", path.display())]
    Held { path: PathBuf, holder: String },
    #[error("cannot lock {}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
}

#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

impl StoreLock {
    /// Takes the lock, waiting up to `wait` for a holder to finish (0: fail at once).
    pub fn acquire(store: &Path, wait: Duration) -> Result<StoreLock, LockError> {
        let path = store.join(LOCK_FILE);
        let io = |cause| LockError::Io {
            path: path.clone(),
            cause,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = match holder.trim() {
                        "" => "unknown process".to_owned(),
                        h => h.to_owned(),
                    };
                    return Err(LockError::Held { path, holder });
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        // Who holds it, for the next one's error message.
        let _ = file.set_len(0);
        let _ = file.seek(SeekFrom::Start(0));
        let _ = write!(file, "pid {}", std::process::id());
        Ok(StoreLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_and_named_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = StoreLock::acquire(dir.path(), Duration::ZERO).unwrap();
        let err = StoreLock::acquire(dir.path(), Duration::from_millis(100)).unwrap_err();
        assert!(
            err.to_string().contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        StoreLock::acquire(dir.path(), Duration::ZERO).unwrap();
    }
}
