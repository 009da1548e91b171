//! The verification report: one line per step with its outcome and details, printed by
//! `litecnn verify` and recorded by the deployer (serialised with `name`, `ok`, `detail`, as
//! DESIGN §9's history steps).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::digest::Digest;
use crate::error::BundleError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    /// Worth a look, but not a reason to reject (e.g. the directory name outside a repository).
    Warning,
    Failed,
}

#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub name: &'static str,
    /// False only for [`Status::Failed`].
    pub ok: bool,
    pub status: Status,
    pub detail: String,
    pub ms: f64,
}

/// What a verification found. Steps after a failed one are not run (and not listed): they
/// would read files that failed their checks.
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    pub bundle: PathBuf,
    pub name: Option<String>,
    pub version: Option<String>,
    pub digest: Option<Digest>,
    pub steps: Vec<Step>,
}

impl VerifyReport {
    pub fn new(bundle: &Path) -> VerifyReport {
        VerifyReport {
            bundle: bundle.to_path_buf(),
            name: None,
            version: None,
            digest: None,
            steps: Vec::new(),
        }
    }

    /// True when no step failed.
    pub fn ok(&self) -> bool {
        self.steps.iter().all(|s| s.ok)
    }

    pub fn first_failure(&self) -> Option<&Step> {
        self.steps.iter().find(|s| !s.ok)
    }

    /// Runs one step, timing it and recording its detail line or its error.
    pub(crate) fn record<T>(
        &mut self,
        name: &'static str,
        step: impl FnOnce() -> Result<(T, String), BundleError>,
    ) -> Result<T, BundleError> {
        let start = Instant::now();
        let result = step();
        let (status, detail) = match &result {
            Ok((_, detail)) => (Status::Passed, detail.clone()),
            Err(e) => (Status::Failed, e.to_string()),
        };
        self.push(name, status, detail, start);
        result.map(|(value, _)| value)
    }

    /// Runs a check whose failure is only a warning.
    pub(crate) fn record_warning(
        &mut self,
        name: &'static str,
        check: impl FnOnce() -> Result<String, BundleError>,
    ) {
        let start = Instant::now();
        let (status, detail) = match check() {
            Ok(detail) => (Status::Passed, detail),
            Err(e) => (Status::Warning, e.to_string()),
        };
        self.push(name, status, detail, start);
    }

    fn push(&mut self, name: &'static str, status: Status, detail: String, start: Instant) {
        self.steps.push(Step {
            name,
            ok: status != Status::Failed,
            status,
            detail,
            ms: start.elapsed().as_secs_f64() * 1e3,
        });
    }
}

/// One line per step: `✓`, `!` (warning) or `✗`, the step, its detail.
impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "bundle {}", self.bundle.display())?;
        for step in &self.steps {
            let mark = match step.status {
                Status::Passed => '✓',
                Status::Warning => '!',
                Status::Failed => '✗',
            };
            writeln!(f, "  {mark} {:<15} {}", step.name, step.detail)?;
        }
        Ok(())
    }
}
