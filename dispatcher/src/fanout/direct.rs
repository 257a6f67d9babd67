//! Direct first attempts: fan-out sends a new delivery's first request
//! itself, instead of publishing a job to `HERALD_DELIVERIES` for the
//! deliver consumer to pull, when the delivery can start at once.
//!
//! That saves, per delivery, a JetStream message stored and pulled, its
//! PubAck, its ack, and a JSON round trip of the job. The durable carrier of
//! a direct attempt is its **event**: the event is acked only after every
//! direct attempt of it is recorded (and every job of it stored), and kept in
//! progress meanwhile. A crash (even `kill -9`) before that returns the event
//! to fan-out, which finds the delivery row still `pending` and publishes a
//! job for it (never another direct attempt: only an event's first delivery
//! from JetStream starts any, so a job published by an earlier round is never
//! doubled by a direct attempt).
//!
//! Isolation: a direct attempt starts only if this dispatcher has a free
//! concurrency permit and its endpoint a free in-flight place with no job
//! waiting for one, and the endpoint has no rate limit (`try_admit`). Then it
//! holds exactly what a job would hold (a permit, an in-flight place), plus its
//! event's place in the `fanout` consumer's window: at most
//! `HERALD_DISPATCHER_CONCURRENCY` events per dispatcher, far below that
//! window. A busy or slow endpoint fills its in-flight places and its further
//! deliveries go through jobs, parking as before; fan-out itself never waits
//! for a request (the group ends when its jobs are stored; a task here acks
//! each event with a direct attempt once its own attempts are recorded).

use super::outcome::{settle_one, Fanned, Started};
use crate::deliver::admission::Admitted;
use crate::deliver::job::JobContext;
use crate::deliver::permits::Permits;
use crate::endpoints_cache::Endpoint;
use async_nats::jetstream::Message;
use herald_common::domain::Ordering;
use herald_common::jetstream::{in_progress, progress};
use herald_common::messages::{DeliveryJob, EventMessage};
use herald_common::metrics::DIRECT_ATTEMPTS_TOTAL;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;

/// What fan-out needs to start attempts itself.
pub struct Direct {
    pub ctx: Arc<JobContext>,
    /// The dispatcher's concurrency permits, shared with the deliver puller.
    pub permits: Arc<Permits>,
    /// The delivery tasks, drained on shutdown like jobs.
    pub tasks: TaskTracker,
}

/// What a direct attempt holds: a concurrency permit and its endpoint's
/// in-flight place.
pub(super) struct Room {
    permit: OwnedSemaphorePermit,
    admitted: Admitted,
}

impl Direct {
    /// Room for a first attempt to `endpoint` now, for an event of
    /// `tenant_id`: a concurrency permit and an in-flight place, or `None`
    /// (the delivery gets a job).
    pub(super) fn room(&self, endpoint: &Endpoint, tenant_id: &str) -> Option<Room> {
        let fifo = endpoint.ordering == Ordering::Fifo;
        if fifo
            || !endpoint.active
            || endpoint.tenant_id != tenant_id
            || self.ctx.shutdown.is_cancelled()
        {
            return None;
        }
        // The endpoint first: a permit taken for nothing would be one the
        // puller held for its open pull.
        let admitted = self.ctx.gates.try_admit(endpoint)?;
        let permit = self.permits.try_take()?;
        Some(Room { permit, admitted })
    }

    /// Start `job`'s first attempt to `endpoint` in `room`.
    pub(super) fn start(
        &self,
        event: usize,
        job: DeliveryJob,
        endpoint: &Arc<Endpoint>,
        room: Room,
    ) -> Started {
        metrics::counter!(DIRECT_ATTEMPTS_TOTAL).increment(1);
        let ctx = self.ctx.clone();
        let endpoint = endpoint.clone();
        let handle = self.tasks.spawn(async move {
            let Room { permit, admitted } = room;
            let _permit = permit;
            ctx.direct(&job, endpoint, admitted).await
        });
        Started { event, handle }
    }

    /// Ack each event of the group none of whose deliveries went direct
    /// (all its jobs stored) or return it, now; each other event is acked
    /// in the background once its own direct attempts are recorded (kept in
    /// progress meanwhile), so an event waits for no other event's attempt
    /// and the events held are at most the attempts in flight.
    pub(super) async fn finish(
        &self,
        messages: Vec<Message>,
        events: Vec<EventMessage>,
        fanned: Fanned,
        ack_wait: Duration,
    ) {
        let Fanned { stored, started } = fanned;
        let mut attempts: Vec<Vec<JoinHandle<bool>>> =
            messages.iter().map(|_| Vec::new()).collect();
        for s in started {
            attempts[s.event].push(s.handle);
        }
        let parts = messages.into_iter().zip(events).zip(stored).zip(attempts);
        for (((msg, event), stored), handles) in parts {
            if handles.is_empty() {
                settle_one(&msg, &event, stored).await;
                continue;
            }
            self.tasks.spawn(async move {
                // Its ack wait restarts now: the slot wait and the fan-out
                // before kept it in progress only a third of it at a time.
                progress(std::slice::from_ref(&msg)).await;
                let attempts = futures::future::join_all(handles);
                let recorded = in_progress(std::slice::from_ref(&msg), ack_wait, attempts).await;
                let ok = stored && recorded.iter().all(|r| matches!(r, Ok(true)));
                settle_one(&msg, &event, ok).await;
            });
        }
    }
}
