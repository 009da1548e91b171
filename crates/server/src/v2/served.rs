//! The model a `/v2/models/{name}[/versions/{version}]` path names: the serving model, taken
//! once for the whole request, if its manifest `name` matches (and the version, when given, is
//! its manifest `version` or its digest). Anything else is 404; no model at all is 503.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::Deserialize;

use crate::error::ApiError;
use crate::model::LoadedModel;
use crate::state::AppState;

/// The serving model, as the path names it.
pub struct Served(pub Arc<LoadedModel>);

#[derive(Deserialize)]
struct ModelPath {
    name: String,
    /// Absent in the unversioned routes.
    version: Option<String>,
}

impl FromRequestParts<AppState> for Served {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Served, ApiError> {
        let Path(path) = Path::<ModelPath>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(format!("bad model path: {}", e.body_text())))?;
        let model = state.slot.current().ok_or(ApiError::NotReady)?;
        if path.name != model.name() {
            return Err(ApiError::UnknownModel(format!(
                "unknown model {:?}: this server serves {:?}",
                path.name,
                model.name()
            )));
        }
        if let Some(version) = path.version
            && version != model.version()
            && version != model.digest()
        {
            return Err(ApiError::UnknownModel(format!(
                "model {:?} has no version {version:?}: it serves {:?}",
                model.name(),
                model.version()
            )));
        }
        Ok(Served(model))
    }
}
