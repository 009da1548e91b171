//! `<repo>/<name>/LATEST`: the version it names, and each way it can be wrong.

mod common;

use std::fs;

use common::{Failures, TempDir};
use litecnn_bundle::repository::{latest_bundle_dir, latest_version};

#[test]
fn latest_names_an_existing_version() {
    let repo = TempDir::new("repo");
    let model_dir = repo.path().join("dog-breeds");
    fs::create_dir_all(model_dir.join("20261126T061200Z-3f9a1c")).unwrap();
    fs::write(model_dir.join("LATEST"), " 20261126T061200Z-3f9a1c\n").unwrap();
    assert_eq!(
        latest_version(&model_dir).unwrap(),
        "20261126T061200Z-3f9a1c"
    );
    assert_eq!(
        latest_bundle_dir(&model_dir).unwrap(),
        model_dir.join("20261126T061200Z-3f9a1c")
    );
}

#[test]
fn bad_latest_files_are_named() {
    // (case, LATEST content or None for no file, expected error)
    #[rustfmt::skip]
    let cases: Vec<(&str, Option<&str>, &str)> = vec![
        ("no LATEST", None, "cannot read "),
        ("empty", Some(" \n"), "LATEST is empty"),
        ("climbs out", Some("../other"), r#"LATEST: "../other" is not a version name"#),
        ("absolute", Some("/etc"), r#""/etc" is not a version name"#),
        ("two lines", Some("v1\nv2"), r#""v1\nv2" is not a version name"#),
        ("names a missing version", Some("v9"), r#"names version "v9", but "#),
    ];
    let mut failures = Failures::default();
    for (case, latest, needle) in cases {
        let repo = TempDir::new("bad-latest");
        fs::create_dir_all(repo.path().join("v1")).unwrap();
        if let Some(text) = latest {
            fs::write(repo.path().join("LATEST"), text).unwrap();
        }
        failures.expect_err(case, latest_version(repo.path()), needle);
    }
    failures.assert_none();
}
