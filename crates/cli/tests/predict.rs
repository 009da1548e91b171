//! `litecnn predict` as a user runs it: the committed tiny model (a bare `.onnx` and the same
//! model as a bundle) on PNG images written here, both output formats, and the errors that
//! must name the file.

mod common;

use common::{fixture, litecnn, stderr, temp_dir};

use std::path::Path;

use litecnn_bundle::Manifest;
use litecnn_bundle::writer::{write_checksums, write_golden, write_manifest};
use litecnn_cli::npy;
use litecnn_engine::Model;
use litecnn_vision::{DecodeLimits, PreprocessSpec};
use serde_json::{Value, json};
use zune_core::bit_depth::BitDepth;
use zune_core::colorspace::ColorSpace;
use zune_core::options::EncoderOptions;
use zune_png::PngEncoder;

/// Writes a `width`×`height` RGB PNG whose pixel (x, y) is `color(x, y)`.
fn write_png(path: &Path, width: usize, height: usize, color: impl Fn(usize, usize) -> [u8; 3]) {
    let pixels: Vec<u8> = (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .flat_map(|(x, y)| color(x, y))
        .collect();
    let options = EncoderOptions::new(width, height, ColorSpace::RGB, BitDepth::Eight);
    let mut encoded = Vec::new();
    PngEncoder::new(&pixels, options)
        .encode(&mut encoded)
        .unwrap();
    std::fs::write(path, encoded).unwrap();
}

/// A smooth, non-square picture: the crop and the resize both matter.
fn gradient(path: &Path) {
    write_png(path, 120, 90, |x, y| {
        [(x * 2) as u8, (y * 2) as u8, (255 - x - y) as u8]
    });
}

/// What the library computes for `image` on the tiny model: softmax of the logits.
fn expected_probabilities(image: &Path) -> Vec<f64> {
    let bytes = std::fs::read(image).unwrap();
    let decoded = litecnn_vision::decode(&bytes, DecodeLimits::default()).unwrap();
    let input = litecnn_vision::preprocess(&decoded, &PreprocessSpec::imagenet(64)).unwrap();
    let graph = litecnn_onnx::load_file(&fixture("tiny_cnn.onnx")).unwrap();
    let logits = Model::new(graph).unwrap().run(vec![input]).unwrap();
    let logits: Vec<f64> = logits[0]
        .as_f32()
        .unwrap()
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let max = logits.iter().copied().fold(f64::MIN, f64::max);
    let sum: f64 = logits.iter().map(|l| (l - max).exp()).sum();
    logits.iter().map(|l| (l - max).exp() / sum).collect()
}

fn run_json(args: &[&str]) -> Value {
    let out = litecnn(args);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

#[test]
fn onnx_model_json_matches_the_library_pipeline() {
    let dir = temp_dir("json");
    let image = dir.join("gradient.png");
    gradient(&image);
    let model = fixture("tiny_cnn.onnx");
    let v = run_json(&[
        "predict",
        model.to_str().unwrap(),
        image.to_str().unwrap(),
        "--json",
    ]);
    let results = v.as_array().unwrap();
    assert_eq!(results.len(), 1);
    let result = &results[0];
    assert_eq!(result["image"], image.to_str().unwrap());
    for key in ["decode", "preprocess", "inference", "total"] {
        assert!(result["timings_ms"][key].as_f64().unwrap() >= 0.0, "{key}");
    }
    let predictions = result["predictions"].as_array().unwrap();
    assert_eq!(predictions.len(), 5);
    let expected = expected_probabilities(&image);
    let mut previous = f64::INFINITY;
    for p in predictions {
        let index = p["index"].as_u64().unwrap() as usize;
        let probability = p["probability"].as_f64().unwrap();
        assert_eq!(p["label"], format!("class {index}"));
        assert!((probability - expected[index]).abs() < 1e-6, "{p}");
        assert!(probability <= previous, "not sorted: {predictions:?}");
        previous = probability;
    }
    let best = (0..expected.len())
        .max_by(|&a, &b| expected[a].total_cmp(&expected[b]))
        .unwrap();
    assert_eq!(predictions[0]["index"], best);
}

#[test]
fn text_output_has_one_line_per_prediction() {
    let dir = temp_dir("text");
    let (a, b) = (dir.join("a.png"), dir.join("b.png"));
    gradient(&a);
    write_png(&b, 64, 64, |x, _| {
        if x < 32 { [250, 10, 10] } else { [10, 10, 250] }
    });
    let model = fixture("tiny_cnn.onnx");
    let out = litecnn(&[
        "predict",
        model.to_str().unwrap(),
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--top-k",
        "3",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8, "{text}");
    assert_eq!(lines[0], a.to_str().unwrap());
    assert_eq!(lines[4], b.to_str().unwrap());
    for line in lines[1..4].iter().chain(&lines[5..8]) {
        // "  0.912  class 3  (index 3)"
        let (probability, rest) = line.trim_start().split_once("  ").unwrap();
        assert!(
            line.starts_with("  0.") || line.starts_with("  1.000"),
            "{line}"
        );
        assert_eq!(probability.len(), 5, "{line}");
        let index = rest.rsplit_once("(index ").unwrap().1.trim_end_matches(')');
        assert_eq!(rest, format!("class {index}  (index {index})"), "{line}");
    }
}

#[test]
fn a_file_that_is_not_an_image_fails_naming_it() {
    let dir = temp_dir("bad");
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "not a picture\n").unwrap();
    let model = fixture("tiny_cnn.onnx");
    let out = litecnn(&["predict", model.to_str().unwrap(), notes.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(notes.to_str().unwrap()), "{err}");
    assert!(err.contains("unsupported media type"), "{err}");
}

#[test]
fn missing_and_truncated_images_fail_naming_them() {
    let dir = temp_dir("missing");
    let model = fixture("tiny_cnn.onnx");
    let missing = dir.join("nowhere.png");
    let out = litecnn(&[
        "predict",
        model.to_str().unwrap(),
        missing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(missing.to_str().unwrap()),
        "{}",
        stderr(&out)
    );

    let whole = dir.join("whole.png");
    gradient(&whole);
    let bytes = std::fs::read(&whole).unwrap();
    let cut = dir.join("cut.png");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = litecnn(&["predict", model.to_str().unwrap(), cut.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(cut.to_str().unwrap()) && err.contains("cannot decode"),
        "{err}"
    );
}

/// The tiny model as a bundle whose labels carry an extra field.
fn tiny_bundle(dir: &Path) {
    std::fs::copy(fixture("tiny_cnn.onnx"), dir.join("model.onnx")).unwrap();
    let input = npy::read_f32(&fixture("tiny_cnn_input.npy")).unwrap();
    let output = npy::read_f32(&fixture("tiny_cnn_expected.npy")).unwrap();
    write_golden(&dir.join("golden.safetensors"), &input, &output).unwrap();
    let labels: Vec<Value> = (0..10)
        .map(|i| json!({"name": format!("breed {i}"), "breed_ko": format!("품종 {i}")}))
        .collect();
    let manifest = json!({
        "format": "litecnn-bundle/1", "name": "tiny", "version": "20261126T061200Z-3f9a1c",
        "model": {"file": "model.onnx", "input": "input", "output": "logits",
                  "output_kind": "logits"},
        "preprocess": {"resize_shorter": 73, "center_crop": [64, 64],
                       "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
        "labels": labels,
        "golden": {"file": "golden.safetensors", "atol": 1e-4, "rtol": 1e-3},
    });
    let manifest = Manifest::parse(manifest.to_string().as_bytes()).unwrap();
    write_manifest(dir, &manifest).unwrap();
    write_checksums(dir).unwrap();
}

#[test]
fn bundle_brings_its_labels_and_their_fields() {
    let dir = temp_dir("bundle");
    let bundle = dir.join("bundle");
    std::fs::create_dir(&bundle).unwrap();
    tiny_bundle(&bundle);
    let image = dir.join("gradient.png");
    gradient(&image);
    let v = run_json(&[
        "predict",
        bundle.to_str().unwrap(),
        image.to_str().unwrap(),
        "--json",
        "--top-k",
        "10",
    ]);
    let predictions = v[0]["predictions"].as_array().unwrap();
    assert_eq!(predictions.len(), 10);
    // Same preprocessing as ImageNet at 64 (73 / 64): the same probabilities as the bare model.
    let expected = expected_probabilities(&image);
    for p in predictions {
        let index = p["index"].as_u64().unwrap() as usize;
        assert_eq!(p["label"], format!("breed {index}"));
        assert_eq!(p["breed_ko"], format!("품종 {index}"));
        assert!((p["probability"].as_f64().unwrap() - expected[index]).abs() < 1e-6);
    }
    let total: f64 = predictions
        .iter()
        .map(|p| p["probability"].as_f64().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-6, "{total}");
}
