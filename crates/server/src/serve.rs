//! Running the server: bind, announce the address, serve HTTP or HTTPS until SIGTERM or SIGINT,
//! then let requests in flight finish (graceful shutdown) — for at most the configured
//! `shutdown_timeout`, so a stuck client cannot keep the process alive.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use axum_server::Handle;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};

use crate::config::ServeConfig;
use crate::routes::build_router;
use crate::slot::ModelSlot;
use crate::state::AppState;
use crate::store::{self, POLL_EVERY};

/// Async runtime threads: they only move bytes and wait, inference has its own threads.
const RUNTIME_THREADS: usize = 2;

/// The most an HTTP/1 connection buffers from its socket, which also caps a request's head
/// (larger gets 431; 16 KiB is Node.js's default head limit too). hyper grows each
/// connection's buffer up to ~400 KiB while reading a body and keeps it for the connection's
/// life, and a queued request's body pins the buffer it was read into: under 32 keep-alive
/// clients posting a 35 KB photo, peak RSS was 36–38 MB with 64 KiB buffers and 29–31 MB with
/// 16 KiB, at the same throughput. The body does not need a large buffer: it streams through.
const READ_BUFFER_BYTES: usize = 16 << 10;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot listen on {addr}: {cause}")]
    Bind {
        addr: SocketAddr,
        cause: std::io::Error,
    },
    #[error("cannot start the server's threads: {0}")]
    Threads(std::io::Error),
    #[error("cannot listen for SIGTERM and SIGINT: {0}")]
    Signals(std::io::Error),
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
}

/// Serves `slot` with `config` until a shutdown signal; blocking. Prints
/// `listening on http://ADDR` (or `https://`) on stdout once the socket is bound (the port is
/// the real one when `config.addr` asked for port 0).
pub fn run(config: ServeConfig, slot: Arc<ModelSlot>) -> Result<(), ServeError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(RUNTIME_THREADS)
        .thread_name("litecnn-http")
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?
        .block_on(serve(config, slot))
}

pub async fn serve(config: ServeConfig, slot: Arc<ModelSlot>) -> Result<(), ServeError> {
    let addr = config.addr;
    let bind_error = |cause| ServeError::Bind { addr, cause };
    let listener = std::net::TcpListener::bind(addr).map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    let mut server = axum_server::from_tcp(listener).map_err(bind_error)?;
    server
        .http_builder()
        .http1()
        .max_buf_size(READ_BUFFER_BYTES);
    let (tls, grace, store) = (
        config.tls.clone(),
        config.shutdown_timeout,
        config.store.clone(),
    );
    let state = AppState::new(config, slot.clone()).map_err(ServeError::Threads)?;
    let watcher = match store {
        Some(dir) => Some(
            store::watch(dir, slot, state.metrics.clone(), POLL_EVERY)
                .map_err(ServeError::Threads)?,
        ),
        None => None,
    };
    let handle = Handle::new();
    let signal = shutdown_signal().map_err(ServeError::Signals)?;
    tokio::spawn(shut_down_on(signal, handle.clone(), grace));
    // The peer address feeds the rate limiter.
    let app = build_router(state).into_make_service_with_connect_info::<SocketAddr>();
    announce(local, tls.is_some());
    let served = match tls {
        Some(tls) => {
            let acceptor = RustlsAcceptor::new(RustlsConfig::from_config(tls));
            server.acceptor(acceptor).handle(handle).serve(app).await
        }
        None => server.handle(handle).serve(app).await,
    };
    if let Some(w) = watcher {
        w.stop();
    }
    served.map_err(ServeError::Serve)
}

fn announce(addr: SocketAddr, tls: bool) {
    let scheme = if tls { "https" } else { "http" };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {scheme}://{addr}");
    let _ = out.flush();
}

/// On the first signal: stop accepting, let requests in flight finish within `grace`, then
/// close whatever is left.
async fn shut_down_on(
    signal: impl Future<Output = ()>,
    handle: Handle<SocketAddr>,
    grace: std::time::Duration,
) {
    signal.await;
    tracing::info!(
        "shutting down: finishing requests in flight (at most {} s)",
        grace.as_secs_f64()
    );
    handle.graceful_shutdown(Some(grace));
}

/// Registers the handlers at once — a signal arriving before the first poll must not kill the
/// process with the default action — and resolves on the first SIGINT (Ctrl-C) or SIGTERM (what
/// service managers send).
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
