//! `GET /v1/history?limit=N` and `GET /v1/status`: the deploy record as `litecnn history --json`
//! and `litecnn status --json` print it (DESIGN §9), for the dashboard and for scripts. This
//! crate knows nothing of the deployer: the binary hands in a [`DeployRecord`]; without one
//! (no store) the routes answer 404.

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

/// Reads the store's deploy record; calls may block (they run off the runtime).
pub trait DeployRecord: Send + Sync + std::fmt::Debug {
    /// The newest `limit` attempts, newest first, as `history --json`.
    fn history(&self, limit: usize) -> Result<Value, String>;
    /// As `status --json`.
    fn status(&self) -> Result<Value, String>;
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/history", get(history))
        .route("/v1/status", get(status))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    limit: Option<usize>,
}

/// The most a single request returns; the history itself is unbounded.
const MAX_LIMIT: usize = 1000;

async fn read(
    state: &AppState,
    read: impl FnOnce(&dyn DeployRecord) -> Result<Value, String> + Send + 'static,
) -> Result<Json<Value>, ApiError> {
    let record =
        state.config.record.clone().ok_or_else(|| {
            ApiError::NotFound("no deploy record: this server has no store".into())
        })?;
    tokio::task::spawn_blocking(move || read(&*record))
        .await
        .map_err(|e| ApiError::Internal(format!("deploy record: {e}")))?
        .map(Json)
        .map_err(ApiError::Internal)
}

async fn history(
    State(state): State<AppState>,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) =
        query.map_err(|e| ApiError::BadRequest(format!("expected ?limit=N: {e}")))?;
    let limit = query.limit.unwrap_or(50).min(MAX_LIMIT);
    read(&state, move |r| r.history(limit)).await
}

async fn status(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    read(&state, |r| r.status()).await
}
