//! Opening an SFTP session: TCP connect and key exchange within a time limit, the host key
//! check, authentication, then the `sftp` subsystem on one channel.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::PublicKeyOrCertificate;
use russh_sftp::client::SftpSession;

use super::host_key::HostKeyPolicy;
use super::{auth, errors};
use crate::source::{SourceError, SourceErrorKind};

/// A dead host must not hang an attempt: connect plus key exchange within this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A silent server is noticed by missed keepalives (3 × 15 s) rather than a hung read.
const KEEPALIVE: Duration = Duration::from_secs(15);
/// Seconds one SFTP request may take before the session is considered lost.
const REQUEST_TIMEOUT_SECS: u64 = 30;

/// Where and how to log in.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub user: String,
    pub host_key: HostKeyPolicy,
    pub key_file: Option<PathBuf>,
}

impl Endpoint {
    /// `ssh user@host:port`, for messages.
    pub fn target(&self) -> String {
        format!(
            "ssh {}@{}:{}",
            self.user, self.host_key.host, self.host_key.port
        )
    }
}

/// An open session. The SSH handle is kept alive with the SFTP session that runs over it.
pub struct Session {
    pub sftp: SftpSession,
    handle: Handle<ClientHandler>,
}

impl Session {
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }
}

/// russh asks this about the server's host key during the key exchange.
pub struct ClientHandler {
    host_key: HostKeyPolicy,
}

/// What the handler may fail with: our own verdict on the host key travels through russh
/// untouched, so the user sees it rather than a bare "unknown server key".
#[derive(Debug)]
pub enum HandlerError {
    Ssh(russh::Error),
    HostKey(SourceError),
}

impl From<russh::Error> for HandlerError {
    fn from(e: russh::Error) -> HandlerError {
        HandlerError::Ssh(e)
    }
}

impl client::Handler for ClientHandler {
    type Error = HandlerError;

    async fn check_server_key(
        &mut self,
        offer: &PublicKeyOrCertificate,
    ) -> Result<bool, HandlerError> {
        self.host_key
            .check_offer(offer)
            .map(|()| true)
            .map_err(HandlerError::HostKey)
    }
}

/// Connects, checks the host key, logs in and starts SFTP.
pub async fn open(endpoint: &Endpoint) -> Result<Session, SourceError> {
    let target = endpoint.target();
    let mut handle = tokio::time::timeout(CONNECT_TIMEOUT, handshake(endpoint))
        .await
        .map_err(|_| {
            SourceError::new(
                SourceErrorKind::Unreachable,
                format!("{target}: no answer within {}s", CONNECT_TIMEOUT.as_secs()),
            )
        })??;
    auth::authenticate(
        &mut handle,
        &target,
        &endpoint.user,
        endpoint.key_file.as_deref(),
    )
    .await?;
    let channel = handle
        .channel_open_session()
        .await
        .map_err(|e| errors::ssh(&target, "opening a channel", &e))?;
    channel
        .request_subsystem(true, "sftp")
        .await
        .map_err(|e| errors::ssh(&target, "starting the sftp subsystem", &e))?;
    let sftp = SftpSession::new(channel.into_stream())
        .await
        .map_err(|e| errors::sftp(&target, "", &e))?;
    sftp.set_timeout(REQUEST_TIMEOUT_SECS);
    Ok(Session { sftp, handle })
}

async fn handshake(endpoint: &Endpoint) -> Result<Handle<ClientHandler>, SourceError> {
    let config = client::Config {
        keepalive_interval: Some(KEEPALIVE),
        keepalive_max: 3,
        nodelay: true,
        ..Default::default()
    };
    let handler = ClientHandler {
        host_key: endpoint.host_key.clone(),
    };
    let address = (endpoint.host_key.host.as_str(), endpoint.host_key.port);
    client::connect(Arc::new(config), address, handler)
        .await
        .map_err(|e| match e {
            HandlerError::HostKey(e) => e,
            HandlerError::Ssh(e) => errors::ssh(&endpoint.target(), "connect", &e),
        })
}
