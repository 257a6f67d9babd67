//! Fan-out: events from the `fanout` consumer become delivery jobs.
//!
//! Events are pulled in batches and handled in groups, up to
//! [`GROUPS_IN_FLIGHT`] groups at once. For each group: one query for the
//! tenants' active endpoints (so an endpoint committed before an event was
//! accepted is always seen), one `INSERT ... SELECT FROM UNNEST ... ON
//! CONFLICT DO NOTHING` for its delivery rows (a redelivered event re-uses
//! its rows), then one job per (event, endpoint) published asynchronously
//! with `Nats-Msg-Id: <event>.<webhook>`. An event is acked only after
//! JetStream has stored every one of its jobs.

use crate::endpoints_cache::EndpointsCache;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::context::PublishError;
use async_nats::jetstream::publish::PublishAck as PubAck;
use async_nats::jetstream::{AckKind, Message};
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use futures::future::{BoxFuture, FutureExt};
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use herald_common::messages::{DeliveryJob, EventMessage, JobTarget};
use herald_common::metrics::FANOUT_EVENTS_TOTAL;
use herald_common::shutdown::CancellationToken;
use herald_common::subjects::{delivery_msg_id, delivery_subject};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::task::TaskTracker;
use uuid::Uuid;

/// How long a pull request waits on the server for events.
const PULL_EXPIRES: Duration = Duration::from_secs(1);
/// Groups of events being fanned out at once by one dispatcher.
const GROUPS_IN_FLIGHT: usize = 2;
const RETRY_LATER: Duration = Duration::from_secs(1);
/// Delivery-job PubAcks awaited at once (well under the JetStream context's
/// 5,000 ack permits, which the retry scheduler shares).
const MAX_PENDING_ACKS: usize = 1_024;

const CREATE_DELIVERIES: &str = "
    WITH input AS (
        SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[])
            AS t(id, event_id, webhook_id, tenant_id)
    ), hooks AS (
        -- One lock per endpoint and group (not per row, as a foreign key
        -- would take): deleting the endpoint waits for this transaction, then
        -- deletes the rows it wrote.
        SELECT w.id FROM webhooks w
        WHERE w.id IN (SELECT DISTINCT webhook_id FROM input)
        FOR KEY SHARE
    )
    INSERT INTO deliveries (id, event_id, webhook_id, tenant_id)
    SELECT i.id, i.event_id, i.webhook_id, i.tenant_id FROM input i
    WHERE i.webhook_id IN (SELECT id FROM hooks)
      AND EXISTS (SELECT 1 FROM events e WHERE e.id = i.event_id)
    ON CONFLICT (event_id, webhook_id) DO NOTHING
    RETURNING id, event_id, webhook_id, true";

// The pairs the insert skipped: a redelivered event's existing rows (sent
// again only if still pending and not waiting for a retry), including rows
// a concurrent transaction inserted.
const EXISTING: &str = "
    SELECT d.id, d.event_id, d.webhook_id, (d.status = 'pending' AND d.next_retry_at IS NULL)
    FROM deliveries d
    JOIN UNNEST($1::uuid[], $2::uuid[]) AS i(event_id, webhook_id)
      ON d.event_id = i.event_id AND d.webhook_id = i.webhook_id";

pub struct Fanout {
    pub js: async_nats::jetstream::Context,
    pub pool: Pool,
    pub cache: Arc<EndpointsCache>,
    pub batch: usize,
}

/// A job's PubAck with the index of its event.
type PendingAck = BoxFuture<'static, (usize, Result<PubAck, PublishError>)>;

/// (event id, webhook id) -> (delivery id, publish a job?)
type Rows = HashMap<(Uuid, Uuid), (Uuid, bool)>;
/// (event index, webhook id, the endpoint's version) per subscribed endpoint.
type Pairs = Vec<(usize, Uuid, DateTime<Utc>)>;

/// An active endpoint of a tenant in the group, as Postgres has it now.
struct Subscribed {
    id: Uuid,
    event_types: Vec<String>,
    version: DateTime<Utc>,
}

const SUBSCRIBED: &str =
    "SELECT id, tenant_id, event_types, updated_at FROM webhooks WHERE tenant_id = ANY($1) AND active";

