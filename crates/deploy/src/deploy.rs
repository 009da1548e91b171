//! One deploy attempt (DESIGN §4.1): detect ► fetch ► verify ► (convert) ► gate ► promote ►
//! record ► notify ► (probation ► record ► notify), each step timed and recorded. A promotion
//! is recorded and announced at once, so the record is right even if the process dies during
//! probation; a breach then turns the row into `rolled_back`. Whatever happens, the current model keeps
//! serving until the single rename that promotes the candidate; a failed attempt leaves only
//! a history row and a staging directory that the next attempt clears.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use litecnn_bundle::digest::{sha256_file, to_hex};
use litecnn_bundle::time::rfc3339;
use litecnn_bundle::{Digest, PublicKey, Verified};
use serde_json::json;

use crate::attempt::{Attempt, Stop};
use crate::backoff::VerifyBackoff;
use crate::candidate::{self, BundleCandidate, CheckpointCandidate, Offer};
use crate::convert;
use crate::fetch::{self, RetryPolicy};
use crate::gate;
use crate::history::{AttemptRecord, History, Outcome, Promotion};
use crate::holdout::Holdout;
use crate::lock::StoreLock;
use crate::notify::{self, Webhook};
use crate::probation::Live;
use crate::report::{Reporter, human_bytes};
use crate::source::{self, FileMeta, Source, SourceError, SourceOptions, SourceSpec};
use crate::store::Store;

mod on_probation;

/// Everything `deploy`, `watch` and `serve --watch` take (DESIGN §3).
#[derive(Clone, Debug)]
pub struct DeployOptions {
    pub source: String,
    pub source_options: SourceOptions,
    pub holdout: Option<PathBuf>,
    pub max_accuracy_drop: f64,
    pub max_latency_ms: Option<f64>,
    pub pubkey: Option<PublicKey>,
    pub convert: Option<String>,
    pub force: bool,
    pub keep: usize,
    pub notify: Vec<Webhook>,
    /// A checkpoint must stay unchanged this long before it is taken.
    pub settle: Duration,
    pub convert_timeout: Duration,
    pub retry: RetryPolicy,
    /// How long to wait for another deployer's store lock.
    pub lock_wait: Duration,
    /// `--probation DUR`: watch the live model this long after a promotion.
    pub probation: Option<Duration>,
    /// The serving process's metrics, which probation judges (`--server URL`, or in process).
    pub live: Option<Live>,
}

impl DeployOptions {
    pub fn new(source: impl Into<String>) -> DeployOptions {
        DeployOptions {
            source: source.into(),
            source_options: SourceOptions::default(),
            holdout: None,
            max_accuracy_drop: 0.0,
            max_latency_ms: None,
            pubkey: None,
            convert: None,
            force: false,
            keep: 5,
            notify: Vec::new(),
            settle: Duration::from_secs(2),
            convert_timeout: Duration::from_secs(600),
            retry: RetryPolicy::default(),
            lock_wait: Duration::ZERO,
            probation: None,
            live: None,
        }
    }
}

/// Configuration errors, found before any attempt.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Source(#[from] SourceError),
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    History(#[from] crate::history::HistoryError),
    #[error("{0}")]
    Holdout(#[from] crate::holdout::HoldoutError),
    #[error("{0}")]
    Convert(String),
    #[error("--keep must be at least 1")]
    Keep,
    #[error(
        "--probation needs the serving process's metrics: give --server URL (the `litecnn serve` \
         that serves this store), or run the deployer inside it with `serve --watch`"
    )]
    ProbationBlind,
}

/// How an attempt ended, and what the command's exit code is (DESIGN §9).
#[derive(Debug)]
pub enum Ended {
    /// Nothing new (or only something already current, or already rejected): no history row.
    Nothing(String),
    Promoted(AttemptRecord),
    Rejected(AttemptRecord),
    /// Promoted, then rolled back because the live model breached its probation.
    RolledBack(AttemptRecord),
    Failed(AttemptRecord),
    /// A failure just like the previous attempt's: logged, not recorded again.
    FailedAgain(String),
}

