//! `ssh://[user@]host[:port]/dir`: files over SFTP (russh + russh-sftp, pure Rust). The clients
//! are async and the deployer is not, so the source owns a small current-thread tokio runtime
//! and blocks on it per call. One session stays open between calls; a session found dropped
//! (the server restarted, a NAT forgot us) is replaced once, transparently.

mod auth;
mod connect;
mod errors;
mod host_key;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use russh_sftp::client::SftpSession;
use russh_sftp::client::fs::Metadata;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::remote_path::remote_join;
use super::{
    DirEntry, FileMeta, Source, SourceError, SourceErrorKind, SourceOptions, absent_as_none,
};
use connect::{Endpoint, Session};
pub use host_key::HostKeyPolicy;

pub struct SshSource {
    runtime: tokio::runtime::Runtime,
    endpoint: Endpoint,
    /// The remote directory every path is relative to.
    root: String,
    session: Option<Session>,
}

impl SshSource {
    /// Prepares the source; the first call connects (so a deployer can start while the host
    /// is down, and report that as an attempt's failure).
    pub fn new(
        user: Option<&str>,
        host: &str,
        port: u16,
        dir: &str,
        options: &SourceOptions,
    ) -> Result<SshSource, SourceError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                SourceError::new(SourceErrorKind::Other, format!("cannot start tokio: {e}"))
            })?;
        let known_hosts = match &options.known_hosts {
            Some(path) => path.clone(),
            None => default_known_hosts()?,
        };
        let endpoint = Endpoint {
            user: user.map_or_else(local_user, str::to_owned),
            host_key: HostKeyPolicy {
                host: host.to_owned(),
                port,
                known_hosts,
                accept_new: options.accept_new_host_key,
            },
            key_file: options.ssh_key.clone(),
        };
        Ok(SshSource {
            runtime,
            endpoint,
            root: dir.to_owned(),
            session: None,
        })
    }

    fn path(&self, rel: &str) -> Result<String, SourceError> {
        remote_join(&self.root, rel)
    }

    /// Runs `op` on an open session. A network failure on a session that was already open
    /// may just mean it went stale: reconnect and run `op` once more.
    fn run<T>(
        &mut self,
        mut op: impl AsyncFnMut(&SftpSession) -> Result<T, SourceError>,
    ) -> Result<T, SourceError> {
        let SshSource {
            runtime,
            endpoint,
            session,
            ..
        } = self;
        runtime.block_on(async {
            if session.as_ref().is_some_and(Session::is_closed) {
                *session = None;
            }
            let reused = session.is_some();
            let open = match session {
                Some(open) => open,
                None => session.insert(connect::open(endpoint).await?),
            };
            let result = op(&open.sftp).await;
            match result {
                Err(e) if e.kind == SourceErrorKind::Unreachable => {
                    *session = None;
                    if !reused {
                        return Err(e);
                    }
                    let open = session.insert(connect::open(endpoint).await?);
                    let again = op(&open.sftp).await;
                    if again
                        .as_ref()
                        .is_err_and(|e| e.kind == SourceErrorKind::Unreachable)
                    {
                        *session = None;
                    }
                    again
                }
                other => other,
            }
        })
    }
}

impl Source for SshSource {
    fn describe(&self) -> String {
        format!("{}{}", self.endpoint.target(), self.root)
    }

    fn stat(&mut self, rel: &str) -> Result<Option<FileMeta>, SourceError> {
        let path = self.path(rel)?;
        let target = self.endpoint.target();
        absent_as_none(self.run(async |sftp| {
            sftp.metadata(path.as_str())
                .await
                .map(|m| meta_of(&m))
                .map_err(|e| errors::sftp(&target, &path, &e))
        }))
    }

    fn fetch(
        &mut self,
        rel: &str,
        offset: u64,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, SourceError> {
        let path = self.path(rel)?;
        let target = self.endpoint.target();
        // Counted across a reconnect, so the second try resumes where the first stopped.
        let mut done = 0;
        self.run(async |sftp| {
            let mut file = sftp
                .open(path.as_str())
                .await
                .map_err(|e| errors::sftp(&target, &path, &e))?;
            let mut at = offset + done;
            if at > 0 {
                file.seek(std::io::SeekFrom::Start(at))
                    .await
                    .map_err(|e| errors::read(&target, &path, at, &e))?;
            }
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = file
                    .read(&mut buf)
                    .await
                    .map_err(|e| errors::read(&target, &path, at, &e))?;
                if n == 0 {
                    return Ok(());
                }
                out.write_all(&buf[..n])
                    .map_err(|e| SourceError::local_write(rel, &e))?;
                at += n as u64;
                done += n as u64;
                progress(at);
            }
        })?;
        Ok(done)
    }

    fn list(&mut self, dir: &str) -> Result<Vec<DirEntry>, SourceError> {
        let path = self.path(dir)?;
        let target = self.endpoint.target();
        let mut entries: Vec<DirEntry> = self.run(async |sftp| {
            let listing = sftp
                .read_dir(path.as_str())
                .await
                .map_err(|e| errors::sftp(&target, &path, &e))?;
            Ok(listing
                .map(|entry| {
                    let meta = entry.metadata();
                    DirEntry {
                        name: entry.file_name(),
                        is_dir: meta.is_dir(),
                        meta: meta_of(&meta),
                    }
                })
                .collect())
        })?;
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }
}

fn meta_of(m: &Metadata) -> FileMeta {
    FileMeta {
        size: m.size.unwrap_or(0),
        modified: m
            .mtime
            .map(|secs| UNIX_EPOCH + Duration::from_secs(u64::from(secs))),
        etag: None,
    }
}

fn default_known_hosts() -> Result<PathBuf, SourceError> {
    std::env::home_dir()
        .map(|home| home.join(".ssh").join("known_hosts"))
        .ok_or_else(|| {
            SourceError::new(
                SourceErrorKind::Other,
                "no home directory for ~/.ssh/known_hosts; pass --known-hosts FILE",
            )
        })
}

/// OpenSSH logs in as the local user when the SOURCE names none.
fn local_user() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "root".to_owned())
}
