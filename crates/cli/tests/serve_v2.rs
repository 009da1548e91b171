//! The Open Inference Protocol v2 of `litecnn serve`, as a client sees it: the real binary on
//! 127.0.0.1 (port 0) serving the built-in demo, real sockets. Every `/v2` route; `infer` with
//! JSON tensors (flat and nested) and binary tensors, each equal to `litecnn run` on the same
//! `.npy`; hostile requests, each with its status and the `{"error": "..."}` form, the process
//! alive after each; bearer tokens on everything but `/v2/health/*`.

mod common;

use common::http::{Request, Response};
use common::server::Server;
use common::{litecnn, stderr, temp_dir};

use std::path::{Path, PathBuf};

use litecnn_cli::npy;
use serde_json::{Value, json};

const NAME: &str = "fashion-mnist";
const VERSION: &str = "20261126T094737Z-70eb3a"; // LATEST: the built-in demo
const CROP: usize = 64;
const CLASSES: usize = 10;
const INFER: &str = "/v2/models/fashion-mnist/infer";

fn demo_bundle() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/models/fashion-mnist")
        .join(VERSION)
}

/// A `[n, 3, 64, 64]` input of varied values in [-2, 2) (a fixed linear congruential sequence),
/// each image different, so the outputs depend on the input.
fn input(n: usize) -> (Vec<usize>, Vec<f32>) {
    let shape = vec![n, 3, CROP, CROP];
    let mut state = 0x2545_f491_u32;
    let data = (0..shape.iter().product::<usize>())
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 24) as f32 * 4.0 - 2.0
        })
        .collect();
    (shape, data)
}

/// `litecnn run` on the demo bundle, through `.npy` files, as the reference.
fn litecnn_run(tag: &str, shape: &[usize], data: &[f32]) -> (Vec<usize>, Vec<f32>) {
    let dir = temp_dir(tag);
    let (input, output) = (dir.join("x.npy"), dir.join("y.npy"));
    std::fs::write(&input, npy::encode_f32(shape, data)).unwrap();
    let out = litecnn(&[
        "run",
        demo_bundle().to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let tensor = npy::read_f32(&output).unwrap();
    (tensor.shape().to_vec(), tensor.as_f32().unwrap().to_vec())
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let worst = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(worst <= 1e-5, "{what}: max abs diff {worst}");
}

/// The values of a JSON `data` array, which must be flat.
fn values(data: &Value) -> Vec<f32> {
    data.as_array()
        .unwrap_or_else(|| panic!("no data array: {data}"))
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect()
}

/// `data` nested as `shape` says, row-major.
fn nested(shape: &[usize], data: &[f32]) -> Value {
    match shape {
        [] => json!(data[0]),
        [_, rest @ ..] => {
            let step = rest.iter().product::<usize>();
            Value::Array(data.chunks(step).map(|c| nested(rest, c)).collect())
        }
    }
}

fn post_json<'a>(path: &'a str, body: &Value) -> Request<'a> {
    Request::post(path, "application/json", body.to_string().into_bytes())
}

/// A binary-extension body: `header` as JSON, then `binary`.
fn post_binary<'a>(path: &'a str, header: &Value, binary: &[u8]) -> Request<'a> {
    let mut body = header.to_string().into_bytes();
    let json_length = body.len();
    body.extend_from_slice(binary);
    Request::post(path, "application/octet-stream", body)
        .header("Inference-Header-Content-Length", &json_length.to_string())
}

