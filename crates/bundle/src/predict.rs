//! From a model's output scores to the predictions users see, shared by `litecnn predict` and
//! the server's `/predict` so both answer alike: probabilities (softmax of logits), the top `k`
//! classes, and each one as `{"index","label","probability", ...label fields}` (DESIGN §5, §9).

use litecnn_engine::{Model, Tensor};
use serde_json::{Map, Value, json};

use crate::labels::Label;
use crate::manifest::OutputKind;

/// What the model's scores are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scores {
    Logits,
    Probabilities,
    /// A bare ONNX file says nothing: use the scores as they are when they already form a
    /// distribution (every score in [0, 1], summing to 1), else apply softmax.
    Unknown,
}

impl From<OutputKind> for Scores {
    fn from(kind: OutputKind) -> Scores {
        match kind {
            OutputKind::Logits => Scores::Logits,
            OutputKind::Probabilities => Scores::Probabilities,
        }
    }
}

/// One class of the answer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction {
    pub index: usize,
    pub probability: f64,
}

/// Why a model run gave no usable scores.
#[derive(Debug, thiserror::Error)]
pub enum ScoresError {
    #[error("inference failed: {0}")]
    Run(#[from] litecnn_engine::EngineError),
    #[error("the model returned no output {0}")]
    MissingOutput(usize),
    #[error("the model's output is not float32")]
    NotF32,
    #[error("the model's output is empty")]
    Empty,
    #[error("the model's output holds NaN or infinite scores")]
    NotFinite,
    #[error("the model's output ({1} values) does not split into {0} images")]
    Batch(usize, usize),
}

/// Runs `model` on one image's input and returns output `output` as a flat vector of scores,
/// refusing empty and non-finite ones.
pub fn run_scores(model: &Model, input: Tensor, output: usize) -> Result<Vec<f32>, ScoresError> {
    let scores = run_output(model, input, output)?;
    checked(scores.as_f32().ok_or(ScoresError::NotF32)?)
}

/// Runs `model` on `count` images stacked along the input's first axis and returns each
/// image's scores: output `output` cut into `count` equal rows. A row that is empty or not
/// finite is that image's error alone; a failed run is every image's.
pub fn run_batch_scores(
    model: &Model,
    input: Tensor,
    output: usize,
    count: usize,
) -> Result<Vec<Result<Vec<f32>, ScoresError>>, ScoresError> {
    let scores = run_output(model, input, output)?;
    let scores = scores.as_f32().ok_or(ScoresError::NotF32)?;
    if count == 0 || scores.len() % count != 0 {
        return Err(ScoresError::Batch(count, scores.len()));
    }
    let per_image = scores.len() / count;
    if per_image == 0 {
        return Err(ScoresError::Empty);
    }
    Ok(scores.chunks_exact(per_image).map(checked).collect())
}

fn run_output(model: &Model, input: Tensor, output: usize) -> Result<Tensor, ScoresError> {
    model
        .run(vec![input])?
        .into_iter()
        .nth(output)
        .ok_or(ScoresError::MissingOutput(output))
}

/// One image's scores, refused when empty or not finite.
fn checked(scores: &[f32]) -> Result<Vec<f32>, ScoresError> {
    if scores.is_empty() {
        return Err(ScoresError::Empty);
    }
    if !scores.iter().all(|s| s.is_finite()) {
        return Err(ScoresError::NotFinite);
    }
    Ok(scores.to_vec())
}

/// Probabilities from scores: softmax for logits, as they are for probabilities.
pub fn probabilities(scores: &[f32], kind: Scores) -> Vec<f64> {
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
pub fn top_k(probabilities: Vec<f64>, k: usize) -> Vec<Prediction> {
    let mut all: Vec<Prediction> = probabilities
        .into_iter()
        .enumerate()
        .map(|(index, probability)| Prediction { index, probability })
        .collect();
    let order = |a: &Prediction, b: &Prediction| {
        b.probability
            .total_cmp(&a.probability)
            .then(a.index.cmp(&b.index))
    };
    // The first k by selection, then only those sorted: a server answers every request with
    // the top 5 of 1000 classes, and sorting all of them was a visible part of its profile.
    if k < all.len() {
        all.select_nth_unstable_by(k, order);
        all.truncate(k);
    }
    all.sort_by(order);
    all
}

/// The display name of class `index`: its label's name, or `class <i>` without labels.
pub fn label_name(labels: &[Label], index: usize) -> String {
    labels
        .get(index)
        .map_or_else(|| format!("class {index}"), |l| l.name.clone())
}

/// `{"index","label","probability", ...the label's other fields}`. Label fields pass through
/// but never override the first three (DESIGN §9).
pub fn prediction_json(p: &Prediction, labels: &[Label]) -> Value {
    let mut entry = Map::new();
    entry.insert("index".into(), json!(p.index));
    entry.insert("label".into(), json!(label_name(labels, p.index)));
    entry.insert("probability".into(), json!(p.probability));
    if let Some(label) = labels.get(p.index) {
        for (key, value) in &label.extra {
            entry.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    Value::Object(entry)
}

/// [`prediction_json`] of each prediction, as a JSON array.
pub fn predictions_json(predictions: &[Prediction], labels: &[Label]) -> Value {
    Value::Array(
        predictions
            .iter()
            .map(|p| prediction_json(p, labels))
            .collect(),
    )
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
        let picked: Vec<usize> = top_k(vec![0.1, 0.4, 0.1, 0.4], 3)
            .iter()
            .map(|p| p.index)
            .collect();
        assert_eq!(picked, [1, 3, 0]);
        assert_eq!(top_k(vec![1.0], 5).len(), 1);
        assert!(top_k(vec![0.5, 0.5], 0).is_empty());
    }

    #[test]
    fn top_k_of_many_classes_is_the_head_of_the_full_order() {
        // 1000 scores from a few dozen values, so that ties are everywhere.
        let scores: Vec<f64> = (0..1000u64)
            .map(|i| ((i * 7919 + 13) % 37) as f64 / 37.0)
            .collect();
        let mut all: Vec<(usize, f64)> = scores.iter().copied().enumerate().collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for k in [1, 5, 37, 999, 1000, 1200] {
            let picked: Vec<usize> = top_k(scores.clone(), k).iter().map(|p| p.index).collect();
            let want: Vec<usize> = all.iter().take(k).map(|&(i, _)| i).collect();
            assert_eq!(picked, want, "k = {k}");
        }
    }

    #[test]
    fn label_fields_pass_through_but_never_override() {
        let mut extra = Map::new();
        extra.insert("name_ko".into(), json!("가방"));
        extra.insert("probability".into(), json!("spoofed"));
        let labels = [Label {
            name: "Bag".into(),
            extra,
        }];
        let p = Prediction {
            index: 0,
            probability: 0.5,
        };
        let entry = prediction_json(&p, &labels);
        assert_eq!(
            entry,
            json!({"index": 0, "label": "Bag", "probability": 0.5, "name_ko": "가방"})
        );
        let keys: Vec<&String> = entry.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["index", "label", "probability", "name_ko"]);
        assert_eq!(
            prediction_json(&Prediction { index: 3, ..p }, &labels)["label"],
            "class 3"
        );
    }
}
