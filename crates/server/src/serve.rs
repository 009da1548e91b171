//! Running the server: bind, announce the address, serve until SIGTERM or SIGINT, then let
//! requests in flight finish (graceful shutdown) before returning.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::ServeConfig;
use crate::routes::build_router;
use crate::slot::ModelSlot;
use crate::state::AppState;
use crate::store::{self, POLL_EVERY};

/// Async runtime threads: they only move bytes and wait, inference has its own threads.
const RUNTIME_THREADS: usize = 2;

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
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
}

/// Serves `slot` with `config` until a shutdown signal; blocking. Prints
/// `listening on http://ADDR` on stdout once the socket is bound (the port is the real one when
/// `config.addr` asked for port 0).
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
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|cause| ServeError::Bind { addr, cause })?;
    let local = listener
        .local_addr()
        .map_err(|cause| ServeError::Bind { addr, cause })?;
    let store = config.store.clone();
    let state = AppState::new(config, slot.clone()).map_err(ServeError::Threads)?;
    let watcher = match store {
        Some(dir) => Some(
            store::watch(dir, slot, state.metrics.clone(), POLL_EVERY)
                .map_err(ServeError::Threads)?,
        ),
        None => None,
    };
    announce(local);
    let served = axum::serve(listener, build_router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await;
    if let Some(w) = watcher {
        w.stop();
    }
    served.map_err(ServeError::Serve)
}

fn announce(addr: SocketAddr) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on http://{addr}");
    let _ = out.flush();
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM (what service managers send).
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    eprintln!("shutting down: finishing requests in flight");
}