fn le_bytes(data: &[f32]) -> Vec<u8> {
    data.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn binary_input(shape: &[usize]) -> Value {
    let bytes = shape.iter().product::<usize>() * 4;
    json!({"name": "input", "shape": shape, "datatype": "FP32",
           "parameters": {"binary_data_size": bytes}})
}

/// The JSON part of an answer and its binary part (empty without the extension).
fn split_answer(response: &Response) -> (Value, Vec<u8>) {
    match response.header("inference-header-content-length") {
        None => (response.json(), Vec::new()),
        Some(length) => {
            let length: usize = length.parse().unwrap();
            let json = serde_json::from_slice(&response.body[..length]).unwrap();
            (json, response.body[length..].to_vec())
        }
    }
}

/// The `{"error": "..."}` message of a protocol error answer.
fn v2_error(response: &Response) -> String {
    let body = response.json();
    match &body["error"] {
        Value::String(message) if !message.is_empty() => message.clone(),
        _ => panic!("not a v2 error body: {body}"),
    }
}

#[test]
fn health_and_metadata_routes_describe_the_serving_model() {
    let server = Server::start(&temp_dir("v2-meta"), &[]);
    let addr = server.addr;
    let digest = Request::get("/ready").send(addr).json()["digest"].clone();
    let digest = digest.as_str().unwrap();

    let server_meta = Request::get("/v2").send(addr);
    assert_eq!(server_meta.status, 200);
    let server_meta = server_meta.json();
    assert_eq!(server_meta["name"], "litecnn");
    assert!(server_meta["version"].is_string());
    assert_eq!(server_meta["extensions"], json!(["binary_tensor_data"]));

    for path in ["/v2/health/live", "/v2/health/ready"] {
        assert_eq!(Request::get(path).send(addr).status, 200, "{path}");
    }

    let expected = json!({
        "name": NAME,
        "versions": [VERSION],
        "platform": "litecnn_onnx",
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 3, CROP, CROP]}],
        "outputs": [{"name": "logits", "datatype": "FP32", "shape": [-1, CLASSES]}],
    });
    for path in [
        format!("/v2/models/{NAME}"),
        format!("/v2/models/{NAME}/versions/{VERSION}"),
        format!("/v2/models/{NAME}/versions/{digest}"),
    ] {
        let response = Request::get(&path).send(addr);
        assert_eq!(
            (response.status, response.json()),
            (200, expected.clone()),
            "{path}"
        );
        let ready = Request::get(&format!("{path}/ready")).send(addr);
        assert_eq!(ready.status, 200, "{path}/ready: {}", ready.text());
        assert_eq!(ready.json()["ready"], true);
    }

    for path in [
        "/v2/models/mnist".to_owned(),
        "/v2/models/mnist/ready".to_owned(),
        format!("/v2/models/{NAME}/versions/1"),
        format!("/v2/models/{NAME}/versions/1/ready"),
    ] {
        let response = Request::get(&path).send(addr);
        assert_eq!(response.status, 404, "{path}");
        assert!(v2_error(&response).contains("model"), "{path}");
    }
}

