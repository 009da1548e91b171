//! The litecnn HTTP server (DESIGN §5, §9).
//!
//! ```text
//! socket ─► axum (2 runtime threads: bytes and waiting only)
//!             └─ metrics by matched route ─► bearer token ─► timeout ─► body limit ─► handler
//!                                                                              │
//!           /predict: take Arc<LoadedModel> from the ModelSlot, read the body, ─┘
//!           queue a Job (bounded; full → 503 overloaded) ─► inference worker threads:
//!           decode ─► preprocess ─► Model::run ─► softmax, top-k ─► oneshot reply
//! store/current ─► watcher thread ─► LoadedModel::load (verify, golden, warm) ─► ModelSlot::store
//! ```
//!
//! Modules: [`config`] (the one validated [`ServeConfig`]), [`routes`] ([`build_router`]),
//! [`predict`] (the `/predict` handler), [`error`] (the status-code table), [`auth`],
//! [`metrics`], [`workers`], [`model`] ([`LoadedModel`]), [`slot`] ([`ModelSlot`], hot swap),
//! [`store`] (reads and watches a store's `current`), [`serve`] (bind, shutdown).
//!
//! Architecture invariant: the async runtime never decodes an image or runs a model. This
//! crate knows nothing of the deployer: it reads the store's `current` file and nothing else.

pub mod auth;
pub mod config;
pub mod error;
pub mod metrics;
pub mod model;
pub mod predict;
pub mod routes;
pub mod serve;
pub mod slot;
pub mod state;
pub mod store;
pub mod workers;

pub use config::{ConfigError, Limits, ServeConfig, ServeOptions};
pub use error::ApiError;
pub use model::{LoadCause, LoadError, LoadedModel};
pub use routes::build_router;
pub use serve::{ServeError, run, serve};
pub use slot::ModelSlot;
pub use state::AppState;
