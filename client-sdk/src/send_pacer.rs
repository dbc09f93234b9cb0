//! How fast the outbox may send: the server's per-socket allowance, modelled on the client's side so that an
//! outbox flushed after days offline is admitted frame after frame instead of earning refusals.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, MonotonicClock};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

/// `send` frames the outbox allows itself per second on one socket: the server's default allowance
/// (`HALLWAY_WS_SENDS_PER_SEC`, 10, in `server/src/config.rs`; "Limits and closing" in `docs/protocol.md`).
/// A server configured lower answers `rate_limited`, and the outbox then waits as told.
const OUTBOX_SENDS_PER_SEC: u32 = 10;
/// The burst the outbox allows itself: the server's default (`HALLWAY_WS_SEND_BURST`, 30) less one second of
/// sends, so that frames the network holds back and then delivers together still fit in the server's bucket.
const OUTBOX_SEND_BURST: u32 = 20;

/// The token bucket the outbox paces itself with, on a clock that a unit test can drive.
type Allowance<C> = RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The slowest pace the outbox falls back to: the server's smallest allowance is one send a second.
const SLOWEST_SEND_INTERVAL: Duration = Duration::from_secs(1);

/// Keeps the outbox's `send` frames within the server's per-socket allowance, so that an outbox flushed after
/// days offline is admitted frame after frame instead of earning `rate_limited` refusals: the server closes a
/// socket (1008) that earns more than 30 errors a minute, refusals of sends that came before the announced
/// wait included. One per socket, as the server's bucket is.
///
/// Waiting `retry_after_ms` alone is not enough: every send past the burst would first be refused once, and an
/// outbox spread over many conversations sends one head each at once, so most of them come before the wait
/// the first refusal announced. governor runs the same GCRA as the server's limiter
/// (`server/src/realtime/session.rs`), so the outbox models the server's bucket instead of approximating it
/// with timers of its own, and its `check` answers "not before T" without blocking the socket's loop.
pub(crate) struct SendPacer<C: Clock + Clone = MonotonicClock> {
    clock: C,
    /// The time between two sends that the allowance refills at: the server's default, doubled at each
    /// `rate_limited` (a server configured below the default) down to `SLOWEST_SEND_INTERVAL`.
    interval: Duration,
    /// What this socket may still send at once, and from when the next send may go.
    allowance: Allowance<C>,
    /// No send before this instant: the server refused one with `rate_limited`. Its bucket is the socket's, so
    /// every conversation waits, not only the one refused.
    held_until: Option<C::Instant>,
}

impl Default for SendPacer {
    fn default() -> SendPacer {
        SendPacer::new(MonotonicClock)
    }
}

impl<C: Clock + Clone> SendPacer<C> {
    fn new(clock: C) -> SendPacer<C> {
        let interval = Duration::from_secs(1) / OUTBOX_SENDS_PER_SEC.max(1);
        SendPacer { allowance: allowance(interval, clock.clone()), clock, interval, held_until: None }
    }

    /// Counts one send if it may go now; otherwise says from when the next one may.
    pub(crate) fn take(&mut self) -> Result<(), C::Instant> {
        if let Some(until) = self.held_until {
            if until > self.clock.now() {
                return Err(until);
            }
            self.held_until = None;
        }
        self.allowance.check().map_err(|not_until| not_until.earliest_possible())
    }

    /// The server refused a send with `rate_limited`: nothing goes before `retry_after`; the server's bucket is
    /// empty, so this one is emptied too, and it refills at half the pace it had. Refusals of sends that were
    /// already on their way while a wait holds count once: they say nothing new about the server's pace.
    pub(crate) fn slow_down(&mut self, retry_after: Duration) {
        let now = self.clock.now();
        if self.held_until.is_none_or(|held| held <= now) {
            self.interval = self.interval.saturating_mul(2).min(SLOWEST_SEND_INTERVAL);
            self.allowance = allowance(self.interval, self.clock.clone());
            let burst = NonZeroU32::new(OUTBOX_SEND_BURST).unwrap_or(NonZeroU32::MIN);
            // A fresh bucket holds exactly `burst`, so this empties it; its answer says nothing more.
            let _ = self.allowance.check_n(burst);
        }
        let until = now + Nanos::from(retry_after);
        self.held_until = Some(self.held_until.map_or(until, |held| held.max(until)));
    }
}

