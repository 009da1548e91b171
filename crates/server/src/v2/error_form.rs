//! The protocol's error shape, `{"error": "<message>"}`, for every error answered under `/v2`
//! — whichever layer raised it (a handler, the bearer token, the timeout, an unknown route) —
//! with the status and headers (`Retry-After`) of the [`ApiError`](crate::ApiError) it was.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;

use crate::error::ErrorMessage;

/// Whether `path` belongs to the protocol.
pub fn is_v2(path: &str) -> bool {
    path == "/v2" || path.starts_with("/v2/")
}

/// The middleware: re-renders error answers of `/v2` paths.
pub async fn error_form(request: Request, next: Next) -> Response {
    let v2 = is_v2(request.uri().path());
    let response = next.run(request).await;
    let Some(ErrorMessage(message)) = response.extensions().get::<ErrorMessage>().cloned() else {
        return response;
    };
    if !v2 {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    let body = json!({ "error": message }).to_string();
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_v2_paths_are_v2() {
        assert!(is_v2("/v2") && is_v2("/v2/") && is_v2("/v2/models/x/infer"));
        assert!(!is_v2("/v2x") && !is_v2("/v1/model") && !is_v2("/predict"));
    }
}
