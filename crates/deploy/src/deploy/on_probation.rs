//! Step 7 of an attempt that promoted (DESIGN §4.1): probation of the live model, and on a
//! breach the automatic rollback — `current` back to the previous promotion, the digest (and
//! its checkpoint) rejected, the attempt's row turned `rolled_back`, the webhooks told.

use std::time::{Duration, Instant, SystemTime};

use litecnn_bundle::time::rfc3339;

use super::{Deployer, Ended};
use crate::history::{AttemptRecord, History, Outcome, StepRecord};
use crate::lock::StoreLock;
use crate::notify;
use crate::probation::{Probation, Verdict};
use crate::rollback;

/// A breach may find a manual `rollback` holding the lock for a moment.
const LOCK_WAIT: Duration = Duration::from_secs(30);

impl Deployer {
    /// The probation this deployer runs after a promotion, if any.
    pub(super) fn probation(&self) -> Option<Probation> {
        Some(Probation {
            duration: self.opts.probation?,
            live: self.opts.live.clone()?,
            max_latency_ms: self.opts.max_latency_ms,
        })
    }

    /// Watches the model `record` promoted (already recorded and announced). The store lock
    /// is not held meanwhile, so `rollback` and the dashboard keep working.
    pub(super) fn on_probation(
        &self,
        probation: &Probation,
        mut record: AttemptRecord,
        name: &str,
    ) -> Ended {
        let digest = record.digest.clone().unwrap_or_default();
        self.reporter.log(&format!(
            "probation: watching {digest} for {:?}",
            probation.duration
        ));
        let clock = Instant::now();
        let verdict = probation.watch(&digest);
        let ms = (clock.elapsed().as_secs_f64() * 1e4).round() / 10.0;
        let (ok, detail) = match &verdict {
            Verdict::Passed(detail) => (true, detail.clone()),
            Verdict::Breached(why) => (false, format!("probation: {why}")),
        };
        self.reporter.log(&format!(
            "{} probation ({ms:.0} ms): {detail}",
            if ok { "ok" } else { "FAILED" }
        ));
        record.steps.push(StepRecord {
            name: "probation".into(),
            ms,
            ok,
            detail: detail.clone(),
        });
        if ok {
            self.update_row(&record);
            return Ended::Promoted(record);
        }
        match self.roll_back(&digest, &detail, &record) {
            Ok(to) => {
                record.result = Outcome::RolledBack;
                record.reason = Some(format!("{detail}; rolled back to {to}"));
            }
            Err(why) => record.reason = Some(format!("{detail}; not rolled back: {why}")),
        }
        self.update_row(&record);
        for problem in notify::send_all(&self.opts.notify, name, &record) {
            self.reporter.log(&format!("warning: {problem}"));
        }
        if record.result == Outcome::RolledBack {
            Ended::RolledBack(record)
        } else {
            Ended::Promoted(record)
        }
    }

    /// Back to the previous promotion, if `digest` is still current; returns where to.
    fn roll_back(&self, digest: &str, why: &str, record: &AttemptRecord) -> Result<String, String> {
        let _lock = StoreLock::acquire(self.store.root(), LOCK_WAIT).map_err(|e| e.to_string())?;
        let history = History::open(&self.store.history_path()).map_err(|e| e.to_string())?;
        let current = self.store.current().map_err(|e| e.to_string())?;
        let still_current = current.as_ref().map(ToString::to_string).as_deref() == Some(digest);
        let switched = if still_current {
            rollback::switch_back(&self.store, &history, None, |_| why.to_owned())
                .map(|(target, _)| format!("{} ({})", target.version, target.digest))
                .map_err(|e| e.to_string())
        } else {
            Err("the store's current model changed during probation".to_owned())
        };
        if switched.is_err() {
            // Not switched, but never promoted again either.
            let at = rfc3339(SystemTime::now());
            let keys = record
                .checkpoint_sha256
                .as_deref()
                .into_iter()
                .chain([digest]);
            for key in keys {
                history.reject(key, why, &at).map_err(|e| e.to_string())?;
            }
        }
        switched
    }

    /// Writes the probation step and the outcome into the attempt's row.
    fn update_row(&self, record: &AttemptRecord) {
        let updated = History::open(&self.store.history_path()).and_then(|h| {
            h.set_steps(record.id, &record.steps)?;
            h.set_outcome(
                record.id,
                record.result,
                record.reason.as_deref().unwrap_or(""),
            )
        });
        if let Err(e) = updated {
            self.reporter.log(&format!("warning: {e}"));
        }
    }
}
