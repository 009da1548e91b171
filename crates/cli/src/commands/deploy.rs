//! `litecnn deploy SOURCE` and `litecnn watch SOURCE` (DESIGN §3, §4): one attempt, or
//! attempts in a loop, from a source into the store. Exit codes: 0 promoted or nothing new,
//! 3 rejected by verify, signature or a gate, 1 anything else.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use litecnn_bundle::PublicKey;
use litecnn_deploy::probation::Live;
use litecnn_deploy::source::SourceOptions;
use litecnn_deploy::{
    DeployOptions, Deployer, Ended, LogReporter, Reporter, WatchControl, Webhook,
};

use crate::cli::{DeployArgs, DeployOptionArgs, StoreArg, WatchArgs};
use crate::commands::Rejected;
use crate::progress::BarReporter;

/// The store directory: `--store`/`$LITECNN_STORE`, else the platform default.
pub fn store_dir(arg: &StoreArg) -> anyhow::Result<PathBuf> {
    arg.store
        .clone()
        .or_else(default_store)
        .context("no store: give --store DIR (or set LITECNN_STORE, XDG_DATA_HOME or HOME)")
}

/// `$XDG_DATA_HOME/litecnn`, else `~/.local/share/litecnn` (DESIGN §3 defaults; `$LITECNN_STORE`
/// comes through the flag's environment variable).
pub fn default_store() -> Option<PathBuf> {
    let non_empty = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    non_empty("XDG_DATA_HOME")
        .map(|d| PathBuf::from(d).join("litecnn"))
        .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".local/share/litecnn")))
}

/// The deploy options of DESIGN §3, validated.
pub fn deploy_options(
    source: &str,
    args: &DeployOptionArgs,
    force: bool,
) -> anyhow::Result<DeployOptions> {
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.max_accuracy_drop),
        "--max-accuracy-drop is a fraction between 0 and 1 (0.01 = one point), not {}",
        args.max_accuracy_drop
    );
    let mut opts = DeployOptions::new(source);
    opts.source_options = SourceOptions {
        ssh_key: args.ssh_key.clone(),
        known_hosts: args.known_hosts.clone(),
        accept_new_host_key: args.accept_new_host_key,
    };
    opts.holdout = args.holdout.clone();
    opts.max_accuracy_drop = args.max_accuracy_drop;
    opts.max_latency_ms = args.max_latency_ms;
    opts.pubkey = args
        .pubkey
        .as_deref()
        .map(PublicKey::from_arg)
        .transpose()
        .context("bad --pubkey")?;
    opts.convert = args.convert.clone();
    opts.settle = args.settle;
    opts.keep = args.keep;
    opts.probation = args.probation;
    opts.notify = webhooks(&args.notify)?;
    opts.force = force;
    Ok(opts)
}

/// `--server URL`: where probation reads the live model's metrics.
fn server(url: Option<&str>) -> anyhow::Result<Option<Live>> {
    let Some(url) = url else { return Ok(None) };
    anyhow::ensure!(
        url.starts_with("http://") || url.starts_with("https://"),
        "--server {url:?}: expected the http(s):// address of a `litecnn serve`"
    );
    Ok(Some(Live::Http(url.to_owned())))
}

/// The `--notify` targets.
pub fn webhooks(specs: &[String]) -> anyhow::Result<Vec<Webhook>> {
    specs
        .iter()
        .map(|n| Webhook::parse(n).map_err(anyhow::Error::msg))
        .collect()
}

/// A progress bar on a terminal, log lines otherwise.
pub fn reporter() -> Arc<dyn Reporter> {
    if std::io::stderr().is_terminal() {
        Arc::new(BarReporter::default())
    } else {
        Arc::new(LogReporter::default())
    }
}

pub fn deploy(args: &DeployArgs) -> anyhow::Result<()> {
    let store = store_dir(&args.store)?;
    let mut opts = deploy_options(&args.source, &args.options, args.force)?;
    opts.live = server(args.server.as_deref())?;
    let mut deployer = Deployer::new(&store, opts, reporter())?;
    let ended = deployer.attempt();
    finish(&ended)
}

/// Prints how the attempt ended and maps it to the exit code.
fn finish(ended: &Ended) -> anyhow::Result<()> {
    match ended {
        Ended::Nothing(why) => {
            eprintln!("nothing to deploy: {why}");
            Ok(())
        }
        Ended::Promoted(a) => {
            eprintln!(
                "promoted {} ({})",
                a.version.as_deref().unwrap_or("?"),
                a.digest.as_deref().unwrap_or("?")
            );
            Ok(())
        }
        Ended::Rejected(a) => Err(Rejected(format!(
            "rejected {}: {}",
            a.version.as_deref().unwrap_or("the candidate"),
            a.reason.as_deref().unwrap_or("?")
        ))
        .into()),
        Ended::RolledBack(a) => Err(Rejected(format!(
            "rolled back {}: {}",
            a.version.as_deref().unwrap_or("the candidate"),
            a.reason.as_deref().unwrap_or("?")
        ))
        .into()),
        Ended::Failed(a) => anyhow::bail!("deploy failed: {}", a.reason.as_deref().unwrap_or("?")),
        Ended::FailedAgain(why) => anyhow::bail!("deploy failed: {why}"),
    }
}

pub fn watch(args: &WatchArgs) -> anyhow::Result<()> {
    let store = store_dir(&args.store)?;
    let mut opts = deploy_options(&args.source, &args.options, false)?;
    opts.live = server(args.server.as_deref())?;
    let mut deployer = Deployer::new(&store, opts, reporter())?;
    let control = Arc::new(WatchControl::default());
    crate::signals::stop_on_signal(control.clone())?;
    eprintln!(
        "watching {} every {:?} into store {}",
        args.source,
        args.every,
        store.display()
    );
    litecnn_deploy::watch(&mut deployer, args.every, &control, |ended| {
        if !matches!(ended, Ended::Nothing(_)) {
            eprintln!("{}", ended.summary());
        }
    });
    Ok(())
}
