//! The protocol's health and metadata routes: server metadata (`GET /v2`), liveness and
//! readiness (`/v2/health/live`, `/v2/health/ready`), and per model its metadata and
//! readiness. Tensor shapes are `[-1, 3, H, W]` in and `[-1, classes]` out, `-1` being the
//! batch (or the batch the model fixes).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::request::FP32;
use super::served::Served;
use crate::error::ApiError;
use crate::model::LoadedModel;
use crate::state::AppState;

/// The `platform` of model metadata: an ONNX model run by litecnn's engine.
pub const PLATFORM: &str = "litecnn_onnx";

/// The protocol extensions this server speaks.
pub const EXTENSIONS: &[&str] = &["binary_tensor_data"];

pub async fn server() -> Json<Value> {
    Json(json!({
        "name": "litecnn",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": EXTENSIONS,
    }))
}

/// Liveness: the process answers.
pub async fn live() -> Json<Value> {
    Json(json!({"live": true}))
}

/// Readiness: a model is loaded, else 503.
pub async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.slot.current().ok_or(ApiError::NotReady)?;
    Ok(Json(json!({"ready": true})))
}

pub async fn model(Served(model): Served) -> Json<Value> {
    Json(describe(&model))
}

pub async fn model_ready(Served(model): Served) -> Json<Value> {
    Json(json!({"name": model.name(), "version": model.version(), "ready": true}))
}

fn describe(model: &LoadedModel) -> Value {
    let batch = model.fixed_batch().map_or(-1, |n| n as i64);
    let [h, w] = model.crop();
    json!({
        "name": model.name(),
        "versions": [model.version()],
        "platform": PLATFORM,
        "inputs": [{"name": model.input_name(), "datatype": FP32, "shape": [batch, 3, h, w]}],
        "outputs": [{"name": model.output_name(), "datatype": FP32,
                     "shape": [batch, model.classes()]}],
    })
}
