//! The server's side of the store (DESIGN §4, §9): it only *reads* which bundle is current and
//! swaps it in; writing the store is the deployer's job. Layout:
//!
//! ```text
//! <store>/current               "sha256:<hex>\n": the promoted bundle, replaced by rename
//! <store>/bundles/<hex>/        each bundle, in a directory named by its digest's hex
//! ```
//!
//! [`watch`] polls `current` (a stat-sized read every interval) and swaps when it names a
//! digest other than the serving one. A bundle that fails to load is reported once and not
//! retried until `current` changes again; the old model keeps serving meanwhile.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use litecnn_bundle::Digest;

use crate::metrics::Metrics;
use crate::model::{LoadError, LoadedModel};
use crate::slot::ModelSlot;

pub use litecnn_bundle::store_layout::{BUNDLES_DIR, CURRENT_FILE, bundle_dir, current_digest};
use litecnn_bundle::store_layout::CurrentError;

/// How often [`watch`] looks at `current`.
pub const POLL_EVERY: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Current(#[from] CurrentError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("{}: holds digest {found}, not {expected} as its directory name says", dir.display())]
    WrongDigest {
        dir: PathBuf,
        expected: Digest,
        found: String,
    },
}

/// Loads the bundle `digest` of `store` in full, checking that it is the bundle its directory
/// name says.
pub fn load(store: &Path, digest: &Digest) -> Result<LoadedModel, StoreError> {
    let dir = bundle_dir(store, digest);
    let model = LoadedModel::load(&dir)?;
    if model.bundle().digest() != digest {
        return Err(StoreError::WrongDigest {
            dir,
            expected: digest.clone(),
            found: model.digest(),
        });
    }
    Ok(model)
}

/// A running watcher; dropping it leaves the thread running, [`Watcher::stop`] ends it.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Watcher {
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// Polls `<store>/current` every `every` on its own thread and swaps each newly named bundle
/// into `slot` (a load, full verification and warm-up, all off the async runtime).
pub fn watch(
    store: PathBuf,
    slot: Arc<ModelSlot>,
    metrics: Arc<Metrics>,
    every: Duration,
) -> io::Result<Watcher> {
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let thread = thread::Builder::new()
        .name("litecnn-store-watch".into())
        .spawn(move || {
            let mut last_failed: Option<Digest> = None;
            while !stopped.load(Ordering::Relaxed) {
                poll_once(&store, &slot, &metrics, &mut last_failed);
                thread::sleep(every);
            }
        })?;
    Ok(Watcher { stop, thread })
}

fn poll_once(store: &Path, slot: &ModelSlot, metrics: &Metrics, last_failed: &mut Option<Digest>) {
    let wanted = match current_digest(store) {
        Ok(Some(digest)) => digest,
        Ok(None) => return,
        Err(e) => {
            eprintln!("warning: store watcher: {e}");
            return;
        }
    };
    let serving = slot.current().map(|m| m.bundle().digest().clone());
    if serving.as_ref() == Some(&wanted) || last_failed.as_ref() == Some(&wanted) {
        return;
    }
    match load(store, &wanted) {
        Ok(model) => {
            let model = slot.store(model);
            metrics.count_swap(true);
            *last_failed = None;
            eprintln!(
                "serving {} {} ({})",
                model.name(),
                model.version(),
                model.digest()
            );
        }
        Err(e) => {
            metrics.count_swap(false);
            eprintln!("error: cannot swap in {wanted}; the current model keeps serving: {e}");
            *last_failed = Some(wanted);
        }
    }
}
