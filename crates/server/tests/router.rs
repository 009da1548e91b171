//! The router and the model slot as a library, without a socket: readiness before a model,
//! hot swap (a failed load keeps the old model, a request keeps the model it started with),
//! the bounded queue (full → 503 overloaded) and the request timeout.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use litecnn_server::config::Limits;
use litecnn_server::metrics::Metrics;
use litecnn_server::workers::Workers;
use litecnn_server::{AppState, ModelSlot, ServeConfig, build_router};
use litecnn_vision::DecodeLimits;
use serde_json::Value;
use tower::ServiceExt;

const V1: &str = "20261126T093546Z-e025eb";
const V2: &str = "20261126T094737Z-70eb3a";

fn bundle(version: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/models/fashion-mnist")
        .join(version)
}

fn image() -> Vec<u8> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/fashion-mnist/holdout/Bag");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    std::fs::read(&files[0]).unwrap()
}

fn config(threads: usize, limits: Limits) -> ServeConfig {
    ServeConfig {
        addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        threads,
        max_batch: 1,
        tokens: None,
        admin_tokens: None,
        admin: None,
        deploys: Default::default(),
        live: Default::default(),
        record: None,
        limits,
        store: None,
        tls: None,
        shutdown_timeout: Duration::from_secs(1),
    }
}

async fn call(state: &AppState, request: Request<Body>) -> (StatusCode, Option<String>, Value) {
    let response = build_router(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, retry, serde_json::from_slice(&bytes).unwrap())
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn post_png(bytes: Vec<u8>) -> Request<Body> {
    Request::post("/predict")
        .header("content-type", "image/png")
        .body(Body::from(bytes))
        .unwrap()
}

#[test]
fn loading_a_model_leaves_no_run_buffers_on_the_loading_thread() {
    // The golden check and the warm-up run here; a request never will.
    let model = litecnn_server::LoadedModel::load(&bundle(V1)).unwrap();
    assert_eq!(litecnn_engine::kept_thread_bytes(), 0);
    drop(model);
}

#[tokio::test]
async fn not_ready_until_a_model_is_swapped_in_and_a_failed_swap_keeps_the_old_one() {
    let slot = Arc::new(ModelSlot::empty());
    let state = AppState::new(config(1, Limits::default()), slot.clone()).unwrap();

    let (status, retry, body) = call(&state, get("/ready")).await;
    assert_eq!(
        (status, retry.as_deref()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("1"))
    );
    assert_eq!(body["error"]["code"], "not_ready");
    let (status, _, body) = call(&state, post_png(image())).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("not_ready"))
    );

    let swap = |dir: PathBuf| {
        let slot = slot.clone();
        tokio::task::spawn_blocking(move || slot.swap_in(&dir))
    };
    swap(bundle(V1)).await.unwrap().unwrap();
    let (status, _, body) = call(&state, get("/ready")).await;
    assert_eq!(
        (status, body["version"].as_str()),
        (StatusCode::OK, Some(V1))
    );

    // What a request in flight holds: taken before the swap, used after it.
    let in_flight = slot.current().unwrap();

    let missing = swap(PathBuf::from("/nonexistent/bundle")).await.unwrap();
    assert!(missing.is_err());
    assert_eq!(
        slot.current().unwrap().version(),
        V1,
        "a failed load changes nothing"
    );

    swap(bundle(V2)).await.unwrap().unwrap();
    let (_, _, body) = call(&state, post_png(image())).await;
    assert_eq!(body["model"]["version"], V2);
    assert_eq!(body["predictions"][0]["label"], "Bag");

    assert_eq!(in_flight.version(), V1);
    let old = in_flight
        .classify(&image(), DecodeLimits::default(), 1)
        .unwrap();
    assert_eq!(
        old.predictions[0].index, 1,
        "the old model still answers: Bag"
    );
}

