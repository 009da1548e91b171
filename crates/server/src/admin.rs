//! The admin routes for chat-ops bots and the dashboard (DESIGN §5): `POST /admin/deploy`,
//! `POST /admin/rollback {"to"?}`, `POST /admin/watch {"enabled"}`. Off (404) without
//! `--admin-token-file`; with it, only an admin token opens them (the ordinary tokens do not).
//!
//! This crate knows nothing of the deployer: the binary hands in an [`AdminActions`].

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Router, http::StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::bearer;
use crate::error::ApiError;
use crate::state::AppState;

/// What the admin routes can ask of the process; each call may block (run off the runtime).
pub trait AdminActions: Send + Sync + std::fmt::Debug {
    /// Starts a deploy attempt now; `Err` when this process runs no deployer.
    fn deploy_now(&self) -> Result<Value, String>;
    /// Rolls back (to the previous promotion, or `to`); the answer describes what happened.
    fn rollback(&self, to: Option<&str>) -> Result<Value, String>;
    /// Pauses or resumes the watcher; `Err` when this process runs no deployer.
    fn set_watch(&self, enabled: bool) -> Result<Value, String>;
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/deploy", post(deploy))
        .route("/admin/rollback", post(rollback))
        .route("/admin/watch", post(watch))
}

/// True for the paths this module guards (the ordinary token check leaves them alone).
pub fn is_admin(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

/// The admin token check: 404 when admin is off, 401 without a valid admin token.
pub async fn require_admin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if !is_admin(request.uri().path()) {
        return Ok(next.run(request).await);
    }
    let (Some(tokens), Some(_)) = (&state.config.admin_tokens, &state.config.admin) else {
        return Err(ApiError::NotFound(format!(
            "{} (admin routes are off: start the server with --admin-token-file)",
            request.uri().path()
        )));
    };
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer);
    match given {
        Some(token) if tokens.accepts(token.as_bytes()) => Ok(next.run(request).await),
        _ => Err(ApiError::Unauthorized),
    }
}

fn actions(state: &AppState) -> Result<Arc<dyn AdminActions>, ApiError> {
    state
        .config
        .admin
        .clone()
        .ok_or_else(|| ApiError::NotFound("admin routes are off".into()))
}

/// Runs a blocking admin action off the runtime.
async fn run_blocking(
    state: &AppState,
    action: impl FnOnce(&dyn AdminActions) -> Result<Value, String> + Send + 'static,
) -> Result<Value, ApiError> {
    let actions = actions(state)?;
    tokio::task::spawn_blocking(move || action(&*actions))
        .await
        .map_err(|e| ApiError::Internal(format!("admin action: {e}")))?
        .map_err(ApiError::BadRequest)
}

async fn deploy(State(state): State<AppState>) -> Result<Response, ApiError> {
    let answer = run_blocking(&state, |a| a.deploy_now()).await?;
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    to: Option<String>,
}

async fn rollback(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: RollbackBody = if body.iter().all(u8::is_ascii_whitespace) {
        RollbackBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::BadRequest(format!(
                "expected {{\"to\": \"VERSION|DIGEST\"}} or no body: {e}"
            ))
        })?
    };
    let answer = run_blocking(&state, move |a| a.rollback(body.to.as_deref())).await?;
    Ok(Json(answer))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WatchBody {
    enabled: bool,
}

async fn watch(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: WatchBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("expected {{\"enabled\": true|false}}: {e}")))?;
    let answer = run_blocking(&state, move |a| a.set_watch(body.enabled)).await?;
    Ok(Json(json!({"watch": answer})))
}
