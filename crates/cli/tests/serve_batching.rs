//! `litecnn serve --max-batch`, black-box: images waiting for the same model are run as one
//! batch, and each answer is the one that image gets alone; an image that cannot be decoded
//! fails alone, and the batch around it is answered.

mod common;

use std::sync::{Arc, Barrier};
use std::thread;

use common::http::{Request, Response};
use common::server::Server;
use common::store::holdout_images;
use common::{litecnn, stderr, temp_dir};
use serde_json::Value;

/// What every request of the burst sends: each hold-out image, then bytes that are not an
/// image and a PNG cut short.
fn bodies() -> Vec<Vec<u8>> {
    let mut bodies: Vec<Vec<u8>> = holdout_images().into_iter().map(|(_, b)| b).collect();
    bodies.push(b"not an image at all".to_vec());
    let mut cut = bodies[0].clone();
    cut.truncate(cut.len() / 2);
    bodies.push(cut);
    bodies
}

fn predict(addr: std::net::SocketAddr, body: &[u8]) -> Response {
    Request::post("/predict", "image/png", body.to_vec()).send(addr)
}

/// The classes and probabilities of an answer (the rest, timings, differ between runs).
fn predictions(response: &Response) -> Vec<(u64, f64)> {
    let json: Value = response.json();
    json["predictions"]
        .as_array()
        .unwrap_or_else(|| panic!("no predictions: {json}"))
        .iter()
        .map(|p| {
            (
                p["index"].as_u64().unwrap(),
                p["probability"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// Observations of `litecnn_inference_batch_images` above one image, and in all.
fn batched_runs(metrics: &str) -> (u64, u64) {
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no {name} in {metrics}")) as u64
    };
    let alone = value("litecnn_inference_batch_images_bucket{le=\"1.0\"}");
    let all = value("litecnn_inference_batch_images_count");
    (all - alone, all)
}

#[test]
fn a_burst_is_answered_in_batches_each_as_its_image_alone() {
    let store = temp_dir("serve-batch");
    let mut server = Server::start(&store, &["--max-batch", "4"]);
    let addr = server.addr;
    let bodies = bodies();
    // One at a time first: every run holds one image.
    let alone: Vec<Response> = bodies.iter().map(|b| predict(addr, b)).collect();
    assert!(alone[..alone.len() - 2].iter().all(|r| r.status == 200));
    assert!(
        alone[alone.len() - 2..]
            .iter()
            .all(|r| (400..500).contains(&r.status))
    );
    let (batched_before, _) = batched_runs(&Request::get("/metrics").send(addr).text());
    assert_eq!(batched_before, 0, "one request at a time was batched");

    // Then sixteen clients at once, each sending every body, starting at different ones.
    let clients = 16;
    let start = Arc::new(Barrier::new(clients));
    let bodies = Arc::new(bodies);
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let (start, bodies) = (start.clone(), bodies.clone());
            thread::spawn(move || {
                start.wait();
                (0..bodies.len())
                    .map(|i| (c + i) % bodies.len())
                    .map(|i| (i, predict(addr, &bodies[i])))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let answers: Vec<Vec<(usize, Response)>> =
        handles.into_iter().map(|t| t.join().unwrap()).collect();
    for (i, response) in answers.iter().flatten() {
        let want = &alone[*i];
        assert_eq!(
            response.status,
            want.status,
            "body {i}: {}",
            response.text()
        );
        if want.status != 200 {
            assert_eq!(response.error_code(), want.error_code(), "body {i}");
            continue;
        }
        let (got, want) = (predictions(response), predictions(want));
        assert_eq!(got.len(), want.len());
        for ((gi, gp), (wi, wp)) in got.iter().zip(&want) {
            assert_eq!(gi, wi, "body {i}: {got:?} vs {want:?}");
            assert!((gp - wp).abs() <= 1e-6, "body {i}: {got:?} vs {want:?}");
        }
    }
    let (batched, runs) = batched_runs(&Request::get("/metrics").send(addr).text());
    assert!(
        batched > 0,
        "{runs} runs for {} images, none batched",
        clients * bodies.len()
    );
    server.assert_alive();
}

#[test]
fn a_batch_beyond_eight_is_refused_at_start() {
    let out = litecnn(&["serve", "--port", "0", "--max-batch", "9"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--max-batch must be 1 to 8"),
        "{}",
        stderr(&out)
    );
}
