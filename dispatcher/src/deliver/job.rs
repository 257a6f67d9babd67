//! One delivery job, in stages: [`Prepared`] (its endpoint, admitted), then
//! [`Sent`] (signed and sent), then [`Judged`]; the attempt is recorded and
//! only then is the job acked.

use super::admission::{Admission, Admitted, Gates};
use super::header_log;
use super::http::{DeliveryError, HttpClient};
use super::judge::{judge, Judged, Sent};
use super::outcome::Decision;
use super::request::{self, BodyParts, HeaderParts};
use crate::attempt_log::{AttemptLog, Record};
use crate::endpoints_cache::{Endpoint, EndpointsCache};
use crate::retry::reserved_slot;
use crate::store::deliveries::Park;
use crate::store::StoreError;
use async_nats::jetstream::{AckKind, Message};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use herald_common::config::RetryPolicy;
use herald_common::domain::DeliveryStatus;
use herald_common::jetstream::{ack, in_progress};
use herald_common::messages::DeliveryJob;
use herald_common::metrics::{
    DELIVERIES_IN_FLIGHT, DELIVERIES_TOTAL, DELIVERY_ATTEMPTS_TOTAL,
    DELIVERY_ATTEMPT_DURATION_SECONDS, DELIVERY_LAG_SECONDS,
};
use herald_common::shutdown::CancellationToken;
use http::header::HeaderMap;
use rand::Rng;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

mod direct;

const RETRY_LATER: Duration = Duration::from_secs(1);

pub struct JobContext {
    pub cache: Arc<EndpointsCache>,
    pub gates: Gates,
    pub http: HttpClient,
    pub log: AttemptLog,
    pub policy: RetryPolicy,
    pub ack_wait: Duration,
    /// Stop admitting: jobs not yet sending are returned (NAK, no delay).
    pub shutdown: CancellationToken,
    /// The grace period is over: requests still running are abandoned.
    pub hard_stop: CancellationToken,
}

/// A job ready to send: its endpoint, and a place in its in-flight cap.
struct Prepared {
    endpoint: Arc<Endpoint>,
    admitted: Admitted,
}

/// How a job ends without being sent.
enum Unsent {
    /// Acknowledge it: there is nothing to deliver.
    Drop,
    /// Terminate it: it can never be delivered.
    Reject,
    /// Return it to JetStream, to come back after `Some(delay)` or at once.
    Return(Option<Duration>),
    /// Record this instead of an attempt, then acknowledge it.
    Record(Record),
}

impl JobContext {
    pub async fn handle(&self, msg: Message, permit: OwnedSemaphorePermit) {
        let _permit = permit;
        let job: DeliveryJob = match serde_json::from_slice(&msg.payload) {
            Ok(job) => job,
            Err(error) => {
                tracing::error!(%error, subject = %msg.subject, "Dropping a malformed delivery job.");
                ack(&msg, AckKind::Term).await;
                return;
            }
        };
        let run = self.run(&msg, &job).instrument(span(&job));
        in_progress(std::slice::from_ref(&msg), self.ack_wait, run).await;
    }

    async fn run(&self, msg: &Message, job: &DeliveryJob) {
        let prepared = match self.prepare(msg, job).await {
            Ok(prepared) => prepared,
            Err(unsent) => return self.settle(msg, unsent).await,
        };
        let Some(decided) = self.send_and_record(prepared, job).await else {
            return ack(msg, AckKind::Nak(None)).await;
        };
        ack(msg, AckKind::Ack).await;
        decided.count(job.created_at);
    }

    /// Judge an attempt with its endpoint's retry policy and record it;
    /// `None` if it could not be recorded (do not ack).
    pub(crate) async fn conclude(
        &self,
        job: &DeliveryJob,
        endpoint: &Endpoint,
        sent: Sent,
    ) -> Option<Decided> {
        observe(&sent);
        let policy = self
            .policy
            .for_endpoint(endpoint.retry_schedule.as_deref(), endpoint.retry_on_4xx);
        let jitter_sample = rand::thread_rng().gen_range(-1.0..=1.0);
        let judged = judge(job, sent, &policy, Utc::now(), jitter_sample);
        log(&judged);
        let record = judged.record;
        let decided = Decided {
            decision: judged.decision,
            status: record.status,
            disabled: record.disable_reason.is_some(),
        };
        self.record(Record::Attempt(Box::new(record)))
            .await
            .then_some(decided)
    }

