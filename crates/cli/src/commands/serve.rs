//! `litecnn serve [--model PATH] [--store DIR] [--host H] [--port P] [--threads N]
//! [--token-file F] [--max-body-bytes N] [--max-pixels N] [--queue N] [--request-timeout DUR]
//! [--rate-limit N] [--tls-cert F --tls-key F] [--shutdown-timeout DUR]`
//! (DESIGN §3, §5): picks the model to start with, validates the flags into one `ServeConfig`
//! and runs `litecnn_server`.
//!
//! The first model: `--model`, else the store's `current` bundle, else the built-in demo. Without
//! `--model` the store's `current` is watched, so a later promotion is swapped in.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use litecnn_deploy::probation::Live;
use litecnn_deploy::{Deployer, Ended, LogReporter, WatchControl};
use litecnn_server::{
    DeployCounter, Limits, LiveMetrics, LoadedModel, ModelSlot, ServeConfig, ServeOptions,
    TlsFiles, store,
};

use crate::cli::ServeArgs;
use crate::commands::admin::{DeployerAdmin, StoreRecord};
use crate::commands::default_threads;
use crate::commands::deploy::{default_store, deploy_options, webhooks};
use crate::demo;

/// One arena for every thread. Measured with MobileNetV3-Small under wrk (c=32): 31.0 MB peak
/// resident with two arenas (one per side, as before), 29.0 MB with one, at the same req/s:
/// each arena keeps its own high-water mark of freed request buffers, and the per-thread
/// caches in front of the arena keep the lock off the hot path.
const SERVER_MALLOC_ARENAS: u16 = 1;

pub fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    init_logging();
    // Fewer malloc arenas, so each thread's freed buffers are not kept apart (see the module);
    // a MALLOC_ARENA_MAX the user set wins.
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        litecnn_kernels::allocator::limit_arenas(SERVER_MALLOC_ARENAS);
    }
    // Concurrent requests keep every core busy on their own; a run splits its ops only while
    // it is alone (a single client still gets both cores).
    litecnn_kernels::team::share_cores_between_runs(true);
    let store = args.store.clone().or_else(default_store);
    let deploys = DeployCounter::default();
    let live = LiveMetrics::default();
    let control = match &args.watch {
        Some(source) => {
            let store = store
                .as_deref()
                .context("--watch needs a store (--store DIR)")?;
            let watching = Watching {
                deploys: deploys.clone(),
                live: live.clone(),
            };
            Some(watch_in_background(source, store, args, watching)?)
        }
        None => None,
    };
    let admin = DeployerAdmin {
        store: store.clone(),
        control,
        hooks: webhooks(&args.deploy.notify)?,
        deploys: deploys.clone(),
    };
    let config = ServeConfig::new(ServeOptions {
        host: args.host,
        port: args.port,
        threads: args.threads.unwrap_or_else(default_threads),
        max_batch: args.max_batch,
        token_file: args.token_file.clone(),
        admin_token_file: args.admin_token_file.clone(),
        admin: Some(Arc::new(admin)),
        deploys,
        live,
        record: store
            .clone()
            .map(|store| Arc::new(StoreRecord { store }) as Arc<dyn litecnn_server::DeployRecord>),
        limits: Limits {
            max_body_bytes: args.max_body_bytes,
            max_pixels: args.max_pixels,
            queue: args.queue,
            request_timeout: args.request_timeout,
            rate_limit: args.rate_limit,
        },
        // A model given by path is pinned: promotions in the store do not replace it.
        store: if args.model.is_some() && args.watch.is_none() {
            None
        } else {
            store.clone()
        },
        // clap makes the two flags come together.
        tls: args
            .tls_cert
            .clone()
            .zip(args.tls_key.clone())
            .map(|(cert, key)| TlsFiles { cert, key }),
        shutdown_timeout: args.shutdown_timeout,
    })?;
    let slot = match first_model(args, store.as_deref())? {
        Some(model) => {
            tracing::info!(
                "serving {} {} ({})",
                model.name(),
                model.version(),
                model.digest()
            );
            ModelSlot::with(model)
        }
        None => {
            tracing::info!("no model yet: /ready answers 503 until the watcher promotes one");
            ModelSlot::empty()
        }
    };
    litecnn_server::run(config, Arc::new(slot))?;
    Ok(())
}

