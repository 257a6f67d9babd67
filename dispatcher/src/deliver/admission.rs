//! Per-endpoint admission: the in-flight cap, the rate limit, and *parking*.
//!
//! Every job pulled from `deliver` sits in the consumer's ack-pending window
//! until it is acked, and that window (`max_ack_pending`) is shared by every
//! endpoint. So a job may wait here for its endpoint only briefly: at most
//! [`ADMISSION_WAIT`] for a rate-limit slot or an in-flight permit, and only
//! while fewer jobs of the same endpoint are waiting than it can start within
//! that second ([`waiter_cap`]). Otherwise it is **parked**: the delivery gets
//! a `next_retry_at` (no attempt is recorded), the job is acked, and the retry
//! scheduler re-publishes it when it is due. A slow endpoint therefore holds
//! its `max_in_flight` running jobs and about one second's worth of waiting
//! ones (at least one) of this dispatcher's window, whatever its backlog; a
//! fast one keeps a queue of about one second of work.
//!
//! Parked jobs are spread out: each gets the next slot of a per-endpoint
//! virtual queue spaced by the endpoint's observed service rate (moving
//! average of attempt durations ÷ `max_in_flight`), so a hanging endpoint's
//! backlog comes back at the pace it can be served instead of all at once.
//! The in-flight cap is per dispatcher; the rate limit is shared by all of
//! them (see [`crate::store::rate_slots`]).

use crate::endpoints_cache::Endpoint;
use crate::store::{rate_slots, StoreError};
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use herald_common::shutdown::CancellationToken;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use uuid::Uuid;

/// The longest a job waits in the ack window for its endpoint before parking.
pub const ADMISSION_WAIT: Duration = Duration::from_secs(1);
/// A parked job comes back no sooner than this.
const MIN_PARK: Duration = Duration::from_secs(1);
/// Service-time estimate for an endpoint with no attempts yet.
const INITIAL_SERVICE_TIME: Duration = Duration::from_millis(100);

/// An endpoint's virtual queue of parked jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParkQueue {
    /// The earliest slot the next parked job may take.
    pub next: Option<Instant>,
    /// Moving average of the endpoint's attempt durations.
    pub service_time: Duration,
}

impl ParkQueue {
    /// Take the next parking slot: no earlier than `now + MIN_PARK`, and
    /// `service_time / max_in_flight` after the previous one.
    pub fn take_slot(&mut self, now: Instant, max_in_flight: usize) -> Instant {
        let earliest = now + MIN_PARK;
        let slot = self.next.map_or(earliest, |n| n.max(earliest));
        let spacing = self.service_time / u32::try_from(max_in_flight.max(1)).unwrap_or(u32::MAX);
        self.next = Some(slot + spacing);
        slot
    }

    /// Feed an attempt's duration into the service-time average.
    pub fn observe(&mut self, took: Duration) {
        self.service_time = self.service_time.mul_f64(0.8) + took.mul_f64(0.2);
    }
}

/// How many jobs of an endpoint may wait for an in-flight permit: as many as
/// it can start within [`ADMISSION_WAIT`] at its observed service time (at
/// least one, at most 100 per permit). Beyond that a job parks at once
/// instead of holding a window slot for a second only to park then.
pub fn waiter_cap(max_in_flight: usize, service_time: Duration) -> usize {
    let max = max_in_flight.saturating_mul(MAX_WAITERS_PER_PERMIT);
    if service_time.is_zero() {
        return max;
    }
    let startable =
        max_in_flight as f64 * ADMISSION_WAIT.as_secs_f64() / service_time.as_secs_f64();
    (startable as usize).clamp(1, max)
}

const MAX_WAITERS_PER_PERMIT: usize = 100;

/// One endpoint's gate in this dispatcher.
pub struct Gate {
    max_in_flight: usize,
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: Mutex<ParkQueue>,
}

