//! The deploy dashboard at `/`: one HTML page, its stylesheet, script and icon, compiled into
//! the binary (no CDN, no build step: it works offline on the edge machine). The page holds no
//! data, so it is open without a token; everything it shows comes from the documented JSON
//! routes (`/v1/model`, `/v1/status`, `/v1/history`, `/v1/traffic`) and it acts only through the
//! admin routes, with the tokens the user types into it.
//!
//! `GET /v1/traffic` lives here too: the live charts' samples from [`crate::traffic`].

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::state::AppState;
use crate::traffic::Traffic;

const INDEX: &str = include_str!("index.html");

/// The files under `/dashboard/`: name, content type, bytes.
const FILES: &[(&str, &str, &str)] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("style.css"),
    ),
    ("icon.svg", "image/svg+xml", include_str!("icon.svg")),
];

/// Same-origin only: no inline script, no third-party anything. Images may be `blob:` (the
/// preview of a photo dropped on the page).
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; \
    frame-ancestors 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/dashboard/{file}", get(file))
        .route("/v1/traffic", get(traffic))
}

/// The paths that serve the page itself (open without a token: they hold no data).
pub fn is_page(path: &str) -> bool {
    path == "/" || path.starts_with("/dashboard/")
}

fn page(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Small files: always revalidate, so an upgraded binary never shows a stale script.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    response
}

async fn index() -> Response {
    page("text/html; charset=utf-8", INDEX)
}

async fn file(Path(name): Path<String>) -> Result<Response, ApiError> {
    FILES
        .iter()
        .find(|(file, _, _)| *file == name)
        .map(|(_, content_type, body)| page(content_type, body))
        .ok_or_else(|| ApiError::NotFound(format!("/dashboard/{name}")))
}

/// `GET /v1/traffic`: requests per second, error counts and latency percentiles of the
/// inference routes, one sample per interval over the last minutes, oldest first.
async fn traffic(State(state): State<AppState>) -> Json<Traffic> {
    Json(state.traffic.snapshot())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_references_only_files_that_are_served() {
        for reference in INDEX.split("\"/dashboard/").skip(1) {
            let name = reference.split('"').next().unwrap_or_default();
            assert!(
                FILES.iter().any(|(file, _, _)| *file == name),
                "index.html links /dashboard/{name}, which is not served"
            );
        }
        assert!(!INDEX.contains("<script>") && !INDEX.contains("style=\""));
    }

    #[test]
    fn only_the_page_is_open() {
        assert!(is_page("/") && is_page("/dashboard/app.js"));
        assert!(!is_page("/v1/traffic") && !is_page("/v1/model") && !is_page("/predict"));
    }
}
