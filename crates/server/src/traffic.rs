//! The last minutes of inference traffic, for the dashboard's live charts (`GET /v1/traffic`):
//! a ring of fixed-length intervals, each with its request count by status class and a
//! log-bucketed latency histogram from which p50/p95/p99 are read. It lives in memory only
//! (no time-series database on an edge box) and costs a few kilobytes.
//!
//! Intervals roll over lazily when a request is recorded or the ring is read, so no
//! background task runs and an idle server keeps no timer.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Two seconds per point, five minutes in all: fine enough to see a swap, small enough to send
/// on every refresh.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
pub const DEFAULT_POINTS: usize = 150;

/// Latency buckets grow by 10 % from 10 µs: 200 of them reach past 30 minutes, so every
/// request fits and a percentile is off by at most 10 %.
const BUCKETS: usize = 200;
const FIRST_BUCKET_S: f64 = 1e-5;
const GROWTH: f64 = 1.1;

#[derive(Clone)]
struct Interval {
    ok: u64,
    client_errors: u64,
    server_errors: u64,
    latency: [u32; BUCKETS],
}

impl Interval {
    const EMPTY: Interval = Interval {
        ok: 0,
        client_errors: 0,
        server_errors: 0,
        latency: [0; BUCKETS],
    };

    fn requests(&self) -> u64 {
        self.ok + self.client_errors + self.server_errors
    }

    /// The upper edge of the bucket holding quantile `q`, in milliseconds.
    fn quantile_ms(&self, q: f64) -> Option<f64> {
        let total: u64 = self.latency.iter().map(|&n| u64::from(n)).sum();
        if total == 0 {
            return None;
        }
        let rank = (q * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (i, &n) in self.latency.iter().enumerate() {
            seen += u64::from(n);
            if seen >= rank {
                return Some(upper_edge_s(i) * 1e3);
            }
        }
        None
    }
}

fn bucket_of(seconds: f64) -> usize {
    if seconds <= FIRST_BUCKET_S {
        return 0;
    }
    let i = ((seconds / FIRST_BUCKET_S).ln() / GROWTH.ln()).ceil() as usize;
    i.min(BUCKETS - 1)
}

fn upper_edge_s(bucket: usize) -> f64 {
    FIRST_BUCKET_S * GROWTH.powi(bucket as i32)
}

/// One point of `GET /v1/traffic`.
#[derive(Debug, Serialize, PartialEq)]
pub struct Sample {
    /// Start of the interval, Unix milliseconds.
    pub t: u64,
    pub requests: u64,
    pub rps: f64,
    /// 4xx answers (bad images, rate limits) and 5xx answers (overloaded, not ready, internal).
    pub client_errors: u64,
    pub server_errors: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// The body of `GET /v1/traffic`.
#[derive(Debug, Serialize)]
pub struct Traffic {
    pub interval_s: f64,
    /// Oldest first; the last one is the interval in progress.
    pub samples: Vec<Sample>,
}

struct Ring {
    /// Wall-clock and monotonic time of the start of interval number 0.
    epoch_unix_ms: u64,
    epoch: Instant,
    /// Number of the newest interval in `intervals`.
    newest: u64,
    intervals: VecDeque<Interval>,
}

pub struct TrafficRing {
    interval: Duration,
    points: usize,
    ring: Mutex<Ring>,
}

impl TrafficRing {
    pub fn new(interval: Duration, points: usize) -> TrafficRing {
        let epoch_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut intervals = VecDeque::with_capacity(points.max(1));
        intervals.push_back(Interval::EMPTY);
        TrafficRing {
            interval,
            points: points.max(1),
            ring: Mutex::new(Ring {
                epoch_unix_ms,
                epoch: Instant::now(),
                newest: 0,
                intervals,
            }),
        }
    }

    /// Counts one answered inference request.
    pub fn record(&self, status: u16, elapsed: Duration) {
        self.record_at(Instant::now(), status, elapsed);
    }

    fn record_at(&self, now: Instant, status: u16, elapsed: Duration) {
        let mut ring = self.lock();
        self.roll(&mut ring, now);
        let Some(current) = ring.intervals.back_mut() else {
            return;
        };
        match status {
            500.. => current.server_errors += 1,
            400..=499 => current.client_errors += 1,
            _ => current.ok += 1,
        }
        let bucket = &mut current.latency[bucket_of(elapsed.as_secs_f64())];
        *bucket = bucket.saturating_add(1);
    }

    /// Every interval of the ring, the idle ones included, oldest first.
    pub fn snapshot(&self) -> Traffic {
        self.snapshot_at(Instant::now())
    }

