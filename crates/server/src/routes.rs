//! The router (DESIGN §5), built by a function so tests drive it without a socket. Middleware,
//! outermost first: metrics by matched route → OIP v2 error form → rate limit → admin token
//! (`/admin/*`) → bearer token → request timeout → body limit. The `/v2` routes are in [`crate::v2`].

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::admin::{self, require_admin};
use crate::auth::require_token;
use crate::dashboard;
use crate::error::ApiError;
use crate::metrics::{CONTENT_TYPE as METRICS_TYPE, track};
use crate::predict::predict;
use crate::rate_limit::limit_rate;
use crate::record;
use crate::state::AppState;
use crate::v2;

pub fn build_router(state: AppState) -> Router {
    let limits = state.config.limits;
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/v1/model", get(model))
        .route("/predict", post(predict))
        .route("/metrics", get(metrics))
        .merge(v2::routes())
        .merge(admin::routes())
        .merge(record::routes())
        .merge(dashboard::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), timeout))
        .layer(middleware::from_fn_with_state(state.clone(), require_token))
        .layer(middleware::from_fn_with_state(state.clone(), require_admin))
        .layer(middleware::from_fn(v2::error_form))
        .layer(middleware::from_fn_with_state(state.clone(), limit_rate))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

/// Liveness: the process answers.
async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Readiness: the serving model, or 503 `not_ready`.
async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    model(State(state)).await
}

/// `GET /v1/model`: the same description as `/ready`.
async fn model(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let model = state.slot.current().ok_or(ApiError::NotReady)?;
    Ok(Json(model.info().clone()))
}

async fn metrics(State(state): State<AppState>) -> Response {
    let serving = state.slot.current();
    let text = state.metrics.render(serving.as_deref());
    ([(CONTENT_TYPE, METRICS_TYPE)], text).into_response()
}

async fn not_found(request: Request) -> ApiError {
    ApiError::NotFound(format!("{} {}", request.method(), request.uri().path()))
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::MethodNotAllowed(format!("{} {}", request.method(), request.uri().path()))
}

/// `--request-timeout`: the whole request, body upload and queue wait included.
async fn timeout(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.config.limits.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout(limit).into_response(),
    }
}
