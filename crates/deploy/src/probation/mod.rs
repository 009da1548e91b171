//! Step 7, probation (DESIGN §4.1, §9): after a promotion, the live model is watched for
//! `--probation DUR`; on a breach the deployer rolls back to the previous promotion and marks
//! the digest rejected.
//!
//! The figures are the serving process's own `/metrics` ([`scrape`]): `serve --watch` reads
//! them in process, a standalone `deploy`/`watch` over HTTP from `--server URL` ([`Live`]).
//! The window opens once the server answers with the new digest (so requests served by the
//! old model never count) and the judgement is on what happened since:
//!
//! - **errors**: inference answers that are the server's fault (5xx except 503, which is load)
//!   above [`MAX_ERROR_RATE`] of all inference answers in the window;
//! - **latency**, with `--max-latency-ms N`: the p99 of `/predict` as the server measured it
//!   (body read, queue, decode, preprocess, inference) above N, judged once at least
//!   [`MIN_TIMED`] requests were timed (the p99 of a handful is one slow outlier).
//!
//! A server that does not start serving the candidate within [`SWAP_TIMEOUT`], or whose
//! metrics cannot be read, is a breach too: a model nobody can observe is not trusted.

pub mod scrape;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use scrape::Snapshot;

/// Errors above this fraction of the window's inference answers are a breach.
pub const MAX_ERROR_RATE: f64 = 0.01;
/// The p99 latency is judged once this many `/predict` requests were timed.
pub const MIN_TIMED: u64 = 10;
/// How long the server may take to load the promoted bundle and serve it.
pub const SWAP_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the metrics are read during the window.
const LOOK_EVERY: Duration = Duration::from_millis(250);

/// Where the serving process's metrics come from.
#[derive(Clone)]
pub enum Live {
    /// A server's base URL (`--server http://127.0.0.1:8891`): `GET <url>/metrics`.
    Http(String),
    /// The exposition text of this very process (`serve --watch`).
    InProcess(Arc<dyn Fn() -> String + Send + Sync>),
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Live::Http(url) => write!(f, "Live::Http({url})"),
            Live::InProcess(_) => write!(f, "Live::InProcess"),
        }
    }
}

impl Live {
    fn read(&self) -> Result<Snapshot, String> {
        match self {
            Live::InProcess(render) => Ok(scrape::parse(&render())),
            Live::Http(base) => {
                crate::tls::ensure_provider();
                let url = format!("{}/metrics", base.trim_end_matches('/'));
                let text = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .and_then(|c| c.get(&url).send())
                    .and_then(|r| r.error_for_status())
                    .and_then(|r| r.text())
                    .map_err(|e| format!("cannot read {url}: {e}"))?;
                Ok(scrape::parse(&text))
            }
        }
    }
}

/// What probation watches and for how long.
#[derive(Clone, Debug)]
pub struct Probation {
    pub duration: Duration,
    pub live: Live,
    /// `--max-latency-ms`: the live `/predict` p99 limit.
    pub max_latency_ms: Option<f64>,
}

/// How a probation ended.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Passed (or ended early because something else replaced the model); the detail line.
    Passed(String),
    /// Breached: why, with the figures.
    Breached(String),
}

impl Probation {
    /// Watches the server serving `digest` for the probation period.
    pub fn watch(&self, digest: &str) -> Verdict {
        let start = match self.wait_for_swap(digest) {
            Ok(snapshot) => snapshot,
            Err(why) => return Verdict::Breached(why),
        };
        let opened = Instant::now();
        let mut window = Snapshot::default();
        while opened.elapsed() < self.duration {
            std::thread::sleep(LOOK_EVERY.min(self.duration.saturating_sub(opened.elapsed())));
            let now = match self.live.read() {
                Ok(now) => now,
                Err(why) => return Verdict::Breached(why),
            };
            if now.serving.as_deref() != Some(digest) {
                return Verdict::Passed(format!(
                    "ended early: the server now serves {}",
                    now.serving.as_deref().unwrap_or("no model")
                ));
            }
            window = now.since(&start);
            if let Some(breach) = self.breach(&window) {
                return Verdict::Breached(breach);
            }
        }
        Verdict::Passed(self.summary(&window))
    }

