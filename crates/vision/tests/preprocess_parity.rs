//! DESIGN §7 parity: on the same file, litecnn's input tensor matches PIL + torchvision's
//! (`exif_transpose`, `convert("RGB")`, `Resize`, `CenterCrop`, `ToTensor`, `Normalize`) within a
//! mean absolute error of 1/255 in pixel units. The images are real photos re-encoded in every
//! variant the decoder handles (see `reference_preprocess.py`).

mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use litecnn_vision::{DecodeLimits, ImageError, PreprocessSpec, decode, preprocess};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    name: String,
    file: String,
    spec: PreprocessSpec,
}

struct Errors {
    mean: f64,
    max: f64,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference_preprocess.py")
}

fn work_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("litecnn-vision-parity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Errors in pixel units ([0, 1]): the normalised difference times the channel's std.
fn compare(dir: &Path, case: &Case) -> Errors {
    let bytes = std::fs::read(dir.join(&case.file)).unwrap();
    let image = decode(&bytes, DecodeLimits::default())
        .unwrap_or_else(|e| panic!("{}: decode failed: {e}", case.name));
    let ours = preprocess(&image, &case.spec).unwrap();
    let (shape, reference) = support::npy::read_f32(&dir.join(format!("{}.npy", case.name)));
    assert_eq!(ours.shape(), shape.as_slice(), "{}: shape", case.name);
    let plane = shape[2] * shape[3];
    let (mut sum, mut max) = (0f64, 0f64);
    for (i, (a, b)) in ours.as_f32().unwrap().iter().zip(&reference).enumerate() {
        let err = f64::from((a - b).abs()) * f64::from(case.spec.std[i / plane]);
        sum += err;
        max = max.max(err);
    }
    Errors {
        mean: sum / reference.len() as f64,
        max,
    }
}

fn table(rows: &[(String, Errors)]) -> String {
    let mut out = format!(
        "{:<26} {:>14} {:>13}\n",
        "case", "mean |err|*255", "max |err|*255"
    );
    for (name, e) in rows {
        let _ = writeln!(
            out,
            "{name:<26} {:>14.4} {:>13.2}",
            e.mean * 255.0,
            e.max * 255.0
        );
    }
    out
}

/// Leaves the table where `./scripts/test` keeps its reports, when it says where.
fn save_report(text: &str) {
    if let Some(dir) = std::env::var_os("LITECNN_ARTIFACTS") {
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(Path::new(&dir).join("preprocess-parity.txt"), text);
    }
}

#[test]
fn preprocessing_matches_pil_and_torchvision() {
    let dir = work_dir();
    let dir_arg = dir.to_str().unwrap();
    support::python::run(&script(), &["images", dir_arg]);
    support::python::run(&script(), &["reference", dir_arg]);
    let cases: Vec<Case> =
        serde_json::from_slice(&std::fs::read(dir.join("cases.json")).unwrap()).unwrap();
    assert!(cases.len() >= 20, "only {} cases", cases.len());
    let rows: Vec<(String, Errors)> = cases
        .iter()
        .map(|c| (c.name.clone(), compare(&dir, c)))
        .collect();
    let report = table(&rows);
    println!("{report}");
    save_report(&report);
    let failed: Vec<&str> = rows
        .iter()
        .filter(|(_, e)| e.mean > 1.0 / 255.0)
        .map(|(n, _)| n.as_str())
        .collect();
    assert!(
        failed.is_empty(),
        "mean error above 1/255: {failed:?}\n{report}"
    );
    truncated_real_jpeg_is_refused(&dir);
    std::fs::remove_dir_all(&dir).ok();
}

/// A real photo cut off mid-scan must fail, as Pillow fails on it, not decode to grey filler.
fn truncated_real_jpeg_is_refused(dir: &Path) {
    let bytes = std::fs::read(dir.join("jpeg_q75_420.jpg")).unwrap();
    let cut = &bytes[..bytes.len() * 6 / 10];
    match decode(cut, DecodeLimits::default()) {
        Err(ImageError::DecodeFailed(_)) => {}
        other => panic!("truncated JPEG: {other:?}"),
    }
    let bytes = std::fs::read(dir.join("jpeg_progressive.jpg")).unwrap();
    let cut = &bytes[..bytes.len() / 2];
    match decode(cut, DecodeLimits::default()) {
        Err(ImageError::DecodeFailed(_)) => {}
        other => panic!("truncated progressive JPEG: {other:?}"),
    }
}
