//! The Open Inference Protocol, version 2 (KServe v2 / Triton HTTP; DESIGN §5, §9): what the
//! `tritonclient` HTTP client speaks. The model name is the manifest `name`; its one version is
//! the manifest `version` (the digest is accepted too).
//!
//! ```text
//! GET  /v2                                   server metadata
//! GET  /v2/health/live · /v2/health/ready    liveness · readiness (open without a token)
//! GET  /v2/models/{name}[/versions/{v}]      model metadata
//! GET  /v2/models/{name}[/versions/{v}]/ready
//! POST /v2/models/{name}[/versions/{v}]/infer
//! ```
//!
//! Modules: [`metadata`] (health and metadata), [`served`] (the model a path names), [`infer`]
//! (the handler, and the worker side that decodes and runs), [`request`] (the request JSON),
//! [`json`] (tensor `data`, flat or nested), [`binary`] (the binary tensor extension),
//! [`validate`] (a request against the model), [`response`] (the answer), [`error_form`]
//! (`{"error": "..."}` for every error under `/v2`).

mod binary;
pub mod error_form;
mod infer;
mod json;
mod metadata;
mod request;
mod response;
mod served;
mod validate;

use axum::Router;
use axum::routing::{get, post};

pub use error_form::error_form;
pub use infer::{InferOutcome, run};
pub use validate::MAX_INPUT_ELEMENTS;

use crate::state::AppState;

/// The protocol's routes, with their full paths (so metrics name them as they are).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2", get(metadata::server))
        .route("/v2/health/live", get(metadata::live))
        .route("/v2/health/ready", get(metadata::ready))
        .route("/v2/models/{name}", get(metadata::model))
        .route("/v2/models/{name}/versions/{version}", get(metadata::model))
        .route("/v2/models/{name}/ready", get(metadata::model_ready))
        .route(
            "/v2/models/{name}/versions/{version}/ready",
            get(metadata::model_ready),
        )
        .route("/v2/models/{name}/infer", post(infer::infer))
        .route(
            "/v2/models/{name}/versions/{version}/infer",
            post(infer::infer),
        )
}