/// A full bucket of `OUTBOX_SEND_BURST` sends that refills one send every `interval`.
fn allowance<C: Clock>(interval: Duration, clock: C) -> Allowance<C> {
    let burst = NonZeroU32::new(OUTBOX_SEND_BURST).unwrap_or(NonZeroU32::MIN);
    let quota = Quota::with_period(interval).unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN));
    RateLimiter::direct_with_clock(quota.allow_burst(burst), clock)
}

#[cfg(test)]
mod tests {
    use governor::clock::{FakeRelativeClock, Reference};

    use super::*;

    #[test]
    fn the_assumed_allowance_stays_within_the_servers_default() {
        let server = hallway_server::config::RealtimeLimits::default();
        assert_eq!(OUTBOX_SENDS_PER_SEC, server.sends_per_sec, "the sustained pace is the server's");
        assert!(OUTBOX_SEND_BURST < server.send_burst, "the burst leaves room for frames the network bunches up");
    }

    /// How long after `start` the pacer lets the next send go.
    fn ready_after(pacer: &mut SendPacer<FakeRelativeClock>, start: Nanos) -> Duration {
        match pacer.take() {
            Ok(()) => Duration::ZERO,
            Err(at) => Duration::from(at.duration_since(start)),
        }
    }

    #[test]
    fn the_outbox_sends_its_burst_then_paces_at_the_servers_rate() {
        let clock = FakeRelativeClock::default();
        let mut pacer = SendPacer::new(clock.clone());
        let start = clock.now();
        for n in 1..=OUTBOX_SEND_BURST {
            assert_eq!(pacer.take(), Ok(()), "send {n} of the burst goes at once");
        }
        let interval = Duration::from_millis(100);
        assert_eq!(ready_after(&mut pacer, start), interval, "then one every 100 ms");
        clock.advance(interval);
        assert_eq!(pacer.take(), Ok(()));
        assert_eq!(ready_after(&mut pacer, start), interval * 2);
        // An idle socket earns its burst back.
        clock.advance(interval * OUTBOX_SEND_BURST * 2);
        let at_once = std::iter::from_fn(|| pacer.take().ok()).take(100).count();
        assert_eq!(at_once, OUTBOX_SEND_BURST as usize);
    }

    #[test]
    fn rate_limited_holds_every_send_for_the_servers_wait_and_halves_the_pace() {
        let clock = FakeRelativeClock::default();
        let mut pacer = SendPacer::new(clock.clone());
        let start = clock.now();
        assert_eq!(pacer.take(), Ok(()));
        pacer.slow_down(Duration::from_millis(250));
        // Sends that were on their way meanwhile are refused too: they hold, but do not halve again.
        pacer.slow_down(Duration::from_millis(240));
        assert_eq!(ready_after(&mut pacer, start), Duration::from_millis(250), "nothing before the server's wait");
        clock.advance(Duration::from_millis(250));
        assert_eq!(pacer.take(), Ok(()), "sends go again once the wait is over");
        assert_eq!(ready_after(&mut pacer, start), Duration::from_millis(400), "then one every 200 ms");
        clock.advance(Duration::from_millis(150));
        assert_eq!(pacer.take(), Ok(()));

        // A server far below the default: each refusal halves the pace, down to one send a second.
        for _ in 0..8 {
            clock.advance(Duration::from_secs(5));
            pacer.slow_down(Duration::from_millis(10));
        }
        assert_eq!(pacer.interval, SLOWEST_SEND_INTERVAL);
    }
}
