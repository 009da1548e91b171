//! `--rate-limit N` (DESIGN §9): at most N requests per second per client IP, with bursts of up
//! to N, answered beyond that with 429 `rate_limited` and a `Retry-After`. `/health`, `/ready`
//! and `/v2/health/*` are never limited: probes must not be starved by a busy client.
//!
//! A token bucket per peer address (the TCP peer, not `X-Forwarded-For`, which any client can
//! forge). Memory is bounded: at [`MAX_CLIENTS`] tracked addresses, buckets that have refilled
//! completely are dropped (they are indistinguishable from new ones), and if every bucket is
//! still draining the table is cleared — under such a flood of addresses per-IP limits mean
//! little, and forgetting is better than growing without bound.
//!
//! Written here rather than taken from `tower_governor`: about sixty lines, the 429 comes out of
//! the same [`ApiError`] table as every other error, and no extra crates to build.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::is_open;
use crate::error::ApiError;
use crate::state::AppState;

/// Most client addresses tracked at once.
pub const MAX_CLIENTS: usize = 65_536;

#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    clients: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// `per_second` ≥ 1 (checked by the configuration).
    pub fn new(per_second: u32) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(per_second),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `client`'s bucket, or says how long until one is there.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if clients.len() >= MAX_CLIENTS && !clients.contains_key(&client) {
            self.forget_idle(&mut clients, now);
        }
        let full = Bucket {
            tokens: self.per_second,
            updated: now,
        };
        let bucket = clients.entry(client).or_insert(full);
        bucket.tokens = self.refilled(bucket, now);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }

    fn refilled(&self, bucket: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        (bucket.tokens + elapsed * self.per_second).min(self.per_second)
    }

    fn forget_idle(&self, clients: &mut HashMap<IpAddr, Bucket>, now: Instant) {
        clients.retain(|_, bucket| self.refilled(bucket, now) < self.per_second);
        if clients.len() >= MAX_CLIENTS {
            clients.clear();
        }
    }
}

/// The middleware. Without `--rate-limit`, or for a request with no peer address (a router
/// driven without a socket), it lets everything through.
pub async fn limit_rate(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let (Some(limiter), Some(peer)) = (&state.rate_limiter, peer)
        && !is_open(request.uri().path())
    {
        limiter
            .check(peer, Instant::now())
            .map_err(ApiError::rate_limited)?;
    }
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn a_burst_of_n_passes_then_one_request_per_interval() {
        let limiter = RateLimiter::new(4);
        let t0 = Instant::now();
        for i in 0..4 {
            assert_eq!(limiter.check(A, t0), Ok(()), "request {i} of the burst");
        }
        let wait = limiter.check(A, t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(250));
        // Another client has its own bucket.
        assert_eq!(limiter.check(B, t0), Ok(()));
        assert_eq!(limiter.check(A, t0 + Duration::from_millis(250)), Ok(()));
        assert!(limiter.check(A, t0 + Duration::from_millis(260)).is_err());
        // After a full second the whole burst is back, and no more.
        let later = t0 + Duration::from_secs(10);
        for _ in 0..4 {
            assert_eq!(limiter.check(A, later), Ok(()));
        }
        assert!(limiter.check(A, later).is_err());
    }

    #[test]
    fn memory_stays_bounded_under_many_addresses() {
        let limiter = RateLimiter::new(1);
        let tracked = || limiter.clients.lock().unwrap().len();
        let fill = |at: Instant, from: u32| {
            for i in from..MAX_CLIENTS as u32 {
                let ip = IpAddr::V6(std::net::Ipv6Addr::from(u128::from(i)));
                assert_eq!(limiter.check(ip, at), Ok(()));
            }
        };
        let t0 = Instant::now();
        fill(t0, 0);
        assert_eq!(tracked(), MAX_CLIENTS);
        // Refilled buckets are dropped first: they hold nothing a new bucket would not.
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(limiter.check(A, t1), Ok(()));
        assert_eq!(tracked(), 1);
        // Every bucket still draining: the table is forgotten rather than grown.
        fill(t1, 1);
        assert_eq!(tracked(), MAX_CLIENTS);
        assert_eq!(limiter.check(B, t1), Ok(()));
        assert_eq!(tracked(), 1);
    }
}
