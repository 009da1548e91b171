//! `SHA256SUMS`: a good bundle, and one case per way the directory or the list can be wrong.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{Failures, TempDir};
use litecnn_bundle::digest::{Digest, sha256, to_hex};
use litecnn_bundle::writer::write_checksums;
use litecnn_bundle::{ChecksumError, Checksums};

/// Reads and verifies, as `Bundle::open` does.
fn verify(dir: &Path) -> Result<Checksums, ChecksumError> {
    let sums = Checksums::read(dir)?;
    sums.verify_files(dir)?;
    Ok(sums)
}

/// A directory with two files and their `SHA256SUMS`.
fn good_dir(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    fs::write(dir.path().join("model.onnx"), b"weights").unwrap();
    fs::write(dir.path().join("litecnn.json"), b"{}").unwrap();
    write_checksums(dir.path()).unwrap();
    dir
}

fn line(file: &str, content: &[u8]) -> String {
    format!("{}  {file}\n", to_hex(&sha256(content)))
}

#[test]
fn a_good_list_verifies_and_sha256sum_agrees() {
    let dir = good_dir("good");
    let sums = verify(dir.path()).unwrap();
    let files: Vec<&str> = sums.entries().iter().map(|e| e.file.as_str()).collect();
    assert_eq!(files, ["litecnn.json", "model.onnx"]);
    let bytes = fs::read(dir.path().join("SHA256SUMS")).unwrap();
    assert_eq!(*sums.digest(), Digest::of(&bytes));
    assert_eq!(
        sums.digest().to_string(),
        format!("sha256:{}", to_hex(&sha256(&bytes)))
    );
    // The list we write is one `sha256sum -c` accepts.
    let check = Command::new("sha256sum")
        .args(["--check", "--strict", "SHA256SUMS"])
        .current_dir(dir.path())
        .output()
        .expect("sha256sum (coreutils) runs");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn accepted_list_variations() {
    let w = b"weights";
    let upper = line("model.onnx", w)
        .to_uppercase()
        .replace("MODEL.ONNX", "model.onnx");
    #[rustfmt::skip]
    let cases: Vec<(&str, String)> = vec![
        ("binary marker", line("model.onnx", w).replace("  ", " *")),
        ("uppercase hex", upper),
        ("no final newline", line("model.onnx", w).trim_end().to_owned()),
    ];
    let mut failures = Failures::default();
    for (case, sums) in cases {
        let dir = TempDir::new("variation");
        fs::write(dir.path().join("model.onnx"), w).unwrap();
        fs::write(dir.path().join("SHA256SUMS"), sums).unwrap();
        let result = verify(dir.path());
        failures.check(result.is_ok(), || {
            format!("{case}: {}", result.unwrap_err())
        });
    }
    failures.assert_none();
}

/// Each case spoils a good directory in one way.
#[test]
fn each_fault_is_named() {
    type Spoil = fn(&Path);
    #[rustfmt::skip]
    let cases: Vec<(&str, Spoil, &str)> = vec![
        ("tampered file", |d| fs::write(d.join("model.onnx"), b"weightz").unwrap(), "model.onnx: SHA-256 is "),
        ("missing file", |d| fs::remove_file(d.join("model.onnx")).unwrap(), "model.onnx: listed in SHA256SUMS but missing from the bundle"),
        ("extra unlisted file", |d| fs::write(d.join("notes.txt"), b"hi").unwrap(), "notes.txt: in the bundle directory but not listed in SHA256SUMS"),
        ("unlisted directory", |d| fs::create_dir(d.join("extra")).unwrap(), "extra: in the bundle directory but not listed"),
        (
            "listed file is a link",
            |d| {
                fs::rename(d.join("model.onnx"), d.join("real.onnx")).unwrap();
                std::os::unix::fs::symlink("real.onnx", d.join("model.onnx")).unwrap();
                append(d, &line("real.onnx", b"weights"));
            },
            "model.onnx: not a regular file",
        ),
        ("no SHA256SUMS", |d| fs::remove_file(d.join("SHA256SUMS")).unwrap(), "cannot read "),
        ("parent path", |d| append(d, &line("../secret", b"x")), r#"SHA256SUMS line 3: "../secret" is not a plain file name inside the bundle directory"#),
        ("absolute path", |d| append(d, &line("/etc/passwd", b"x")), r#"line 3: "/etc/passwd" is not a plain file name"#),
        ("subdirectory path", |d| append(d, &line("sub/model.onnx", b"x")), r#"line 3: "sub/model.onnx" is not a plain file name"#),
        ("dot-dot", |d| append(d, &line("..", b"x")), r#"line 3: ".." is not a plain file name"#),
        ("lists itself", |d| append(d, &line("SHA256SUMS", b"x")), r#"line 3: "SHA256SUMS" is not a plain file name"#),
        ("duplicate", |d| append(d, &line("model.onnx", b"weights")), r#"line 3: "model.onnx" is listed twice"#),
        ("one space", |d| append(d, &line("x", b"x").replacen("  ", " ", 1)), "SHA256SUMS line 3: expected `<64 hex digits>  <file>`"),
        ("short hash", |d| append(d, "abcd  x\n"), "line 3: expected `<64 hex digits>  <file>`"),
        ("blank line", |d| append(d, "\n"), "line 3: expected"),
        ("empty list", |d| fs::write(d.join("SHA256SUMS"), b"").unwrap(), "SHA256SUMS lists no files"),
        ("not text", |d| fs::write(d.join("SHA256SUMS"), b"\xff\xfe").unwrap(), "not UTF-8"),
    ];
    let mut failures = Failures::default();
    for (case, spoil, needle) in cases {
        let dir = good_dir("fault");
        spoil(dir.path());
        failures.expect_err(case, verify(dir.path()).map(|s| s.entries().len()), needle);
    }
    failures.assert_none();
}

fn append(dir: &Path, text: &str) {
    let path = dir.join("SHA256SUMS");
    let mut sums = fs::read_to_string(&path).unwrap();
    sums.push_str(text);
    fs::write(path, sums).unwrap();
}

#[test]
fn a_signature_file_need_not_be_listed() {
    let dir = good_dir("sig");
    fs::write(dir.path().join("SHA256SUMS.minisig"), b"not checked here").unwrap();
    assert!(verify(dir.path()).is_ok());
}
