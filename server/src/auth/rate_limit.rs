//! Counting failures (failed sign-ins) per key over a sliding window, and the attempts still in flight.
//!
//! Written by hand rather than with `governor`: we need to ask "is this key limited?" before spending an
//! argon2 verification, without that question itself using up an allowance, and to count only failures so
//! that successful sign-ins are never slowed. A map of recent failure times does exactly that.
//!
//! An attempt in flight counts too ([`FailureLimiter::reserve`]): otherwise 200 wrong sign-ins sent at once
//! all pass the check before the first one fails, and all of them are hashed.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Past this many keys, expired entries are swept on insert so memory stays bounded.
const SWEEP_THRESHOLD: usize = 10_000;

/// Allows at most `max` failures per key within `window`; `max == 0` turns the limit off.
pub struct FailureLimiter {
    max: u32,
    window: Duration,
    /// Per key: failure times, oldest first (only times within the window are meaningful), and the
    /// attempts reserved and not yet settled.
    failures: Mutex<HashMap<String, Entry>>,
}

#[derive(Default)]
struct Entry {
    times: VecDeque<Instant>,
    in_flight: u32,
}

/// An attempt counted against its key until it is settled: [`Attempt::failed`] turns it into a failure;
/// dropping it (success, or an attempt that never reached a verdict) just frees its place.
#[must_use = "an attempt holds its place in the limit until it is settled or dropped"]
pub struct Attempt<'a> {
    limiter: &'a FailureLimiter,
    /// `None` when the limiter is off.
    key: Option<String>,
}

impl Attempt<'_> {
    /// The attempt failed: it stays counted, as a failure within the window.
    pub fn failed(mut self) {
        if let Some(key) = self.key.take() {
            self.limiter.settle(&key, true);
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.limiter.settle(&key, false);
        }
    }
}

impl FailureLimiter {
    /// A limiter allowing `max` failures per `window`.
    pub fn new(max: u32, window: Duration) -> FailureLimiter {
        FailureLimiter { max, window, failures: Mutex::new(HashMap::new()) }
    }

    /// How long until `key` may try again, if it is limited now (failures and attempts in flight counted).
    pub fn retry_after(&self, key: &str) -> Option<Duration> {
        if self.max == 0 {
            return None;
        }
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.get_mut(key)?;
        self.expire(&mut entry.times, now);
        self.wait(entry, now)
    }

    /// Reserves a place for one attempt by `key`, or says how long to wait. The attempt counts against the
    /// limit from now on, so parallel attempts cannot outrun it.
    pub fn reserve(&self, key: &str) -> Result<Attempt<'_>, Duration> {
        if self.max == 0 {
            return Ok(Attempt { limiter: self, key: None });
        }
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        self.sweep(&mut map, now);
        let entry = map.entry(key.to_owned()).or_default();
        self.expire(&mut entry.times, now);
        if let Some(wait) = self.wait(entry, now) {
            return Err(wait);
        }
        entry.in_flight += 1;
        Ok(Attempt { limiter: self, key: Some(key.to_owned()) })
    }

    /// Counts one failure for `key`.
    pub fn record_failure(&self, key: &str) {
        if self.max == 0 {
            return;
        }
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        self.sweep(&mut map, now);
        let entry = map.entry(key.to_owned()).or_default();
        self.push_failure(entry, now);
    }

    /// Forgets `key`'s failures (after it proved itself); attempts in flight stay counted.
    pub fn clear(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = map.get_mut(key) {
            entry.times.clear();
            if entry.in_flight == 0 {
                map.remove(key);
            }
        }
    }

    fn settle(&self, key: &str, failed: bool) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let Some(entry) = map.get_mut(key) else { return };
        entry.in_flight = entry.in_flight.saturating_sub(1);
        if failed {
            self.push_failure(entry, now);
        } else if entry.in_flight == 0 && entry.times.is_empty() {
            map.remove(key);
        }
    }

    fn wait(&self, entry: &Entry, now: Instant) -> Option<Duration> {
        let max = self.max as usize;
        if entry.times.len() + (entry.in_flight as usize) < max {
            return None;
        }
        if entry.times.len() < max {
            // Full with attempts in flight: they settle within a hash or a queue's wait.
            return Some(Duration::from_secs(1));
        }
        // The key is free again when the oldest failure still counted leaves the window.
        let oldest = entry.times.get(entry.times.len() - max).copied()?;
        Some((oldest + self.window).saturating_duration_since(now).max(Duration::from_secs(1)))
    }

    fn push_failure(&self, entry: &mut Entry, now: Instant) {
        self.expire(&mut entry.times, now);
        entry.times.push_back(now);
        // Only the newest `max` failures can ever matter.
        while entry.times.len() > self.max as usize {
            entry.times.pop_front();
        }
    }

    /// Past [`SWEEP_THRESHOLD`] keys, drops those with nothing in flight and no failure in the window.
    fn sweep(&self, map: &mut HashMap<String, Entry>, now: Instant) {
        if map.len() >= SWEEP_THRESHOLD {
            map.retain(|_, e| e.in_flight > 0 || e.times.back().is_some_and(|t| now.duration_since(*t) < self.window));
        }
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
    fn attempts_in_flight_count_until_settled() {
        let limiter = FailureLimiter::new(3, Duration::from_secs(60));
        let first = limiter.reserve("a").unwrap();
        let second = limiter.reserve("a").unwrap();
        let third = limiter.reserve("a").unwrap();
        assert!(limiter.reserve("a").is_err(), "three in flight fill the limit");
        assert!(limiter.reserve("b").is_ok());
        drop(first);
        let fourth = limiter.reserve("a").unwrap();
        second.failed();
        third.failed();
        drop(fourth);
        // Two failures remain counted; one place is free.
        let fifth = limiter.reserve("a").unwrap();
        fifth.failed();
        let wait = limiter.reserve("a").err().unwrap();
        assert!(wait > Duration::from_secs(55));
    }

    #[test]
    fn zero_means_unlimited() {
        let limiter = FailureLimiter::new(0, Duration::from_secs(60));
        for _ in 0..100 {
            limiter.record_failure("k");
            limiter.reserve("k").unwrap().failed();
        }
        assert!(limiter.retry_after("k").is_none());
    }
}