    /// Find the job's endpoint and wait for its admission.
    async fn prepare(&self, msg: &Message, job: &DeliveryJob) -> Result<Prepared, Unsent> {
        let endpoint = match self.endpoint(job).await {
            Ok(Some(e)) => e,
            Ok(None) => {
                tracing::info!("Endpoint deleted; dropping the job.");
                return Err(Unsent::Drop);
            }
            Err(error) => {
                tracing::warn!(%error, "Could not load the endpoint.");
                return Err(Unsent::Return(Some(RETRY_LATER)));
            }
        };
        if endpoint.tenant_id != job.tenant_id {
            tracing::error!("Job and endpoint belong to different tenants; dropping the job.");
            return Err(Unsent::Reject);
        }
        if !endpoint.active {
            return Err(Unsent::Record(Record::Fail {
                delivery_id: job.delivery_id,
                reason: "endpoint is disabled".to_string(),
            }));
        }
        let reserved = reserved_slot(msg.headers.as_ref());
        match self.gates.admit(&endpoint, reserved, &self.shutdown).await {
            Ok(Admission::Go(admitted)) => Ok(Prepared { endpoint, admitted }),
            Ok(Admission::Park { until, rate_slot }) => {
                tracing::debug!(%until, "Endpoint busy; parking the job.");
                Err(Unsent::Record(Record::Park(Park {
                    delivery_id: job.delivery_id,
                    until,
                    rate_slot,
                })))
            }
            Ok(Admission::Stopped) => Err(Unsent::Return(None)),
            Ok(Admission::Gone) => Err(Unsent::Drop),
            Err(error) => {
                tracing::warn!(%error, "Could not reserve a rate-limit slot.");
                Err(Unsent::Return(Some(RETRY_LATER)))
            }
        }
    }

    /// The job's endpoint as fresh as the job needs: at least the version
    /// fan-out saw, and re-read once before a cached "disabled" fails the
    /// delivery (it may have been re-enabled a moment ago).
    async fn endpoint(&self, job: &DeliveryJob) -> Result<Option<Arc<Endpoint>>, StoreError> {
        match self
            .cache
            .get_at_least(job.webhook_id, job.webhook_version)
            .await?
        {
            Some(e) if !e.active => self.cache.refresh(job.webhook_id).await,
            other => Ok(other),
        }
    }

    /// Sign, send, judge and record one attempt in `prepared`'s place (a
    /// job's, or a direct first attempt's); `None` if the grace period ended
    /// first or the attempt could not be recorded: its job or event is
    /// returned, not acked.
    async fn send_and_record(&self, prepared: Prepared, job: &DeliveryJob) -> Option<Decided> {
        let Prepared { endpoint, admitted } = prepared;
        let Some(sent) = self.attempt(&endpoint, job).await else {
            tracing::info!("Shutdown grace period over; returning the attempt's job or event.");
            return None;
        };
        admitted.gate.observe(sent.took);
        self.conclude(job, &endpoint, sent).await
    }

    /// Sign and send to `endpoint`, timed; `None` if the grace period
    /// ended first.
    pub(crate) async fn attempt(&self, endpoint: &Endpoint, job: &DeliveryJob) -> Option<Sent> {
        let started_at = Utc::now();
        let clock = Instant::now();
        metrics::gauge!(DELIVERIES_IN_FLIGHT).increment(1.0);
        let (request_headers, result) = match self.request(endpoint, job, started_at) {
            Ok((url, headers, body)) => {
                let logged = header_log::request(&headers);
                let result = tokio::select! {
                    r = self.http.deliver(url, headers, body) => Some(r),
                    _ = self.hard_stop.cancelled() => None,
                };
                (logged, result)
            }
            Err(error) => (serde_json::Map::new(), Some(Err(error))),
        };
        metrics::gauge!(DELIVERIES_IN_FLIGHT).decrement(1.0);
        Some(Sent {
            started_at,
            took: clock.elapsed(),
            request_headers,
            result: result?,
        })
    }

