//! The litecnn HTTP server (DESIGN §5, §9).
//!
//! ```text
//! socket ─► axum (2 runtime threads: bytes and waiting only)
//!             └─ metrics by matched route ─► v2 error form ─► rate limit ─► bearer token ─► timeout
//!                ─► body limit ─► handler ─┐
//!   ┌──────────────────────────────────────┘
//!   ├ /predict: take Arc<LoadedModel> from the ModelSlot, read the body, queue a Job (bounded;
//!   │   full → 503 overloaded) ─► inference worker threads:
//!   │   decode ─► preprocess ─► Model::run ─► softmax, top-k ─► oneshot reply
//!   └ /v2/models/{name}/infer: the same, with a TensorJob: on the worker, decode the JSON or
//!       binary tensors ─► check them against the model ─► Model::run ─► raw output back
//! store/current ─► watcher thread ─► LoadedModel::load (verify, golden, warm) ─► ModelSlot::store
//! ```
//!
//! Modules: [`config`] (the one validated [`ServeConfig`]), [`routes`] ([`build_router`]),
//! [`predict`] (the `/predict` handler), [`v2`] (the Open Inference Protocol), [`error`] (the
//! status-code table), [`auth`], [`metrics`], [`workers`], [`model`] ([`LoadedModel`]),
//! [`slot`] ([`ModelSlot`], hot swap), [`store`] (reads and watches a store's `current`),
//! [`tls`] (certificate and key), [`dashboard`] (the web page at `/`), [`traffic`] (the
//! live charts' ring of samples), [`rate_limit`] (per-client token buckets), [`serve`] (bind,
//! HTTP or HTTPS, shutdown with a deadline).
//!
//! Architecture invariant: the async runtime never decodes an image or a tensor, nor runs a
//! model. This crate knows nothing of the deployer: it reads the store's `current` file and
//! nothing else.

pub mod admin;
pub mod auth;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod metrics;
pub mod model;
pub mod predict;
pub mod rate_limit;
pub mod record;
pub mod routes;
pub mod serve;
pub mod slot;
pub mod state;
pub mod store;
pub mod tls;
pub mod traffic;
pub mod v2;
pub mod workers;

pub use admin::AdminActions;
pub use config::{ConfigError, Limits, ServeConfig, ServeOptions};
pub use error::ApiError;
pub use metrics::{DeployCounter, LiveMetrics};
pub use model::{LoadCause, LoadError, LoadedModel};
pub use record::DeployRecord;
pub use routes::build_router;
pub use serve::{ServeError, run, serve};
pub use slot::ModelSlot;
pub use state::AppState;
pub use tls::TlsFiles;
