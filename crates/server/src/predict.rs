//! `POST /predict` (DESIGN §5): the image comes as multipart field `image` (`curl -F
//! image=@x.jpg`) or as a raw `image/jpeg` / `image/png` body; `?top_k=5`. The handler only
//! moves bytes: decoding, preprocessing and inference run on the inference workers.

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use litecnn_vision::DecodeLimits;
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::metrics::Stage;
use crate::model::Outcome;
use crate::state::AppState;
use crate::workers::Job;

pub const DEFAULT_TOP_K: usize = 5;
/// The multipart field that holds the image.
pub const FIELD: &str = "image";

#[derive(Debug, Deserialize)]
struct PredictQuery {
    top_k: Option<usize>,
}

pub async fn predict(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let start = Instant::now();
    let top_k = top_k(&request)?;
    // Taken once: this request finishes on this model even if a swap happens meanwhile.
    let model = state.slot.current().ok_or(ApiError::NotReady)?;
    let limits = state.config.limits;
    let image = read_image(request, limits.max_body_bytes).await?;
    let job = Job {
        model: model.clone(),
        image,
        limits: DecodeLimits {
            max_pixels: limits.max_pixels,
        },
        top_k,
    };
    let answer = state.workers.submit(job)?;
    let outcome = answer
        .await
        .map_err(|_| ApiError::Internal("an inference worker dropped a request".into()))??;
    let total = start.elapsed().as_secs_f64();
    record(&state, &outcome, total);
    let body = json!({
        "model": model.identity(),
        "predictions": model.predictions_json(&outcome.predictions),
        "timings_ms": {
            "decode": ms(outcome.decode),
            "preprocess": ms(outcome.preprocess),
            "inference": ms(outcome.inference),
            "total": ms(total),
        },
    });
    let mut response = Json(body).into_response();
    add_header(response.headers_mut(), "x-model-version", model.version());
    add_header(response.headers_mut(), "x-model-digest", &model.digest());
    Ok(response)
}

fn top_k(request: &Request) -> Result<usize, ApiError> {
    let query = Query::<PredictQuery>::try_from_uri(request.uri())
        .map_err(|e| ApiError::BadRequest(format!("bad query: {}", e.body_text())))?;
    match query.top_k {
        None => Ok(DEFAULT_TOP_K),
        Some(0) => Err(ApiError::BadRequest("top_k must be at least 1".into())),
        Some(k) => Ok(k),
    }
}

/// The image bytes of either request shape. A `Content-Length` over the limit is refused before
/// a byte of the body is read (a client that sent `Expect: 100-continue` never uploads it).
async fn read_image(request: Request, max_body_bytes: usize) -> Result<Bytes, ApiError> {
    if declared_length(request.headers()).is_some_and(|n| n > max_body_bytes as u64) {
        return Err(ApiError::payload_too_large(max_body_bytes));
    }
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match content_type.as_deref() {
        Some("multipart/form-data") => read_multipart(request, max_body_bytes).await,
        None | Some("application/octet-stream") => read_raw(request, max_body_bytes).await,
        Some(t) if t.starts_with("image/") => read_raw(request, max_body_bytes).await,
        Some(other) => Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type {other} is not accepted: send multipart/form-data with a field \
             \"{FIELD}\", or the image itself as image/jpeg or image/png"
        ))),
    }
}

pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

pub(crate) async fn read_raw(request: Request, max_body_bytes: usize) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, &()).await.map_err(|e| {
        if e.status().as_u16() == 413 {
            ApiError::payload_too_large(max_body_bytes)
        } else {
            ApiError::BadRequest(format!("cannot read the request body: {}", e.body_text()))
        }
    })
}

async fn read_multipart(request: Request, max_body_bytes: usize) -> Result<Bytes, ApiError> {
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|e| ApiError::BadRequest(format!("bad multipart request: {}", e.body_text())))?;
    let multipart_error = |e: axum::extract::multipart::MultipartError| {
        if e.status().as_u16() == 413 {
            ApiError::payload_too_large(max_body_bytes)
        } else {
            ApiError::BadRequest(format!("bad multipart body: {}", e.body_text()))
        }
    };
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        if field.name() == Some(FIELD) {
            return field.bytes().await.map_err(multipart_error);
        }
    }
    Err(ApiError::MissingField(format!(
        "the multipart form has no field \"{FIELD}\" (curl -F {FIELD}=@photo.jpg)"
    )))
}

fn record(state: &AppState, outcome: &Outcome, total: f64) {
    let m = &state.metrics;
    m.observe_stage(Stage::decode, outcome.decode);
    m.observe_stage(Stage::preprocess, outcome.preprocess);
    m.observe_stage(Stage::inference, outcome.inference);
    m.observe_stage(Stage::total, total);
    m.observe_batch(outcome.batch);
}

/// Seconds to milliseconds, to the microsecond (finer digits are noise).
fn ms(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1e3
}

/// Header values must be visible ASCII; a manifest version is, a hostile one is just left out.
pub(crate) fn add_header(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}
