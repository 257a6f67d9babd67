//! What an attempt's result means, as pure functions: [`classify`] turns a
//! response (or transport error) into an [`Outcome`], [`decide`] turns that
//! and the attempt count into a [`Decision`] (delivered, retry after a delay,
//! failed, disable the endpoint), and [`retry_delay`] computes the delay from
//! the retry schedule, jitter and a `Retry-After` header. No I/O, no clock, no
//! randomness: the caller passes `now` and the jitter sample, so every case is
//! table-tested below.

use chrono::{DateTime, Utc};
use herald_common::config::RetryPolicy;
use std::time::Duration;

/// The longest `Retry-After` Herald honours.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// What one attempt's result says about the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: the endpoint has the event.
    Delivered,
    /// 410 Gone: the endpoint asks to be removed (Standard Webhooks advice).
    Disable,
    /// Anything else: non-2xx, timeout, refused connection, TLS error,
    /// blocked address. Worth another try later.
    Retry,
}

/// `status` is the HTTP status if a response arrived, `None` on a transport
/// error (timeout, connect, TLS, blocked address).
pub fn classify(status: Option<u16>) -> Outcome {
    match status {
        Some(200..=299) => Outcome::Delivered,
        Some(410) => Outcome::Disable,
        _ => Outcome::Retry,
    }
}

/// What to do with the delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    Delivered,
    /// Try again after `delay`.
    Retry {
        delay: Duration,
    },
    /// The schedule is exhausted.
    Failed,
    /// Mark the delivery failed and disable the endpoint.
    Disable,
}

/// `attempts_made` counts the attempt just made (1 after the first).
/// `jitter_sample` is uniform in `[-1, 1]`.
pub fn decide(
    outcome: Outcome,
    attempts_made: u32,
    policy: &RetryPolicy,
    jitter_sample: f64,
    retry_after: Option<Duration>,
) -> Decision {
    match outcome {
        Outcome::Delivered => Decision::Delivered,
        Outcome::Disable => Decision::Disable,
        Outcome::Retry => match retry_delay(attempts_made, policy, jitter_sample, retry_after) {
            Some(delay) => Decision::Retry { delay },
            None => Decision::Failed,
        },
    }
}

/// The delay before the next attempt, or `None` when `attempts_made` has used
/// the whole schedule (a schedule of n delays allows n + 1 attempts).
///
/// The scheduled delay is spread by the policy's `±jitter` so that
/// deliveries failing together do not come back together. A `Retry-After`
/// replaces it, but never shorter than half the scheduled delay (a receiver
/// cannot make Herald hammer it) and never longer than [`MAX_RETRY_AFTER`].
pub fn retry_delay(
    attempts_made: u32,
    policy: &RetryPolicy,
    jitter_sample: f64,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    let index = usize::try_from(attempts_made.checked_sub(1)?).ok()?;
    let base = *policy.schedule.get(index)?;
    if let Some(asked) = retry_after {
        return Some(asked.max(base / 2).min(MAX_RETRY_AFTER.max(base)));
    }
    let factor = 1.0 + policy.jitter.clamp(0.0, 1.0) * jitter_sample.clamp(-1.0, 1.0);
    Some(base.mul_f64(factor.max(0.0)))
}

