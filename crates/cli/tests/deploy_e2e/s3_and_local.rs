//! Scenario 3: the repository in S3 (SeaweedFS with real SigV4, the binary configured by the
//! usual `AWS_*` variables), and in a plain local directory whose change is noticed by events
//! alone (the poll interval is an hour).

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use super::common::repo::{V1, V2, drop_a_label, flip_a_byte, holdout, publish};
use super::common::server::{Server, wait_for_version};
use super::common::{litecnn, stderr, temp_dir};
use super::remote::weed::{ACCESS_KEY, SECRET_KEY, Weed, upload};
use super::{results, status};

const PREFIX: &str = "repo/fashion-mnist";

/// Publishes `version` locally (into `local`, as the publisher would), then uploads the
/// bundle's files and, last, `LATEST` — the order a reader relies on.
fn publish_to_s3(weed: &Weed, local: &Path, from: &str, version: &str, edit: fn(&Path)) {
    publish(local, from, version, edit);
    let dir = local.join(version);
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (
                format!("{PREFIX}/{version}/{name}"),
                fs::read(path).unwrap(),
            )
        })
        .collect();
    files.push((
        format!("{PREFIX}/LATEST"),
        format!("{version}\n").into_bytes(),
    ));
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(k, v)| (k.as_str(), &v[..])).collect();
    upload(weed.builder(SECRET_KEY), &refs);
}

fn deploy(weed: &Weed, store: &Path) -> Output {
    let holdout = holdout();
    Command::new(env!("CARGO_BIN_EXE_litecnn"))
        .args([
            "deploy",
            &format!("s3://models/{PREFIX}"),
            "--holdout",
            &holdout,
        ])
        .arg("--store")
        .arg(store)
        .env("AWS_ENDPOINT_URL", weed.endpoint())
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap()
}

#[test]
fn an_s3_repository_is_deployed_gated_and_verified() {
    let Some(weed) = Weed::start() else { return };
    litecnn_deploy::tls::ensure_provider();
    let root = temp_dir("e2e-s3");
    let (local, store) = (root.join("local"), root.join("store"));
    fs::create_dir_all(&local).unwrap();

    publish_to_s3(&weed, &local, V1, V1, |_| {});
    let out = deploy(&weed, &store);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    publish_to_s3(&weed, &local, V2, V2, |_| {});
    let out = deploy(&weed, &store);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(status(&store)["current"]["version"], V2);

    publish_to_s3(&weed, &local, V1, "v3-less-accurate", |_| {});
    let out = deploy(&weed, &store);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("hold-out accuracy regressed"),
        "{}",
        stderr(&out)
    );
    publish_to_s3(&weed, &local, V2, "v4-flipped-byte", flip_a_byte);
    let out = deploy(&weed, &store);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("checksums"), "{}", stderr(&out));

    publish_to_s3(&weed, &local, V2, "v5-nine-labels", drop_a_label);
    let out = deploy(&weed, &store);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("labels"), "{}", stderr(&out));

    assert_eq!(status(&store)["current"]["version"], V2);
    let out = litecnn(&["rollback", "--store", store.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(status(&store)["current"]["version"], V1);
    assert_eq!(
        results(&store),
        [
            "rollback", "rejected", "rejected", "rejected", "promoted", "promoted"
        ]
    );
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn a_local_directory_change_is_noticed_by_events() {
    let root = temp_dir("e2e-local");
    let (repo, store) = (root.join("repo/fashion-mnist"), root.join("store"));
    fs::create_dir_all(&repo).unwrap();
    // An hour between polls: only a change event can find what is published.
    let server = Server::start(
        &store,
        &["--watch", repo.to_str().unwrap(), "--every", "1h"],
    );
    publish(&repo, V1, V1, |_| {});
    wait_for_version(server.addr, V1);
    publish(&repo, V2, V2, |_| {});
    wait_for_version(server.addr, V2);
    assert_eq!(results(&store), ["promoted", "promoted"]);
    drop(server);
    let _ = fs::remove_dir_all(&root);
}
