//! Provisioning: create or update `HERALD_EVENTS`, `HERALD_DELIVERIES` and
//! the durable pull consumers `fanout` and `deliver`, idempotently.
//!
//! Every node calls [`provision`] at start. Only differences from the wanted
//! configuration are sent to the server, so a second call is a no-op and
//! reports `Unchanged` for everything.

use async_nats::jetstream::consumer::pull;
use async_nats::jetstream::context::ConsumerInfoErrorKind;
use async_nats::jetstream::stream::{self, StorageType};
use async_nats::jetstream::Context;
use std::time::Duration;

use super::streams::*;
use crate::backoff::{Backoff, GaveUp};
use crate::config::StreamSettings;
use crate::shutdown::CancellationToken;
use crate::subjects::*;

/// Provisioning retries: NATS may be starting, or a cluster electing a
/// JetStream leader.
const RETRY: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("JetStream request about {what} failed: {message}")]
    Request { what: String, message: String },
    #[error(
        "stream {stream} uses {actual:?} storage but {wanted:?} is configured; \
         storage cannot change in place (delete the stream or change HERALD_STREAM_STORAGE)"
    )]
    StorageMismatch {
        stream: String,
        actual: StorageType,
        wanted: StorageType,
    },
    #[error("provisioning stopped by shutdown")]
    Cancelled,
}

fn request_error(what: &str, e: impl std::fmt::Display) -> ProvisionError {
    ProvisionError::Request {
        what: what.to_string(),
        message: e.to_string(),
    }
}

/// What provisioning did to one stream or consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionReport {
    pub events_stream: Change,
    pub deliveries_stream: Change,
    pub fanout_consumer: Change,
    pub deliver_consumer: Change,
}

impl ProvisionReport {
    pub fn is_noop(&self) -> bool {
        [
            self.events_stream,
            self.deliveries_stream,
            self.fanout_consumer,
            self.deliver_consumer,
        ]
        .iter()
        .all(|c| *c == Change::Unchanged)
    }
}

/// The fields Herald sets; a stream differing in any of them is updated.
fn stream_differs(have: &stream::Config, want: &stream::Config) -> bool {
    let set = |c: &stream::Config| {
        let limits = (c.num_replicas, c.max_age, c.duplicate_window, c.max_bytes);
        (
            c.subjects.clone(),
            limits,
            c.retention,
            c.discard,
            c.description.clone(),
        )
    };
    set(have) != set(want)
}

async fn ensure_stream(js: &Context, want: stream::Config) -> Result<Change, ProvisionError> {
    let name = want.name.clone();
    match js.get_stream(&name).await {
        Ok(s) => {
            let have = &s.cached_info().config;
            if have.storage != want.storage {
                return Err(ProvisionError::StorageMismatch {
                    stream: name,
                    actual: have.storage,
                    wanted: want.storage,
                });
            }
            if !stream_differs(have, &want) {
                return Ok(Change::Unchanged);
            }
            js.update_stream(&want)
                .await
                .map_err(|e| request_error(&name, e))?;
            tracing::info!(stream = %name, "Updated stream.");
            Ok(Change::Updated)
        }
        Err(e) => {
            let not_found = matches!(
                e.kind(),
                async_nats::jetstream::context::GetStreamErrorKind::JetStream(ref j)
                    if j.error_code() == async_nats::jetstream::ErrorCode::STREAM_NOT_FOUND
            );
            if !not_found {
                return Err(request_error(&name, e));
            }
            js.create_stream(want)
                .await
                .map_err(|e| request_error(&name, e))?;
            tracing::info!(stream = %name, "Created stream.");
            Ok(Change::Created)
        }
    }
}

/// The fields Herald sets; a consumer differing in any of them is updated.
fn consumer_differs(have: &async_nats::jetstream::consumer::Config, want: &pull::Config) -> bool {
    let wanted = (
        want.ack_wait,
        want.max_ack_pending,
        want.max_deliver,
        want.max_waiting,
    );
    let current = (
        have.ack_wait,
        have.max_ack_pending,
        have.max_deliver,
        have.max_waiting,
    );
    current != wanted
        || have.filter_subject != want.filter_subject
        || have.description != want.description
}

async fn ensure_consumer(
    js: &Context,
    stream_name: &str,
    want: pull::Config,
) -> Result<Change, ProvisionError> {
    let name = want.durable_name.clone().unwrap_or_default();
    let what = format!("{stream_name}/{name}");
    let stream = js
        .get_stream(stream_name)
        .await
        .map_err(|e| request_error(&what, e))?;
    match stream.consumer_info(&name).await {
        Ok(info) => {
            if !consumer_differs(&info.config, &want) {
                return Ok(Change::Unchanged);
            }
            stream
                .update_consumer(want)
                .await
                .map_err(|e| request_error(&what, e))?;
            tracing::info!(consumer = %what, "Updated consumer.");
            Ok(Change::Updated)
        }
        Err(e) if matches!(e.kind(), ConsumerInfoErrorKind::NotFound) => {
            stream
                .create_consumer(want)
                .await
                .map_err(|e| request_error(&what, e))?;
            tracing::info!(consumer = %what, "Created consumer.");
            Ok(Change::Created)
        }
        Err(e) => Err(request_error(&what, e)),
    }
}

/// Create or update both streams and both consumers.
pub async fn provision(
    js: &Context,
    s: &StreamSettings,
) -> Result<ProvisionReport, ProvisionError> {
    let events_stream = ensure_stream(js, events_stream_config(s)).await?;
    let deliveries_stream = ensure_stream(js, deliveries_stream_config(s)).await?;
    let fanout_consumer = ensure_consumer(js, EVENTS_STREAM, fanout_consumer_config(s)).await?;
    let deliver_consumer =
        ensure_consumer(js, DELIVERIES_STREAM, deliver_consumer_config(s)).await?;
    Ok(ProvisionReport {
        events_stream,
        deliveries_stream,
        fanout_consumer,
        deliver_consumer,
    })
}

/// Provision, retrying with backoff while NATS is unreachable or the cluster
/// has no JetStream leader yet, until `deadline` (if any) has passed or
/// `stop` is cancelled. A storage mismatch is not retried.
pub async fn provision_with_retry(
    js: &Context,
    s: &StreamSettings,
    deadline: Option<Duration>,
    stop: &CancellationToken,
) -> Result<ProvisionReport, ProvisionError> {
    let backoff = match deadline {
        Some(d) => RETRY.deadline(d),
        None => RETRY,
    };
    let permanent = |e: &ProvisionError| matches!(e, ProvisionError::StorageMismatch { .. });
    let provisioned = backoff
        .retry("JetStream not ready to provision", stop, permanent, || {
            provision(js, s)
        })
        .await;
    provisioned.map_err(|e| match e {
        GaveUp::Failed(e) => e,
        GaveUp::Cancelled => ProvisionError::Cancelled,
    })
}
