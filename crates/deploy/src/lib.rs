//! The litecnn deployer (DESIGN §1, §3, §4): from a SOURCE to the store's `current` model.
//!
//! ```text
//! source (local · ssh · s3 · http) ─► detect (LATEST, SHA256SUMS → digest; or a stable checkpoint)
//!   ─► fetch into <store>/staging (retry, resume) ─► verify (checksums, signature)
//!   ─► convert (checkpoints only) ─► gate (engine, labels, golden, hold-out, latency)
//!   ─► promote (install the bundle, rename `current`) ─► record (SQLite) ─► notify (webhooks)
//!   ─► probation (the live model's errors and p99; on a breach: roll back, reject, record, notify)
//! ```
//!
//! Modules: [`source`] (the one trait every kind of source implements), [`candidate`]
//! (detect), [`fetch`], [`convert`], [`gate`] and [`holdout`], [`deploy`] (one attempt:
//! [`Deployer`]), [`watch`] (the loop and its controls), [`probation`] (judging the live model from the server's
//! metrics), [`rollback`], [`status`] (and the
//! watcher heartbeat), [`store`] (the layout, atomic installs and switches), [`lock`] (one
//! deployer per store), [`history`] (SQLite), [`notify`] (Slack, Discord, JSON webhooks).
//!
//! Invariant: nothing a server reads changes except by one rename (`current`, a bundle
//! directory), so a crash at any step leaves the current model serving and the store whole.

pub mod attempt;
pub mod backoff;
pub mod candidate;
pub mod convert;
pub mod deploy;
pub mod fetch;
pub mod gate;
pub mod history;
pub mod holdout;
pub mod lock;
pub mod notify;
pub mod probation;
pub mod report;
pub mod rollback;
pub mod source;
pub mod status;
pub mod store;
pub mod tls;
pub mod watch;

pub use deploy::{DeployOptions, Deployer, Ended, SetupError};
pub use history::{AttemptRecord, History, Outcome};
pub use notify::Webhook;
pub use report::{LogReporter, Reporter};
pub use rollback::{RollbackError, rollback};
pub use status::{Heartbeat, status};
pub use store::Store;
pub use watch::{WatchControl, watch};