    /// The first snapshot in which the server serves `digest`.
    fn wait_for_swap(&self, digest: &str) -> Result<Snapshot, String> {
        let deadline = Instant::now() + SWAP_TIMEOUT;
        loop {
            let now = self.live.read()?;
            if now.serving.as_deref() == Some(digest) {
                return Ok(now);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the server did not serve {digest} within {}s (it serves {})",
                    SWAP_TIMEOUT.as_secs(),
                    now.serving.as_deref().unwrap_or("no model")
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Why `window` breaches the limits, if it does.
    pub fn breach(&self, window: &Snapshot) -> Option<String> {
        if window.errors > 0 && window.errors as f64 > MAX_ERROR_RATE * window.requests as f64 {
            return Some(format!(
                "{} of {} inference requests failed on the server (limit {}%)",
                window.errors,
                window.requests,
                MAX_ERROR_RATE * 100.0
            ));
        }
        let limit = self.max_latency_ms?;
        let p99 = window.quantile_ms(0.99)?;
        (window.timed() >= MIN_TIMED && p99 > limit).then(|| {
            format!(
                "/predict p99 {p99:.1} ms > --max-latency-ms {limit} over {} requests",
                window.timed()
            )
        })
    }

    fn summary(&self, w: &Snapshot) -> String {
        let p99 = w
            .quantile_ms(0.99)
            .map_or("no /predict timed".to_owned(), |p| {
                format!("/predict p99 {p:.1} ms")
            });
        let judged = match self.max_latency_ms {
            Some(_) if w.timed() < MIN_TIMED => {
                format!(" (latency not judged: fewer than {MIN_TIMED} timed)")
            }
            _ => String::new(),
        };
        format!(
            "{} inference requests in {:.0}s, {} server errors, {p99}{judged}",
            w.requests,
            self.duration.as_secs_f64(),
            w.errors
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probation(limit: Option<f64>) -> Probation {
        Probation {
            duration: Duration::from_secs(1),
            live: Live::Http("http://127.0.0.1:9".into()),
            max_latency_ms: limit,
        }
    }

    fn window(requests: u64, errors: u64, slow: u64) -> Snapshot {
        // `requests - slow` answered within 1 ms, `slow` within 1 s.
        Snapshot {
            serving: None,
            requests,
            errors,
            buckets: vec![
                (0.001, requests - slow),
                (1.0, requests),
                (f64::INFINITY, requests),
            ],
        }
    }

    #[test]
    fn errors_breach_beyond_a_small_fraction() {
        let p = probation(None);
        assert_eq!(p.breach(&window(200, 2, 0)), None, "1% is allowed");
        let why = p.breach(&window(200, 3, 0)).unwrap();
        assert!(why.contains("3 of 200"), "{why}");
        assert!(p.breach(&window(1, 1, 0)).is_some());
    }

    #[test]
    fn latency_breaches_only_with_a_limit_and_enough_requests() {
        assert_eq!(probation(None).breach(&window(100, 0, 100)), None);
        assert_eq!(probation(Some(5.0)).breach(&window(100, 0, 0)), None);
        assert_eq!(probation(Some(5.0)).breach(&window(9, 0, 9)), None);
        let why = probation(Some(5.0)).breach(&window(10, 0, 10)).unwrap();
        assert!(
            why.contains("p99") && why.contains("> --max-latency-ms 5"),
            "{why}"
        );
    }

    #[test]
    fn an_unreachable_server_is_a_breach() {
        let Verdict::Breached(why) = probation(None).watch("sha256:ab") else {
            panic!("expected a breach");
        };
        assert!(
            why.contains("cannot read http://127.0.0.1:9/metrics"),
            "{why}"
        );
    }
}
