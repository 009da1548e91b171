//! `litecnn serve` as a client sees it: the real binary on 127.0.0.1 (port 0), spoken to over
//! real sockets. Every route; predictions on the demo hold-out images; hostile requests, each
//! with its status and error code, the process alive after each; bearer tokens; a hot swap
//! through the store's `current` file under a stream of requests; graceful exit on SIGTERM.

mod common;

use common::http::{Request, multipart};
use common::server::Server;
use common::temp_dir;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::store::{V1, V2, add_to_store, holdout_images, promote};

fn predict_multipart(addr: std::net::SocketAddr, image: &[u8]) -> common::http::Response {
    let (content_type, body) = multipart(&[("image", "x.png", image)]);
    Request::post("/predict?top_k=3", &content_type, body).send(addr)
}

#[test]
fn every_route_answers_as_documented() {
    let store = temp_dir("serve-routes");
    let server = Server::start(&store, &[]);
    let addr = server.addr;

    let health = Request::get("/health").send(addr);
    assert_eq!(
        (health.status, health.json()),
        (200, serde_json::json!({"status": "ok"}))
    );

    let ready = Request::get("/ready").send(addr);
    assert_eq!(ready.status, 200);
    let info = ready.json();
    assert_eq!(info["name"], "fashion-mnist");
    assert_eq!(
        info["version"], V2,
        "the built-in demo is the LATEST version"
    );
    assert!(info["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(info["loaded_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(info["labels"], 10);
    assert_eq!(info["inputs"][0]["name"], "input");
    assert_eq!(info["outputs"][0]["name"], "logits");
    assert_eq!(Request::get("/v1/model").send(addr).json(), info);

    for (class, image) in holdout_images() {
        let response = predict_multipart(addr, &image);
        assert_eq!(response.status, 200, "{class}: {}", response.text());
        assert_eq!(response.header("x-model-version"), Some(V2));
        assert_eq!(response.header("x-model-digest"), info["digest"].as_str());
        let body = response.json();
        assert_eq!(body["model"]["version"], V2);
        let predictions = body["predictions"].as_array().unwrap();
        assert_eq!(predictions.len(), 3);
        assert_eq!(predictions[0]["label"], class.as_str(), "{body}");
        assert!(predictions[0]["name_ko"].is_string(), "{body}");
        assert!(predictions[0]["probability"].as_f64().unwrap() > 0.5);
        for stage in ["decode", "preprocess", "inference", "total"] {
            assert!(body["timings_ms"][stage].is_number(), "{stage}: {body}");
        }
    }

    let (class, image) = &holdout_images()[1];
    let raw = Request::post("/predict?top_k=1", "image/png", image.clone()).send(addr);
    assert_eq!(raw.status, 200, "{}", raw.text());
    let predictions = raw.json()["predictions"].clone();
    assert_eq!(predictions.as_array().unwrap().len(), 1);
    assert_eq!(predictions[0]["label"], class.as_str());

    let metrics = Request::get("/metrics").send(addr);
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    for needle in [
        "litecnn_http_requests_total{route=\"/predict\",method=\"POST\",status=\"200\"} 11",
        "litecnn_predict_stage_duration_seconds_bucket{le=",
        "stage=\"inference\"",
        "litecnn_queue_depth 0",
        &format!("litecnn_model_info{{name=\"fashion-mnist\",version=\"{V2}\""),
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
}

/// A PNG that is only a signature and an IHDR declaring `width`×`height`.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    b.extend(width.to_be_bytes());
    b.extend(height.to_be_bytes());
    b.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
    b
}

#[test]
fn hostile_requests_get_their_status_and_code_and_the_server_lives_on() {
    let store = temp_dir("serve-hostile");
    let mut server = Server::start(&store, &["--max-body-bytes", "1MiB"]);
    let addr = server.addr;
    let image = holdout_images().remove(0).1;
    let truncated = image[..image.len() / 2].to_vec();
    let bomb = png_header(20_000, 20_000);
    assert!(bomb.len() < 64);
    let big = vec![7u8; 2 << 20];
    let (form_type, wrong_field) = multipart(&[("picture", "x.png", &image)]);

    let cases: Vec<(&str, common::http::Response, u16, &str)> = vec![
        (
            "text sent as a PNG",
            Request::post(
                "/predict",
                "image/png",
                b"name,breed\nrex,collie\n".to_vec(),
            )
            .send(addr),
            415,
            "unsupported_media_type",
        ),
        (
            "JSON content type",
            Request::post("/predict", "application/json", b"{}".to_vec()).send(addr),
            415,
            "unsupported_media_type",
        ),
        (
            "truncated PNG",
            Request::post("/predict", "image/png", truncated.clone()).send(addr),
            400,
            "image_decode_failed",
        ),
        (
            "truncated PNG in a form",
            predict_multipart(addr, &truncated),
            400,
            "image_decode_failed",
        ),
        (
            "20000x20000 PNG header",
            Request::post("/predict", "image/png", bomb).send(addr),
            413,
            "image_too_large",
        ),
        (
            "2 MiB body over a 1 MiB limit",
            Request::post("/predict", "image/png", big.clone()).send_expecting_continue(addr),
            413,
            "payload_too_large",
        ),
        (
            "2 MiB form over a 1 MiB limit",
            {
                let (t, body) = multipart(&[("image", "x.png", &big)]);
                Request::post("/predict", &t, body).send_expecting_continue(addr)
            },
            413,
            "payload_too_large",
        ),
        (
            "form without an image field",
            Request::post("/predict", &form_type, wrong_field).send(addr),
            400,
            "missing_field",
        ),
        (
            "form without a boundary",
            Request::post("/predict", "multipart/form-data", image.clone()).send(addr),
            400,
            "bad_request",
        ),
        (
            "top_k=0",
            Request::post("/predict?top_k=0", "image/png", image.clone()).send(addr),
            400,
            "bad_request",
        ),
        (
            "top_k=many",
            Request::post("/predict?top_k=many", "image/png", image.clone()).send(addr),
            400,
            "bad_request",
        ),
        (
            "unknown route",
            Request::get("/v1/nothing").send(addr),
            404,
            "not_found",
        ),
        (
            "GET /predict",
            Request::get("/predict").send(addr),
            405,
            "method_not_allowed",
        ),
    ];
    let mut failures = Vec::new();
    for (name, response, status, code) in cases {
        let got = (response.status, response.error_code());
        if got != (status, code.to_owned()) {
            failures.push(format!(
                "{name}: got {got:?}, want ({status}, {code}): {}",
                response.text()
            ));
        }
        server.assert_alive();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // A request head larger than a connection's read buffer (16 KiB) is refused by the HTTP
    // layer, before any route sees it; one of 12 KiB (a large cookie) is not.
    let head_with = |kib: usize| {
        Request::get("/health")
            .header("X-Padding", &"x".repeat(kib << 10))
            .send(addr)
    };
    let (large, huge) = (head_with(12), head_with(100));
    assert_eq!(large.status, 200, "{}", large.text());
    assert_eq!(huge.status, 431, "{}", huge.text());
    server.assert_alive();
    // Still serving real images after all of that.
    assert_eq!(predict_multipart(addr, &image).status, 200);
}

#[test]
fn tokens_guard_everything_but_health_and_ready() {
    let store = temp_dir("serve-tokens");
    let tokens = store.join("tokens");
    std::fs::write(&tokens, "# ops team\n\n  s3cret-one  \ns3cret-two\n").unwrap();
    let server = Server::start(&store, &["--token-file", tokens.to_str().unwrap()]);
    let addr = server.addr;
    let image = holdout_images().remove(0).1;
    let predict = |auth: Option<&str>| {
        let request = Request::post("/predict", "image/png", image.clone());
        match auth {
            Some(value) => request.header("Authorization", value).send(addr),
            None => request.send(addr),
        }
    };

    assert_eq!(Request::get("/health").send(addr).status, 200);
    assert_eq!(Request::get("/ready").send(addr).status, 200);
    for (auth, status) in [
        (None, 401),
        (Some("Bearer wrong"), 401),
        (Some("Bearer s3cret"), 401),
        (Some("Basic s3cret-one"), 401),
        (Some("Bearer s3cret-one"), 200),
        (Some("Bearer s3cret-two"), 200),
    ] {
        let response = predict(auth);
        assert_eq!(response.status, status, "{auth:?}: {}", response.text());
        if status == 401 {
            assert_eq!(response.error_code(), "unauthorized");
        }
    }
    for path in ["/metrics", "/v1/model", "/nowhere"] {
        let response = Request::get(path).send(addr);
        assert_eq!((path, response.status), (path, 401));
    }
    let metrics = Request::get("/metrics")
        .header("Authorization", "Bearer s3cret-two")
        .send(addr);
    assert_eq!(metrics.status, 200);
}

#[test]
fn an_empty_token_file_is_an_error_at_start_up() {
    let store = temp_dir("serve-empty-tokens");
    let tokens = store.join("tokens");
    std::fs::write(&tokens, "# nothing yet\n\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_litecnn"))
        .args([
            "serve",
            "--port",
            "0",
            "--token-file",
            tokens.to_str().unwrap(),
        ])
        .env("LITECNN_STORE", &store)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = common::stderr(&out);
    assert!(
        stderr.contains("--token-file") && stderr.contains("no token"),
        "{stderr}"
    );
}

#[test]
fn a_promotion_in_the_store_is_swapped_in_without_failing_a_request() {
    let store = temp_dir("serve-swap");
    let v1 = add_to_store(&store, V1);
    let v2 = add_to_store(&store, V2);
    promote(&store, &v1);
    let mut server = Server::start(&store, &[]);
    let addr = server.addr;
    assert_eq!(Request::get("/ready").send(addr).json()["version"], V1);

    let images = holdout_images();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..3)
        .map(|c| {
            let (stop, images) = (stop.clone(), images.clone());
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                let mut i = c;
                while !stop.load(Ordering::Relaxed) {
                    let (class, image) = &images[i % images.len()];
                    let r = predict_multipart(addr, image);
                    assert_eq!(
                        r.status,
                        200,
                        "a request failed during the swap: {}",
                        r.text()
                    );
                    assert_eq!(r.json()["predictions"][0]["label"], class.as_str());
                    seen.push(r.header("x-model-version").unwrap().to_owned());
                    i += 1;
                }
                seen
            })
        })
        .collect();

    std::thread::sleep(Duration::from_millis(300));
    promote(&store, &v2);
    let deadline = Instant::now() + Duration::from_secs(60);
    while Request::get("/ready").send(addr).json()["version"] != V2 {
        assert!(Instant::now() < deadline, "the promotion was not noticed");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        let seen = client.join().expect("no request failed");
        let first_v2 = seen
            .iter()
            .position(|v| v == V2)
            .expect("saw the new version");
        assert!(
            seen[first_v2..].iter().all(|v| v == V2),
            "went back: {seen:?}"
        );
        assert!(seen[..first_v2].iter().all(|v| v == V1), "{seen:?}");
    }

    // A broken promotion leaves the current model serving.
    let broken = add_to_store(&store, V1);
    let broken_dir = store.join("bundles").join(broken.hex());
    std::fs::write(broken_dir.join("model.onnx"), b"not a model").unwrap();
    promote(&store, &broken);
    std::thread::sleep(Duration::from_millis(1500));
    server.assert_alive();
    assert_eq!(Request::get("/ready").send(addr).json()["version"], V2);
    let metrics = Request::get("/metrics").send(addr).text();
    assert!(
        metrics.contains("litecnn_model_swaps_total{result=\"failed\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("litecnn_model_swaps_total{result=\"ok\"} 1"),
        "{metrics}"
    );
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let store = temp_dir("serve-sigterm");
    let mut server = Server::start(&store, &[]);
    assert_eq!(Request::get("/health").send(server.addr).status, 200);
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert!(server.wait_exit().success());
}
