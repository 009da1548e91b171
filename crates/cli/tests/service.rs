//! `litecnn service install` writes a systemd unit and a launchd plist that real parsers
//! accept (Python's plistlib for the plist; systemd-analyze, where installed, for the unit),
//! with `litecnn serve` and the given arguments as the command — spaces and XML specials
//! included.

mod common;

use std::collections::HashMap;
use std::process::Command;

use common::{litecnn, stderr, temp_dir};
use serde_json::Value;

const SERVE_ARGS: [&str; 5] = [
    "--watch",
    "ssh://gpu@10.0.0.5/srv/models/dogs",
    "--store",
    "/var/lib/my litecnn",
    "--notify=https://h/x?a=1&b=<2>",
];

fn install(kind: &str, out: &std::path::Path) {
    let mut args = vec![
        "service",
        "install",
        "--kind",
        kind,
        "--out",
        out.to_str().unwrap(),
        "--",
    ];
    args.extend(SERVE_ARGS);
    let run = litecnn(&args);
    assert!(run.status.success(), "{}", stderr(&run));
}

/// `[Section]` → key → values, as systemd reads a unit (comments and blank lines skipped).
fn parse_unit(text: &str) -> HashMap<String, HashMap<String, Vec<String>>> {
    let mut sections: HashMap<String, HashMap<String, Vec<String>>> = HashMap::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.to_owned();
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not key=value: {line}"));
        assert!(!current.is_empty(), "{line} outside a section");
        sections
            .entry(current.clone())
            .or_default()
            .entry(k.to_owned())
            .or_default()
            .push(v.to_owned());
    }
    sections
}

/// Splits an ExecStart value the way systemd does for our quoting (double quotes, backslash
/// escapes, `$$`/`%%` literals).
fn split_exec(value: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = value.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c == ' ' {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '"' {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => word.push(chars.next().unwrap()),
                    '"' => break,
                    c => word.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        words.push(word.replace("$$", "$").replace("%%", "%"));
    }
    words
}

#[test]
fn systemd_unit_runs_serve_with_the_arguments() {
    let dir = temp_dir("service-systemd");
    let path = dir.join("litecnn.service");
    install("systemd", &path);
    let text = std::fs::read_to_string(&path).unwrap();
    let unit = parse_unit(&text);
    let service = &unit["Service"];
    let argv = split_exec(&service["ExecStart"][0]);
    assert!(std::path::Path::new(&argv[0]).is_absolute());
    assert!(argv[0].ends_with("litecnn"), "{argv:?}");
    assert_eq!(argv[1], "serve");
    assert_eq!(&argv[2..], SERVE_ARGS);
    assert_eq!(service["Restart"], ["on-failure"]);
    assert_eq!(unit["Install"]["WantedBy"], ["multi-user.target"]);
    if let Ok(out) = Command::new("systemd-analyze")
        .args(["verify", path.to_str().unwrap()])
        .output()
    {
        // systemd-analyze judges the unit's syntax; complaints about the host (no running
        // systemd, missing targets) are not ours.
        let err = String::from_utf8_lossy(&out.stderr);
        for line in err.lines() {
            assert!(
                !line.contains("litecnn.service:")
                    || line.contains("Failed to") && !line.contains("parse"),
                "systemd-analyze: {err}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn launchd_plist_is_valid_and_runs_serve_with_the_arguments() {
    let dir = temp_dir("service-launchd");
    let path = dir.join("dev.litecnn.serve.plist");
    install("launchd", &path);
    let python = std::env::var("LITECNN_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .args([
            "-c",
            "import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))",
            path.to_str().unwrap(),
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "plistlib refused the plist: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plist: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plist["Label"], "dev.litecnn.serve");
    let argv: Vec<&str> = plist["ProgramArguments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(argv[0].ends_with("litecnn"));
    assert_eq!(argv[1], "serve");
    assert_eq!(&argv[2..], SERVE_ARGS);
    assert_eq!(plist["RunAtLoad"], true);
    assert_eq!(plist["KeepAlive"]["SuccessfulExit"], false);
    let _ = std::fs::remove_dir_all(&dir);
}
