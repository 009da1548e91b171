//! `litecnn serve --watch DIR`: one process that deploys from a local repository and serves.
//! A new `LATEST` is noticed (change events), gated on the hold-out set and swapped in while
//! clients keep posting — none of their requests fails; `status` shows the watcher; a
//! `rollback` from another process takes effect in the running server and is not undone by
//! the watcher.

mod common;

use std::fs;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::http::{Request, multipart};
use common::repo::{V1, V2, examples, holdout, publish};
use common::server::{Server, wait_for_version};
use common::{litecnn, stderr, temp_dir};
use serde_json::Value;

#[test]
fn serve_watch_deploys_swaps_under_load_and_honours_rollback() {
    let root = temp_dir("serve-watch");
    let repo = root.join("repo/fashion-mnist");
    let store = root.join("store");
    fs::create_dir_all(&repo).unwrap();
    let holdout = holdout();
    let admin_tokens = root.join("admin-tokens");
    fs::write(&admin_tokens, "# chat-ops bot\nadmin-secret\n").unwrap();
    let mut server = Server::start(
        &store,
        &[
            "--watch",
            repo.to_str().unwrap(),
            "--holdout",
            &holdout,
            "--every",
            "30s",
            "--admin-token-file",
            admin_tokens.to_str().unwrap(),
        ],
    );
    let addr = server.addr;
    // An empty store and an empty repository: alive, not ready.
    assert_eq!(Request::get("/health").send(addr).status, 200);
    assert_eq!(Request::get("/ready").send(addr).status, 503);

    // Published after the watcher started: only a change event (or a 30 s poll) finds it.
    publish(&repo, V1, V1, |_| {});
    wait_for_version(addr, V1);

    let mut bags: Vec<_> = fs::read_dir(examples().join("fashion-mnist/holdout/Bag"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    bags.sort();
    let image = fs::read(&bags[0]).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let (stop, image) = (stop.clone(), image.clone());
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let (content_type, body) = multipart(&[("image", "bag.png", &image)]);
                    let r = Request::post("/predict", &content_type, body).send(addr);
                    assert_eq!(
                        r.status,
                        200,
                        "a request failed during the deploy: {}",
                        r.text()
                    );
                    seen.push(r.header("x-model-version").unwrap().to_owned());
                }
                seen
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    publish(&repo, V2, V2, |_| {});
    wait_for_version(addr, V2);
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        let seen = client.join().expect("no request failed");
        let first = seen.iter().position(|v| v == V2).expect("saw v2");
        assert!(seen[..first].iter().all(|v| v == V1) && seen[first..].iter().all(|v| v == V2));
    }

    let metrics = Request::get("/metrics").send(addr).text();
    assert!(
        metrics.contains("litecnn_deploys_total{result=\"promoted\"} 2"),
        "{metrics}"
    );
    // The record over HTTP is what the CLI prints.
    let history = Request::get("/v1/history?limit=10").send(addr).json();
    let versions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, [V2, V1]);
    assert_eq!(history[0]["result"], "promoted");
    assert_eq!(Request::get("/v1/history?limit=x").send(addr).status, 400);
    let over_http = Request::get("/v1/status").send(addr).json();
    assert_eq!(over_http["current"]["version"], V2);
    let out = litecnn(&["status", "--json", "--store", store.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["current"]["version"], V2);
    assert_eq!(status["previous"][0]["version"], V1);
    assert_eq!(status["watcher"]["source"], repo.to_str().unwrap());
    assert!(
        ["idle", "checking"].contains(&status["watcher"]["state"].as_str().unwrap()),
        "{status}"
    );

    // Rollback from another process while the watcher runs: served at once, and the
    // watcher does not promote v2 again even when the repository changes.
    let out = litecnn(&["rollback", "--store", store.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_for_version(addr, V1);
    fs::write(repo.join("LATEST.tmp"), format!("{V2}\n")).unwrap();
    fs::rename(repo.join("LATEST.tmp"), repo.join("LATEST")).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(Request::get("/ready").send(addr).json()["version"], V1);

    // The admin routes: admin token only; pause the watcher, ask for a deploy, roll back.
    let admin = |path: &str, body: &str, token: Option<&str>| {
        let mut request = Request::post(path, "application/json", body.as_bytes().to_vec());
        let bearer;
        if let Some(token) = token {
            bearer = format!("Bearer {token}");
            request = request.header("authorization", &bearer);
        }
        request.send(addr)
    };
    let anonymous = admin("/admin/watch", r#"{"enabled":false}"#, None);
    assert_eq!(anonymous.status, 401, "{}", anonymous.text());
    assert_eq!(
        admin("/admin/watch", r#"{"enabled":false}"#, Some("wrong")).status,
        401
    );
    let paused = admin("/admin/watch", r#"{"enabled":false}"#, Some("admin-secret"));
    assert_eq!(paused.status, 200, "{}", paused.text());
    assert_eq!(paused.json()["watch"]["enabled"], false);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = litecnn(&["status", "--json", "--store", store.to_str().unwrap()]);
        let status: Value = serde_json::from_slice(&out.stdout).unwrap();
        if status["watcher"]["state"] == "off" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the watcher did not pause: {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let bad = admin("/admin/watch", r#"{"on":1}"#, Some("admin-secret"));
    assert_eq!(
        (bad.status, bad.error_code()),
        (400, "bad_request".to_owned())
    );
    assert_eq!(admin("/admin/deploy", "", Some("admin-secret")).status, 202);
    // Nothing is older than v1 now: a clear 400, the model untouched.
    let nowhere = admin("/admin/rollback", "", Some("admin-secret"));
    assert_eq!(nowhere.status, 400, "{}", nowhere.text());
    assert!(
        nowhere.text().contains("nothing to roll back to"),
        "{}",
        nowhere.text()
    );
    assert_eq!(Request::get("/ready").send(addr).json()["version"], V1);
    server.assert_alive();
    drop(server);
    let _ = fs::remove_dir_all(&root);
}
