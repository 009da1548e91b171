//! `http://` against a small file server thread: HEAD, ranges, validators, statuses.

use std::sync::atomic::Ordering;

use litecnn_deploy::source::{SourceErrorKind, SourceOptions};

use super::common::http_server::HttpServer;
use super::common::{free_port, pattern_bytes, sha256_hex};
use super::{fetch, open};

#[test]
fn stat_fetch_and_resume_with_or_without_range_support() {
    let server = HttpServer::start();
    let model = pattern_bytes(3 << 20);
    server.put("/repo/v1/model.onnx", &model);
    let mut source = open(&server.url("/repo"), &SourceOptions::default());
    assert_eq!(source.describe(), server.url("/repo/"));

    let meta = source.stat("v1/model.onnx").unwrap().expect("exists");
    assert_eq!(meta.size, model.len() as u64);
    assert!(meta.etag.as_deref().is_some_and(|e| e.starts_with('"')));
    let modified = meta.modified.expect("Last-Modified is parsed");
    let secs = modified
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(secs, 1_795_600_800, "Wed, 25 Nov 2026 10:00:00 GMT");
    assert_eq!(source.stat("v1/missing").unwrap(), None);

    let (whole, last) = fetch(&mut *source, "v1/model.onnx", 0).unwrap();
    assert_eq!(sha256_hex(&whole), sha256_hex(&model));
    assert_eq!(last, model.len() as u64);

    let offset = 1_000_003;
    let (tail, last) = fetch(&mut *source, "v1/model.onnx", offset).unwrap();
    assert_eq!(sha256_hex(&tail), sha256_hex(&model[offset as usize..]));
    assert_eq!(last, model.len() as u64);
    assert_eq!(server.answered().last(), Some(&206));

    // A server that ignores Range sends everything: the known prefix is skipped.
    server.shared.ignore_ranges.store(true, Ordering::SeqCst);
    let (tail, _) = fetch(&mut *source, "v1/model.onnx", offset).unwrap();
    assert_eq!(sha256_hex(&tail), sha256_hex(&model[offset as usize..]));
    assert_eq!(server.answered().last(), Some(&200));

    let missing = fetch(&mut *source, "v1/missing", 0).unwrap_err();
    assert_eq!(missing.kind, SourceErrorKind::NotFound, "{missing}");
}

#[test]
fn an_unchanged_small_file_costs_a_304() {
    let server = HttpServer::start();
    server.put("/repo/LATEST", b"v1\n");
    let mut source = open(&server.url("/repo/"), &SourceOptions::default());
    assert_eq!(source.read_small("LATEST", 100).unwrap(), b"v1\n");
    assert_eq!(source.read_small("LATEST", 100).unwrap(), b"v1\n");
    assert_eq!(server.answered(), [200, 304]);
    assert!(source.stat("LATEST").unwrap().is_some());
    assert_eq!(server.answered().last(), Some(&304));

    server.put("/repo/LATEST", b"v2\n");
    assert_eq!(source.read_small("LATEST", 100).unwrap(), b"v2\n");
    assert_eq!(server.answered().last(), Some(&200));
}

#[test]
fn statuses_map_to_what_the_deployer_does_next() {
    let server = HttpServer::start();
    let options = SourceOptions::default();
    let refused = open(&server.url("/private/repo"), &options)
        .stat("LATEST")
        .unwrap_err();
    assert_eq!(refused.kind, SourceErrorKind::Refused, "{refused}");
    let broken = open(&server.url("/broken/repo"), &options)
        .stat("LATEST")
        .unwrap_err();
    assert_eq!(broken.kind, SourceErrorKind::Unreachable, "{broken}");
    let down = format!("http://127.0.0.1:{}/repo", free_port());
    let unreachable = open(&down, &options).stat("LATEST").unwrap_err();
    assert_eq!(
        unreachable.kind,
        SourceErrorKind::Unreachable,
        "{unreachable}"
    );

    let unsupported = open(&server.url("/repo"), &options).list("").unwrap_err();
    assert_eq!(unsupported.kind, SourceErrorKind::Unsupported);
    assert!(
        unsupported.message.contains("no directory listing"),
        "{unsupported}"
    );
}
