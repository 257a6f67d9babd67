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

fn stream_config(
    name: &str,
    description: &str,
    subjects: &str,
    retention: RetentionPolicy,
    s: &StreamSettings,
) -> stream::Config {
    stream::Config {
        name: name.to_string(),
        description: Some(description.into()),
        subjects: vec![subjects.to_string()],
        retention,
        discard: DiscardPolicy::Old,
        storage: storage(s.storage),
        num_replicas: s.replicas,
        max_age: s.max_age,
        duplicate_window: s.duplicate_window,
        ..Default::default()
    }
}

/// `HERALD_EVENTS`: every accepted event, kept for `max_age` so operators can
/// inspect and replay; `fanout` tracks progress.
pub fn events_stream_config(s: &StreamSettings) -> stream::Config {
    let description = "Herald: accepted events, by tenant and type";
    stream_config(
        EVENTS_STREAM,
        description,
        EVENTS_SUBJECTS,
        RetentionPolicy::Limits,
        s,
    )
}

/// `HERALD_DELIVERIES`: one job per (event, endpoint); a work queue, so a job
/// leaves the stream once `deliver` acks it.
pub fn deliveries_stream_config(s: &StreamSettings) -> stream::Config {
    let description = "Herald: delivery jobs, by endpoint";
    let retention = RetentionPolicy::WorkQueue;
    stream_config(
        DELIVERIES_STREAM,
        description,
        DELIVERIES_SUBJECTS,
        retention,
        s,
    )
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
