//! How a [`TestReceiver`](crate::TestReceiver) answers: a status, failures
//! first or at random, a delay (for every request or a share of them), or a
//! hang.

use std::time::Duration;

use bytes::Bytes;

/// Builder: `Behavior::fail_first(2, 500)`, `Behavior::status(410)`,
/// `Behavior::ok().with_delay(secs(2))`, `Behavior::hang()`,
/// `Behavior::fail_fraction(0.3, 503).with_header("retry-after", "1")`.
#[derive(Debug, Clone)]
pub struct Behavior {
    status: u16,
    fail_first: usize,
    fail_status: u16,
    fail_fraction: f64,
    delay: Duration,
    /// The share of requests that wait `delay` (1.0: all).
    delay_fraction: f64,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Default for Behavior {
    fn default() -> Self {
        Self::ok()
    }
}

/// What to answer to one request.
pub(crate) struct Reply {
    pub status: u16,
    pub delay: Duration,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Behavior {
    /// 200 right away.
    pub fn ok() -> Self {
        Self {
            status: 200,
            fail_first: 0,
            fail_status: 500,
            fail_fraction: 0.0,
            delay: Duration::ZERO,
            delay_fraction: 1.0,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Always answer `status` (e.g. 500, 410).
    pub fn status(status: u16) -> Self {
        Self {
            status,
            ..Self::ok()
        }
    }

    /// Answer `status` to the first `n` requests, then 200.
    pub fn fail_first(n: usize, status: u16) -> Self {
        Self {
            fail_first: n,
            fail_status: status,
            ..Self::ok()
        }
    }

    /// Answer `status` to a random `fraction` (0.0..=1.0) of requests, else 200.
    pub fn fail_fraction(fraction: f64, status: u16) -> Self {
        Self {
            fail_fraction: fraction.clamp(0.0, 1.0),
            fail_status: status,
            ..Self::ok()
        }
    }

    /// 200 after `delay`.
    pub fn delay(delay: Duration) -> Self {
        Self::ok().with_delay(delay)
    }

    /// 200, after `delay` for a random `fraction` (0.0..=1.0) of requests
    /// and at once for the others.
    pub fn slow_fraction(fraction: f64, delay: Duration) -> Self {
        Self {
            delay_fraction: fraction.clamp(0.0, 1.0),
            ..Self::delay(delay)
        }
    }

    /// Never answer (an hour), so the sender's timeout fires.
    pub fn hang() -> Self {
        Self::delay(Duration::from_secs(3600))
    }

    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The reply to the `nth` request (1-based) under this behavior.
    pub(crate) fn reply(&self, nth: usize) -> Reply {
        let failed = nth <= self.fail_first
            || (self.fail_fraction > 0.0 && rand::random::<f64>() < self.fail_fraction);
        Reply {
            status: if failed {
                self.fail_status
            } else {
                self.status
            },
            delay: if self.delay_fraction >= 1.0 || rand::random::<f64>() < self.delay_fraction {
                self.delay
            } else {
                Duration::ZERO
            },
            headers: self.headers.clone(),
            body: self.body.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Behavior;

    #[test]
    fn fail_first_fails_exactly_n_times() {
        let b = Behavior::fail_first(2, 503);
        let statuses: Vec<u16> = (1..=4).map(|n| b.reply(n).status).collect();
        assert_eq!(statuses, [503, 503, 200, 200]);
    }

    #[test]
    fn fraction_bounds_are_all_or_nothing() {
        assert!((1..100).all(|n| Behavior::fail_fraction(1.0, 500).reply(n).status == 500));
        assert!((1..100).all(|n| Behavior::fail_fraction(0.0, 500).reply(n).status == 200));
    }
}