    fn snapshot_at(&self, now: Instant) -> Traffic {
        let mut ring = self.lock();
        self.roll(&mut ring, now);
        let interval_s = self.interval.as_secs_f64();
        let interval_ms = self.interval.as_millis() as u64;
        let first = ring.newest + 1 - ring.intervals.len() as u64;
        let samples = ring
            .intervals
            .iter()
            .enumerate()
            .map(|(i, iv)| Sample {
                t: ring.epoch_unix_ms + (first + i as u64) * interval_ms,
                requests: iv.requests(),
                rps: iv.requests() as f64 / interval_s,
                client_errors: iv.client_errors,
                server_errors: iv.server_errors,
                p50_ms: iv.quantile_ms(0.50),
                p95_ms: iv.quantile_ms(0.95),
                p99_ms: iv.quantile_ms(0.99),
            })
            .collect();
        Traffic {
            interval_s,
            samples,
        }
    }

    /// Starts the intervals between the newest one and `now`, dropping the oldest past capacity.
    fn roll(&self, ring: &mut Ring, now: Instant) {
        let number = (now.saturating_duration_since(ring.epoch).as_nanos()
            / self.interval.as_nanos().max(1)) as u64;
        if number <= ring.newest {
            return;
        }
        let new = (number - ring.newest).min(self.points as u64);
        for _ in 0..new {
            if ring.intervals.len() == self.points {
                ring.intervals.pop_front();
            }
            ring.intervals.push_back(Interval::EMPTY);
        }
        ring.newest = number;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        // A panic while holding the lock leaves only counters behind: keep using them.
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for TrafficRing {
    fn default() -> Self {
        TrafficRing::new(DEFAULT_INTERVAL, DEFAULT_POINTS)
    }
}

/// The routes whose requests are traffic: inference, not the dashboard polling its own data.
pub fn is_inference(route: &str) -> bool {
    route == "/predict" || route.ends_with("/infer")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn counts_by_status_class_and_reads_percentiles() {
        let ring = TrafficRing::new(SECOND, 10);
        let t0 = ring.lock().epoch;
        for ms in 1..=100 {
            ring.record_at(t0, 200, Duration::from_millis(ms));
        }
        ring.record_at(t0, 400, Duration::from_millis(1));
        ring.record_at(t0, 503, Duration::from_millis(1));
        let traffic = ring.snapshot_at(t0);
        let s = &traffic.samples[0];
        assert_eq!((s.requests, s.client_errors, s.server_errors), (102, 1, 1));
        // Buckets are 10 % wide: a quantile is its true value or at most 10 % above it.
        let p50 = s.p50_ms.unwrap();
        assert!((50.0..=55.0).contains(&p50), "p50 {p50}");
        let p99 = s.p99_ms.unwrap();
        assert!((98.0..=110.0).contains(&p99), "p99 {p99}");
        assert!(s.p50_ms < s.p95_ms && s.p95_ms <= s.p99_ms);
    }

    #[test]
    fn idle_intervals_are_zero_and_old_ones_fall_off() {
        let ring = TrafficRing::new(SECOND, 4);
        let t0 = ring.lock().epoch;
        ring.record_at(t0, 200, Duration::from_millis(3));
        ring.record_at(t0 + 2 * SECOND, 200, Duration::from_millis(3));
        let traffic = ring.snapshot_at(t0 + 2 * SECOND);
        let counts: Vec<u64> = traffic.samples.iter().map(|s| s.requests).collect();
        assert_eq!(counts, [1, 0, 1]);
        assert_eq!(traffic.samples[1].p50_ms, None);
        assert_eq!(traffic.samples[1].t - traffic.samples[0].t, 1000);

        let later = ring.snapshot_at(t0 + 5 * SECOND);
        let counts: Vec<u64> = later.samples.iter().map(|s| s.requests).collect();
        assert_eq!(counts, [1, 0, 0, 0], "capacity 4, the first interval gone");
        let far = ring.snapshot_at(t0 + 1000 * SECOND);
        assert_eq!(far.samples.len(), 4);
        assert!(far.samples.iter().all(|s| s.requests == 0));
    }

    #[test]
    fn extreme_latencies_land_in_the_edge_buckets() {
        assert_eq!(bucket_of(0.0), 0);
        assert_eq!(bucket_of(1e9), BUCKETS - 1);
        for seconds in [2e-5, 1e-3, 0.5, 30.0] {
            let b = bucket_of(seconds);
            assert!(upper_edge_s(b) >= seconds * 0.999_999 && upper_edge_s(b - 1) < seconds);
        }
    }

    #[test]
    fn only_inference_routes_are_traffic() {
        assert!(is_inference("/predict"));
        assert!(is_inference("/v2/models/{name}/infer"));
        assert!(!is_inference("/v1/traffic") && !is_inference("/") && !is_inference("/metrics"));
    }
}
