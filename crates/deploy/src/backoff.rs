//! A bundle that fails verification is retried with backoff (DESIGN §9): the failure may be a
//! transfer fault, so it is not rejected for good, but a watcher polling every second must not
//! fetch and record the same corrupt bundle every second either. In memory: a restarted
//! deployer tries once more at once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The wait after the first failure; it doubles with each further one.
pub const FIRST_WAIT: Duration = Duration::from_secs(30);
pub const MAX_WAIT: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Default)]
pub struct VerifyBackoff {
    /// Digest → (failures so far, when it may be tried again).
    entries: HashMap<String, (u32, Instant)>,
}

impl VerifyBackoff {
    /// Records one more verify failure of `digest`.
    pub fn failed(&mut self, digest: &str) {
        let (failures, next) = self
            .entries
            .entry(digest.to_owned())
            .or_insert((0, Instant::now()));
        *failures += 1;
        let wait = FIRST_WAIT.saturating_mul(1 << (*failures - 1).min(10));
        *next = Instant::now() + wait.min(MAX_WAIT);
    }

    /// How long `digest` must still wait, if it failed before.
    pub fn wait_left(&self, digest: &str) -> Option<Duration> {
        let (_, next) = self.entries.get(digest)?;
        Some(next.saturating_duration_since(Instant::now())).filter(|d| !d.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_and_other_digests_are_free() {
        let mut b = VerifyBackoff::default();
        assert_eq!(b.wait_left("a"), None);
        b.failed("a");
        let first = b.wait_left("a").unwrap();
        assert!(first <= FIRST_WAIT && first > FIRST_WAIT / 2);
        b.failed("a");
        assert!(b.wait_left("a").unwrap() > FIRST_WAIT);
        assert_eq!(b.wait_left("b"), None);
    }
}