impl Ended {
    pub fn exit_code(&self) -> i32 {
        match self {
            Ended::Nothing(_) | Ended::Promoted(_) => 0,
            Ended::Rejected(_) | Ended::RolledBack(_) => 3,
            Ended::Failed(_) | Ended::FailedAgain(_) => 1,
        }
    }

    /// The history's name for how it ended; `None` when nothing was attempted.
    pub fn result(&self) -> Option<&'static str> {
        match self {
            Ended::Nothing(_) => None,
            Ended::Promoted(_) => Some("promoted"),
            Ended::Rejected(_) => Some("rejected"),
            Ended::RolledBack(_) => Some("rolled_back"),
            Ended::Failed(_) | Ended::FailedAgain(_) => Some("failed"),
        }
    }

    /// One line for logs and the watcher's heartbeat.
    pub fn summary(&self) -> String {
        match self {
            Ended::Nothing(why) => why.clone(),
            Ended::FailedAgain(why) => format!("failed again: {why}"),
            Ended::Promoted(a) | Ended::Rejected(a) | Ended::RolledBack(a) | Ended::Failed(a) => {
                format!(
                    "{} {}{}",
                    a.result.as_str(),
                    a.version.as_deref().unwrap_or("?"),
                    a.reason
                        .as_ref()
                        .map_or(String::new(), |r| format!(": {r}"))
                )
            }
        }
    }
}

/// A deployer bound to one store and one source. Keeps its source connection and what it
/// has already seen between attempts (`watch`).
pub struct Deployer {
    store: Store,
    opts: DeployOptions,
    spec: SourceSpec,
    source: Option<Box<dyn Source>>,
    holdout: Option<Holdout>,
    reporter: Arc<dyn Reporter>,
    /// The checkpoint last looked at (path, metadata, SHA-256): unchanged means nothing new,
    /// without fetching it again.
    seen_checkpoint: Option<(String, FileMeta, String)>,
    last_failure: Option<String>,
    verify_backoff: VerifyBackoff,
}

