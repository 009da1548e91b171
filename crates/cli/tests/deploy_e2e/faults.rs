//! Scenario 4, failure is normal (DESIGN §4.2): each fault ends the attempt with a clear
//! message and a history row (or, for a killed deployer, no row at all) while the current
//! model keeps serving, and the next attempt after the fault is gone succeeds.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::common::repo::{V1, V2, publish};
use super::common::{litecnn, stderr, temp_dir};
use super::remote::http_server::HttpServer;
use super::remote::sshd::Sshd;
use super::{history, status};

/// v2 with a large extra file listed in its `SHA256SUMS`, so its transfer takes long enough
/// to be interrupted.
const PADDED: &str = "v2-padded";
const PADDING: &str = "padding.bin";
/// Big enough that loopback SFTP takes seconds over it (96 MB once finished in 0.9 s, before
/// the test had stopped sshd).
const PADDING_BYTES: u32 = 384 << 20;

fn pad(dir: &Path) {
    let bytes: Vec<u8> = (0..PADDING_BYTES)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    fs::write(dir.join(PADDING), bytes).unwrap();
    litecnn_bundle::writer::write_checksums(dir).unwrap();
}

fn current(store: &Path) -> String {
    status(store)["current"]["version"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_litecnn"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The size of `name` somewhere under `<store>/staging`, once it has some bytes.
fn staged_bytes(store: &Path, name: &str) -> Option<u64> {
    let staging = store.join("staging");
    fs::read_dir(staging)
        .ok()?
        .flatten()
        .map(|d| d.path().join(name))
        .find_map(|p| fs::metadata(p).ok().map(|m| m.len()).filter(|&n| n > 0))
}

/// Waits until part of `name` has arrived in staging.
fn wait_mid_fetch(store: &Path, name: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while staged_bytes(store, name).is_none() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the deployer ended ({status}) before fetching {name}");
        }
        assert!(Instant::now() < deadline, "{name} never started arriving");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn finish(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

/// The last row: failed, with `needle` in its reason; v1 still current.
fn assert_failed_cleanly(store: &Path, out: &Output, needle: &str) {
    // Without the progress lines, which would bury the reason.
    let log: String = stderr(out)
        .lines()
        .filter(|l| !(l.starts_with("fetch ") && l.contains(" of ")))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains(needle), "expected {needle:?} in: {log}");
    let row = &history(store)[0];
    assert_eq!(row["result"], "failed", "{row}");
    assert!(row["reason"].as_str().unwrap().contains(needle), "{row}");
    assert_eq!(current(store), V1);
}

#[test]
fn ssh_faults_leave_the_current_model_serving() {
    let mut sshd = Sshd::start();
    let gpu = tempfile::tempdir().unwrap();
    let repo = gpu.path().join("fashion-mnist");
    fs::create_dir_all(&repo).unwrap();
    let root = temp_dir("e2e-ssh-faults");
    let store = root.join("store");
    let (source, store_s) = (sshd.url(&repo), store.to_str().unwrap().to_owned());
    let key = sshd.client_key.to_str().unwrap().to_owned();
    let known = sshd.known_hosts.to_str().unwrap().to_owned();
    let deploy = |key: &str, known: &str| {
        vec![
            "deploy".to_owned(),
            source.clone(),
            "--store".into(),
            store_s.clone(),
            "--ssh-key".into(),
            key.to_owned(),
            "--known-hosts".into(),
            known.to_owned(),
        ]
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        litecnn(&args)
    };
    publish(&repo, V1, V1, |_| {});
    let out = run(deploy(&key, &known));
    assert!(out.status.success(), "{}", stderr(&out));
    publish(&repo, V2, PADDED, pad);

    // Someone else's key recorded for this host and port: refused, nothing fetched.
    let impostor = sshd.new_key("impostor");
    let public = fs::read_to_string(impostor.with_extension("pub")).unwrap();
    let key_text: Vec<&str> = public.split_whitespace().take(2).collect();
    let changed = root.join("known_hosts.changed");
    fs::write(
        &changed,
        format!("[127.0.0.1]:{} {}\n", sshd.port, key_text.join(" ")),
    )
    .unwrap();
    let out = run(deploy(&key, changed.to_str().unwrap()));
    assert_failed_cleanly(&store, &out, "host key CHANGED");

    // A key the server does not know.
    let out = run(deploy(impostor.to_str().unwrap(), &known));
    assert_failed_cleanly(&store, &out, "the server refused key");

    // sshd stopped (by PID, with its per-connection children) in the middle of the transfer.
    let args = deploy(&key, &known);
    let mut child = spawn(&args.iter().map(String::as_str).collect::<Vec<_>>());
    wait_mid_fetch(&store, PADDING, &mut child);
    sshd.stop();
    let out = finish(child);
    assert_failed_cleanly(&store, &out, "fetch");
    let partial = staged_bytes(&store, PADDING).unwrap();
    assert!(
        partial < u64::from(PADDING_BYTES),
        "the whole file arrived before sshd stopped"
    );

    // Back up: the next attempt resumes from what arrived and promotes.
    sshd.restart();
    let out = run(deploy(&key, &known));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(current(&store), PADDED);
    assert_eq!(
        history(&store)
            .iter()
            .map(|r| r["result"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["promoted", "failed", "failed", "failed", "promoted"]
    );
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn a_full_disk_fails_the_attempt_and_nothing_is_lost() {
    let root = temp_dir("e2e-disk-full");
    let (repo, store) = (root.join("repo/fashion-mnist"), root.join("store"));
    fs::create_dir_all(&repo).unwrap();
    let (repo_s, store_s) = (repo.to_str().unwrap(), store.to_str().unwrap());
    publish(&repo, V1, V1, |_| {});
    let out = litecnn(&["deploy", repo_s, "--store", store_s]);
    assert!(out.status.success(), "{}", stderr(&out));
    publish(&repo, V2, V2, |_| {});

    // RLIMIT_FSIZE below the model's size (1 MB): its write fails with EFBIG, as on a full
    // file system, while the small history database still takes its row.
    let out = Command::new("prlimit")
        .arg("--fsize=600000")
        .arg(env!("CARGO_BIN_EXE_litecnn"))
        .args(["deploy", repo_s, "--store", store_s])
        .output()
        .expect("prlimit (util-linux) runs");
    assert_failed_cleanly(&store, &out, "disk full");
    assert!(stderr(&out).contains("model.onnx"), "{}", stderr(&out));

    let out = litecnn(&["deploy", repo_s, "--store", store_s]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(current(&store), V2);
    let _ = fs::remove_dir_all(&root);
}

/// Serves the files of a local repository's model directory under `/fashion-mnist/`.
fn serve_repo(server: &HttpServer, repo: &Path) {
    for entry in walk(repo) {
        let relative = entry
            .strip_prefix(repo)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        server.put(
            &format!("/fashion-mnist/{relative}"),
            &fs::read(&entry).unwrap(),
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn a_deployer_killed_mid_fetch_leaves_a_consistent_store() {
    let root = temp_dir("e2e-killed");
    let (repo, store) = (root.join("repo"), root.join("store"));
    fs::create_dir_all(&repo).unwrap();
    let store_s = store.to_str().unwrap();
    let server = HttpServer::start();
    let source = server.url("/fashion-mnist/");
    publish(&repo, V1, V1, |_| {});
    serve_repo(&server, &repo);
    let out = litecnn(&["deploy", &source, "--store", store_s]);
    assert!(out.status.success(), "{}", stderr(&out));

    // v2 over a slow link: 8 KiB every 10 ms, so the 1 MB model takes seconds.
    publish(&repo, V2, V2, |_| {});
    serve_repo(&server, &repo);
    *server.shared.trickle.lock().unwrap() = Some((8 << 10, Duration::from_millis(10)));
    let mut child = spawn(&["deploy", &source, "--store", store_s]);
    wait_mid_fetch(&store, "model.onnx", &mut child);
    child.kill().unwrap(); // SIGKILL: no cleanup runs
    let killed = child.wait().unwrap();
    assert!(!killed.success());
    // Nothing changed but staging: v1 current, no row, no half-installed bundle.
    assert_eq!(current(&store), V1);
    assert_eq!(history(&store).len(), 1);
    let installed = fs::read_dir(store.join("bundles")).unwrap().count();
    assert_eq!(installed, 1, "only v1 is installed");

    // Restarted on a good link: the lock died with the process, and v2 is promoted.
    *server.shared.trickle.lock().unwrap() = None;
    let out = litecnn(&["deploy", &source, "--store", store_s]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(current(&store), V2);
    let verify = litecnn(&[
        "verify",
        store
            .join("bundles")
            .join(
                status(&store)["current"]["digest"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("sha256:"),
            )
            .to_str()
            .unwrap(),
    ]);
    assert!(verify.status.success(), "{}", stderr(&verify));
    let _ = fs::remove_dir_all(&root);
}
