//! Step 5, gate (DESIGN §4.1): what a verified candidate must also do before it may serve —
//! score no worse than the current model on the hold-out set (less `--max-accuracy-drop`),
//! and answer within `--max-latency-ms`. Loading in the engine, one label per class and the
//! golden outputs are checked by the bundle's own verification, just before.

use std::time::Instant;

use litecnn_bundle::{Bundle, Digest};
use litecnn_engine::{DType, Model, Tensor};
use serde_json::json;

use crate::attempt::{Attempt, Stop};
use crate::history::History;
use crate::holdout::{Holdout, Score};
use crate::store::Store;

/// Scores the candidate and the current model on the hold-out set and compares them.
pub fn holdout(
    attempt: &mut Attempt,
    holdout: &Holdout,
    max_drop: f64,
    candidate: (&Bundle, &Model),
    store: &Store,
    history: &History,
) -> Result<String, Stop> {
    let ours = holdout
        .score(candidate.0, candidate.1)
        .map_err(|e| Stop::rejected(format!("hold-out: {e}")))?;
    let current = match store.current().map_err(|e| Stop::failed(e.to_string()))? {
        Some(digest) if &digest != candidate.0.digest() => {
            Some((current_score(holdout, store, history, &digest)?, digest))
        }
        _ => None,
    };
    let Some((theirs, digest)) = current else {
        attempt.gate(
            "holdout",
            json!({"ok": true, "candidate_top1": ours.top1, "current_top1": null,
                   "images": ours.images, "max_accuracy_drop": max_drop}),
        );
        return Ok(format!(
            "top-1 {:.4} on {} images; no current model to compare with",
            ours.top1, ours.images
        ));
    };
    // A tiny epsilon so equal scores computed in different orders never differ.
    let ok = ours.top1 + 1e-9 >= theirs.top1 - max_drop;
    attempt.gate(
        "holdout",
        json!({"ok": ok, "candidate_top1": ours.top1, "current_top1": theirs.top1,
               "current_digest": digest.to_string(), "images": ours.images,
               "max_accuracy_drop": max_drop}),
    );
    let text = format!(
        "top-1 {:.4} vs current {:.4} on {} images (allowed drop {max_drop})",
        ours.top1, theirs.top1, ours.images
    );
    if ok {
        Ok(text)
    } else {
        Err(Stop::rejected(format!("hold-out accuracy regressed: {text}")))
    }
}

/// The current model's score, from the cache or by scoring it now.
fn current_score(
    holdout: &Holdout,
    store: &Store,
    history: &History,
    digest: &Digest,
) -> Result<Score, Stop> {
    let key = digest.to_string();
    if let Some((top1, images)) = history
        .holdout_score(&key, &holdout.key)
        .map_err(|e| Stop::failed(e.to_string()))?
    {
        return Ok(Score { top1, images });
    }
    let dir = store.bundle_dir(digest);
    let score = Bundle::open(&dir, None)
        .and_then(|bundle| {
            let model = bundle.load_model()?;
            Ok((bundle, model))
        })
        .map_err(|e| Stop::failed(format!("cannot load the current model to compare: {e}")))
        .and_then(|(bundle, model)| {
            holdout
                .score(&bundle, &model)
                .map_err(|e| Stop::failed(format!("scoring the current model: {e}")))
        })?;
    history
        .put_holdout_score(&key, &holdout.key, score.top1, score.images)
        .map_err(|e| Stop::failed(e.to_string()))?;
    Ok(score)
}

/// Median latency of one batch-1 run must stay within `limit_ms`.
pub fn latency(
    attempt: &mut Attempt,
    bundle: &Bundle,
    model: &Model,
    limit_ms: f64,
) -> Result<String, Stop> {
    let [h, w] = bundle.manifest().preprocess.center_crop.map(|s| s as usize);
    let run = || {
        let input = Tensor::zeros(DType::F32, vec![1, 3, h, w]);
        let start = Instant::now();
        model
            .run(vec![input])
            .map(|_| start.elapsed().as_secs_f64() * 1e3)
            .map_err(|e| Stop::rejected(format!("latency run failed: {e}")))
    };
    run()?;
    let mut times = (0..9).map(|_| run()).collect::<Result<Vec<_>, _>>()?;
    times.sort_by(f64::total_cmp);
    let p50 = times[times.len() / 2];
    let ok = p50 <= limit_ms;
    attempt.gate("latency", json!({"ok": ok, "p50_ms": p50, "limit_ms": limit_ms}));
    let text = format!("p50 {p50:.2} ms (limit {limit_ms} ms)");
    if ok {
        Ok(text)
    } else {
        Err(Stop::rejected(format!("too slow: {text}")))
    }
}
