//! The one API error type. It owns the table of DESIGN §9 — each error's `code`, HTTP status and
//! `Retry-After` — and renders `{"error": {"code", "message"}}`. Internal failures are logged and
//! answered with a generic message: internals never reach a client.

use axum::Json;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use litecnn_vision::ImageError;
use serde_json::json;

/// The message of an error response, kept in its extensions so a protocol with another error
/// shape (OIP v2's `{"error": "..."}`, see `crate::v2::error_form`) can re-render it.
#[derive(Clone, Debug)]
pub struct ErrorMessage(pub String);

/// Seconds a client should wait before retrying an `overloaded`, `not_ready` or `timeout`.
const RETRY_AFTER_SECS: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    MissingField(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    ImageDecodeFailed(String),
    #[error("{0}")]
    ImageTooLarge(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("a valid bearer token is required (Authorization: Bearer <token>)")]
    Unauthorized,
    #[error("too many requests from this address (--rate-limit); retry in {0} s")]
    RateLimited(u64),
    #[error("no model is loaded yet")]
    NotReady,
    #[error("the inference queue is full; retry shortly")]
    Overloaded,
    #[error("the request took longer than {0:?} (--request-timeout)")]
    Timeout(std::time::Duration),
    #[error("no route {0}")]
    NotFound(String),
    /// A model name or version the server does not serve (OIP v2 `models/{name}`).
    #[error("{0}")]
    UnknownModel(String),
    #[error("method not allowed: {0}")]
    MethodNotAllowed(String),
    /// A fault of the server or the model; the detail is logged, not sent.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_)
            | ApiError::MissingField(_)
            | ApiError::ImageDecodeFailed(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::ImageTooLarge(_) | ApiError::PayloadTooLarge(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotReady | ApiError::Overloaded | ApiError::Timeout(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::NotFound(_) | ApiError::UnknownModel(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable `code` of the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::MissingField(_) => "missing_field",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::ImageDecodeFailed(_) => "image_decode_failed",
            ApiError::ImageTooLarge(_) => "image_too_large",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::Unauthorized => "unauthorized",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::NotReady => "not_ready",
            ApiError::Overloaded => "overloaded",
            ApiError::Timeout(_) => "timeout",
            ApiError::NotFound(_) | ApiError::UnknownModel(_) => "not_found",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::Internal(_) => "internal",
        }
    }

    /// Seconds for `Retry-After`, on the errors a client should simply retry.
    fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::NotReady | ApiError::Overloaded | ApiError::Timeout(_) => {
                Some(RETRY_AFTER_SECS)
            }
            ApiError::RateLimited(secs) => Some(*secs),
            _ => None,
        }
    }

    /// A rate-limited request that may succeed after `wait`: `Retry-After` is whole seconds,
    /// rounded up so a client that obeys it is let through.
    pub fn rate_limited(wait: std::time::Duration) -> ApiError {
        ApiError::RateLimited(wait.as_secs_f64().ceil().max(1.0) as u64)
    }

    /// A body over `--max-body-bytes`.
    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::PayloadTooLarge(format!(
            "the request body is larger than {limit} bytes (--max-body-bytes)"
        ))
    }
}

impl From<ImageError> for ApiError {
    fn from(err: ImageError) -> ApiError {
        let message = err.to_string();
        match err {
            ImageError::UnsupportedMediaType { .. } => ApiError::UnsupportedMediaType(message),
            ImageError::ImageTooLarge { .. } => ApiError::ImageTooLarge(message),
            ImageError::DecodeFailed(_) => ApiError::ImageDecodeFailed(message),
            // The spec was validated when the model loaded: reaching this is the model's fault.
            ImageError::Preprocess(_) => ApiError::Internal(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!("internal: {detail}");
        }
        let message = self.to_string();
        let body = json!({"error": {"code": self.code(), "message": message}});
        let mut response = (self.status(), Json(body)).into_response();
        response.extensions_mut().insert(ErrorMessage(message));
        if let Some(secs) = self.retry_after() {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
