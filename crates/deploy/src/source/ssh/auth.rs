//! Public-key authentication, with keys found as OpenSSH finds them (DESIGN §3): `--ssh-key
//! FILE` alone when given; otherwise every key of a running ssh-agent, then `~/.ssh/id_ed25519`,
//! `id_ecdsa`, `id_rsa`. Never a password. A refusal names every key tried, so the message
//! says which `authorized_keys` needs which key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::client::Handle;
use russh::keys::agent::client::AgentClient;
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg};

use super::connect::ClientHandler;
use super::errors;
use crate::source::{SourceError, SourceErrorKind};

const DEFAULT_KEYS: [&str; 3] = ["id_ed25519", "id_ecdsa", "id_rsa"];

/// Logs `user` in with the first key the server accepts.
pub async fn authenticate(
    handle: &mut Handle<ClientHandler>,
    target: &str,
    user: &str,
    key_file: Option<&Path>,
) -> Result<(), SourceError> {
    let mut tried = Vec::new();
    if let Some(file) = key_file {
        let key = load_key(file).map_err(|why| refused(format!("{target}: {why}")))?;
        if try_key(handle, target, user, key).await? {
            return Ok(());
        }
        return Err(refused(format!(
            "{target}: the server refused key {} for user {user}",
            file.display()
        )));
    }
    if try_agent(handle, target, user, &mut tried).await? {
        return Ok(());
    }
    for file in default_key_files() {
        match load_key(&file) {
            Ok(key) => {
                if try_key(handle, target, user, key).await? {
                    return Ok(());
                }
                tried.push(file.display().to_string());
            }
            Err(why) => tried.push(format!("{} (unusable: {why})", file.display())),
        }
    }
    if tried.is_empty() {
        return Err(refused(format!(
            "{target}: no SSH key to log in with: no ssh-agent (SSH_AUTH_SOCK) and none of \
             ~/.ssh/{{{}}}; pass --ssh-key FILE",
            DEFAULT_KEYS.join(",")
        )));
    }
    Err(refused(format!(
        "{target}: the server refused every key for user {user}; tried {}",
        tried.join(", ")
    )))
}

fn load_key(file: &Path) -> Result<PrivateKey, String> {
    russh::keys::load_secret_key(file, None).map_err(|e| match e {
        russh::keys::Error::KeyIsEncrypted => format!(
            "key {} is protected by a passphrase; load it into ssh-agent (ssh-add) instead",
            file.display()
        ),
        e => format!("cannot read key {}: {e}", file.display()),
    })
}

fn default_key_files() -> Vec<PathBuf> {
    let Some(home) = std::env::home_dir() else {
        return Vec::new();
    };
    DEFAULT_KEYS
        .iter()
        .map(|name| home.join(".ssh").join(name))
        .filter(|path| path.is_file())
        .collect()
}

async fn try_key(
    handle: &mut Handle<ClientHandler>,
    target: &str,
    user: &str,
    key: PrivateKey,
) -> Result<bool, SourceError> {
    let hash = if key.algorithm().is_rsa() {
        rsa_hash(handle).await
    } else {
        None
    };
    let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
    handle
        .authenticate_publickey(user, key)
        .await
        .map(|result| result.success())
        .map_err(|e| errors::ssh(target, "authentication", &e))
}

/// Every key of a running agent; false (and nothing tried) without one.
async fn try_agent(
    handle: &mut Handle<ClientHandler>,
    target: &str,
    user: &str,
    tried: &mut Vec<String>,
) -> Result<bool, SourceError> {
    if std::env::var_os("SSH_AUTH_SOCK").is_none() {
        return Ok(false);
    }
    // A stale socket (agent gone) is not an error: fall through to the key files.
    let Ok(mut agent) = AgentClient::connect_env().await else {
        return Ok(false);
    };
    let Ok(identities) = agent.request_identities().await else {
        return Ok(false);
    };
    for identity in identities {
        let public = identity.public_key().into_owned();
        let hash = if public.algorithm().is_rsa() {
            rsa_hash(handle).await
        } else {
            None
        };
        let result = handle
            .authenticate_publickey_with(user, public.clone(), hash, &mut agent)
            .await;
        match result {
            Ok(r) if r.success() => return Ok(true),
            Ok(_) => tried.push(format!(
                "ssh-agent key {}",
                public.fingerprint(Default::default())
            )),
            Err(e) => tried.push(format!(
                "ssh-agent key {} (the agent failed: {e})",
                public.fingerprint(Default::default())
            )),
        }
        if handle.is_closed() {
            return Err(SourceError::new(
                SourceErrorKind::Unreachable,
                format!("{target}: connection closed during authentication"),
            ));
        }
    }
    Ok(false)
}

/// The strongest RSA signature hash the server accepts (SHA-1 `ssh-rsa` only as a last resort).
async fn rsa_hash(handle: &Handle<ClientHandler>) -> Option<russh::keys::HashAlg> {
    handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten()
}

fn refused(message: String) -> SourceError {
    SourceError::new(SourceErrorKind::Refused, message)
}
