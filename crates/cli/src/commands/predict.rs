//! `litecnn predict MODEL IMAGE... [--top-k 5] [--json]`: the whole pipeline on image files —
//! decode, preprocess, run, softmax, top-k labels (DESIGN §3).
//!
//! A bundle brings its preprocessing, labels and output kind from its manifest. A bare `.onnx`
//! file gets torchvision's ImageNet evaluation transform at the model's declared input size and
//! labels `class <i>`; its output is taken as a probability distribution when it already is one
//! (every score in [0, 1], summing to 1), else as logits.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use litecnn_bundle::Label;
use litecnn_bundle::predict::{self, Prediction, Scores};
use litecnn_engine::{Dim, Model};
use litecnn_vision::{DecodeLimits, PreprocessSpec};
use serde_json::{Value, json};

use crate::cli::PredictArgs;
use crate::load::{load_bundle, load_model};

/// Everything needed to classify an image.
struct Classifier {
    model: Model,
    spec: PreprocessSpec,
    labels: Vec<Label>,
    scores: Scores,
    /// Position of the scores among the model's outputs.
    output: usize,
}

struct Timings {
    decode: f64,
    preprocess: f64,
    inference: f64,
    total: f64,
}

struct ImageResult {
    predictions: Vec<Prediction>,
    timings: Timings,
}

pub fn predict(args: &PredictArgs) -> anyhow::Result<()> {
    ensure!(args.top_k >= 1, "--top-k must be at least 1");
    let classifier = open(&args.model)?;
    let mut results = Vec::new();
    for path in &args.images {
        let result = classify_file(&classifier, path, args.top_k)
            .with_context(|| format!("cannot classify {}", path.display()))?;
        if !args.json {
            print_text(&classifier, path, &result);
        }
        results.push(json_result(&classifier, path, &result));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&Value::Array(results))?);
    }
    Ok(())
}

fn open(path: &Path) -> anyhow::Result<Classifier> {
    let classifier = if path.is_dir() {
        open_bundle(path)?
    } else {
        open_onnx(path)?
    };
    classifier
        .spec
        .validate()
        .with_context(|| format!("model {}: bad preprocessing", path.display()))?;
    Ok(classifier)
}

/// A bundle directory: preprocessing, labels and output kind from its manifest.
fn open_bundle(dir: &Path) -> anyhow::Result<Classifier> {
    let (bundle, model) = load_bundle(dir)?;
    let manifest = bundle.manifest();
    let output = model
        .outputs()
        .iter()
        .position(|v| v.name == manifest.model.output)
        .with_context(|| format!("the model has no output \"{}\"", manifest.model.output))?;
    Ok(Classifier {
        spec: manifest.preprocess.clone(),
        model,
        labels: bundle.labels().to_vec(),
        scores: manifest.model.output_kind.into(),
        output,
    })
}

/// A bare `.onnx` file: ImageNet preprocessing at its declared input size, numbered labels.
fn open_onnx(path: &Path) -> anyhow::Result<Classifier> {
    let model = load_model(path)?;
    let (height, width) = input_size(&model)
        .with_context(|| format!("model {}: cannot tell its input size", path.display()))?;
    // Resize so that the crop fits along both sides, as torchvision's 256/224 ratio does.
    let mut spec = PreprocessSpec::imagenet(height.max(width));
    spec.center_crop = [height, width];
    Ok(Classifier {
        model,
        spec,
        labels: Vec::new(),
        scores: Scores::Unknown,
        output: 0,
    })
}

/// `(H, W)` of an `[N, 3, H, W]` input with fixed H and W.
fn input_size(model: &Model) -> anyhow::Result<(u32, u32)> {
    let inputs = model.inputs();
    ensure!(inputs.len() == 1, "it has {} inputs, not one", inputs.len());
    let input = inputs[0];
    let dims = input.shape.as_deref().unwrap_or_default();
    let side = |d: Option<&Dim>| d.and_then(Dim::known).and_then(|n| u32::try_from(n).ok());
    match (
        dims.len(),
        side(dims.get(1)),
        side(dims.get(2)),
        side(dims.get(3)),
    ) {
        (4, Some(3) | None, Some(h), Some(w)) if h > 0 && w > 0 => Ok((h, w)),
        _ => bail!(
            "input \"{}\" has shape {:?}; predict needs [N,3,H,W] with H and W fixed \
             (or a bundle, whose manifest gives the size)",
            input.name,
            input.shape
        ),
    }
}

fn classify_file(c: &Classifier, path: &Path, top_k: usize) -> anyhow::Result<ImageResult> {
    let start = Instant::now();
    let bytes = std::fs::read(path).context("cannot read the file")?;
    let t = Instant::now();
    let image = litecnn_vision::decode(&bytes, DecodeLimits::default())?;
    let decode = ms(t);
    let t = Instant::now();
    let input = litecnn_vision::preprocess(&image, &c.spec)?;
    let preprocess = ms(t);
    let t = Instant::now();
    let scores = predict::run_scores(&c.model, input, c.output)?;
    let inference = ms(t);
    let predictions = predict::top_k(predict::probabilities(&scores, c.scores), top_k);
    let timings = Timings {
        decode,
        preprocess,
        inference,
        total: ms(start),
    };
    Ok(ImageResult {
        predictions,
        timings,
    })
}

/// Milliseconds since `since`, to the microsecond (finer digits are noise).
fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

/// `path`, then one line per prediction: `  0.912  Border Collie  (index 12)`.
fn print_text(c: &Classifier, path: &Path, result: &ImageResult) {
    println!("{}", path.display());
    for p in &result.predictions {
        println!(
            "  {:.3}  {}  (index {})",
            p.probability,
            predict::label_name(&c.labels, p.index),
            p.index
        );
    }
}

/// `{"image", "predictions": [{"index","label","probability", ...label fields}], "timings_ms"}`.
fn json_result(c: &Classifier, path: &Path, result: &ImageResult) -> Value {
    let predictions = predict::predictions_json(&result.predictions, &c.labels);
    let t = &result.timings;
    json!({
        "image": path.display().to_string(),
        "predictions": predictions,
        "timings_ms": {
            "decode": t.decode,
            "preprocess": t.preprocess,
            "inference": t.inference,
            "total": t.total,
        },
    })
}