#[test]
fn json_and_binary_inference_equal_litecnn_run_on_the_same_tensor() {
    let server = Server::start(&temp_dir("v2-infer"), &[]);
    let addr = server.addr;
    let digest = Request::get("/ready").send(addr).json()["digest"].clone();
    let (shape, data) = input(2);
    let (want_shape, want) = litecnn_run("v2-infer-run", &shape, &data);
    assert_eq!(want_shape, [2, CLASSES]);
    let (row0, row1) = want.split_at(CLASSES);
    assert!(
        row0.iter().zip(row1).any(|(a, b)| (a - b).abs() > 1e-3),
        "two different images must give different logits: {want:?}"
    );

    let flat = json!({"id": "req-7", "inputs": [
        {"name": "input", "shape": shape, "datatype": "FP32", "data": data}]});
    let nested_data = json!({"inputs": [
        {"name": "input", "shape": shape, "datatype": "FP32", "data": nested(&shape, &data)}]});
    let versioned = format!("/v2/models/{NAME}/versions/{VERSION}/infer");
    for (what, response) in [
        ("flat JSON", post_json(INFER, &flat).send(addr)),
        ("nested JSON", post_json(INFER, &nested_data).send(addr)),
        ("versioned route", post_json(&versioned, &flat).send(addr)),
    ] {
        assert_eq!(response.status, 200, "{what}: {}", response.text());
        assert_eq!(response.header("x-model-version"), Some(VERSION), "{what}");
        assert_eq!(response.header("x-model-digest"), digest.as_str(), "{what}");
        assert_eq!(response.header("inference-header-content-length"), None);
        let body = response.json();
        assert_eq!(body["model_name"], NAME);
        assert_eq!(body["model_version"], VERSION);
        let output = &body["outputs"][0];
        assert_eq!(output["name"], "logits", "{what}");
        assert_eq!(output["datatype"], "FP32");
        assert_eq!(output["shape"], json!([2, CLASSES]));
        assert_close(&values(&output["data"]), &want, what);
    }
    let echoed = post_json(INFER, &flat).send(addr).json();
    assert_eq!(echoed["id"], "req-7");

    let binary = le_bytes(&data);
    let json_out = json!({"inputs": [binary_input(&shape)]});
    let binary_out = json!({"inputs": [binary_input(&shape)],
                            "parameters": {"binary_data_output": true}});
    let asked_binary = json!({"inputs": [binary_input(&shape)],
                              "outputs": [{"name": "logits", "parameters": {"binary_data": true}}]});
    for (what, header, binary_answer) in [
        ("binary in, JSON out", json_out, false),
        ("binary in and out", binary_out, true),
        ("binary output asked by name", asked_binary, true),
    ] {
        let response = post_binary(INFER, &header, &binary).send(addr);
        assert_eq!(response.status, 200, "{what}: {}", response.text());
        assert_eq!(response.header("x-model-version"), Some(VERSION), "{what}");
        let (body, rest) = split_answer(&response);
        let output = &body["outputs"][0];
        assert_eq!(output["shape"], json!([2, CLASSES]), "{what}");
        let got = if binary_answer {
            assert_eq!(output["parameters"]["binary_data_size"], 2 * CLASSES * 4);
            assert!(output.get("data").is_none(), "{what}: {body}");
            assert_eq!(rest.len(), 2 * CLASSES * 4, "{what}");
            rest.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        } else {
            assert!(rest.is_empty(), "{what}");
            values(&output["data"])
        };
        assert_close(&got, &want, what);
    }

    // Integers are numbers too when the datatype says FP32.
    let ints: Vec<i32> = (0..3 * CROP * CROP).map(|i| (i % 5) as i32 - 2).collect();
    let as_f32: Vec<f32> = ints.iter().map(|&i| i as f32).collect();
    let (_, want_ints) = litecnn_run("v2-infer-ints", &[1, 3, CROP, CROP], &as_f32);
    let response = post_json(
        INFER,
        &json!({"inputs": [{"name": "input", "shape": [1, 3, CROP, CROP], "datatype": "FP32",
                            "data": ints}]}),
    )
    .send(addr);
    assert_eq!(response.status, 200, "{}", response.text());
    assert_close(
        &values(&response.json()["outputs"][0]["data"]),
        &want_ints,
        "ints",
    );

    let metrics = Request::get("/metrics").send(addr).text();
    for needle in [
        "route=\"/v2/models/{name}/infer\",method=\"POST\",status=\"200\"} 7",
        "route=\"/v2/models/{name}/versions/{version}/infer\",method=\"POST\",status=\"200\"} 1",
        "litecnn_queue_depth 0",
    ] {
        assert!(metrics.contains(needle), "no {needle:?} in:\n{metrics}");
    }
}

