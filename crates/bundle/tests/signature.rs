//! minisign signatures of `SHA256SUMS`, made with the real `minisign` tool (Debian package
//! `minisign`). Never skipped: without the tool the test fails and says how to install it.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Failures, TempDir};
use litecnn_bundle::checksums::Checksums;
use litecnn_bundle::signature::{self, PublicKey, SignatureStatus};
use litecnn_bundle::{Bundle, BundleError, SignatureError};

fn minisign(args: &[&str], dir: &Path) {
    let out = Command::new("minisign")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `minisign` ({e}): install it with `apt-get install minisign`")
        });
    assert!(
        out.status.success(),
        "minisign {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An unencrypted key pair `<name>.pub` / `<name>.sec` in `dir`.
fn keygen(dir: &Path, name: &str) -> PathBuf {
    let (public, secret) = (format!("{name}.pub"), format!("{name}.sec"));
    minisign(&["-G", "-W", "-p", &public, "-s", &secret], dir);
    dir.join(public)
}

fn sign(bundle: &Path, secret: &Path, legacy: bool) {
    let secret = secret.to_str().unwrap();
    let mut args = vec!["-S", "-s", secret, "-m", "SHA256SUMS"];
    if legacy {
        args.push("-l");
    }
    minisign(&args, bundle);
}

struct Keys {
    _dir: TempDir,
    good: PathBuf,
    other: PathBuf,
}

fn keys() -> Keys {
    let dir = TempDir::new("keys");
    let good = keygen(dir.path(), "good");
    let other = keygen(dir.path(), "other");
    Keys {
        _dir: dir,
        good,
        other,
    }
}

fn bundle(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    common::write_tiny_bundle(dir.path(), |_| {});
    dir
}

fn check(dir: &Path, key: Option<&PublicKey>) -> Result<SignatureStatus, SignatureError> {
    signature::check(dir, &Checksums::read(dir).unwrap(), key)
}

fn base64_line(pub_file: &Path) -> String {
    let text = fs::read_to_string(pub_file).unwrap();
    text.lines().nth(1).unwrap().trim().to_owned()
}

#[test]
fn public_keys_come_as_files_pub_text_or_bare_base64() {
    let keys = keys();
    let text = fs::read_to_string(&keys.good).unwrap();
    #[rustfmt::skip]
    let forms: Vec<(&str, Result<PublicKey, SignatureError>)> = vec![
        ("file path", PublicKey::from_arg(keys.good.to_str().unwrap())),
        ("base64 argument", PublicKey::from_arg(&base64_line(&keys.good))),
        (".pub text", PublicKey::parse(&text)),
        ("CRLF .pub text", PublicKey::parse(&text.replace('\n', "\r\n"))),
    ];
    let signed = bundle("forms");
    sign(signed.path(), &keys.good.with_extension("sec"), false);
    let mut failures = Failures::default();
    for (case, key) in forms {
        let status = key.map(|k| check(signed.path(), Some(&k)));
        failures.check(
            matches!(status, Ok(Ok(SignatureStatus::Verified { .. }))),
            || format!("{case}: {status:?}"),
        );
    }
    #[rustfmt::skip]
    let bad: Vec<(&str, Result<PublicKey, SignatureError>, &str)> = vec![
        ("garbage", PublicKey::from_arg("not-a-key"), r#""not-a-key" (not a file) is not a minisign public key"#),
        (
            "empty file",
            {
                let p = signed.path().join("empty.pub");
                fs::write(&p, "").unwrap();
                PublicKey::from_arg(p.to_str().unwrap())
            },
            "is not a minisign public key",
        ),
    ];
    for (case, result, needle) in bad {
        failures.expect_err(case, result, needle);
    }
    failures.assert_none();
}

/// What a case does to a fresh bundle before checking it.
#[derive(Clone, Copy)]
enum Prepare {
    Nothing,
    /// Sign with the good (`true`) or the other key, in legacy mode or not.
    Sign {
        good: bool,
        legacy: bool,
    },
    /// Sign with the good key, then change one digit of `SHA256SUMS`.
    SignThenTamper,
    Garble,
}

impl Prepare {
    fn apply(self, dir: &Path, keys: &Keys) {
        let secret = |good: bool| match good {
            true => keys.good.with_extension("sec"),
            false => keys.other.with_extension("sec"),
        };
        match self {
            Prepare::Nothing => {}
            Prepare::Sign { good, legacy } => sign(dir, &secret(good), legacy),
            Prepare::SignThenTamper => {
                sign(dir, &secret(true), false);
                let sums = fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
                fs::write(dir.join("SHA256SUMS"), sums.replacen('0', "1", 1)).unwrap();
            }
            Prepare::Garble => fs::write(dir.join("SHA256SUMS.minisig"), "hello\n").unwrap(),
        }
    }
}

#[test]
fn signature_cases() {
    use Prepare::*;
    let keys = keys();
    let good = PublicKey::from_arg(keys.good.to_str().unwrap()).unwrap();
    let other = PublicKey::from_arg(keys.other.to_str().unwrap()).unwrap();
    let signed = Sign {
        good: true,
        legacy: false,
    };
    // (case, preparation, key given, Ok(status shown) or Err(error))
    type Case<'a> = (
        &'a str,
        Prepare,
        Option<&'a PublicKey>,
        Result<&'a str, &'a str>,
    );
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("good", signed, Some(&good), Ok("verified")),
        (
            "legacy signature",
            Sign {
                good: true,
                legacy: true,
            },
            Some(&good),
            Ok("verified"),
        ),
        ("signed, no key", signed, None, Ok("not checked")),
        ("unsigned, no key", Nothing, None, Ok("none")),
        ("tampered SHA256SUMS", SignThenTamper, Some(&good), Err("SHA256SUMS.minisig does not match SHA256SUMS")),
        ("wrong key", signed, Some(&other), Err("made with a different key than the one given")),
        (
            "signed by the other key",
            Sign {
                good: false,
                legacy: false,
            },
            Some(&good),
            Err("different key"),
        ),
        ("missing signature, key given", Nothing, Some(&good), Err("SHA256SUMS.minisig is missing, but a public key was given")),
        ("garbled signature", Garble, Some(&good), Err("SHA256SUMS.minisig is not a minisign signature")),
    ];
    let mut failures = Failures::default();
    for (case, prepare, key, expected) in cases {
        let dir = bundle("sig");
        prepare.apply(dir.path(), &keys);
        match expected {
            Ok(shown) => match check(dir.path(), key) {
                Ok(status) => failures.check(status.to_string().contains(shown), || {
                    format!("{case}: expected {shown:?}, got {status}")
                }),
                Err(e) => failures.check(false, || format!("{case}: {e}")),
            },
            Err(needle) => failures.expect_err(case, check(dir.path(), key), needle),
        }
    }
    failures.assert_none();
}

#[test]
fn bundle_open_requires_the_signature_only_with_a_key() {
    let keys = keys();
    let key = PublicKey::parse(&fs::read_to_string(&keys.good).unwrap()).unwrap();
    let dir = bundle("open");
    assert_eq!(
        *Bundle::open(dir.path(), None).unwrap().signature(),
        SignatureStatus::Unsigned
    );
    let err = Bundle::open(dir.path(), Some(&key)).unwrap_err();
    assert!(
        matches!(err, BundleError::Signature(SignatureError::Missing)),
        "{err}"
    );
    assert!(
        !err.is_permanent(),
        "a signature not uploaded yet is worth a retry"
    );
    sign(dir.path(), &keys.good.with_extension("sec"), false);
    let bundle = Bundle::open(dir.path(), Some(&key)).unwrap();
    let SignatureStatus::Verified { trusted_comment } = bundle.signature() else {
        panic!("{:?}", bundle.signature());
    };
    assert!(
        trusted_comment.contains("file:SHA256SUMS"),
        "{trusted_comment}"
    );
}
