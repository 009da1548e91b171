//! The server's one configuration value (DESIGN §3 `serve`, §9 limits), validated once before
//! anything starts: the rest of the crate takes a [`ServeConfig`] and never re-checks it.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::admin::AdminActions;
use crate::auth::{TokenError, Tokens};
use crate::metrics::{DeployCounter, LiveMetrics};
use crate::record::DeployRecord;
use crate::tls::{self, TlsError, TlsFiles};

/// DESIGN §9 defaults.
pub const DEFAULT_PORT: u16 = 8891;
pub const DEFAULT_MAX_BODY_BYTES: usize = 20 * 1024 * 1024;
pub const DEFAULT_MAX_PIXELS: u64 = litecnn_vision::DEFAULT_MAX_PIXELS;
pub const DEFAULT_QUEUE: usize = 64;
/// The largest `--max-batch`: the engine reads a classifier's weights once for up to 8 rows.
pub const MAX_BATCH: usize = 8;
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long requests in flight may run on after SIGTERM before their connections are closed.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// What a request may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body (`--max-body-bytes`).
    pub max_body_bytes: usize,
    /// Largest declared `width × height` of an image (`--max-pixels`), checked before decoding.
    pub max_pixels: u64,
    /// Requests waiting for an inference worker (`--queue`); beyond it, 503 `overloaded`.
    pub queue: usize,
    /// Longest a request may take (`--request-timeout`).
    pub request_timeout: Duration,
    /// Requests per second per client IP (`--rate-limit`); `None`: unlimited.
    pub rate_limit: Option<NonZeroU32>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_pixels: DEFAULT_MAX_PIXELS,
            queue: DEFAULT_QUEUE,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            rate_limit: None,
        }
    }
}

/// Everything `serve` needs, validated.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub addr: SocketAddr,
    /// Inference worker threads.
    pub threads: usize,
    /// Images a worker runs as one batch when they wait for the same model (`--max-batch`).
    pub max_batch: usize,
    /// Bearer tokens; `None` leaves every route open.
    pub tokens: Option<Tokens>,
    /// Tokens of `/admin/*` (`--admin-token-file`); `None` turns the admin routes off.
    pub admin_tokens: Option<Tokens>,
    /// What the admin routes act on (the deployer, wired by the binary).
    pub admin: Option<Arc<dyn AdminActions>>,
    /// Deploy attempts of the in-process deployer, exposed in `/metrics`.
    pub deploys: DeployCounter,
    /// Filled with this server's metrics when it starts, for the in-process deployer.
    pub live: LiveMetrics,
    /// The store's deploy record behind `/v1/history` and `/v1/status`.
    pub record: Option<Arc<dyn DeployRecord>>,
    pub limits: Limits,
    /// A store whose `current` file is watched for promotions (see [`crate::store`]).
    pub store: Option<PathBuf>,
    /// HTTPS instead of HTTP (`--tls-cert`, `--tls-key`), certificate and key already checked.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// After SIGTERM, how long requests in flight may take before they are cut off.
    pub shutdown_timeout: Duration,
}

/// The flags as given, before validation.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub host: IpAddr,
    pub port: u16,
    pub threads: usize,
    pub max_batch: usize,
    pub token_file: Option<PathBuf>,
    pub admin_token_file: Option<PathBuf>,
    pub admin: Option<Arc<dyn AdminActions>>,
    pub deploys: DeployCounter,
    pub live: LiveMetrics,
    pub record: Option<Arc<dyn DeployRecord>>,
    pub limits: Limits,
    pub store: Option<PathBuf>,
    pub tls: Option<TlsFiles>,
    pub shutdown_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--threads must be at least 1")]
    Threads,
    #[error("--queue must be at least 1")]
    Queue,
    #[error("--max-batch must be 1 to {MAX_BATCH}")]
    MaxBatch,
    #[error("--max-body-bytes must be at least 1")]
    MaxBody,
    #[error("--max-pixels must be at least 1")]
    MaxPixels,
    #[error("--request-timeout must be longer than zero")]
    Timeout,
    #[error("--token-file {path}: {cause}")]
    Tokens { path: PathBuf, cause: TokenError },
    #[error("--admin-token-file {path}: {cause}")]
    AdminTokens { path: PathBuf, cause: TokenError },
    #[error("--tls-cert/--tls-key: {0}")]
    Tls(TlsError),
}

impl ServeConfig {
    /// Checks every value and reads the token file (an empty one is an error, DESIGN §9).
    pub fn new(options: ServeOptions) -> Result<ServeConfig, ConfigError> {
        let limits = options.limits;
        check(options.threads >= 1, ConfigError::Threads)?;
        check(limits.queue >= 1, ConfigError::Queue)?;
        check(
            (1..=MAX_BATCH).contains(&options.max_batch),
            ConfigError::MaxBatch,
        )?;
        check(limits.max_body_bytes >= 1, ConfigError::MaxBody)?;
        check(limits.max_pixels >= 1, ConfigError::MaxPixels)?;
        check(!limits.request_timeout.is_zero(), ConfigError::Timeout)?;
        let tokens = match options.token_file {
            Some(path) => {
                Some(Tokens::read(&path).map_err(|cause| ConfigError::Tokens { path, cause })?)
            }
            None => None,
        };
        let admin_tokens = match options.admin_token_file {
            Some(path) => Some(
                Tokens::read(&path).map_err(|cause| ConfigError::AdminTokens { path, cause })?,
            ),
            None => None,
        };
        let tls = options
            .tls
            .as_ref()
            .map(tls::server_config)
            .transpose()
            .map_err(ConfigError::Tls)?;
        Ok(ServeConfig {
            addr: SocketAddr::new(options.host, options.port),
            threads: options.threads,
            max_batch: options.max_batch,
            tokens,
            admin_tokens,
            admin: options.admin,
            deploys: options.deploys,
            live: options.live,
            record: options.record,
            limits,
            store: options.store,
            tls,
            shutdown_timeout: options.shutdown_timeout,
        })
    }
}

fn check(ok: bool, err: ConfigError) -> Result<(), ConfigError> {
    if ok { Ok(()) } else { Err(err) }
}
