//! The full verification of DESIGN §3 `litecnn verify` and §4.1 steps 3 and 5 (without the
//! hold-out and latency gates, which need the deployer's context): open the bundle, then load
//! the model, match the labels, reproduce the golden outputs.

use std::path::Path;

use litecnn_engine::Model;

use crate::bundle::Bundle;
use crate::error::BundleError;
use crate::golden::GoldenReport;
use crate::model;
use crate::report::VerifyReport;
use crate::signature::PublicKey;

/// A bundle that passed every step, with its model loaded (so a deployer promotes what it
/// verified instead of loading it twice).
#[derive(Debug)]
pub struct Verified {
    pub bundle: Bundle,
    pub model: Model,
    pub golden: GoldenReport,
}

/// The report, and the bundle or the first failure (the report's last step).
#[derive(Debug)]
pub struct Verification {
    pub report: VerifyReport,
    pub result: Result<Verified, BundleError>,
}

/// Runs every step on `dir`; stops at the first failure. A directory name that differs from
/// the manifest version is a warning here: only a repository requires them to match.
pub fn verify(dir: &Path, key: Option<&PublicKey>) -> Verification {
    let mut report = VerifyReport::new(dir);
    let result = run_steps(dir, key, &mut report);
    Verification { report, result }
}

fn run_steps(
    dir: &Path,
    key: Option<&PublicKey>,
    report: &mut VerifyReport,
) -> Result<Verified, BundleError> {
    let bundle = Bundle::open_recorded(dir, key, report)?;
    report.record_warning("directory name", || {
        bundle.check_dir_name()?;
        Ok("matches the manifest version".to_owned())
    });
    let manifest = bundle.manifest();
    let model = report.record("model", || {
        let model = model::load(bundle.dir(), manifest)?;
        let detail = model::check_io(&model, manifest)?;
        Ok((model, detail))
    })?;
    report.record("labels", || {
        let detail = match model::check_class_count(&model, manifest)? {
            Some(n) => format!("{n} labels, one per output class"),
            None => format!(
                "{} labels; the model does not declare its class count, the golden run checks it",
                manifest.labels.len()
            ),
        };
        Ok(((), detail))
    })?;
    let golden = report.record("golden", || {
        let report = bundle.check_golden(&model)?;
        let detail = describe_golden(&report, manifest.golden.atol, manifest.golden.rtol);
        Ok((report, detail))
    })?;
    Ok(Verified {
        bundle,
        model,
        golden,
    })
}

fn describe_golden(r: &GoldenReport, atol: f64, rtol: f64) -> String {
    let worst = r.worst.as_ref().map_or(String::new(), |w| {
        format!(
            "; closest to its limit: [{}, {}] error {:.3e} of {:.3e} allowed",
            w.sample,
            w.class,
            w.error(),
            w.allowed
        )
    });
    format!(
        "{} samples x {} classes, max abs error {:.3e} (atol {atol:e}, rtol {rtol:e}){worst}",
        r.samples, r.classes, r.max_abs_error
    )
}