    /// Build and sign the request: its URL, headers and body.
    fn request<'e>(
        &self,
        endpoint: &'e Endpoint,
        job: &DeliveryJob,
        now: DateTime<Utc>,
    ) -> Result<(&'e url::Url, HeaderMap, Bytes), DeliveryError> {
        let url = endpoint
            .url
            .as_ref()
            .map_err(|e| DeliveryError::Invalid(e.clone()))?;
        let keys = endpoint.signing_keys(now).map_err(DeliveryError::Invalid)?;
        let body = request::body(
            endpoint.payload_format,
            &BodyParts {
                event_id: job.event_id,
                event_type: &job.event_type,
                created_at: job.created_at,
                payload: job.payload.get(),
                custom: endpoint.custom_payload.as_deref(),
            },
        );
        let headers = request::headers(&HeaderParts {
            event_id: job.event_id,
            event_type: &job.event_type,
            delivery_id: job.delivery_id,
            timestamp: now.timestamp(),
            body: &body,
            keys: &keys,
            custom: &endpoint.headers,
        });
        Ok((url, headers, body))
    }

    /// End a job that was not sent.
    async fn settle(&self, msg: &Message, unsent: Unsent) {
        match unsent {
            Unsent::Drop => ack(msg, AckKind::Ack).await,
            Unsent::Reject => ack(msg, AckKind::Term).await,
            Unsent::Return(delay) => ack(msg, AckKind::Nak(delay)).await,
            Unsent::Record(record) => {
                let recorded = self.record(record).await;
                ack(
                    msg,
                    if recorded {
                        AckKind::Ack
                    } else {
                        AckKind::Nak(None)
                    },
                )
                .await
            }
        }
    }

    /// Wait for the record to be committed (Postgres may be slow or down;
    /// the caller keeps the message in progress meanwhile). `false` if it
    /// could not be recorded: do not ack.
    pub(crate) async fn record(&self, record: Record) -> bool {
        self.log.record(record).await
    }
}

/// The span of one job's handling.
fn span(job: &DeliveryJob) -> tracing::Span {
    tracing::info_span!(
        "deliver",
        delivery_id = %job.delivery_id,
        event_id = %job.event_id,
        webhook_id = %job.webhook_id,
        attempt = job.attempts_made + 1,
    )
}

/// Attempt metrics: the result class and the duration.
fn observe(sent: &Sent) {
    metrics::counter!(DELIVERY_ATTEMPTS_TOTAL, "result" => sent.result_label()).increment(1);
    metrics::histogram!(DELIVERY_ATTEMPT_DURATION_SECONDS).record(sent.took.as_secs_f64());
}

fn log(judged: &Judged) {
    match &judged.record.error {
        Some(error) => {
            tracing::info!(%error, decision = ?judged.decision, "Delivery attempt failed.")
        }
        None => tracing::debug!("Delivered."),
    }
}

/// A recorded attempt: what to do with the job, and what it did to the
/// delivery.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decided {
    pub decision: Decision,
    status: DeliveryStatus,
    disabled: bool,
}

impl Decided {
    /// Delivery metrics once the attempt is recorded: how it ended, and the
    /// lag from the event's acceptance to its delivery.
    pub fn count(&self, created_at: DateTime<Utc>) {
        count(self.status, self.disabled, created_at)
    }
}

fn count(status: DeliveryStatus, disabled: bool, created_at: DateTime<Utc>) {
    let outcome = match status {
        DeliveryStatus::Delivered => {
            let lag = (Utc::now() - created_at).to_std().unwrap_or_default();
            metrics::histogram!(DELIVERY_LAG_SECONDS).record(lag.as_secs_f64());
            "delivered"
        }
        DeliveryStatus::Failed if disabled => "disabled",
        DeliveryStatus::Failed => "failed",
        DeliveryStatus::Pending | DeliveryStatus::Retrying => return,
    };
    metrics::counter!(DELIVERIES_TOTAL, "outcome" => outcome).increment(1);
}
