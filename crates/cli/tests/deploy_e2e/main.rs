//! The deployer's end-to-end scenarios (issue #5), each driving the real `litecnn` binary
//! against real servers on 127.0.0.1 that the tests start and stop by PID: OpenSSH's sshd,
//! SeaweedFS, a small HTTP server (the helpers of `crates/deploy/tests/common`, shared, not
//! copied), the Python publisher as a `--convert` command, and `wrk` for load.
//!
//! - `ssh`: `serve --watch ssh://…` from an empty store through v1…v5 and a rollback, under load;
//! - `checkpoint`: a GPU side that only writes `checkpoints/*_best.pth`, converted on the edge;
//! - `s3_and_local`: the same against S3, and a local directory's change noticed by events;
//! - `faults`: sshd stopped mid-fetch, a changed host key, a wrong key, a full disk, and a
//!   deployer killed mid-fetch — each leaves the current model serving and a clear record.
//!
//! No test asserts speed: waits have generous deadlines and only what happens is checked.

#[path = "../common/mod.rs"]
mod common;
#[path = "../../../deploy/tests/common/mod.rs"]
mod remote;

mod checkpoint;
mod faults;
mod s3_and_local;
mod ssh;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::history::step_outcomes as steps;
use common::{litecnn, stderr};

/// `history --json` of `store`, newest first.
fn history(store: &Path) -> Vec<Value> {
    let out = litecnn(&[
        "history",
        "--json",
        "--limit",
        "100",
        "--store",
        store.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `status --json` of `store`.
fn status(store: &Path) -> Value {
    let out = litecnn(&["status", "--json", "--store", store.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Waits (up to a generous two minutes) for a history row that `wanted` accepts; returns it.
fn wait_for_row(store: &Path, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let rows = history(store);
        if let Some(row) = rows.iter().find(|r| wanted(r)) {
            return row.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no history row for {what}; history: {}",
            serde_json::to_string_pretty(&rows).unwrap()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The `{result}`s of the history, newest first.
fn results(store: &Path) -> Vec<String> {
    history(store)
        .iter()
        .map(|r| r["result"].as_str().unwrap().to_owned())
        .collect()
}
