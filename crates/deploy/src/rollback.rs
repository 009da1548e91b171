//! `litecnn rollback [--to VERSION|DIGEST]` (DESIGN §3, §9): back to the promotion before the
//! current one (repeat to step further back), or to a named kept version — one rename, no
//! download. The version left is marked rejected, so a running watcher does not promote it
//! again until a new digest appears.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use litecnn_bundle::Digest;
use litecnn_bundle::time::rfc3339;
use serde_json::json;

use crate::history::{AttemptRecord, History, Outcome, Promotion, StepRecord};
use crate::lock::StoreLock;
use crate::notify::{self, Webhook};
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    #[error("{0}")]
    Setup(String),
    #[error("nothing to roll back to: {0}")]
    Nowhere(String),
    #[error(
        "no kept promotion matches {0:?} (give a version, a digest, or at least 12 hex digits of one; `litecnn status` lists them)"
    )]
    NoMatch(String),
}

/// True when promotion `p` is what `wanted` names.
fn names(p: &Promotion, wanted: &str) -> bool {
    let hex = p.digest.trim_start_matches("sha256:");
    let wanted_hex = wanted.trim_start_matches("sha256:");
    p.version == wanted
        || p.digest == wanted
        || (wanted_hex.len() >= 12
            && wanted_hex.chars().all(|c| c.is_ascii_hexdigit())
            && hex.starts_with(wanted_hex))
}

/// Rolls back, records a `rollback` row, notifies; returns the row.
pub fn rollback(
    store_dir: &Path,
    to: Option<&str>,
    hooks: &[Webhook],
) -> Result<AttemptRecord, RollbackError> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let setup = |e: &dyn std::fmt::Display| RollbackError::Setup(e.to_string());
    let store = Store::open(store_dir).map_err(|e| setup(&e))?;
    let _lock = StoreLock::acquire(store.root(), Duration::from_secs(30)).map_err(|e| setup(&e))?;
    let history = History::open(&store.history_path()).map_err(|e| setup(&e))?;
    let at = rfc3339(started);
    let (target, from) = switch_back(&store, &history, to, |target| {
        format!("rolled back to {} at {at}", target.version)
    })?;
    let digest = Digest::parse(&target.digest).ok_or_else(|| setup(&"bad digest in history"))?;
    let ms = clock.elapsed().as_secs_f64() * 1e3;
    let mut record = AttemptRecord {
        id: 0,
        started_at: at,
        source: "rollback".into(),
        version: Some(target.version.clone()),
        digest: Some(target.digest.clone()),
        result: Outcome::Rollback,
        reason: Some(format!(
            "from {from} to {} ({})",
            target.version, target.digest
        )),
        steps: vec![StepRecord {
            name: "promote".into(),
            ms: (ms * 10.0).round() / 10.0,
            ok: true,
            detail: format!("current = {}", target.digest),
        }],
        gates: json!({}),
        checkpoint_sha256: target.checkpoint_sha256.clone(),
    };
    record.id = history.record(&record).map_err(|e| setup(&e))?;
    let name = Store::model_name(&store, &digest).unwrap_or_else(|| "model".into());
    for problem in notify::send_all(hooks, &name, &record) {
        eprintln!("warning: {problem}");
    }
    Ok(record)
}

/// Switches `current` back to the promotion before it (or the kept one `to` names), takes
/// the newer promotions off the stack and marks the version left rejected with
/// `why(target)`, so no watcher promotes it again. The caller holds the store lock.
/// Returns the target and a description of the version left.
pub(crate) fn switch_back(
    store: &Store,
    history: &History,
    to: Option<&str>,
    why: impl FnOnce(&Promotion) -> String,
) -> Result<(Promotion, String), RollbackError> {
    let setup = |e: &dyn std::fmt::Display| RollbackError::Setup(e.to_string());
    let current = store.current().map_err(|e| setup(&e))?;
    let stack = history.promotions().map_err(|e| setup(&e))?;
    let current_text = current.as_ref().map(Digest::to_string);
    let leaving = stack
        .iter()
        .find(|p| Some(&p.digest) == current_text.as_ref())
        .cloned();
    let older: Vec<&Promotion> = stack
        .iter()
        .filter(|p| Some(&p.digest) != current_text.as_ref())
        .filter(|p| Digest::parse(&p.digest).is_some_and(|d| store.has_bundle(&d)))
        .collect();
    let target = match to {
        None => *older.first().ok_or_else(|| {
            RollbackError::Nowhere("no earlier promotion is kept in the store".into())
        })?,
        Some(wanted) => *older
            .iter()
            .find(|p| names(p, wanted))
            .ok_or_else(|| RollbackError::NoMatch(wanted.to_owned()))?,
    };
    let digest = Digest::parse(&target.digest).ok_or_else(|| setup(&"bad digest in history"))?;
    store.set_current(&digest).map_err(|e| setup(&e))?;
    for p in stack.iter().filter(|p| p.id > target.id) {
        history.retire_promotion(p.id).map_err(|e| setup(&e))?;
    }
    let at = rfc3339(SystemTime::now());
    let from = match &leaving {
        Some(p) => {
            let reason = why(target);
            history
                .reject(&p.digest, &reason, &at)
                .map_err(|e| setup(&e))?;
            if let Some(sha) = &p.checkpoint_sha256 {
                history.reject(sha, &reason, &at).map_err(|e| setup(&e))?;
            }
            format!("{} ({})", p.version, p.digest)
        }
        None => current_text.unwrap_or_else(|| "no model".into()),
    };
    Ok((target.clone(), from))
}

#[cfg(test)]
mod tests {
    use super::names;
    use crate::history::Promotion;

    #[test]
    fn names_by_version_digest_or_long_prefix() {
        let p = Promotion {
            id: 1,
            digest: format!("sha256:{}", "ab12".repeat(16)),
            version: "20261126T093546Z-e025eb".into(),
            promoted_at: String::new(),
            source: String::new(),
            checkpoint_sha256: None,
            attempt_id: None,
        };
        assert!(names(&p, "20261126T093546Z-e025eb"));
        assert!(names(&p, &p.digest.clone()));
        assert!(names(&p, "ab12ab12ab12"));
        assert!(names(&p, "sha256:ab12ab12ab12ab"));
        assert!(!names(&p, "ab12ab12ab1"));
        assert!(!names(&p, "ab12ab12ab13"));
    }
}