impl Deployer {
    pub fn new(
        store: &Path,
        opts: DeployOptions,
        reporter: Arc<dyn Reporter>,
    ) -> Result<Deployer, SetupError> {
        if opts.keep == 0 {
            return Err(SetupError::Keep);
        }
        if opts.probation.is_some() && opts.live.is_none() {
            return Err(SetupError::ProbationBlind);
        }
        if let Some(template) = &opts.convert {
            convert::check_template(template).map_err(SetupError::Convert)?;
        }
        let spec = SourceSpec::parse(&opts.source, opts.convert.is_some())?;
        let store = Store::open(store)?;
        History::open(&store.history_path())?;
        let holdout = opts.holdout.as_deref().map(Holdout::open).transpose()?;
        Ok(Deployer {
            store,
            opts,
            spec,
            source: None,
            holdout,
            reporter,
            seen_checkpoint: None,
            last_failure: None,
            verify_backoff: VerifyBackoff::default(),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn source_text(&self) -> &str {
        &self.opts.source
    }

    /// Waits until the source may have changed (true) or `timeout` has passed (false).
    pub fn wait_for_change(&mut self, timeout: Duration) -> bool {
        match self.source.as_mut() {
            Some(source) => source.wait_for_change(timeout),
            None => {
                std::thread::sleep(timeout);
                false
            }
        }
    }

    /// One attempt, under the store lock.
    pub fn attempt(&mut self) -> Ended {
        let reporter = self.reporter.clone();
        let mut attempt = Attempt::new(self.opts.source.clone());
        let (outcome, reason, permanent) = match self.run(&mut attempt, &*reporter) {
            Ok(()) => (Outcome::Promoted, None, false),
            Err(Flow::Nothing(why)) => {
                self.last_failure = None;
                return Ended::Nothing(why);
            }
            Err(Flow::Stop(Stop::Rejected { reason, permanent })) => {
                (Outcome::Rejected, Some(reason), permanent)
            }
            Err(Flow::Stop(Stop::Failed { reason })) => {
                if self.last_failure.as_deref() == Some(reason.as_str()) {
                    reporter.log(&format!("deploy failed again: {reason}"));
                    return Ended::FailedAgain(reason);
                }
                self.last_failure = Some(reason.clone());
                (Outcome::Failed, Some(reason), false)
            }
        };
        if outcome != Outcome::Failed {
            self.last_failure = None;
        }
        let name = attempt.model_name.clone();
        let mut record = attempt.finish(outcome, reason);
        if let (Outcome::Rejected, false, Some(digest)) = (outcome, permanent, &record.digest) {
            self.verify_backoff.failed(digest);
        }
        let name = name.as_deref().unwrap_or("model");
        self.record(&mut record, name, permanent);
        match outcome {
            Outcome::Promoted => match self.probation() {
                Some(probation) => self.on_probation(&probation, record, name),
                None => Ended::Promoted(record),
            },
            Outcome::Rejected => Ended::Rejected(record),
            _ => Ended::Failed(record),
        }
    }

    /// Writes the history row (the attempt gets its id) and sends the notifications.
    /// A rejection for good marks the digest (or the checkpoint hash) so it is never tried
    /// again without `--force`.
    fn record(&self, record: &mut AttemptRecord, name: &str, permanent: bool) {
        let recorded = History::open(&self.store.history_path()).and_then(|h| {
            let id = h.record(record)?;
            let key = record.checkpoint_sha256.as_ref().or(record.digest.as_ref());
            if let (true, Some(key), Some(reason)) = (permanent, key, &record.reason) {
                h.reject(key, reason, &record.started_at)?;
            }
            Ok(id)
        });
        match recorded {
            Ok(id) => record.id = id,
            Err(e) => self.reporter.log(&format!("warning: {e}")),
        }
        for problem in notify::send_all(&self.opts.notify, name, record) {
            self.reporter.log(&format!("warning: {problem}"));
        }
    }

    fn source(&mut self) -> Result<&mut Box<dyn Source>, Stop> {
        if self.source.is_none() {
            let source = source::open(&self.spec, &self.opts.source_options)
                .map_err(|e| Stop::failed(format!("source {}: {e}", self.opts.source)))?;
            self.source = Some(source);
        }
        Ok(self.source.as_mut().expect("opened above"))
    }

    /// A source error ends the attempt; network and refusal errors also drop the connection,
    /// so the next attempt reconnects.
    fn source_failed(&mut self, what: &str, e: SourceError) -> Flow {
        if e.kind.is_transient() || e.kind == crate::source::SourceErrorKind::Refused {
            self.source = None;
        }
        Flow::Stop(Stop::failed(format!("{what}: {e}")))
    }

    fn run(&mut self, attempt: &mut Attempt, reporter: &dyn Reporter) -> Result<(), Flow> {
        let _lock = StoreLock::acquire(self.store.root(), self.opts.lock_wait)
            .map_err(|e| Flow::Stop(Stop::failed(e.to_string())))?;
        let history = History::open(&self.store.history_path())
            .map_err(|e| Flow::Stop(Stop::failed(e.to_string())))?;
        let offer = {
            let pattern = self.spec.pattern.clone();
            let source = self.source().map_err(Flow::Stop)?;
            let found = match &pattern {
                Some(pattern) => candidate::find_checkpoint(source.as_mut(), pattern),
                None => candidate::find_bundle(source.as_mut()),
            };
            found.map_err(|e| self.source_failed("detect", e))?
        };
        let (staged, checkpoint) = match offer {
            Offer::Nothing(why) => return Err(Flow::Nothing(why)),
            Offer::Bundle(bundle) => (self.take_bundle(attempt, reporter, &history, bundle)?, None),
            Offer::Checkpoint(ckpt) => {
                let (dir, sha) = self.take_checkpoint(attempt, reporter, &history, ckpt)?;
                (dir, Some(sha))
            }
        };
        let verified = self.verify_and_gate(attempt, reporter, &history, &staged)?;
        self.promote(attempt, reporter, &history, &staged, verified, checkpoint)
    }

    /// Detect (the digest from `SHA256SUMS`) and fetch for a bundle source.
    fn take_bundle(
        &mut self,
        attempt: &mut Attempt,
        reporter: &dyn Reporter,
        history: &History,
        bundle: BundleCandidate,
    ) -> Result<PathBuf, Flow> {
        let digest = bundle.digest().clone();
        self.skip_known(history, &digest.to_string(), bundle.latest.as_deref())?;
        if let Some(left) = self.verify_backoff.wait_left(&digest.to_string())
            && !self.opts.force
        {
            return Err(Flow::Nothing(format!(
                "{} failed verification; tried again in {}s",
                bundle.latest.as_deref().unwrap_or("the bundle"),
                left.as_secs()
            )));
        }
        attempt.version = bundle.latest.clone();
        attempt.digest = Some(digest.to_string());
        let detected_in = attempt.since_last_step_ms();
        attempt
            .step_after(reporter, "detect", detected_in, |_| {
                Ok((
                    (),
                    format!(
                        "{} {digest}",
                        bundle
                            .latest
                            .as_deref()
                            .map_or("bundle".to_owned(), |v| format!("LATEST = {v},"))
                    ),
                ))
            })
            .map_err(Flow::Stop)?;
        self.store.clear_staging_except(digest.hex());
        let staging = self
            .store
            .staging_keep(digest.hex())
            .map_err(|e| Flow::Stop(Stop::failed(e.to_string())))?;
        let files = bundle.files();
        let retry = self.opts.retry;
        let source = self.source().map_err(Flow::Stop)?;
        let fetched = attempt.step(reporter, "fetch", |_| {
            fetch::fetch_files(
                source.as_mut(),
                &bundle.dir,
                &files,
                &staging,
                retry,
                reporter,
            )
            .map(|bytes| {
                (
                    (),
                    format!("{} files, {} fetched", files.len(), human_bytes(bytes)),
                )
            })
            .map_err(|e| Stop::failed(format!("fetch: {e}")))
        });
        if let Err(stop) = fetched {
            if self.source.as_ref().is_some() {
                self.source = None;
            }
            return Err(Flow::Stop(stop));
        }
        Ok(staging)
    }

    /// Skips a digest that is already serving, or that was rejected (unless `--force`).
    fn skip_known(&self, history: &History, key: &str, version: Option<&str>) -> Result<(), Flow> {
        let what = version.map_or(key.to_owned(), |v| format!("{v} ({key})"));
        if self.opts.force {
            return Ok(());
        }
        let current = self
            .current_keys(history)
            .map_err(|e| Flow::Stop(Stop::failed(e)))?;
        if current.iter().any(|k| k == key) {
            return Err(Flow::Nothing(format!("{what} is already serving")));
        }
        if let Some(reason) = history
            .rejected(key)
            .map_err(|e| Flow::Stop(Stop::failed(e.to_string())))?
        {
            return Err(Flow::Nothing(format!(
                "{what} was rejected before ({reason}); --force retries it"
            )));
        }
        Ok(())
    }

    /// The current bundle's digest and, when it came from a checkpoint, that checkpoint's hash.
    fn current_keys(&self, history: &History) -> Result<Vec<String>, String> {
        let Some(current) = self.store.current().map_err(|e| e.to_string())? else {
            return Ok(Vec::new());
        };
        let mut keys = vec![current.to_string()];
        let stack = history.promotions().map_err(|e| e.to_string())?;
        if let Some(top) = stack.first().filter(|p| p.digest == current.to_string()) {
            keys.extend(top.checkpoint_sha256.clone());
        }
        Ok(keys)
    }

    /// Detect (stable, new by SHA-256), fetch and convert for a checkpoint source.
    fn take_checkpoint(
        &mut self,
        attempt: &mut Attempt,
        reporter: &dyn Reporter,
        history: &History,
        ckpt: CheckpointCandidate,
    ) -> Result<(PathBuf, String), Flow> {
        if let Some((path, meta, sha)) = &self.seen_checkpoint
            && path == &ckpt.path
            && meta == &ckpt.meta
        {
            // Unchanged since the last look: only a forced attempt goes on.
            if !self.opts.force {
                self.skip_known(history, sha, Some(&ckpt.path))?;
            }
        }
        // Stable: unchanged across two looks `settle` apart, so a file still being written
        // is never taken.
        std::thread::sleep(self.opts.settle);
        let again = {
            let source = self.source().map_err(Flow::Stop)?;
            source.stat(&ckpt.path)
        }
        .map_err(|e| self.source_failed("detect", e))?;
        if again.as_ref() != Some(&ckpt.meta) {
            return Err(Flow::Nothing(format!(
                "{} is still changing; taken once it is stable",
                ckpt.path
            )));
        }
        let name = Path::new(&ckpt.path)
            .file_name()
            .map_or("checkpoint".into(), |n| n.to_string_lossy().into_owned());
        self.store.clear_staging_except("checkpoint");
        let staging = self
            .store
            .staging("checkpoint")
            .map_err(|e| Flow::Stop(Stop::failed(e.to_string())))?;
        let local = staging.join(&name);
        let retry = self.opts.retry;
        let source = self.source().map_err(Flow::Stop)?;
        let fetch_clock = Instant::now();
        let fetched = fetch::fetch_one(source.as_mut(), &ckpt.path, &local, retry, reporter);
        let fetch_ms = fetch_clock.elapsed().as_secs_f64() * 1e3;
        let bytes = match fetched {
            Ok(bytes) => bytes,
            Err(e) => return Err(self.source_failed("fetch", e)),
        };
        let sha = sha256_file(&local)
            .map(|h| format!("sha256:{}", to_hex(&h)))
            .map_err(|e| Flow::Stop(Stop::failed(format!("hash {}: {e}", local.display()))))?;
        self.seen_checkpoint = Some((ckpt.path.clone(), ckpt.meta.clone(), sha.clone()));
        self.skip_known(history, &sha, Some(&ckpt.path))?;
        attempt.checkpoint_sha256 = Some(sha.clone());
        // Detection (look, settle, look again, hash) wraps the fetch: each gets its share.
        let detected_in = attempt.since_last_step_ms() - fetch_ms;
        attempt
            .step_after(reporter, "detect", detected_in, |_| {
                Ok((
                    (),
                    format!(
                        "{} ({}), stable, {sha}",
                        ckpt.path,
                        human_bytes(ckpt.meta.size)
                    ),
                ))
            })
            .map_err(Flow::Stop)?;
        attempt
            .step_after(reporter, "fetch", fetch_ms, |_| {
                Ok(((), format!("{name}: {}", human_bytes(bytes))))
            })
            .map_err(Flow::Stop)?;
        let output = staging.join("bundle");
        let template = self.opts.convert.clone().unwrap_or_default();
        let limit = self.opts.convert_timeout;
        attempt
            .step(reporter, "convert", |_| {
                convert::run(&template, &local, &output, limit)
                    .map(|detail| ((), detail))
                    .map_err(Stop::failed)
            })
            .map_err(Flow::Stop)?;
        Ok((output, sha))
    }

    /// Verify (checksums, signature) and the gates (engine load, labels, golden, hold-out,
    /// latency) on the staged bundle.
    fn verify_and_gate(
        &mut self,
        attempt: &mut Attempt,
        reporter: &dyn Reporter,
        history: &History,
        staged: &Path,
    ) -> Result<Verified, Flow> {
        let verification = litecnn_bundle::verify(staged, self.opts.pubkey.as_ref());
        let report = &verification.report;
        let (verify_steps, gate_steps): (Vec<_>, Vec<_>) = report
            .steps
            .iter()
            .filter(|s| s.name != "directory name")
            .partition(|s| matches!(s.name, "checksums" | "signature"));
        let summary = |steps: &[&litecnn_bundle::Step]| {
            steps
                .iter()
                .map(|s| format!("{}: {}", s.name, s.detail))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let failure = report.first_failure().cloned();
        let verify_failed = failure
            .as_ref()
            .is_some_and(|f| matches!(f.name, "checksums" | "signature"));
        // `verify` ran every check at once: each step is charged what its checks took.
        let spent = |steps: &[&litecnn_bundle::Step]| steps.iter().map(|s| s.ms).sum::<f64>();
        attempt
            .step_after(reporter, "verify", spent(&verify_steps), |_| {
                if verify_failed {
                    let f = failure.as_ref().expect("checked above");
                    // May be a transfer fault: retried on the next poll, not rejected for good.
                    Err(Stop::Rejected {
                        reason: format!("{}: {}", f.name, f.detail),
                        permanent: false,
                    })
                } else {
                    Ok(((), summary(&verify_steps)))
                }
            })
            .map_err(|stop| {
                let _ = std::fs::remove_dir_all(staged);
                Flow::Stop(stop)
            })?;
        attempt.model_name = report.name.clone();
        if attempt.version.is_none() {
            attempt.version = report.version.clone();
        }
        if attempt.digest.is_none() {
            attempt.digest = report.digest.as_ref().map(|d| d.to_string());
        }
        for step in &gate_steps {
            attempt.gate(step.name, json!({"ok": step.ok, "detail": step.detail}));
        }
        let expected_version = attempt.version.clone();
        let verified = attempt
            .step_after(reporter, "gate", spent(&gate_steps), |attempt| {
                let verified = verification
                    .result
                    .map_err(|e| Stop::rejected(format!("{}: {e}", e.step())))?;
                let manifest = verified.bundle.manifest();
                if let Some(expected) = expected_version.filter(|v| v != &manifest.version) {
                    return Err(Stop::rejected(format!(
                        "LATEST names {expected}, but that bundle's manifest says version {}",
                        manifest.version
                    )));
                }
                let mut details = vec![summary(&gate_steps)];
                if let Some(holdout) = &self.holdout {
                    details.push(gate::holdout(
                        attempt,
                        holdout,
                        self.opts.max_accuracy_drop,
                        (&verified.bundle, &verified.model),
                        &self.store,
                        history,
                    )?);
                }
                if let Some(limit) = self.opts.max_latency_ms {
                    details.push(gate::latency(
                        attempt,
                        &verified.bundle,
                        &verified.model,
                        limit,
                    )?);
                }
                Ok((verified, details.join("; ")))
            })
            .map_err(Flow::Stop);
        if verified.is_err() {
            let _ = std::fs::remove_dir_all(staged);
        }
        verified
    }

    /// Moves the bundle into the store, switches `current`, records the promotion, prunes.
    fn promote(
        &mut self,
        attempt: &mut Attempt,
        reporter: &dyn Reporter,
        history: &History,
        staged: &Path,
        verified: Verified,
        checkpoint: Option<String>,
    ) -> Result<(), Flow> {
        let digest: Digest = verified.bundle.digest().clone();
        let version = verified.bundle.manifest().version.clone();
        drop(verified);
        let store = self.store.clone();
        let keep = self.opts.keep;
        let source = self.opts.source.clone();
        let force = self.opts.force;
        attempt
            .step(reporter, "promote", |_| {
                let failed = |e: &dyn std::fmt::Display| Stop::failed(format!("promote: {e}"));
                store.install(staged, &digest).map_err(|e| failed(&e))?;
                store.set_current(&digest).map_err(|e| failed(&e))?;
                history
                    .push_promotion(&Promotion {
                        id: 0,
                        digest: digest.to_string(),
                        version: version.clone(),
                        promoted_at: rfc3339(std::time::SystemTime::now()),
                        source,
                        checkpoint_sha256: checkpoint.clone(),
                        attempt_id: None,
                    })
                    .map_err(|e| failed(&e))?;
                if force {
                    let _ = history.unreject(&digest.to_string());
                    if let Some(sha) = &checkpoint {
                        let _ = history.unreject(sha);
                    }
                }
                let pruned = prune(&store, history, keep);
                Ok(((), format!("current = {digest} ({version}){pruned}")))
            })
            .map_err(Flow::Stop)?;
        Ok(())
    }
}

/// Keeps the newest `keep` promotions' bundles (the current one included); retires older
/// promotions and removes every other bundle directory.
pub(crate) fn prune(store: &Store, history: &History, keep: usize) -> String {
    let Ok(stack) = history.promotions() else {
        return String::new();
    };
    let mut kept: Vec<Digest> = Vec::new();
    for p in &stack {
        let Some(digest) = Digest::parse(&p.digest) else {
            continue;
        };
        if kept.contains(&digest) {
            continue;
        }
        if kept.len() < keep && store.has_bundle(&digest) {
            kept.push(digest);
        } else {
            let _ = history.retire_promotion(p.id);
        }
    }
    // Promotions of a digest already kept further up stay: rollback skips duplicates.
    let problems = store.prune(&kept);
    if problems.is_empty() {
        String::new()
    } else {
        format!("; {}", problems.join("; "))
    }
}

/// Why `run` stopped without promoting.
enum Flow {
    Nothing(String),
    Stop(Stop),
}
