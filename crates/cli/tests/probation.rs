//! `--probation` (DESIGN §4.1 step 7, §9) through the real binaries: a standalone `deploy
//! --server URL` judges the live model from that server's `/metrics`. A healthy promotion
//! stays, with a `probation` step that counted real requests; a promotion whose live p99
//! (real requests with a large image, timed by the server) exceeds `--max-latency-ms` while
//! its engine latency passed the gate is rolled back to the previous model, recorded as
//! `rolled_back`, announced, and rejected for good. The same breach inside `serve --watch`
//! (in-process metrics) rolls the serving process back by itself.
//!
//! A breach ends probation as soon as enough requests were timed, so the long probation
//! periods only matter on a very slow machine.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::http::Request;
use common::repo::{V1, V2, examples, publish};
use common::server::{Server, wait_for_version};
use common::traffic::Traffic;
use common::webhook::Receiver;
use common::{litecnn, stderr, temp_dir};
use serde_json::Value;
use zune_core::bit_depth::BitDepth;
use zune_core::colorspace::ColorSpace;
use zune_core::options::EncoderOptions;
use zune_png::PngEncoder;

const SLOW: &str = "v3-slow-in-production";
/// Far above the demo model's engine latency (the gate passes, even on a busy machine), far
/// below the time the server needs to decode and resize a 12-megapixel PNG (the live p99
/// breaches it).
const LIMIT_MS: &str = "20";

