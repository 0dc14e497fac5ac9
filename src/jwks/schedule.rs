//! When a key task fetches next: the refresh interval with +-10% jitter, capped exponential
//! backoff after a failure, and how long a set has left before `max_stale` drops it
//! (reference section 4). Pure functions of durations and the monotonic clock.

use std::time::Duration;

use rand::Rng;

use crate::jwks::IssuerKeys;

/// The first retry after a failure; doubled each time up to [`backoff_cap`].
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// Doubles the backoff, never beyond [`backoff_cap`].
pub fn next_backoff(current: Duration, refresh_interval: Duration) -> Duration {
    (current * 2).min(backoff_cap(refresh_interval))
}

/// Retries never wait longer than a quarter of the refresh interval, nor a minute (nor less
/// than [`FIRST_BACKOFF`]).
pub fn backoff_cap(refresh_interval: Duration) -> Duration {
    (refresh_interval / 4)
        .min(Duration::from_secs(60))
        .max(FIRST_BACKOFF)
}

/// `base` +-10%, so a fleet of sidecars does not refresh in lockstep.
pub fn jittered(base: Duration) -> Duration {
    let factor = rand::rng().random_range(0.9..=1.1);
    base.mul_f64(factor)
}

/// Time left before the current set turns stale: `max_stale` after a fetch last confirmed
/// it (`Duration::ZERO` once past). `None` when there is no bound or no set.
pub fn until_stale(max_stale: Option<Duration>, keys: &IssuerKeys) -> Option<Duration> {
    Some(max_stale?.saturating_sub(keys.load()?.confirmed.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent() {
        let base = Duration::from_secs(3600);
        for _ in 0..1000 {
            let d = jittered(base);
            assert!(d >= Duration::from_secs(3240) && d <= Duration::from_secs(3960));
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped_below_the_refresh_interval() {
        assert_eq!(
            backoff_cap(Duration::from_secs(3600)),
            Duration::from_secs(60)
        );
        assert_eq!(backoff_cap(Duration::from_secs(8)), Duration::from_secs(2));
        assert_eq!(backoff_cap(Duration::from_secs(1)), FIRST_BACKOFF);
        let mut b = FIRST_BACKOFF;
        let mut seen = Vec::new();
        for _ in 0..8 {
            seen.push(b.as_secs());
            b = next_backoff(b, Duration::from_secs(3600));
        }
        assert_eq!(seen, [1, 2, 4, 8, 16, 32, 60, 60]);
    }
}