#[tokio::test]
async fn a_full_queue_is_overloaded_and_a_stuck_request_times_out() {
    let limits = Limits {
        queue: 1,
        request_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let model = litecnn_server::LoadedModel::load(&bundle(V2)).unwrap();
    let slot = Arc::new(ModelSlot::with(model));
    let metrics = Arc::new(Metrics::new());
    // No worker at all: the first job waits in the queue for ever and fills it.
    let workers = Workers::start(0, limits.queue, 1, metrics.queue_depth.clone()).unwrap();
    let state = AppState {
        config: Arc::new(config(1, limits)),
        slot,
        workers: Arc::new(workers),
        metrics,
        rate_limiter: None,
        traffic: Default::default(),
    };

    let (status, retry, body) = call(&state, post_png(image())).await;
    assert_eq!(
        (status, retry.as_deref()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("1"))
    );
    assert_eq!(body["error"]["code"], "timeout");

    let (status, retry, body) = call(&state, post_png(image())).await;
    assert_eq!(
        (status, retry.as_deref()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("1"))
    );
    assert_eq!(body["error"]["code"], "overloaded");
}

#[tokio::test]
async fn v2_is_live_but_not_ready_before_a_model_and_answers_errors_in_its_own_form() {
    let slot = Arc::new(ModelSlot::empty());
    let state = AppState::new(config(1, Limits::default()), slot.clone()).unwrap();

    let (status, _, body) = call(&state, get("/v2/health/live")).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, serde_json::json!({"live": true}))
    );
    for path in ["/v2/health/ready", "/v2/models/fashion-mnist/ready"] {
        let (status, retry, body) = call(&state, get(path)).await;
        assert_eq!(
            (status, retry.as_deref()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("1")),
            "{path}"
        );
        assert_eq!(body, serde_json::json!({"error": "no model is loaded yet"}));
    }
    // Outside /v2 the same error keeps the /v1 form.
    let (_, _, body) = call(&state, get("/ready")).await;
    assert_eq!(body["error"]["code"], "not_ready");

    slot.swap_in(&bundle(V1)).unwrap();
    let (status, _, body) = call(&state, get("/v2/health/ready")).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, serde_json::json!({"ready": true}))
    );
    let (status, _, body) = call(&state, get("/v2/models/fashion-mnist")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["versions"], serde_json::json!([V1]));
}

#[tokio::test]
async fn admin_routes_are_off_without_an_admin_token_file() {
    let state = AppState::new(config(1, Limits::default()), Arc::new(ModelSlot::empty())).unwrap();
    for path in ["/admin/deploy", "/admin/rollback", "/admin/watch"] {
        let request = Request::post(path).body(Body::empty()).unwrap();
        let (status, _, body) = call(&state, request).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{path}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("--admin-token-file")
        );
    }
}

#[tokio::test]
async fn the_dashboard_is_open_but_its_data_needs_the_token_and_counts_only_inference() {
    let mut config = config(1, Limits::default());
    config.tokens = Some(litecnn_server::auth::Tokens::parse("secret\n").unwrap());
    let slot = Arc::new(ModelSlot::empty());
    let state = AppState::new(config, slot.clone()).unwrap();
    slot.store(litecnn_server::LoadedModel::load(&bundle(V1)).unwrap());
    let with_token = |r: axum::http::request::Builder| r.header("authorization", "Bearer secret");

    for (path, kind) in [
        ("/", "text/html"),
        ("/dashboard/app.js", "text/javascript"),
        ("/dashboard/style.css", "text/css"),
        ("/dashboard/icon.svg", "image/svg+xml"),
    ] {
        let response = build_router(state.clone())
            .oneshot(get(path))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers();
        assert!(headers["content-type"].to_str().unwrap().starts_with(kind));
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("script-src 'self'")
        );
    }
    let (status, _, _) = call(&state, get("/dashboard/secrets.txt")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(&state, get("/v1/traffic")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let png = |r: axum::http::request::Builder| {
        with_token(r.uri("/predict").method("POST")).header("content-type", "image/png")
    };
    call(
        &state,
        png(Request::builder()).body(Body::from(image())).unwrap(),
    )
    .await;
    call(
        &state,
        png(Request::builder())
            .body(Body::from("not an image"))
            .unwrap(),
    )
    .await;
    // The dashboard polling its own data is not traffic.
    for _ in 0..3 {
        call(
            &state,
            with_token(Request::get("/v1/model"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    }
    let request = with_token(Request::get("/v1/traffic"))
        .body(Body::empty())
        .unwrap();
    let (status, _, traffic) = call(&state, request).await;
    assert_eq!(status, StatusCode::OK);
    let samples = traffic["samples"].as_array().unwrap();
    let sum = |key: &str| {
        samples
            .iter()
            .map(|s| s[key].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(
        (sum("requests"), sum("client_errors"), sum("server_errors")),
        (2, 1, 0)
    );
    assert_eq!(traffic["interval_s"], 2.0);
}
