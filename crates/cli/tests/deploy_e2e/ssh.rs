//! Scenario 1: the GPU server's model repository behind a real sshd; one `litecnn serve
//! --watch ssh://…` process on an empty store deploys, gates and serves while `wrk` keeps
//! posting images, and every attempt lands in the history and the webhook.

use std::fs;

use serde_json::Value;

use super::common::http::Request;
use super::common::repo::{V1, V2, drop_a_label, flip_a_byte, holdout, publish};
use super::common::server::{Server, wait_for_version};
use super::common::store::holdout_file;
use super::common::webhook::Receiver;
use super::common::wrk::Wrk;
use super::common::{litecnn, stderr, temp_dir};
use super::remote::sshd::Sshd;
use super::{history, steps, wait_for_row};

const V3: &str = "v3-less-accurate";
const V4: &str = "v4-flipped-byte";
const V5: &str = "v5-nine-labels";

#[test]
fn serve_watch_over_ssh_promotes_rejects_rolls_back_under_load() {
    let sshd = Sshd::start();
    let gpu = tempfile::tempdir().unwrap();
    let repo = gpu.path().join("models/fashion-mnist");
    fs::create_dir_all(&repo).unwrap();
    let root = temp_dir("e2e-ssh");
    let store = root.join("store");
    let hooks = Receiver::start();
    let hook = format!("{}/json", hooks.url);
    let holdout = holdout();
    let source = sshd.url(&repo);
    let server = Server::start(
        &store,
        &[
            "--watch",
            &source,
            "--ssh-key",
            sshd.client_key.to_str().unwrap(),
            "--known-hosts",
            sshd.known_hosts.to_str().unwrap(),
            "--holdout",
            &holdout,
            "--notify",
            &hook,
            // SFTP has no change events: the poll finds new versions.
            "--every",
            "1s",
            "--probation",
            "1s",
        ],
    );
    let addr = server.addr;
    assert_eq!(Request::get("/ready").send(addr).status, 503);

    publish(&repo, V1, V1, |_| {});
    wait_for_version(addr, V1);

    // Load from here to the end of the deploys: not one answer may fail.
    let wrk = Wrk::start(&format!("http://{addr}/predict"), 4, &holdout_file("Bag"));
    publish(&repo, V2, V2, |_| {});
    wait_for_version(addr, V2);
    // The row is written at promotion; probation adds its step when it ends.
    let v2 = wait_for_row(&store, "v2's probation", |r| {
        r["version"] == V2 && steps(r).len() == 6
    });
    assert_eq!(v2["result"], "promoted", "{v2}");
    assert_eq!(
        steps(&v2),
        [
            "detect:true",
            "fetch:true",
            "verify:true",
            "gate:true",
            "promote:true",
            "probation:true"
        ]
    );

    // v3: v1's weights under a new name — less accurate than v2 on the hold-out set.
    publish(&repo, V1, V3, |_| {});
    let v3 = wait_for_row(&store, "v3", |r| r["version"] == V3);
    assert_eq!(v3["result"], "rejected", "{v3}");
    let holdout_gate = &v3["gates"]["holdout"];
    let (candidate, current) = (
        holdout_gate["candidate_top1"].as_f64().unwrap(),
        holdout_gate["current_top1"].as_f64().unwrap(),
    );
    assert!(candidate < current, "{v3}");
    let reason = v3["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("top-1 {candidate:.4} vs current {current:.4}")),
        "the reason names the accuracies: {reason}"
    );
    assert_eq!(Request::get("/ready").send(addr).json()["version"], V2);

    publish(&repo, V2, V4, flip_a_byte);
    let v4 = wait_for_row(&store, "v4", |r| r["version"] == V4);
    assert_eq!(v4["result"], "rejected", "{v4}");
    assert_eq!(steps(&v4), ["detect:true", "fetch:true", "verify:false"]);
    assert!(v4["reason"].as_str().unwrap().contains("checksums"), "{v4}");

    publish(&repo, V2, V5, drop_a_label);
    let v5 = wait_for_row(&store, "v5", |r| r["version"] == V5);
    assert_eq!(v5["result"], "rejected", "{v5}");
    assert_eq!(steps(&v5).last().unwrap(), "gate:false");
    assert!(v5["reason"].as_str().unwrap().contains("label"), "{v5}");

    let report = wrk.stop();
    assert_eq!(report.non_2xx, 0, "{report:?}");
    assert_eq!(
        (report.bad_status, report.socket_errors),
        (0, [0; 4]),
        "{report:?}"
    );
    assert!(
        report.versions.get(V2).is_some_and(|&n| n > 0),
        "{report:?}"
    );
    assert_eq!(Request::get("/ready").send(addr).json()["version"], V2);

    let out = litecnn(&["rollback", "--store", store.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_for_version(addr, V1);

    let rows = history(&store);
    let seen: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["result"].as_str().unwrap(),
                r["version"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("rollback", V1),
            ("rejected", V5),
            ("rejected", V4),
            ("rejected", V3),
            ("promoted", V2),
            ("promoted", V1)
        ],
        "every attempt once, newest first"
    );
    for row in &rows {
        assert!(!steps(row).is_empty(), "{row}");
    }
    assert!(rows[4..].iter().all(|r| r["source"] == source.as_str()));

    // The webhook heard every attempt, the rejection with its accuracy figures.
    let bodies = hooks.bodies("/json");
    let events: Vec<(&str, &str)> = bodies
        .iter()
        .map(|b| {
            (
                b["event"].as_str().unwrap(),
                b["attempt"]["version"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("promoted", V1),
            ("promoted", V2),
            ("rejected", V3),
            ("rejected", V4),
            ("rejected", V5)
        ]
    );
    let rejected: &Value = &bodies[2]["attempt"]["gates"]["holdout"];
    assert_eq!(rejected["candidate_top1"].as_f64(), Some(candidate));
    assert_eq!(rejected["current_top1"].as_f64(), Some(current));
    drop(server);
    let _ = fs::remove_dir_all(&root);
}
