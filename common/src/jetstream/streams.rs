//! What Herald wants of its streams and consumers, from the settings.

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use async_nats::jetstream::stream::{self, DiscardPolicy, RetentionPolicy, StorageType};
use std::time::Duration;

use crate::config::{StorageKind, StreamSettings};
use crate::subjects::*;

fn storage(kind: StorageKind) -> StorageType {
    match kind {
        StorageKind::File => StorageType::File,
        StorageKind::Memory => StorageType::Memory,
    }
}

/// What differs between the two streams.
struct Wanted<'a> {
    name: &'a str,
    description: &'a str,
    subjects: &'a str,
    retention: RetentionPolicy,
    max_bytes: Option<u64>,
}

/// Both streams refuse a message that does not fit (`discard: new`): the
/// publisher hears it (no PubAck) and keeps the message where it came from
/// (ingest's outbox, fan-out's event), instead of the stream silently
/// dropping its oldest message, which nothing may have consumed yet.
fn stream_config(w: Wanted<'_>, s: &StreamSettings) -> stream::Config {
    stream::Config {
        name: w.name.to_string(),
        description: Some(w.description.into()),
        subjects: vec![w.subjects.to_string()],
        retention: w.retention,
        discard: DiscardPolicy::New,
        max_bytes: w
            .max_bytes
            .and_then(|n| i64::try_from(n).ok())
            .unwrap_or(-1),
        storage: storage(s.storage),
        num_replicas: s.replicas,
        max_age: s.max_age,
        duplicate_window: s.duplicate_window,
        ..Default::default()
    }
}

/// `HERALD_EVENTS`: accepted events, kept until every consumer that wants
/// them (`fanout`, and the line of each FIFO endpoint subscribed to the
/// event) has acknowledged them (interest retention), so space comes back
/// as fan-out keeps up; `max_age` bounds how long an unconsumed event stays.
pub fn events_stream_config(s: &StreamSettings) -> stream::Config {
    let wanted = Wanted {
        name: EVENTS_STREAM,
        description: "Herald: accepted events, by tenant and type",
        subjects: EVENTS_SUBJECTS,
        retention: RetentionPolicy::Interest,
        max_bytes: s.events_max_bytes,
    };
    stream_config(wanted, s)
}

/// `HERALD_DELIVERIES`: one job per (event, endpoint); a work queue, so a job
/// leaves the stream once `deliver` acks it.
pub fn deliveries_stream_config(s: &StreamSettings) -> stream::Config {
    let wanted = Wanted {
        name: DELIVERIES_STREAM,
        description: "Herald: delivery jobs, by endpoint",
        subjects: DELIVERIES_SUBJECTS,
        retention: RetentionPolicy::WorkQueue,
        max_bytes: s.deliveries_max_bytes,
    };
    stream_config(wanted, s)
}

fn consumer_config(
    name: &str,
    filter: &str,
    max_ack_pending: i64,
    ack_wait: Duration,
) -> pull::Config {
    pull::Config {
        durable_name: Some(name.to_string()),
        description: Some(format!("Herald: {name}")),
        deliver_policy: DeliverPolicy::All,
        ack_policy: AckPolicy::Explicit,
        ack_wait,
        // Redeliveries after a crash or a lost ack never give up; retries of
        // failed HTTP attempts are scheduled by the dispatcher, not by NATS.
        max_deliver: -1,
        filter_subject: filter.to_string(),
        max_ack_pending,
        max_waiting: 512,
        ..Default::default()
    }
}

pub fn fanout_consumer_config(s: &StreamSettings) -> pull::Config {
    consumer_config(
        FANOUT_CONSUMER,
        EVENTS_SUBJECTS,
        s.fanout_max_ack_pending,
        s.ack_wait,
    )
}

pub fn deliver_consumer_config(s: &StreamSettings) -> pull::Config {
    consumer_config(
        DELIVER_CONSUMER,
        DELIVERIES_SUBJECTS,
        s.deliver_max_ack_pending,
        s.ack_wait,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn full_streams_refuse_new_messages_and_free_space_as_consumers_ack() {
        let mut s = Config::for_tests("postgres://x@127.0.0.1/db", "nats://127.0.0.1:1").streams;
        let events = events_stream_config(&s);
        let deliveries = deliveries_stream_config(&s);
        assert_eq!(events.retention, RetentionPolicy::Interest);
        assert_eq!(deliveries.retention, RetentionPolicy::WorkQueue);
        for c in [&events, &deliveries] {
            assert_eq!(c.discard, DiscardPolicy::New, "{}", c.name);
            assert_eq!(c.max_bytes, -1, "unlimited by default");
        }
        s.events_max_bytes = Some(65_536);
        s.deliveries_max_bytes = Some(1 << 30);
        assert_eq!(events_stream_config(&s).max_bytes, 65_536);
        assert_eq!(deliveries_stream_config(&s).max_bytes, 1 << 30);
    }
}
