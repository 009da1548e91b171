//! `POST /v2/models/{name}[/versions/{version}]/infer`. The handler only moves bytes: the body
//! goes to an inference worker as a [`TensorJob`], where [`run`] decodes it, checks it against
//! the model and runs the model; the answer is written back here.

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_ENCODING;
use axum::response::Response;
use litecnn_engine::Tensor;

use super::binary;
use super::request::{self, InferRequest};
use super::response;
use super::served::Served;
use super::validate;
use crate::error::ApiError;
use crate::predict::{declared_length, read_raw};
use crate::state::AppState;
use crate::workers::TensorJob;

/// What a worker hands back: the model's output and how the request wants it.
#[derive(Debug)]
pub struct InferOutcome {
    /// The request's `id`, echoed in the answer.
    pub id: Option<String>,
    /// Send the output in the binary part of the answer.
    pub binary: bool,
    pub output: Tensor,
}

pub async fn infer(
    State(state): State<AppState>,
    Served(model): Served,
    request: Request,
) -> Result<Response, ApiError> {
    let max = state.config.limits.max_body_bytes;
    // Refused before a byte is read, like /predict.
    if declared_length(request.headers()).is_some_and(|n| n > max as u64) {
        return Err(ApiError::payload_too_large(max));
    }
    refuse_compression(request.headers())?;
    let json_length = binary::json_length(request.headers())?;
    let body = read_raw(request, max).await?;
    let job = TensorJob {
        model: model.clone(),
        body,
        json_length,
    };
    let outcome = state
        .workers
        .submit_tensor(job)?
        .await
        .map_err(|_| ApiError::Internal("an inference worker dropped a request".into()))??;
    response::infer(&model, outcome)
}

/// `tritonclient` can gzip or deflate a request; this server reads bodies as they are sent.
fn refuse_compression(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers
        .get(CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim())
    {
        None | Some("identity") => Ok(()),
        Some(encoding) => Err(ApiError::UnsupportedMediaType(format!(
            "Content-Encoding {encoding} is not supported: send the request uncompressed"
        ))),
    }
}

/// The worker's part: decode, check, run.
pub fn run(job: &TensorJob) -> Result<InferOutcome, ApiError> {
    let (json, binary) = binary::split(job.json_length, &job.body)?;
    let request = request::parse(json, binary)?;
    validate::outputs(&job.model, &request)?;
    let binary = request.binary_for(job.model.output_name());
    let InferRequest { id, inputs, .. } = request;
    let input = validate::input(&job.model, inputs)?;
    let output = job.model.run_tensor(input)?;
    Ok(InferOutcome { id, binary, output })
}
