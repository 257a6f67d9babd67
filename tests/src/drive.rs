//! Herald's background work, driven by the test: the outbox relay, the
//! retry scheduler and the endpoint housekeeping, each built on the app's
//! database and NATS and stepped by hand (`step()`), so that a test can say
//! "nothing more is due" without sleeping; and a bounded wait until the
//! delivery pipeline has nothing left to do, for what has no step.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer;
use deadpool_postgres::Pool;
use herald_common::subjects::{
    DELIVERIES_STREAM, DELIVER_CONSUMER, EVENTS_STREAM, FANOUT_CONSUMER,
};
use herald_dispatcher::endpoints_cache::EndpointsCache;
use herald_dispatcher::housekeeping::Housekeeping;
use herald_dispatcher::operational::Emitter;
use herald_dispatcher::retry::Scheduler;
use herald_ingest::pipeline::outbox::{Outbox, Round};

use crate::wait::{wait_until, WAIT};
use crate::TestApp;

/// Connections of the pools the driven tasks use.
const POOL_SIZE: usize = 2;

impl TestApp {
    /// A pool of a few connections to the app's database.
    pub fn pool(&self) -> Pool {
        herald_common::db::pool(self.test_db().url(), POOL_SIZE).expect("a pool")
    }

    /// An outbox relay of the app's ingest, for `step()`: it re-publishes
    /// every committed, unpublished event (no grace period).
    pub fn outbox(&self) -> Outbox {
        let (js, nats) = (self.jetstream(), self.nats().clone());
        let mut outbox = Outbox::new(self.pool(), js, nats, WAIT);
        outbox.grace = Duration::ZERO;
        outbox
    }

    /// One outbox round finds nothing left to publish: every committed
    /// event is in `HERALD_EVENTS`, and nothing will be added later.
    pub async fn assert_outbox_empty(&self) {
        let round = self.outbox().step().await.expect("an outbox round");
        assert_eq!(round, Round::default(), "unpublished events were left");
    }

    /// The retry scheduler of a dispatcher, for `step()`: it re-publishes
    /// the deliveries whose next attempt is due.
    pub fn retry_scheduler(&self) -> Scheduler {
        let config = self.config();
        Scheduler {
            pool: self.pool(),
            js: self.jetstream(),
            poll_interval: config.dispatcher.retry_poll_interval,
            lease: config.streams.claim_lease(),
            batch: config.dispatcher.fetch_batch,
        }
    }

    /// A dispatcher's endpoint housekeeping, for `step()`: it disables the
    /// endpoints failing too long and announces failure periods.
    pub fn housekeeping(&self) -> Housekeeping {
        let config = self.config();
        let pool = self.pool();
        let keys = config.security.keys.keyring().expect("encryption keys");
        Housekeeping {
            emitter: Emitter {
                js: self.jetstream(),
                pool: pool.clone(),
            },
            nats: self.nats().clone(),
            cache: Arc::new(EndpointsCache::new(pool, keys)),
            auto_disable_after: config.dispatcher.auto_disable_after,
            failing_after: config.dispatcher.endpoint_failing_after,
        }
    }

    /// Wait (up to [`WAIT`]) until fan-out and delivery have nothing left:
    /// both consumers hold no message, and no delivery waits for a retry.
    /// What the receiver has then is all it will get.
    pub async fn wait_until_idle(&self) {
        let idle = wait_until(WAIT, || async { self.is_idle().await }).await;
        assert!(idle.is_ok(), "the delivery pipeline did not become idle");
    }

    /// What JetStream says of consumer `name` on `stream` now (its pending
    /// and unacked messages, what it delivered).
    pub async fn consumer_info(&self, stream: &str, name: &str) -> anyhow::Result<consumer::Info> {
        let stream = self.jetstream().get_stream(stream).await?;
        Ok(stream.consumer_info(name).await?)
    }

    async fn is_idle(&self) -> bool {
        let consumers = [
            (EVENTS_STREAM, FANOUT_CONSUMER),
            (DELIVERIES_STREAM, DELIVER_CONSUMER),
        ];
        for (stream, name) in consumers {
            match self.consumer_info(stream, name).await {
                Ok(i) if i.num_pending == 0 && i.num_ack_pending == 0 => {}
                _ => return false,
            }
        }
        self.count("deliveries WHERE next_retry_at IS NOT NULL OR status = 'pending'")
            .await
            == 0
    }
}
