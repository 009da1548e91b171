//! The ONNX backend node tests from the pinned `onnx` wheel, driven by `node-tests.txt`.
//!
//! `LITECNN_ONNX_NODE_DATA` points at the wheel's `onnx/backend/test/data` (`./scripts/test`
//! sets it). With `LITECNN_NODE_TESTS_ALL=1`, every test of the suites runs and a pass/fail
//! line per test is printed — the way to find candidates for the allow-list.

use std::env;
use std::fs;
use std::path::PathBuf;

use litecnn_conformance::{SUITES, find_test, run_test};

fn data_root() -> PathBuf {
    let root = env::var_os("LITECNN_ONNX_NODE_DATA")
        .map(PathBuf::from)
        .expect(
            "LITECNN_ONNX_NODE_DATA is not set: run ./scripts/test, or point it at \
         <venv>/lib/python3.11/site-packages/onnx/backend/test/data",
        );
    assert!(
        root.join("node").is_dir(),
        "{} holds no node/ tests",
        root.display()
    );
    root
}

fn allow_list() -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node-tests.txt");
    let text = fs::read_to_string(&path).expect("node-tests.txt is readable");
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn allow_listed_node_tests_pass() {
    let root = data_root();
    let names = allow_list();
    assert!(
        names.len() > 100,
        "the allow-list shrank to {} tests",
        names.len()
    );
    let mut failures = Vec::new();
    for name in &names {
        let result = match find_test(&root, name) {
            Some(dir) => run_test(&dir),
            None => Err("not found in the wheel".into()),
        };
        if let Err(e) = result {
            failures.push(format!("{name}: {e}"));
        }
    }
    println!(
        "{} of {} allow-listed node tests passed",
        names.len() - failures.len(),
        names.len()
    );
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn survey_every_node_test_when_asked() {
    if env::var_os("LITECNN_NODE_TESTS_ALL").is_none() {
        return;
    }
    let root = data_root();
    for suite in SUITES {
        let mut dirs: Vec<PathBuf> = fs::read_dir(root.join(suite))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        dirs.sort();
        for dir in dirs {
            let name = dir.file_name().unwrap().to_string_lossy().to_string();
            match std::panic::catch_unwind(|| run_test(&dir)) {
                Ok(Ok(())) => println!("PASS {suite}/{name}"),
                Ok(Err(e)) => println!("FAIL {suite}/{name}: {}", e.lines().next().unwrap_or("")),
                Err(_) => println!("PANIC {suite}/{name}"),
            }
        }
    }
}