impl Gate {
    fn new(max_in_flight: usize) -> Self {
        Self {
            max_in_flight,
            permits: Arc::new(Semaphore::new(max_in_flight)),
            waiting: AtomicUsize::new(0),
            queue: Mutex::new(ParkQueue {
                next: None,
                service_time: INITIAL_SERVICE_TIME,
            }),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, ParkQueue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn park_until(&self) -> DateTime<Utc> {
        let now = Instant::now();
        let slot = self.queue().take_slot(now, self.max_in_flight);
        Utc::now() + (slot - now)
    }

    fn waiter_cap(&self) -> usize {
        waiter_cap(self.max_in_flight, self.queue().service_time)
    }

    /// Feed an attempt's duration into the service-time average.
    pub fn observe(&self, took: Duration) {
        self.queue().observe(took);
    }
}

/// Holds an endpoint's in-flight permit for the duration of one attempt.
pub struct Admitted {
    pub gate: Arc<Gate>,
    _permit: OwnedSemaphorePermit,
}

pub enum Admission {
    Go(Admitted),
    /// Defer without an attempt; `rate_slot` is a reserved rate-limit slot
    /// that the job keeps when it comes back.
    Park {
        until: DateTime<Utc>,
        rate_slot: Option<DateTime<Utc>>,
    },
    /// Shutdown began while waiting.
    Stopped,
    /// The endpoint no longer exists.
    Gone,
}

struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

pub struct Gates {
    gates: Mutex<HashMap<Uuid, Arc<Gate>>>,
    default_max_in_flight: usize,
    pool: Pool,
}

impl Gates {
    pub fn new(default_max_in_flight: usize, pool: Pool) -> Self {
        Self {
            gates: Mutex::new(HashMap::new()),
            default_max_in_flight,
            pool,
        }
    }

    fn gate(&self, endpoint: &Endpoint) -> Arc<Gate> {
        let max = endpoint
            .max_in_flight
            .unwrap_or(self.default_max_in_flight)
            .max(1);
        let mut gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        let gate = gates
            .entry(endpoint.id)
            .or_insert_with(|| Arc::new(Gate::new(max)));
        if gate.max_in_flight != max {
            *gate = Arc::new(Gate::new(max));
        }
        gate.clone()
    }

    /// Admit an attempt for `endpoint` at once, without waiting, or `None`:
    /// the endpoint has a rate limit (its slots are reserved in Postgres),
    /// jobs are already waiting for it (they go first), or every in-flight
    /// place is taken.
    pub fn try_admit(&self, endpoint: &Endpoint) -> Option<Admitted> {
        if endpoint.rate_limit_per_second.is_some() {
            return None;
        }
        let gate = self.gate(endpoint);
        if gate.waiting.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let permit = gate.permits.clone().try_acquire_owned().ok()?;
        Some(Admitted {
            gate,
            _permit: permit,
        })
    }

    /// Admit a job for `endpoint` now (after a short wait) or park it.
    /// `reserved` is a rate-limit slot the job already holds.
    pub async fn admit(
        &self,
        endpoint: &Endpoint,
        reserved: Option<DateTime<Utc>>,
        shutdown: &CancellationToken,
    ) -> Result<Admission, StoreError> {
        let gate = self.gate(endpoint);
        if gate.waiting.load(Ordering::SeqCst) >= gate.waiter_cap() {
            return Ok(Admission::Park {
                until: gate.park_until(),
                rate_slot: reserved,
            });
        }
        let mut wait = Duration::ZERO;
        if let Some(slot) = reserved {
            wait = (slot - Utc::now())
                .to_std()
                .unwrap_or_default()
                .min(ADMISSION_WAIT);
        } else if let Some(rate) = endpoint.rate_limit_per_second {
            let Some(slot) = rate_slots::reserve(&self.pool, endpoint.id, rate).await? else {
                return Ok(Admission::Gone);
            };
            if slot.wait > ADMISSION_WAIT {
                return Ok(Admission::Park {
                    until: slot.at,
                    rate_slot: Some(slot.at),
                });
            }
            wait = slot.wait;
        }

        gate.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&gate.waiting);
        if !herald_common::shutdown::sleep(shutdown, wait).await {
            return Ok(Admission::Stopped);
        }
        let acquire = tokio::time::timeout(ADMISSION_WAIT, gate.permits.clone().acquire_owned());
        tokio::select! {
            _ = shutdown.cancelled() => Ok(Admission::Stopped),
            permit = acquire => match permit {
                Ok(Ok(permit)) => Ok(Admission::Go(Admitted { gate: gate.clone(), _permit: permit })),
                // Waited too long (or the gate was replaced): park.
                _ => Ok(Admission::Park { until: gate.park_until(), rate_slot: None }),
            },
        }
    }
}

#[cfg(test)]
mod tests;
