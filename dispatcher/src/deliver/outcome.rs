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

/// 4xx answers that are retried even when an endpoint does not retry 4xx:
/// timeout, conflict, too early, too many requests.
pub const RETRIED_4XX: [u16; 4] = [408, 409, 425, 429];

/// Whether a `Retry-After` header is honoured with this status: only 429
/// (too many requests) and 503 (unavailable) ask for a later retry.
pub fn honours_retry_after(status: u16) -> bool {
    matches!(status, 429 | 503)
}

/// The longest `Retry-After` Herald honours.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// What one attempt's result says about the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: the endpoint has the event.
    Delivered,
    /// 410 Gone: the endpoint asks to be removed (Standard Webhooks advice).
    Disable,
    /// A 4xx the endpoint does not want retried (`retry_on_4xx: false`).
    GiveUp,
    /// Anything else: non-2xx, timeout, refused connection, TLS error,
    /// blocked address. Worth another try later.
    Retry,
}

/// `status` is the HTTP status if a response arrived, `None` on a transport
/// error (timeout, connect, TLS, blocked address).
pub fn classify(status: Option<u16>, retry_on_4xx: bool) -> Outcome {
    match status {
        Some(200..=299) => Outcome::Delivered,
        Some(410) => Outcome::Disable,
        Some(s @ 400..=499) if !retry_on_4xx && !RETRIED_4XX.contains(&s) => Outcome::GiveUp,
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
        Outcome::GiveUp => Decision::Failed,
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
mod tests;