/// Parse a `Retry-After` value: delay-seconds (`120`) or an HTTP date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`), relative to `now`. A date in the past
/// means "now" (zero); garbage means no header.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for u64 is still "a very long time".
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs.min(MAX_RETRY_AFTER.as_secs() * 2)));
    }
    let date = DateTime::parse_from_rfc2822(value).ok()?;
    let delta = date.with_timezone(&Utc) - now;
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    fn policy(schedule: &[Duration], jitter: f64) -> RetryPolicy {
        RetryPolicy {
            schedule: schedule.to_vec(),
            jitter,
        }
    }

    #[test]
    fn classify_follows_the_status_table() {
        let cases = [
            (Some(200), Outcome::Delivered),
            (Some(201), Outcome::Delivered),
            (Some(204), Outcome::Delivered),
            (Some(299), Outcome::Delivered),
            (Some(301), Outcome::Retry),
            (Some(400), Outcome::Retry),
            (Some(404), Outcome::Retry),
            (Some(408), Outcome::Retry),
            (Some(410), Outcome::Disable),
            (Some(429), Outcome::Retry),
            (Some(500), Outcome::Retry),
            (Some(503), Outcome::Retry),
            (None, Outcome::Retry),
        ];
        for (status, want) in cases {
            assert_eq!(classify(status), want, "{status:?}");
        }
    }

    #[test]
    fn retry_delay_walks_the_schedule_then_stops() {
        let schedule = [s(5), s(300), s(1800)];
        let cases = [
            (0, None),
            (1, Some(s(5))),
            (2, Some(s(300))),
            (3, Some(s(1800))),
            (4, None),
            (u32::MAX, None),
        ];
        for (attempts, want) in cases {
            assert_eq!(
                retry_delay(attempts, &policy(&schedule, 0.2), 0.0, None),
                want,
                "{attempts}"
            );
        }
    }

    #[test]
    fn jitter_spreads_the_delay_within_its_fraction() {
        let schedule = [s(100)];
        let cases = [
            (0.2, -1.0, s(80)),
            (0.2, 1.0, s(120)),
            (0.2, 0.5, s(110)),
            (0.0, 1.0, s(100)),
            (0.2, 7.0, s(120)), // samples are clamped
            (3.0, -1.0, s(0)),  // jitter fractions are clamped to 1
        ];
        for (jitter, sample, want) in cases {
            assert_eq!(
                retry_delay(1, &policy(&schedule, jitter), sample, None),
                Some(want)
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_within_bounds() {
        let schedule = [s(60), s(3 * 86_400)];
        let cases = [
            // (attempts, Retry-After, delay)
            (1, s(120), s(120)),            // longer than scheduled: honoured
            (1, s(40), s(40)),              // shorter, but above half: honoured
            (1, s(1), s(30)),               // never below half the scheduled delay
            (1, s(10 * 86_400), s(86_400)), // never above a day
            (2, s(1), s(3 * 86_400 / 2)),   // a schedule above a day keeps its half
        ];
        for (attempts, asked, want) in cases {
            assert_eq!(
                retry_delay(attempts, &policy(&schedule, 0.2), 1.0, Some(asked)),
                Some(want),
                "{asked:?}"
            );
        }
        assert_eq!(
            retry_delay(3, &policy(&schedule, 0.2), 1.0, Some(s(1))),
            None
        );
    }

    #[test]
    fn decide_combines_outcome_and_schedule() {
        let schedule = [s(5), s(10)];
        let cases = [
            (Outcome::Delivered, 1, Decision::Delivered),
            (Outcome::Delivered, 9, Decision::Delivered),
            (Outcome::Disable, 1, Decision::Disable),
            (Outcome::Retry, 1, Decision::Retry { delay: s(5) }),
            (Outcome::Retry, 2, Decision::Retry { delay: s(10) }),
            (Outcome::Retry, 3, Decision::Failed),
        ];
        for (outcome, attempts, want) in cases {
            assert_eq!(
                decide(outcome, attempts, &policy(&schedule, 0.2), 0.0, None),
                want
            );
        }
    }

    #[test]
    fn retry_after_parses_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .expect("date")
            .with_timezone(&Utc);
        let cases = [
            ("120", Some(s(120))),
            (" 0 ", Some(s(0))),
            ("99999999999999999999999", Some(MAX_RETRY_AFTER * 2)),
            ("Wed, 21 Oct 2015 07:30:00 GMT", Some(s(120))),
            ("Wed, 21 Oct 2015 07:00:00 GMT", Some(s(0))),
            ("soon", None),
            ("-5", None),
            ("", None),
        ];
        for (value, want) in cases {
            assert_eq!(parse_retry_after(value, now), want, "{value:?}");
        }
    }
}
