//! The deployer end to end on a local repository, through the real binary: promote, skip what
//! is current, reject a less accurate model on the hold-out set, a corrupted file at verify and
//! a label/class mismatch at the gate, roll back, and record every attempt with its steps —
//! with Slack and Discord webhooks received by a local HTTP listener.

mod common;

use std::fs;
use std::path::Path;

use common::repo::{V1, V2, drop_a_label, flip_a_byte, holdout, publish};
use common::webhook::Receiver;
use common::{litecnn, stderr, temp_dir};
use serde_json::Value;

fn deploy(repo: &Path, store: &Path, hooks: &Receiver, extra: &[&str]) -> std::process::Output {
    let slack = format!("slack+{}/slack", hooks.url);
    let discord = format!("discord+{}/discord", hooks.url);
    let generic = format!("{}/json", hooks.url);
    let mut args = vec![
        "deploy",
        repo.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--notify",
        &slack,
        "--notify",
        &discord,
        "--notify",
        &generic,
    ];
    args.extend_from_slice(extra);
    litecnn(&args)
}

fn json_of(args: &[&str]) -> Value {
    let out = litecnn(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn current_version(store: &Path) -> Value {
    json_of(&["status", "--json", "--store", store.to_str().unwrap()])["current"]["version"].clone()
}

#[test]
fn a_local_repository_is_deployed_gated_rolled_back_and_recorded() {
    let root = temp_dir("deploy-flow");
    let repo = root.join("repo/fashion-mnist");
    let store = root.join("store");
    fs::create_dir_all(&repo).unwrap();
    let hooks = Receiver::start();
    let holdout = holdout();
    let gated = ["--holdout", holdout.as_str()];

    // An empty repository: nothing to do, exit 0, no history row.
    let out = deploy(&repo, &store, &hooks, &gated);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    publish(&repo, V1, V1, |_| {});
    let out = deploy(&repo, &store, &hooks, &gated);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(current_version(&store), V1);

    // The same LATEST again: nothing new.
    let out = deploy(&repo, &store, &hooks, &gated);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("already serving"), "{}", stderr(&out));

    publish(&repo, V2, V2, |_| {});
    let out = deploy(&repo, &store, &hooks, &gated);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(current_version(&store), V2);

    // v3: version 1's weights under a new version name: less accurate than v2 → rejected.
    publish(&repo, V1, "v3-less-accurate", |_| {});
    let out = deploy(&repo, &store, &hooks, &gated);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("hold-out accuracy regressed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(current_version(&store), V2);
    // Rejected for good: the next attempt skips it without a row, exit 0.
    let out = deploy(&repo, &store, &hooks, &gated);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("rejected before"), "{}", stderr(&out));

    // v4: one flipped byte in the model after SHA256SUMS was written → verify.
    publish(&repo, V2, "v4-flipped-byte", flip_a_byte);
    let out = deploy(&repo, &store, &hooks, &gated);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("checksums"), "{}", stderr(&out));

    // v5: labels that do not match the outputs (9 labels, 10 classes) → gate.
    publish(&repo, V2, "v5-nine-labels", drop_a_label);
    let out = deploy(&repo, &store, &hooks, &gated);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(current_version(&store), V2);

    // Rollback: instantly back to v1; v2 is marked rejected so no watcher re-promotes it.
    let out = litecnn(&["rollback", "--store", store.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(current_version(&store), V1);
    let out = litecnn(&["rollback", "--store", store.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "nothing before v1");

    let history = json_of(&["history", "--json", "--store", store.to_str().unwrap()]);
    let rows = history.as_array().unwrap();
    let results: Vec<&str> = rows.iter().map(|r| r["result"].as_str().unwrap()).collect();
    assert_eq!(
        results,
        [
            "rollback", "rejected", "rejected", "rejected", "promoted", "promoted"
        ]
    );
    let versions: Vec<&str> = rows
        .iter()
        .map(|r| r["version"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        versions,
        [
            V1,
            "v5-nine-labels",
            "v4-flipped-byte",
            "v3-less-accurate",
            V2,
            V1
        ]
    );
    for row in rows {
        for key in [
            "id",
            "started_at",
            "source",
            "version",
            "digest",
            "result",
            "reason",
            "steps",
            "gates",
        ] {
            assert!(row.get(key).is_some(), "{key} missing in {row}");
        }
    }
    let steps = common::history::step_outcomes;
    assert_eq!(
        steps(&rows[5]),
        [
            "detect:true",
            "fetch:true",
            "verify:true",
            "gate:true",
            "promote:true"
        ]
    );
    assert_eq!(
        steps(&rows[2]),
        ["detect:true", "fetch:true", "verify:false"]
    );
    assert_eq!(steps(&rows[1]).last().unwrap(), "gate:false");
    let v3 = &rows[3];
    assert!(v3["reason"].as_str().unwrap().contains("0.8"), "{v3}");
    assert!(
        v3["gates"]["holdout"]["candidate_top1"].as_f64().unwrap()
            < v3["gates"]["holdout"]["current_top1"].as_f64().unwrap()
    );

    // Webhooks: one per attempt that did something, in each format.
    let slack = hooks.bodies("/slack");
    let discord = hooks.bodies("/discord");
    let generic = hooks.bodies("/json");
    assert_eq!(slack.len(), 5, "{slack:?}");
    assert_eq!(discord.len(), 5);
    assert_eq!(generic.len(), 5);
    let rejected = &slack[2];
    assert!(
        rejected["text"].as_str().unwrap().contains("rejected"),
        "{rejected}"
    );
    assert!(rejected["blocks"].as_array().unwrap().len() >= 2);
    let text = rejected.to_string();
    assert!(
        text.contains("candidate_top1") && text.contains("current_top1"),
        "{text}"
    );
    let embed = &discord[2]["embeds"][0];
    assert!(
        embed["title"]
            .as_str()
            .unwrap()
            .contains("v3-less-accurate")
    );
    assert!(
        embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "holdout")
    );
    assert_eq!(generic[2]["event"], "rejected");
    assert_eq!(generic[2]["attempt"]["gates"]["holdout"]["ok"], false);

    let _ = fs::remove_dir_all(&root);
}
