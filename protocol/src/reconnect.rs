//! How a client paces its reconnection attempts: exponential backoff with equal jitter. It lives in the
//! contract because the server's capacity planning depends on it: after an outage, a school's worth of phones
//! must not come back in lockstep. The SDK follows it, and the load generator's reconnect storm uses the very
//! same function, so what is measured is what the apps do.

use std::time::Duration;

/// The wait before the first attempt after a connection that had been up (and the step the delays double from).
pub const BASE: Duration = Duration::from_millis(500);
/// The longest wait between two attempts.
pub const MAX: Duration = Duration::from_secs(30);
/// A connection that stayed up this long counts as stable: the next loss starts again from [`BASE`].
pub const STABLE_AFTER: Duration = Duration::from_secs(10);

/// The wait before attempt number `failures` (1 for the first attempt after a loss): the ceiling doubles from
/// [`BASE`] up to [`MAX`], and the wait is half the ceiling plus `jitter` (a random number in `0.0..=1.0`, which
/// the caller draws, so this stays free of I/O) times the other half.
pub fn delay(failures: u32, jitter: f64) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    let ceiling = BASE.saturating_mul(1 << exponent).min(MAX);
    let half = ceiling / 2;
    let jitter = if jitter.is_nan() { 0.0 } else { jitter.clamp(0.0, 1.0) };
    half + half.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_from_base_to_max_and_the_jitter_spreads_the_upper_half() {
        assert_eq!(delay(1, 0.0), BASE / 2);
        assert_eq!(delay(1, 1.0), BASE);
        assert_eq!(delay(2, 1.0), BASE * 2);
        assert_eq!(delay(3, 0.5), BASE * 4 * 3 / 4);
        for failures in 7..40 {
            assert_eq!(delay(failures, 1.0), MAX, "{failures}");
            assert_eq!(delay(failures, 0.0), MAX / 2, "{failures}");
        }
        // Out-of-range jitter is clamped, never a wait beyond the ceiling or below its half.
        assert_eq!(delay(1, 7.0), BASE);
        assert_eq!(delay(1, -1.0), BASE / 2);
        assert_eq!(delay(1, f64::NAN), BASE / 2);
    }
}