fn history(store: &Path) -> Vec<Value> {
    let out = litecnn(&["history", "--json", "--store", store.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn deploy_args<'a>(repo: &'a str, store: &'a str, server: &'a str, hook: &'a str) -> Vec<&'a str> {
    vec![
        "deploy", repo, "--store", store, "--server", server, "--notify", hook,
    ]
}

/// A 4000×3000 RGB PNG (36 MB: the encoder stores it uncompressed), twelve megapixels to
/// read, decode and resize.
fn large_png() -> Vec<u8> {
    let (width, height) = (4000, 3000);
    let pixels: Vec<u8> = (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .flat_map(|(x, y)| [(x / 500 * 30) as u8, (y / 500 * 40) as u8, 90])
        .collect();
    let options = EncoderOptions::new(width, height, ColorSpace::RGB, BitDepth::Eight);
    let mut encoded = Vec::new();
    PngEncoder::new(&pixels, options)
        .encode(&mut encoded)
        .unwrap();
    encoded
}

fn small_png() -> Vec<u8> {
    let dir = examples().join("fashion-mnist/holdout/Bag");
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    fs::read(&files[0]).unwrap()
}

#[test]
fn probation_keeps_a_healthy_model_and_rolls_back_a_slow_one() {
    let root = temp_dir("probation");
    let repo = root.join("repo/fashion-mnist");
    let store = root.join("store");
    fs::create_dir_all(&repo).unwrap();
    let hooks = Receiver::start();
    let hook = format!("{}/json", hooks.url);
    let (repo_s, store_s) = (repo.to_str().unwrap(), store.to_str().unwrap());

    publish(&repo, V1, V1, |_| {});
    let out = litecnn(&["deploy", repo_s, "--store", store_s]);
    assert!(out.status.success(), "{}", stderr(&out));
    let server = Server::start(&store, &["--max-body-bytes", "64MiB"]);
    let url = format!("http://{}", server.addr);
    wait_for_version(server.addr, V1);

    // Without --server, a standalone deploy has nothing to judge by: a usage error.
    let out = litecnn(&["deploy", repo_s, "--store", store_s, "--probation", "2s"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--server URL"), "{}", stderr(&out));
    // The same from the config file, like every deploy option.
    let config = root.join("litecnn.toml");
    fs::write(&config, "[deploy]\nprobation = \"2s\"\n").unwrap();
    let out = litecnn(&[
        "deploy",
        repo_s,
        "--store",
        store_s,
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--server URL"), "{}", stderr(&out));

    // v2 under light traffic: passes, stays, and the probation step counted the requests.
    let traffic = Traffic::start(server.addr, 2, small_png());
    publish(&repo, V2, V2, |_| {});
    let mut args = deploy_args(repo_s, store_s, &url, &hook);
    args.extend(["--probation", "2s"]);
    let out = litecnn(&args);
    let answers = traffic.stop();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(answers.iter().all(|a| a.status == 200), "a request failed");
    let rows = history(&store);
    assert_eq!(rows[0]["result"], "promoted", "{}", rows[0]);
    let step = rows[0]["steps"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (step["name"].as_str(), step["ok"].as_bool()),
        (Some("probation"), Some(true))
    );
    assert!(step["ms"].as_f64().unwrap() >= 2000.0, "{step}");
    let counted: u64 = step["detail"]
        .as_str()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("no request count in {step}"));
    assert!(counted > 0, "probation saw no traffic: {step}");

    // v3 passes the gates (engine p50 within the limit) but is slow in production: the large
    // image's requests take longer than the limit. Rolled back to v2, rejected for good.
    let large = large_png();
    publish(&repo, V1, SLOW, |_| {});
    let mut args = deploy_args(repo_s, store_s, &url, &hook);
    args.extend(["--probation", "8s", "--max-latency-ms", LIMIT_MS]);
    let mut deploying = Command::new(env!("CARGO_BIN_EXE_litecnn"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The gate must pass for the test to mean anything: a deploy that ends first says why.
    let deadline = Instant::now() + Duration::from_secs(120);
    while Request::get("/ready").send(server.addr).json()["version"] != SLOW {
        if deploying.try_wait().unwrap().is_some() {
            let out = deploying.wait_with_output().unwrap();
            panic!("the deploy ended before v3 was served: {}", stderr(&out));
        }
        assert!(Instant::now() < deadline, "v3 never served");
        std::thread::sleep(Duration::from_millis(20));
    }
    let traffic = Traffic::start(server.addr, 2, large);
    let deadline = Instant::now() + Duration::from_secs(120);
    while deploying.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "deploy with probation never ended"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = deploying.wait_with_output().unwrap();
    wait_for_version(server.addr, V2);
    let answers = traffic.stop();
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{log}");
    assert!(log.contains("rolled back"), "{log}");
    assert!(answers.iter().all(|a| a.status == 200), "a request failed");
    // Not vacuous: the slow model's answers really were slower than the limit.
    let limit: f64 = LIMIT_MS.parse().unwrap();
    let slow: Vec<f64> = answers
        .iter()
        .filter(|a| a.version.as_deref() == Some(SLOW))
        .filter_map(|a| a.total_ms)
        .collect();
    assert!(
        slow.len() >= 10 && slow.iter().all(|&ms| ms > limit),
        "{slow:?}"
    );
    eprintln!("the slow model's /predict totals (ms): {slow:?}");

    let rows = history(&store);
    let row = &rows[0];
    assert_eq!(row["version"], SLOW);
    assert_eq!(row["result"], "rolled_back", "{row}");
    let reason = row["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("probation: /predict p99 ")
            && reason.contains(&format!("> --max-latency-ms {LIMIT_MS} over"))
            && reason.contains(&format!("rolled back to {V2}")),
        "{reason}"
    );
    assert_eq!(
        row["gates"]["latency"]["ok"], true,
        "the gate passed: {row}"
    );
    let steps = common::history::step_names(row);
    assert_eq!(
        steps,
        ["detect", "fetch", "verify", "gate", "promote", "probation"]
    );
    let bodies = hooks.bodies("/json");
    let events: Vec<&str> = bodies
        .iter()
        .map(|b| b["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["promoted", "promoted", "rolled_back"]);
    assert!(
        bodies[2]["attempt"]["reason"]
            .as_str()
            .unwrap()
            .contains("p99"),
        "{}",
        bodies[2]
    );

    // Rejected for good: the same LATEST is skipped.
    let out = litecnn(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("rejected before"), "{}", stderr(&out));
    drop(server);
    let _ = fs::remove_dir_all(&root);
}

/// `serve --watch --probation`: the serving process judges its own metrics. v1 passes (no
/// traffic: nothing to judge); v2 under large-image traffic breaches the p99 limit and the
/// process rolls itself back to v1 — and its watcher leaves v2 alone afterwards.
#[test]
fn serve_watch_rolls_itself_back_on_a_breach() {
    let root = temp_dir("probation-in-process");
    let repo = root.join("repo/fashion-mnist");
    let store = root.join("store");
    fs::create_dir_all(&repo).unwrap();
    let server = Server::start(
        &store,
        &[
            "--watch",
            repo.to_str().unwrap(),
            "--every",
            "1s",
            "--probation",
            "8s",
            "--max-latency-ms",
            LIMIT_MS,
            "--max-body-bytes",
            "64MiB",
        ],
    );
    let addr = server.addr;
    publish(&repo, V1, V1, |_| {});
    wait_for_version(addr, V1);
    let large = large_png();
    publish(&repo, V2, V2, |_| {});
    wait_for_version(addr, V2);
    let traffic = Traffic::start(addr, 2, large);
    wait_for_version(addr, V1);
    let answers = traffic.stop();
    assert!(answers.iter().all(|a| a.status == 200), "a request failed");

    let rows = history(&store);
    assert_eq!(rows[0]["version"], V2, "{}", rows[0]);
    assert_eq!(rows[0]["result"], "rolled_back", "{}", rows[0]);
    let reason = rows[0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("probation: /predict p99 "), "{reason}");
    assert_eq!(rows[1]["version"], V1);
    assert_eq!(rows[1]["result"], "promoted", "{}", rows[1]);
    let v1_probation = rows[1]["steps"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(v1_probation["name"], "probation", "{v1_probation}");
    let metrics = Request::get("/metrics").send(addr).text();
    assert!(
        metrics.contains("litecnn_deploys_total{result=\"rolled_back\"} 1"),
        "{metrics}"
    );
    // The watcher keeps looking and finds v2 rejected.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = litecnn(&["status", "--json", "--store", store.to_str().unwrap()]);
        let status: Value = serde_json::from_slice(&out.stdout).unwrap();
        let last = status["watcher"]["last_result"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if last.contains("rejected before") {
            break;
        }
        assert!(Instant::now() < deadline, "{status}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(Request::get("/ready").send(addr).json()["version"], V1);
    drop(server);
    let _ = fs::remove_dir_all(&root);
}