impl Fanout {
    /// Pull events until shutdown. A group goes to Postgres and JetStream as
    /// soon as one of [`GROUPS_IN_FLIGHT`] slots is free; events arriving
    /// while every slot is busy form the next group. So an event alone waits
    /// for nothing, and under load the groups (and the statements) grow.
    pub async fn run(self, consumer: PullConsumer, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let slots = Arc::new(Semaphore::new(GROUPS_IN_FLIGHT));
        let groups = TaskTracker::new();
        while !shutdown.is_cancelled() {
            let pull = consumer
                .batch()
                .max_messages(this.batch)
                .expires(PULL_EXPIRES)
                .messages();
            let mut batch = match pull.await {
                Ok(b) => b,
                Err(error) => {
                    tracing::warn!(%error, "Could not pull events.");
                    tokio::select! { _ = shutdown.cancelled() => break, _ = tokio::time::sleep(RETRY_LATER) => continue }
                }
            };
            // Consume the pull to its end: nothing it delivers may be left
            // behind.
            let mut group: Vec<Message> = Vec::new();
            let mut ended_with_error = false;
            loop {
                tokio::select! {
                    biased;
                    next = batch.next() => match next {
                        Some(Ok(msg)) => {
                            group.push(msg);
                            if group.len() >= this.batch {
                                this.start(&slots, &groups, std::mem::take(&mut group)).await;
                            }
                        }
                        Some(Err(error)) => {
                            tracing::debug!(%error, "Pull ended with a status.");
                            ended_with_error = true;
                            break;
                        }
                        None => break,
                    },
                    Ok(slot) = slots.clone().acquire_owned(), if !group.is_empty() => {
                        this.spawn(&groups, std::mem::take(&mut group), slot);
                    }
                }
            }
            if !group.is_empty() {
                this.start(&slots, &groups, group).await;
            }
            if ended_with_error {
                // e.g. a leader change: do not spin on a failing consumer.
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
        }
        groups.close();
        groups.wait().await;
        tracing::debug!("Fan-out stopped.");
    }

    /// Process `group` in the background once a slot is free.
    async fn start(
        self: &Arc<Self>,
        slots: &Arc<Semaphore>,
        groups: &TaskTracker,
        group: Vec<Message>,
    ) {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return; // never closed
        };
        self.spawn(groups, group, slot);
    }

    /// Process `group` in the background, holding `slot` until it is done.
    fn spawn(
        self: &Arc<Self>,
        groups: &TaskTracker,
        group: Vec<Message>,
        slot: OwnedSemaphorePermit,
    ) {
        let this = self.clone();
        groups.spawn(async move {
            this.process(group).await;
            drop(slot);
        });
    }

    /// Fan out one group of events.
    #[tracing::instrument(level = "debug", skip_all, fields(events = messages.len()))]
    pub async fn process(&self, messages: Vec<Message>) {
        let mut events: Vec<(Message, EventMessage)> = Vec::with_capacity(messages.len());
        for msg in messages {
            match serde_json::from_slice::<EventMessage>(&msg.payload) {
                Ok(ev) => events.push((msg, ev)),
                Err(error) => {
                    tracing::error!(%error, subject = %msg.subject, "Dropping a malformed event message.");
                    ack(&msg, AckKind::Term).await;
                }
            }
        }
        let planned = if events.is_empty() {
            Ok((Vec::new(), Rows::new()))
        } else {
            self.plan(&events).await
        };
        let (pairs, rows) = match planned {
            Ok(p) => p,
            Err(error) => {
                tracing::warn!(%error, events = events.len(), "Could not create deliveries; events will be redelivered.");
                for (msg, _) in &events {
                    ack(msg, AckKind::Nak(Some(RETRY_LATER))).await;
                }
                return;
            }
        };

        let mut stored = vec![true; events.len()];
        // PubAcks are awaited as they come, never more than MAX_PENDING_ACKS
        // at once: the JetStream context lends each publish one of 5,000
        // shared ack permits until its ack is awaited, so publishing a large
        // group (256 events x 50 endpoints) before awaiting any ack would
        // wait forever for a permit.
        let mut acks: FuturesUnordered<PendingAck> = FuturesUnordered::new();
        for (i, webhook_id, version) in &pairs {
            while acks.len() >= MAX_PENDING_ACKS {
                if let Some((i, Err(error))) = acks.next().await {
                    tracing::warn!(%error, event_id = %events[i].1.id, "A delivery job was not stored.");
                    stored[i] = false;
                }
            }
            let ev = &events[*i].1;
            let Some((delivery_id, publish)) = rows.get(&(ev.id, *webhook_id)) else {
                // The event or endpoint row is gone: nothing to deliver.
                continue;
            };
            if !publish {
                continue; // already delivered, failed, or waiting for a retry
            }
            let job = DeliveryJob::new(
                ev.clone(),
                JobTarget {
                    delivery_id: *delivery_id,
                    webhook_id: *webhook_id,
                    attempts_made: 0,
                    webhook_version: Some(*version),
                },
            );
            let Ok(body) = serde_json::to_vec(&job) else {
                continue;
            };
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", delivery_msg_id(ev.id, *webhook_id).as_str());
            match self
                .js
                .publish_with_headers(delivery_subject(*webhook_id), headers, body.into())
                .await
            {
                Ok(fut) => {
                    let i = *i;
                    acks.push(async move { (i, fut.await) }.boxed());
                }
                Err(error) => {
                    tracing::warn!(%error, event_id = %ev.id, "Could not publish a delivery job.");
                    stored[*i] = false;
                }
            }
        }
        while let Some((i, result)) = acks.next().await {
            if let Err(error) = result {
                tracing::warn!(%error, event_id = %events[i].1.id, "A delivery job was not stored.");
                stored[i] = false;
            }
        }
        for ((msg, ev), ok) in events.iter().zip(stored) {
            if ok {
                ack(msg, AckKind::Ack).await;
                metrics::counter!(FANOUT_EVENTS_TOTAL).increment(1);
            } else {
                tracing::debug!(event_id = %ev.id, "Event will be fanned out again.");
                ack(msg, AckKind::Nak(Some(RETRY_LATER))).await;
            }
        }
    }

