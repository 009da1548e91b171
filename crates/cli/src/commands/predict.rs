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
use litecnn_engine::{Dim, Model, Tensor};
use litecnn_vision::{DecodeLimits, PreprocessSpec};
use serde_json::{Map, Value, json};

use crate::cli::PredictArgs;
use crate::load::{load_bundle, load_model};

/// How the model's scores become probabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scores {
    Logits,
    Probabilities,
    /// A bare ONNX file says nothing: look at the numbers.
    Unknown,
}

/// One output class: its display name and the label's other fields, passed through.
struct Label {
    name: String,
    extra: Map<String, Value>,
}

/// Everything needed to classify an image.
struct Classifier {
    model: Model,
    spec: PreprocessSpec,
    labels: Vec<Label>,
    scores: Scores,
    /// Position of the scores among the model's outputs.
    output: usize,
}

struct Prediction {
    index: usize,
    probability: f64,
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
    let labels = bundle
        .labels()
        .iter()
        .map(|l| Label {
            name: l.name.clone(),
            extra: l.extra.clone(),
        })
        .collect();
    let scores = match manifest.model.output_kind {
        litecnn_bundle::OutputKind::Logits => Scores::Logits,
        litecnn_bundle::OutputKind::Probabilities => Scores::Probabilities,
    };
    Ok(Classifier {
        spec: manifest.preprocess.clone(),
        model,
        labels,
        scores,
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
    let scores = run(c, input)?;
    let inference = ms(t);
    let predictions = top(probabilities(&scores, c.scores), top_k);
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

/// The model's scores for one image, as a flat vector of classes.
fn run(c: &Classifier, input: Tensor) -> anyhow::Result<Vec<f32>> {
    let outputs = c.model.run(vec![input]).context("inference failed")?;
    let output = outputs
        .into_iter()
        .nth(c.output)
        .context("the model returned too few outputs")?;
    let scores = output
        .as_f32()
        .context("the model's output is not float32")?
        .to_vec();
    ensure!(!scores.is_empty(), "the model's output is empty");
    ensure!(
        scores.iter().all(|s| s.is_finite()),
        "the model's output holds NaN or infinite scores"
    );
    Ok(scores)
}

/// Probabilities from scores: softmax for logits, as they are for probabilities.
fn probabilities(scores: &[f32], kind: Scores) -> Vec<f64> {
    let scores: Vec<f64> = scores.iter().map(|&s| f64::from(s)).collect();
    let already = match kind {
        Scores::Probabilities => true,
        Scores::Logits => false,
        Scores::Unknown => is_distribution(&scores),
    };
    if already {
        return scores;
    }
    // Shifted by the maximum so that exp never overflows.
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

fn is_distribution(scores: &[f64]) -> bool {
    let sum: f64 = scores.iter().sum();
    scores.iter().all(|s| (0.0..=1.0).contains(s)) && (sum - 1.0).abs() < 1e-3
}

/// The `k` most probable classes, most probable first; ties keep the lower index first.
fn top(probabilities: Vec<f64>, k: usize) -> Vec<Prediction> {
    let mut all: Vec<Prediction> = probabilities
        .into_iter()
        .enumerate()
        .map(|(index, probability)| Prediction { index, probability })
        .collect();
    all.sort_by(|a, b| {
        b.probability
            .total_cmp(&a.probability)
            .then(a.index.cmp(&b.index))
    });
    all.truncate(k);
    all
}

/// Milliseconds since `since`, to the microsecond (finer digits are noise).
fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

impl Classifier {
    /// The display name of class `index`.
    fn label(&self, index: usize) -> String {
        self.labels
            .get(index)
            .map_or_else(|| format!("class {index}"), |l| l.name.clone())
    }
}

/// `path`, then one line per prediction: `  0.912  Border Collie  (index 12)`.
fn print_text(c: &Classifier, path: &Path, result: &ImageResult) {
    println!("{}", path.display());
    for p in &result.predictions {
        println!(
            "  {:.3}  {}  (index {})",
            p.probability,
            c.label(p.index),
            p.index
        );
    }
}

/// `{"image", "predictions": [{"index","label","probability", ...label fields}], "timings_ms"}`.
fn json_result(c: &Classifier, path: &Path, result: &ImageResult) -> Value {
    let predictions: Vec<Value> = result
        .predictions
        .iter()
        .map(|p| {
            let mut entry = Map::new();
            entry.insert("index".into(), json!(p.index));
            entry.insert("label".into(), json!(c.label(p.index)));
            entry.insert("probability".into(), json!(p.probability));
            // Label fields pass through but never override the three above (DESIGN §9).
            if let Some(label) = c.labels.get(p.index) {
                for (key, value) in &label.extra {
                    entry.entry(key.clone()).or_insert_with(|| value.clone());
                }
            }
            Value::Object(entry)
        })
        .collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_and_sums_to_one() {
        let p = probabilities(&[1000.0, 1000.0, 0.0], Scores::Logits);
        assert!((p[0] - 0.5).abs() < 1e-12 && (p[1] - 0.5).abs() < 1e-12);
        assert!(p[2] < 1e-300);
    }

    #[test]
    fn unknown_scores_are_used_as_is_only_when_a_distribution() {
        assert_eq!(
            probabilities(&[0.25, 0.75], Scores::Unknown),
            vec![0.25, 0.75]
        );
        let p = probabilities(&[2.0, -1.0], Scores::Unknown);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12 && p[0] > 0.9);
    }

    #[test]
    fn top_k_sorts_descending_and_breaks_ties_by_index() {
        let picked: Vec<usize> = top(vec![0.1, 0.4, 0.1, 0.4], 3)
            .iter()
            .map(|p| p.index)
            .collect();
        assert_eq!(picked, [1, 3, 0]);
        assert_eq!(top(vec![1.0], 5).len(), 1);
    }
}
