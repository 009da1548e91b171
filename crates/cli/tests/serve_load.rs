//! `litecnn serve` under pressure, black-box: per-client rate limiting (429 with `Retry-After`,
//! probes never limited), twenty model swaps under a real load generator (wrk, 32 connections)
//! without one failed request, and SIGTERM with a request in flight (it finishes; a stuck one
//! is cut off at the shutdown deadline).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::http::Request;
use common::server::Server;
use common::store::{V1, V2, add_to_store, holdout_file, holdout_images, promote};
use common::temp_dir;
use common::wrk::Wrk;

#[test]
fn a_flooding_client_is_rate_limited_then_let_through_again() {
    let store = temp_dir("serve-rate");
    let mut server = Server::start(&store, &["--rate-limit", "5"]);
    let addr = server.addr;

    let flood: Vec<_> = (0..40)
        .map(|_| Request::get("/v1/model").send(addr))
        .collect();
    // The bucket starts full: the first five pass whatever the machine's speed.
    assert!(flood[..5].iter().all(|r| r.status == 200), "{flood:?}");
    let limited: Vec<_> = flood.iter().filter(|r| r.status == 429).collect();
    assert!(!limited.is_empty(), "40 requests at once, none limited");
    assert!(flood.iter().all(|r| r.status == 200 || r.status == 429));
    let mut longest_wait = 0;
    for response in &limited {
        assert_eq!(response.error_code(), "rate_limited");
        let wait: u64 = response
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no Retry-After seconds: {response:?}"));
        assert!(wait >= 1);
        longest_wait = longest_wait.max(wait);
    }
    // Prediction is limited too; the probes never are.
    let image = holdout_images().remove(0).1;
    let predict = Request::post("/predict", "image/png", image.clone()).send(addr);
    assert_eq!(predict.status, 429, "{}", predict.text());
    for path in ["/health", "/ready"].repeat(10) {
        assert_eq!(Request::get(path).send(addr).status, 200, "{path}");
    }

    std::thread::sleep(Duration::from_secs(longest_wait));
    let after = Request::post("/predict", "image/png", image).send(addr);
    assert_eq!(after.status, 200, "{}", after.text());
    server.assert_alive();
    let metrics = Request::get("/metrics").send(addr).text();
    assert!(
        metrics.contains("route=\"/v1/model\",method=\"GET\",status=\"429\""),
        "{metrics}"
    );
}

#[test]
fn twenty_swaps_under_wrk_at_32_connections_fail_no_request() {
    const SWAPS: usize = 20;
    let store = temp_dir("serve-swap-load");
    let v1 = add_to_store(&store, V1);
    let v2 = add_to_store(&store, V2);
    promote(&store, &v1);
    let server = Server::start(&store, &[]);
    let addr = server.addr;

    let wrk = Wrk::start(&format!("http://{addr}/predict"), 32, &holdout_file("Bag"));
    for swap in 0..SWAPS {
        std::thread::sleep(Duration::from_millis(100));
        let (digest, version) = if swap % 2 == 0 { (&v2, V2) } else { (&v1, V1) };
        promote(&store, digest);
        wait_until_serving(addr, version);
    }
    std::thread::sleep(Duration::from_millis(200));
    let report = wrk.stop();

    assert_eq!(report.socket_errors, [0; 4], "{report:?}");
    assert_eq!((report.bad_status, report.non_2xx), (0, 0), "{report:?}");
    let versions: Vec<&str> = report.versions.keys().map(String::as_str).collect();
    assert_eq!(versions, [V1, V2], "answers by version: {report:?}");
    assert_eq!(
        report.versions.values().sum::<u64>(),
        report.responses,
        "{report:?}"
    );
    let metrics = Request::get("/metrics").send(addr).text();
    let swaps_ok = format!("litecnn_model_swaps_total{{result=\"ok\"}} {SWAPS}");
    assert!(metrics.contains(&swaps_ok), "{metrics}");
}

/// Polls `/v1/model` until it reports `version` (a generous minute at most).
fn wait_until_serving(addr: SocketAddr, version: &str) {
    let start = Instant::now();
    while Request::get("/v1/model").send(addr).json()["version"] != version {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{version} was promoted but not swapped in"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends the head of a raw PNG `/predict` and the first half of `image`, and leaves the rest to
/// the caller: a request the server has started but cannot finish yet.
fn start_slow_upload(addr: SocketAddr, image: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let head = format!(
        "POST /predict HTTP/1.1\r\nHost: {addr}\r\nContent-Type: image/png\r\n\
         Content-Length: {}\r\n\r\n",
        image.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&image[..image.len() / 2]).unwrap();
    stream
}

#[test]
fn sigterm_lets_a_request_in_flight_finish_then_exits_0() {
    let store = temp_dir("serve-drain");
    let mut server = Server::start(&store, &[]);
    let (class, image) = holdout_images().remove(2);
    let mut stream = start_slow_upload(server.addr, &image);
    // Let the server read the head and start the handler before it is told to stop.
    std::thread::sleep(Duration::from_millis(300));

    server.terminate();
    std::thread::sleep(Duration::from_millis(500));
    assert!(server.is_running(), "it exited with a request unanswered");
    stream.write_all(&image[image.len() / 2..]).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains(&format!("\"label\":\"{class}\"")),
        "{answer}"
    );

    assert_eq!(server.wait_exit().code(), Some(0));
}

#[test]
fn a_stuck_request_cannot_hold_shutdown_past_the_deadline() {
    let store = temp_dir("serve-deadline");
    // The request timeout alone would wait ten minutes.
    let mut server = Server::start(
        &store,
        &["--shutdown-timeout", "1s", "--request-timeout", "10m"],
    );
    let image = holdout_images().remove(0).1;
    let mut stream = start_slow_upload(server.addr, &image);
    std::thread::sleep(Duration::from_millis(300));

    server.terminate();
    // The rest of the body never comes; the server closes the connection and exits anyway.
    assert_eq!(server.wait_exit().code(), Some(0));
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    assert!(
        !String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "a request without its body was answered 200"
    );
}