/// What the in-process deployer shares with the server: the deploy counter of `/metrics`,
/// and `/metrics` itself, which probation judges.
struct Watching {
    deploys: DeployCounter,
    live: LiveMetrics,
}

/// The deployer of `serve --watch`, on its own thread; the server's store watcher swaps in
/// what it promotes.
fn watch_in_background(
    source: &str,
    store: &Path,
    args: &ServeArgs,
    Watching { deploys, live }: Watching,
) -> anyhow::Result<Arc<WatchControl>> {
    let mut opts = deploy_options(source, &args.deploy, false)?;
    // Empty until the server is up: probation then waits for the swap like any other.
    opts.live = Some(Live::InProcess(Arc::new(move || {
        live.render().unwrap_or_default()
    })));
    let mut deployer = Deployer::new(store, opts, Arc::new(LogReporter::default()))?;
    let control = Arc::new(WatchControl::default());
    let every = args.every;
    let looping = control.clone();
    std::thread::Builder::new()
        .name("litecnn-deployer".into())
        .spawn(move || {
            litecnn_deploy::watch(&mut deployer, every, &looping, |ended| {
                if let Some(result) = ended.result() {
                    deploys.count(result);
                }
                if !matches!(ended, Ended::Nothing(_)) {
                    tracing::info!("deploy: {}", ended.summary());
                }
            });
        })?;
    tracing::info!("watching {source} every {every:?}");
    Ok(control)
}

/// Logs to stderr: `info` by default (the model served, swaps, shutdown), `LITECNN_LOG=debug`
/// adds one line per request; any `tracing` filter works (`LITECNN_LOG=litecnn_server=debug`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LITECNN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// `--model`, else the store's current bundle, else (without `--watch`) the built-in demo.
fn first_model(args: &ServeArgs, store: Option<&Path>) -> anyhow::Result<Option<LoadedModel>> {
    if let Some(dir) = &args.model {
        return LoadedModel::load(dir)
            .context("cannot serve --model")
            .map(Some);
    }
    if let Some(store) = store
        && let Some(digest) = store::current_digest(store)?
    {
        return store::load(store, &digest)
            .with_context(|| {
                format!(
                    "cannot serve the current model of store {}",
                    store.display()
                )
            })
            .map(Some);
    }
    if args.watch.is_some() {
        return Ok(None);
    }
    let dir = demo::extract()?;
    LoadedModel::load(&dir)
        .context("cannot serve the built-in demo model")
        .map(Some)
}

/// A byte count: `1048576`, `512KiB`, `20MiB`, `1GiB`, `500kB`, `20MB`.
pub fn parse_bytes(text: &str) -> Result<usize, String> {
    const UNITS: [(&str, u64); 7] = [
        ("KiB", 1 << 10),
        ("MiB", 1 << 20),
        ("GiB", 1 << 30),
        ("kB", 1_000),
        ("MB", 1_000_000),
        ("GB", 1_000_000_000),
        ("B", 1),
    ];
    let (number, scale) = split_unit(text, &UNITS);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 1048576, 512KiB, 20MiB)"))?;
    n.checked_mul(scale)
        .and_then(|b| usize::try_from(b).ok())
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// A duration: `30s`, `500ms`, `2m`, `1h`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    const UNITS: [(&str, u64); 4] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)];
    let (number, millis) = split_unit(text, &UNITS);
    let millis = if number.len() == text.trim().len() {
        1_000
    } else {
        millis
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 30s, 500ms, 2m)"))?;
    n.checked_mul(millis)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// `text` without its unit suffix, and the unit's scale (1 without a unit).
fn split_unit<'a>(text: &'a str, units: &[(&str, u64)]) -> (&'a str, u64) {
    let text = text.trim();
    units
        .iter()
        .find_map(|(unit, scale)| text.strip_suffix(unit).map(|n| (n.trim(), *scale)))
        .unwrap_or((text, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_parse_with_units() {
        assert_eq!(parse_bytes("20MiB"), Ok(20 << 20));
        assert_eq!(parse_bytes("1048576"), Ok(1 << 20));
        assert_eq!(parse_bytes("2 kB"), Ok(2000));
        assert!(parse_bytes("lots").is_err());
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("soon").is_err());
    }
}
