//! Exponential backoff, written once: every "try again a little later"
//! loop of Herald (waiting for Postgres at start, provisioning JetStream,
//! loading endpoints, flushing the attempt log, the outbox relay) uses a
//! [`Backoff`], either through [`Backoff::retry`] or, for a loop that also
//! runs on a timer, through its [`Delays`].

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::shutdown::{self, CancellationToken};

/// Delays of `initial`, then each `factor` times the previous one, never
/// more than `max`; with a `deadline`, [`Backoff::retry`] gives up rather
/// than sleep past it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub factor: u32,
    pub max: Duration,
    pub deadline: Option<Duration>,
}

/// Why [`Backoff::retry`] stopped without a success.
#[derive(Debug, PartialEq, Eq)]
pub enum GaveUp<E> {
    /// The operation failed for good, or the deadline passed: its last error.
    Failed(E),
    /// The shutdown token was cancelled first.
    Cancelled,
}

impl Backoff {
    /// Doubling from `initial` up to `max`, with no deadline.
    pub const fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            factor: 2,
            max,
            deadline: None,
        }
    }

    pub const fn factor(mut self, factor: u32) -> Self {
        self.factor = factor;
        self
    }

    pub const fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The delays, from the first; endless (the deadline is [`Backoff::retry`]'s).
    pub fn delays(&self) -> Delays {
        Delays {
            next: self.initial.min(self.max),
            factor: self.factor,
            max: self.max,
        }
    }

    /// Run `attempt` until it succeeds. After each failure: a `permanent`
    /// one is returned at once; otherwise it is logged as `what` (a warning
    /// with the error and the delay) and tried again after the next delay,
    /// unless that would end past the deadline (then the error is returned)
    /// or `stop` is cancelled first.
    pub async fn retry<T, E, F, Fut>(
        &self,
        what: &str,
        stop: &CancellationToken,
        permanent: impl Fn(&E) -> bool,
        mut attempt: F,
    ) -> Result<T, GaveUp<E>>
    where
        E: Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let start = Instant::now();
        let mut delays = self.delays();
        loop {
            let error = match attempt().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let delay = delays.next_delay();
            let late = self.deadline.is_some_and(|d| start.elapsed() + delay > d);
            if permanent(&error) || late {
                return Err(GaveUp::Failed(error));
            }
            if stop.is_cancelled() {
                return Err(GaveUp::Cancelled);
            }
            tracing::warn!(%error, retry_in = ?delay, "{what}; retrying.");
            if !shutdown::sleep(stop, delay).await {
                return Err(GaveUp::Cancelled);
            }
        }
    }
}

/// The successive delays of a [`Backoff`].
#[derive(Debug, Clone)]
pub struct Delays {
    next: Duration,
    factor: u32,
    max: Duration,
}

impl Delays {
    /// The next delay; the one after it grows by the factor, up to the max.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = delay.saturating_mul(self.factor).min(self.max);
        delay
    }
}

impl Iterator for Delays {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        Some(self.next_delay())
    }
}

#[cfg(test)]
mod tests;