#[test]
fn bad_inference_requests_get_their_status_in_the_v2_error_form_and_the_server_lives_on() {
    let mut server = Server::start(&temp_dir("v2-hostile"), &["--max-body-bytes", "1MiB"]);
    let addr = server.addr;
    let (shape, data) = input(1);
    let tensor = |name: &str, shape: &[usize], datatype: &str, data: &[f32]| json!({"inputs": [{"name": name, "shape": shape, "datatype": datatype, "data": data}]});
    let good = le_bytes(&data);
    let binary = json!({"inputs": [binary_input(&shape)]});
    let header_text = binary.to_string();
    let over_long_header = Request::post(INFER, "application/octet-stream", {
        let mut body = header_text.clone().into_bytes();
        body.extend_from_slice(&good[..16]);
        body
    })
    .header(
        "Inference-Header-Content-Length",
        &(header_text.len() + 100).to_string(),
    );
    let two_mib = vec![0u8; 2 << 20];

    let cases: Vec<(&str, Response, u16, &str)> = vec![
        (
            "unknown model",
            post_json(
                "/v2/models/mnist/infer",
                &tensor("input", &shape, "FP32", &data),
            )
            .send(addr),
            404,
            "unknown model \"mnist\"",
        ),
        (
            "unknown version",
            post_json(
                "/v2/models/fashion-mnist/versions/3/infer",
                &tensor("input", &shape, "FP32", &data),
            )
            .send(addr),
            404,
            "no version \"3\"",
        ),
        (
            "wrong image size",
            post_json(
                INFER,
                &tensor("input", &[1, 3, 32, 32], "FP32", &data[..3 * 32 * 32]),
            )
            .send(addr),
            400,
            "does not fit the model",
        ),
        (
            "wrong rank",
            post_json(INFER, &tensor("input", &[3, CROP, CROP], "FP32", &data)).send(addr),
            400,
            "does not fit the model",
        ),
        (
            "shape and data length disagree",
            post_json(INFER, &tensor("input", &shape, "FP32", &data[1..])).send(addr),
            400,
            "12287 were given",
        ),
        (
            "wrong datatype",
            post_json(INFER, &tensor("input", &shape, "INT64", &data)).send(addr),
            400,
            "datatype \"INT64\"",
        ),
        (
            "unknown input name",
            post_json(INFER, &tensor("image", &shape, "FP32", &data)).send(addr),
            400,
            "no input \"image\"",
        ),
        (
            "unknown output name",
            post_json(INFER, &{
                let mut body = tensor("input", &shape, "FP32", &data);
                body["outputs"] = json!([{"name": "probabilities"}]);
                body
            })
            .send(addr),
            400,
            "no output \"probabilities\"",
        ),
        (
            "strings as data",
            post_json(
                INFER,
                &json!({"inputs": [{"name": "input", "shape": [1], "datatype": "FP32",
                                    "data": ["a"]}]}),
            )
            .send(addr),
            400,
            "FP32 numbers",
        ),
        (
            "not JSON",
            Request::post(INFER, "application/json", b"{\"inputs\": [".to_vec()).send(addr),
            400,
            "bad inference request",
        ),
        (
            "truncated binary part",
            post_binary(INFER, &binary, &good[..good.len() / 2]).send(addr),
            400,
            "truncated",
        ),
        (
            "header length larger than the body",
            over_long_header.send(addr),
            400,
            "Inference-Header-Content-Length",
        ),
        (
            "a batch over the element limit",
            post_json(
                INFER,
                &json!({"inputs": [{"name": "input", "shape": [1000, 3, CROP, CROP],
                                    "datatype": "FP32", "data": [0]}]}),
            )
            .send(addr),
            413,
            "more than the",
        ),
        (
            "a body over --max-body-bytes",
            post_binary(INFER, &binary, &two_mib).send_expecting_continue(addr),
            413,
            "--max-body-bytes",
        ),
        (
            "a gzipped body",
            post_json(INFER, &tensor("input", &shape, "FP32", &data))
                .header("Content-Encoding", "gzip")
                .send(addr),
            415,
            "Content-Encoding gzip",
        ),
        (
            "GET on infer",
            Request::get(INFER).send(addr),
            405,
            "method not allowed",
        ),
        (
            "unknown v2 route",
            Request::get("/v2/repository/index").send(addr),
            404,
            "no route",
        ),
    ];
    let mut failures = Vec::new();
    for (name, response, status, needle) in cases {
        let got = (response.status, v2_error(&response));
        if got.0 != status || !got.1.contains(needle) {
            failures.push(format!("{name}: got {got:?}, want ({status}, …{needle}…)"));
        }
        server.assert_alive();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let still = post_binary(INFER, &binary, &good).send(addr);
    assert_eq!(still.status, 200, "{}", still.text());
}

#[test]
fn tokens_guard_every_v2_route_but_health() {
    let store = temp_dir("v2-tokens");
    let tokens = store.join("tokens");
    std::fs::write(&tokens, "v2-s3cret\n").unwrap();
    let server = Server::start(&store, &["--token-file", tokens.to_str().unwrap()]);
    let addr = server.addr;
    let (shape, data) = input(1);
    let body = json!({"inputs": [{"name": "input", "shape": shape, "datatype": "FP32",
                                  "data": data}]});

    for path in ["/v2/health/live", "/v2/health/ready"] {
        assert_eq!(Request::get(path).send(addr).status, 200, "{path}");
    }
    let guarded = [
        Request::get("/v2"),
        Request::get("/v2/models/fashion-mnist"),
        Request::get("/v2/models/fashion-mnist/ready"),
        post_json(INFER, &body),
    ];
    for request in guarded {
        let path = request.path.to_owned();
        let denied = request.send(addr);
        assert_eq!(denied.status, 401, "{path}");
        assert!(v2_error(&denied).contains("bearer token"), "{path}");
        let allowed = request
            .header("Authorization", "Bearer v2-s3cret")
            .send(addr);
        assert_eq!(allowed.status, 200, "{path}: {}", allowed.text());
    }
}
