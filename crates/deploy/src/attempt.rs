//! One deploy attempt being recorded: each step timed with its outcome and a detail line, the
//! gate results gathered, and how it ended — then written to the history as one row.

use std::time::{Instant, SystemTime};

use litecnn_bundle::time::rfc3339;
use serde_json::{Map, Value};

use crate::history::{AttemptRecord, Outcome, StepRecord};
use crate::report::Reporter;

/// Why an attempt stopped early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The candidate is at fault (verify, signature, a gate): exit 3. `permanent` marks it
    /// rejected for good; a verify failure is not (it may be a transfer fault).
    Rejected { reason: String, permanent: bool },
    /// Anything else (unreachable, disk full, lock held, conversion crashed): exit 1.
    Failed { reason: String },
}

impl Stop {
    pub fn rejected(reason: impl Into<String>) -> Stop {
        Stop::Rejected {
            reason: reason.into(),
            permanent: true,
        }
    }

    pub fn failed(reason: impl Into<String>) -> Stop {
        Stop::Failed {
            reason: reason.into(),
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Stop::Rejected { reason, .. } | Stop::Failed { reason } => reason,
        }
    }
}

pub struct Attempt {
    started_at: SystemTime,
    /// When the last step ended (or the attempt began).
    last_step_end: Instant,
    pub source: String,
    /// The manifest's model name, once known (for notifications).
    pub model_name: Option<String>,
    pub version: Option<String>,
    pub digest: Option<String>,
    pub checkpoint_sha256: Option<String>,
    steps: Vec<StepRecord>,
    gates: Map<String, Value>,
}

impl Attempt {
    pub fn new(source: String) -> Attempt {
        Attempt {
            started_at: SystemTime::now(),
            last_step_end: Instant::now(),
            source,
            model_name: None,
            version: None,
            digest: None,
            checkpoint_sha256: None,
            steps: Vec::new(),
            gates: Map::new(),
        }
    }

    /// Runs one step: times it, records its detail or the reason it stopped, logs it.
    pub fn step<T>(
        &mut self,
        reporter: &dyn Reporter,
        name: &str,
        run: impl FnOnce(&mut Attempt) -> Result<(T, String), Stop>,
    ) -> Result<T, Stop> {
        self.step_after(reporter, name, 0.0, run)
    }

    /// [`Attempt::step`] for a step part of whose work (`spent_ms`) was done beforehand, as
    /// the bundle's verification runs once for both the verify and the gate steps.
    pub fn step_after<T>(
        &mut self,
        reporter: &dyn Reporter,
        name: &str,
        spent_ms: f64,
        run: impl FnOnce(&mut Attempt) -> Result<(T, String), Stop>,
    ) -> Result<T, Stop> {
        let start = Instant::now();
        let result = run(self);
        let ms = spent_ms + start.elapsed().as_secs_f64() * 1e3;
        self.last_step_end = Instant::now();
        let (ok, detail) = match &result {
            Ok((_, detail)) => (true, detail.clone()),
            Err(stop) => (false, stop.reason().to_owned()),
        };
        reporter.log(&format!(
            "{} {name} ({ms:.0} ms): {detail}",
            if ok { "ok" } else { "FAILED" }
        ));
        self.steps.push(StepRecord {
            name: name.to_owned(),
            ms: (ms * 10.0).round() / 10.0,
            ok,
            detail,
        });
        result.map(|(value, _)| value)
    }

    /// Milliseconds since the last step ended (or the attempt began): the work done for the
    /// next step before it is recorded, as detection is (taking the lock, reading `LATEST`
    /// and `SHA256SUMS`, waiting for a checkpoint to settle).
    pub fn since_last_step_ms(&self) -> f64 {
        self.last_step_end.elapsed().as_secs_f64() * 1e3
    }

    /// Adds a gate's result to the report notifications and history carry.
    pub fn gate(&mut self, name: &str, result: Value) {
        self.gates.insert(name.to_owned(), result);
    }

    pub fn gates(&self) -> &Map<String, Value> {
        &self.gates
    }

    pub fn finish(self, result: Outcome, reason: Option<String>) -> AttemptRecord {
        AttemptRecord {
            id: 0,
            started_at: rfc3339(self.started_at),
            source: self.source,
            version: self.version,
            digest: self.digest,
            result,
            reason,
            steps: self.steps,
            gates: Value::Object(self.gates),
            checkpoint_sha256: self.checkpoint_sha256,
        }
    }
}
