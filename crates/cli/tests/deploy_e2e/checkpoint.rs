//! Scenario 2, checkpoint mode: the GPU side only writes `checkpoints/*_best.pth` (real
//! PyTorch training-checkpoint dicts made with the test venv's torch); `serve --watch` with
//! `--convert` runs the publisher on the edge. A checkpoint still being written is not taken;
//! rewriting it deploys again.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use litecnn_bundle::digest::{sha256, to_hex};
use litecnn_bundle::time::rfc3339;

use super::common::repo::examples;
use super::common::server::{Server, wait_for_version};
use super::common::temp_dir;
use super::{status, wait_for_row};

/// Training checkpoints of the demo architecture (random weights, seeded), as a training
/// loop saves them: weights under `model_state_dict` beside optimizer state and the epoch.
const MAKE_CHECKPOINTS: &str = r#"
import sys, torch
from litecnn.models import lite_cnn_half
for seed, path in enumerate(sys.argv[1:]):
    torch.manual_seed(seed)
    model = lite_cnn_half(num_classes=10)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    torch.save({"epoch": 7 + seed, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": opt.state_dict(), "best_acc": 0.5}, path)
"#;

/// The venv's interpreter (`scripts/test` exports it), or `None` after saying so loudly.
fn python() -> Option<PathBuf> {
    let Some(python) = std::env::var_os("LITECNN_PYTHON") else {
        eprintln!(
            "\n*** SKIPPED: checkpoint mode needs the test venv (torch, litecnn-publish); set \
             LITECNN_PYTHON to its python (scripts/test does) ***\n"
        );
        return None;
    };
    Some(PathBuf::from(python))
}

/// The `--convert` command: the publisher of the same venv, exporting as the demo was.
fn convert_command(python: &Path) -> String {
    let publish = python.with_file_name("litecnn-publish");
    let labels = examples().join("fashion-mnist/labels.json");
    format!(
        "{} export --model litecnn.models:lite_cnn_half --checkpoint {{input}} --labels {} \
         --name fashion-mnist --out {{output}} --input-size 64 --resize 64 \
         --mean 0.286 0.286 0.286 --std 0.353 0.353 0.353",
        publish.display(),
        labels.display()
    )
}

fn hex(bytes: &[u8]) -> String {
    format!("sha256:{}", to_hex(&sha256(bytes)))
}

#[test]
fn checkpoints_are_taken_once_stable_converted_and_redeployed_when_rewritten() {
    let Some(python) = python() else { return };
    let root = temp_dir("e2e-checkpoint");
    let made = root.join("made");
    fs::create_dir_all(&made).unwrap();
    let (first, second) = (made.join("first.pth"), made.join("second.pth"));
    let made_them = Command::new(&python)
        .args(["-c", MAKE_CHECKPOINTS])
        .args([&first, &second])
        .status()
        .unwrap();
    assert!(made_them.success(), "making the checkpoints failed");
    let (first, second) = (fs::read(first).unwrap(), fs::read(second).unwrap());

    let checkpoints = root.join("gpu/checkpoints");
    fs::create_dir_all(&checkpoints).unwrap();
    let target = checkpoints.join("LiteCNN_best.pth");
    let store = root.join("store");
    let pattern = checkpoints.join("*_best.pth");
    let server = Server::start(
        &store,
        &[
            "--watch",
            pattern.to_str().unwrap(),
            "--convert",
            &convert_command(&python),
            "--settle",
            "1s",
            "--every",
            "1s",
        ],
    );

    // The watcher's first look (at no file yet) must be on record before the writing
    // starts, or a slow start-up would leave every look below unrecorded.
    let deadline = Instant::now() + Duration::from_secs(120);
    while status(&store)["watcher"]["last_result"].is_null() {
        assert!(Instant::now() < deadline, "the watcher never looked");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Written slowly, in pieces, for longer than the settle time: every look in between sees
    // a changing file, and a torn checkpoint would fail to convert (a `failed` row) or
    // deploy another hash than the finished file's.
    let mut file = fs::File::create(&target).unwrap();
    let mut looked_while_writing = Vec::new();
    for piece in first.chunks(first.len() / 12 + 1) {
        file.write_all(piece).unwrap();
        file.flush().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        looked_while_writing.push(status(&store)["watcher"]["last_result"].clone());
    }
    drop(file);
    // Not vacuous: the watcher did look at the growing file, and left it alone.
    assert!(
        looked_while_writing
            .iter()
            .any(|r| r.as_str().is_some_and(|r| r.contains("still changing"))),
        "{looked_while_writing:?}"
    );
    let row = wait_for_row(&store, "the first checkpoint", |r| {
        r["result"] != "rejected"
    });
    assert_eq!(row["result"], "promoted", "{row}");
    assert_eq!(row["checkpoint_sha256"], hex(&first), "{row}");
    let steps = crate::common::history::step_names(&row);
    assert_eq!(
        steps,
        ["detect", "fetch", "convert", "verify", "gate", "promote"]
    );
    // The publisher names versions after the checkpoint's hash.
    let version = row["version"].as_str().unwrap().to_owned();
    assert!(version.ends_with(&hex(&first)[7..13]), "{version}");
    wait_for_version(server.addr, &version);
    assert_eq!(
        super::history(&store).len(),
        1,
        "only the finished file was taken"
    );

    // Rewritten in place with the next epoch's weights: a new deploy.
    fs::write(&target, &second).unwrap();
    let row = wait_for_row(&store, "the rewritten checkpoint", |r| {
        r["checkpoint_sha256"] == hex(&second)
    });
    assert_eq!(row["result"], "promoted", "{row}");
    let next = row["version"].as_str().unwrap().to_owned();
    assert_ne!(next, version);
    wait_for_version(server.addr, &next);

    // The same bytes written again (a new mtime): deduped by the checkpoint's SHA-256, no
    // conversion, no row. Waits for a look that began after the write and its settle time.
    fs::write(&target, &second).unwrap();
    let after = rfc3339(SystemTime::now() + Duration::from_secs(2));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let watcher = status(&store)["watcher"].clone();
        if watcher["last_check_at"]
            .as_str()
            .is_some_and(|t| t > after.as_str())
        {
            let result = watcher["last_result"].as_str().unwrap_or_default();
            assert!(result.contains("already serving"), "{watcher}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the watcher stopped looking: {watcher}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(super::history(&store).len(), 2, "the same checkpoint twice");
    drop(server);
    let _ = fs::remove_dir_all(&root);
}
