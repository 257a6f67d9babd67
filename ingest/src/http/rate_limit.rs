//! Per-tenant ingest rate limits (`HERALD_RATE_LIMIT`,
//! `HERALD_RATE_LIMIT_BURST`, `HERALD_TENANT_RATE_LIMITS`): a GCRA bucket per
//! tenant (the `governor` crate), charged one token per event, so a batch of
//! 100 costs as much as 100 single posts. In memory, per ingest node: no
//! round trip, and N nodes behind a balancer allow up to N times the rate.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use herald_common::config::{EventRate, RateLimits};

/// Why events were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// Over the rate: try again after this long.
    RetryAfter(Duration),
    /// More events in one request than the burst allows, ever.
    OverBurst { burst: u32 },
}

/// One bucket per limited tenant, made on its first request.
pub struct TenantLimiter {
    limits: RateLimits,
    buckets: RwLock<HashMap<String, Arc<DefaultDirectRateLimiter>>>,
    clock: DefaultClock,
}

impl TenantLimiter {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            buckets: RwLock::default(),
            clock: DefaultClock::default(),
        }
    }

    /// Charge `events` events to `tenant`'s bucket, or say why not (nothing
    /// is charged then).
    pub fn check(&self, tenant: &str, events: usize) -> Result<(), Limited> {
        let Some(rate) = self.limits.for_tenant(tenant) else {
            return Ok(());
        };
        let n = u32::try_from(events).unwrap_or(u32::MAX);
        let Some(n) = NonZeroU32::new(n) else {
            return Ok(());
        };
        match self.bucket(tenant, rate).check_n(n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(Limited::RetryAfter(
                not_until.wait_time_from(self.clock.now()),
            )),
            Err(_) => Err(Limited::OverBurst { burst: rate.burst }),
        }
    }

    fn bucket(&self, tenant: &str, rate: EventRate) -> Arc<DefaultDirectRateLimiter> {
        let read = self.buckets.read().unwrap_or_else(|p| p.into_inner());
        if let Some(bucket) = read.get(tenant) {
            return bucket.clone();
        }
        drop(read);
        let mut write = self.buckets.write().unwrap_or_else(|p| p.into_inner());
        write
            .entry(tenant.to_string())
            .or_insert_with(|| Arc::new(RateLimiter::direct(quota(rate))))
            .clone()
    }
}

fn quota(rate: EventRate) -> Quota {
    let one = NonZeroU32::MIN;
    Quota::per_second(NonZeroU32::new(rate.per_second).unwrap_or(one))
        .allow_burst(NonZeroU32::new(rate.burst).unwrap_or(one))
}

/// `Retry-After` in whole seconds, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(
        default: Option<(u32, u32)>,
        tenants: &[(&str, Option<(u32, u32)>)],
    ) -> TenantLimiter {
        let rate =
            |r: Option<(u32, u32)>| r.map(|(per_second, burst)| EventRate { per_second, burst });
        TenantLimiter::new(RateLimits {
            default: rate(default),
            tenants: tenants
                .iter()
                .map(|(t, r)| (t.to_string(), rate(*r)))
                .collect(),
        })
    }

    #[test]
    fn events_are_counted_against_the_burst_then_the_rate() {
        let l = limiter(Some((1, 10)), &[]);
        assert_eq!(l.check("acme", 6), Ok(()));
        assert_eq!(l.check("acme", 4), Ok(()));
        match l.check("acme", 2) {
            Err(Limited::RetryAfter(wait)) => {
                assert!(
                    wait > Duration::from_millis(900) && wait <= Duration::from_secs(2),
                    "{wait:?}"
                )
            }
            other => panic!("{other:?}"),
        }
        // Another tenant has its own bucket.
        assert_eq!(l.check("other", 10), Ok(()));
        assert_eq!(l.check("other", 11), Err(Limited::OverBurst { burst: 10 }));
    }

    #[test]
    fn overrides_replace_the_default_and_zero_is_no_limit() {
        let l = limiter(None, &[("small", Some((1, 2))), ("free", None)]);
        assert_eq!(l.check("anyone", 1_000_000), Ok(()));
        assert_eq!(l.check("free", 1_000_000), Ok(()));
        assert_eq!(l.check("small", 2), Ok(()));
        assert!(matches!(l.check("small", 1), Err(Limited::RetryAfter(_))));
        let l = limiter(Some((5, 5)), &[("free", None)]);
        assert_eq!(l.check("free", 1_000), Ok(()));
        assert_eq!(l.check("x", 0), Ok(()));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        for (wait, secs) in [(0, 1), (1, 1), (999, 1), (1000, 1), (1001, 2), (2500, 3)] {
            assert_eq!(
                retry_after_secs(Duration::from_millis(wait)),
                secs,
                "{wait} ms"
            );
        }
    }
}