    /// Resolve the subscribed endpoints of a group from Postgres (one query
    /// for the group, so an endpoint committed before an event was accepted
    /// is always seen, whatever this dispatcher's cache has heard yet), bring
    /// the cache up to those versions, and create the delivery rows.
    async fn plan(
        &self,
        events: &[(Message, EventMessage)],
    ) -> Result<(Pairs, Rows), crate::DbError> {
        let client = self.pool.get().await?;
        let mut tenants: Vec<&str> = events.iter().map(|(_, e)| e.tenant_id.as_str()).collect();
        tenants.sort_unstable();
        tenants.dedup();
        let stmt = client.prepare_cached(SUBSCRIBED).await?;
        let mut by_tenant: HashMap<String, Vec<Subscribed>> = HashMap::new();
        let mut versions = Vec::new();
        for row in client.query(&stmt, &[&tenants]).await? {
            let s = Subscribed {
                id: row.try_get(0)?,
                event_types: row.try_get(2)?,
                version: row.try_get(3)?,
            };
            versions.push((s.id, s.version));
            by_tenant.entry(row.try_get(1)?).or_default().push(s);
        }
        self.cache.catch_up(&versions).await?;
        let mut pairs: Pairs = Vec::new();
        for (i, (_, ev)) in events.iter().enumerate() {
            for s in by_tenant.get(&ev.tenant_id).into_iter().flatten() {
                if s.event_types.contains(&ev.event_type) {
                    pairs.push((i, s.id, s.version));
                }
            }
        }
        if pairs.is_empty() {
            return Ok((pairs, Rows::new()));
        }
        let rows = create_deliveries(&client, events, &pairs).await?;
        Ok((pairs, rows))
    }
}

async fn create_deliveries(
    client: &deadpool_postgres::Client,
    events: &[(Message, EventMessage)],
    pairs: &Pairs,
) -> Result<Rows, crate::DbError> {
    let ids: Vec<Uuid> = pairs.iter().map(|_| Uuid::now_v7()).collect();
    let event_ids: Vec<Uuid> = pairs.iter().map(|(i, _, _)| events[*i].1.id).collect();
    let webhook_ids: Vec<Uuid> = pairs.iter().map(|(_, w, _)| *w).collect();
    let tenants: Vec<&str> = pairs
        .iter()
        .map(|(i, _, _)| events[*i].1.tenant_id.as_str())
        .collect();
    let stmt = client.prepare_cached(CREATE_DELIVERIES).await?;
    let mut rows = Rows::with_capacity(pairs.len());
    for row in client
        .query(&stmt, &[&ids, &event_ids, &webhook_ids, &tenants])
        .await?
    {
        rows.insert(
            (row.try_get(1)?, row.try_get(2)?),
            (row.try_get(0)?, row.try_get(3)?),
        );
    }
    let missing: Vec<(Uuid, Uuid)> = event_ids
        .iter()
        .zip(&webhook_ids)
        .map(|(e, w)| (*e, *w))
        .filter(|k| !rows.contains_key(k))
        .collect();
    if !missing.is_empty() {
        let (e, w): (Vec<Uuid>, Vec<Uuid>) = missing.into_iter().unzip();
        for row in client.query(EXISTING, &[&e, &w]).await? {
            rows.insert(
                (row.try_get(1)?, row.try_get(2)?),
                (row.try_get(0)?, row.try_get(3)?),
            );
        }
    }
    Ok(rows)
}

async fn ack(msg: &Message, kind: AckKind) {
    if let Err(error) = msg.ack_with(kind).await {
        tracing::warn!(%error, "Could not acknowledge an event.");
    }
}
