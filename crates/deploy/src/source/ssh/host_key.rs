//! Host key checking: the only thing between us and a man in the middle. The server's key is
//! looked up in an OpenSSH `known_hosts` file (hashed entries, `[host]:port` for ports other
//! than 22). A known key passes; an unknown one is refused with the command that fixes it, or
//! appended with `--accept-new-host-key`; a changed one is always refused.

use std::path::PathBuf;

use russh::keys::{HashAlg, PublicKey, PublicKeyOrCertificate};

use crate::source::{SourceError, SourceErrorKind};

/// Which host we expect, and where its key is recorded.
#[derive(Clone, Debug)]
pub struct HostKeyPolicy {
    pub host: String,
    pub port: u16,
    pub known_hosts: PathBuf,
    pub accept_new: bool,
}

impl HostKeyPolicy {
    /// Ok when the server's `key` is the one recorded for this host (or was just recorded,
    /// with `--accept-new-host-key`).
    pub fn check(&self, key: &PublicKey) -> Result<(), SourceError> {
        let path = &self.known_hosts;
        let fingerprint = key.fingerprint(HashAlg::Sha256);
        match russh::keys::check_known_hosts_path(&self.host, self.port, key, path) {
            Ok(true) => Ok(()),
            Ok(false) if self.accept_new => self.learn(key),
            Ok(false) => Err(refused(format!(
                "{}: unknown host key {} {fingerprint}, not in {}; if this is the right \
                 server, add its key with `ssh-keyscan -p {} {} >> {}` or run once with \
                 --accept-new-host-key",
                self.target(),
                key.algorithm(),
                path.display(),
                self.port,
                self.host,
                path.display()
            ))),
            Err(russh::keys::Error::KeyChanged { line }) => Err(refused(format!(
                "{}: host key CHANGED: the server offers {} {fingerprint}, but line {line} of \
                 {} records another key for it; possible man-in-the-middle attack, refusing \
                 to connect (if the server really got a new key, remove the old one with \
                 `ssh-keygen -R '{}' -f {}`)",
                self.target(),
                key.algorithm(),
                path.display(),
                self.known_hosts_name(),
                path.display()
            ))),
            Err(e) => Err(refused(format!(
                "{}: cannot check the host key against {}: {e}",
                self.target(),
                path.display()
            ))),
        }
    }

    /// Host certificates would need a CA line in known_hosts; we only trust plain keys.
    pub fn check_offer(&self, offer: &PublicKeyOrCertificate) -> Result<(), SourceError> {
        match offer {
            PublicKeyOrCertificate::PublicKey { key, .. } => self.check(key),
            PublicKeyOrCertificate::Certificate(_) => Err(refused(format!(
                "{}: the server offers a host certificate; only plain host keys in known_hosts \
                 are supported",
                self.target()
            ))),
        }
    }

    fn learn(&self, key: &PublicKey) -> Result<(), SourceError> {
        russh::keys::known_hosts::learn_known_hosts_path(
            &self.host,
            self.port,
            key,
            &self.known_hosts,
        )
        .map_err(|e| {
            SourceError::new(
                SourceErrorKind::LocalWrite,
                format!(
                    "{}: cannot add the new host key to {}: {e}",
                    self.target(),
                    self.known_hosts.display()
                ),
            )
        })
    }

    fn target(&self) -> String {
        format!("ssh {}:{}", self.host, self.port)
    }

    /// The host as known_hosts names it.
    fn known_hosts_name(&self) -> String {
        if self.port == 22 {
            self.host.clone()
        } else {
            format!("[{}]:{}", self.host, self.port)
        }
    }
}

fn refused(message: String) -> SourceError {
    SourceError::new(SourceErrorKind::Refused, message)
}
