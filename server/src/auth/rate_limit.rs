//! Counting failures (failed sign-ins) per key over a sliding window.
//!
//! Written by hand rather than with `governor`: we need to ask "is this key limited?" before spending an
//! argon2 verification, without that question itself using up an allowance, and to count only failures so
//! that successful sign-ins are never slowed. A map of recent failure times does exactly that.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Past this many keys, expired entries are swept on insert so memory stays bounded.
const SWEEP_THRESHOLD: usize = 10_000;

/// Allows at most `max` failures per key within `window`; `max == 0` turns the limit off.
pub struct FailureLimiter {
    max: u32,
    window: Duration,
    /// Failure times per key, oldest first; only times within the window are meaningful.
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl FailureLimiter {
    /// A limiter allowing `max` failures per `window`.
    pub fn new(max: u32, window: Duration) -> FailureLimiter {
        FailureLimiter { max, window, failures: Mutex::new(HashMap::new()) }
    }

    /// How long until `key` may try again, if it is limited now.
    pub fn retry_after(&self, key: &str) -> Option<Duration> {
        if self.max == 0 {
            return None;
        }
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let times = map.get_mut(key)?;
        self.expire(times, now);
        if times.len() < self.max as usize {
            return None;
        }
        // The key is free again when the oldest failure still counted leaves the window.
        let oldest = times.get(times.len() - self.max as usize).copied()?;
        Some((oldest + self.window).saturating_duration_since(now).max(Duration::from_secs(1)))
    }

    /// Counts one failure for `key`.
    pub fn record_failure(&self, key: &str) {
        if self.max == 0 {
            return;
        }
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= SWEEP_THRESHOLD {
            map.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < self.window));
        }
        let times = map.entry(key.to_owned()).or_default();
        self.expire(times, now);
        times.push_back(now);
        // Only the newest `max` failures can ever matter.
        while times.len() > self.max as usize {
            times.pop_front();
        }
    }

    /// Forgets `key`'s failures (after it proved itself).
    pub fn clear(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    fn expire(&self, times: &mut VecDeque<Instant>, now: Instant) {
        while times.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            times.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_after_max_failures_and_only_that_key() {
        let limiter = FailureLimiter::new(3, Duration::from_secs(60));
        for _ in 0..2 {
            limiter.record_failure("a");
            assert!(limiter.retry_after("a").is_none());
        }
        limiter.record_failure("a");
        let wait = limiter.retry_after("a").unwrap();
        assert!(wait > Duration::from_secs(55) && wait <= Duration::from_secs(60));
        assert!(limiter.retry_after("b").is_none());
        limiter.clear("a");
        assert!(limiter.retry_after("a").is_none());
    }

    #[test]
    fn failures_leave_the_window() {
        let limiter = FailureLimiter::new(1, Duration::from_millis(30));
        limiter.record_failure("k");
        assert!(limiter.retry_after("k").is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(limiter.retry_after("k").is_none());
    }

    #[test]
    fn zero_means_unlimited() {
        let limiter = FailureLimiter::new(0, Duration::from_secs(60));
        for _ in 0..100 {
            limiter.record_failure("k");
        }
        assert!(limiter.retry_after("k").is_none());
    }
}
