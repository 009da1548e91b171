//! `s3://` against SeaweedFS with real SigV4: reads, listing, refusals, outages.

use litecnn_deploy::source::{S3Source, Source, SourceErrorKind};

use super::common::weed::{BUCKET, SECRET_KEY, Weed, upload};
use super::common::{free_port, pattern_bytes, sha256_hex};
use super::fetch;

#[test]
fn s3_stat_list_fetch_and_failures() {
    let Some(weed) = Weed::start() else { return };
    litecnn_deploy::tls::ensure_provider();
    let model = pattern_bytes(3 << 20);
    upload(
        weed.builder(SECRET_KEY),
        &[
            ("repo/dogs/LATEST", b"v1\n"),
            ("repo/dogs/v1/model.onnx", &model),
            ("repo/dogs/v1/SHA256SUMS", b"x  model.onnx\n"),
        ],
    );
    let mut source = S3Source::new(weed.builder(SECRET_KEY), BUCKET, "repo/dogs/").unwrap();
    assert_eq!(source.describe(), "s3://models/repo/dogs");

    let meta = source.stat("v1/model.onnx").unwrap().expect("uploaded");
    assert_eq!(meta.size, model.len() as u64);
    assert!(meta.etag.is_some() && meta.modified.is_some(), "{meta:?}");
    assert_eq!(source.stat("v2/model.onnx").unwrap(), None);

    let root: Vec<(String, bool)> = source
        .list("")
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.is_dir))
        .collect();
    assert_eq!(
        root,
        [("LATEST".into(), false), ("v1".into(), true)],
        "{}",
        weed.log()
    );
    let v1: Vec<String> = source
        .list("v1")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(v1, ["SHA256SUMS", "model.onnx"]);

    let (whole, last) = fetch(&mut source, "v1/model.onnx", 0).unwrap();
    assert_eq!(sha256_hex(&whole), sha256_hex(&model));
    assert_eq!(last, model.len() as u64);
    let offset = 2_000_001;
    let (tail, last) = fetch(&mut source, "v1/model.onnx", offset).unwrap();
    assert_eq!(sha256_hex(&tail), sha256_hex(&model[offset as usize..]));
    assert_eq!(last, model.len() as u64);
    assert_eq!(source.read_small("LATEST", 100).unwrap(), b"v1\n");
    let missing = fetch(&mut source, "v2/model.onnx", 0).unwrap_err();
    assert_eq!(missing.kind, SourceErrorKind::NotFound, "{missing}");

    let mut wrong_secret =
        S3Source::new(weed.builder("not-the-secret"), BUCKET, "repo/dogs").unwrap();
    let refused = wrong_secret.stat("LATEST").unwrap_err();
    assert_eq!(refused.kind, SourceErrorKind::Refused, "{refused}");
    let refused = fetch(&mut wrong_secret, "LATEST", 0).unwrap_err();
    assert_eq!(refused.kind, SourceErrorKind::Refused, "{refused}");

    let nowhere = weed
        .builder(SECRET_KEY)
        .with_endpoint(format!("http://127.0.0.1:{}", free_port()));
    let mut down = S3Source::new(nowhere, BUCKET, "repo/dogs").unwrap();
    let unreachable = down.stat("LATEST").unwrap_err();
    assert_eq!(
        unreachable.kind,
        SourceErrorKind::Unreachable,
        "{unreachable}"
    );
}
