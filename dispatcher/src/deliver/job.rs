//! One delivery job: admit, sign, send, decide, record, then ack.

use super::http::{DeliveryError, HttpClient, HttpResponse};
use crate::admission::{Admission, Gates};
use crate::attempt_log::{AttemptLog, AttemptRecord, Record};
use crate::endpoints_cache::{Endpoint, EndpointsCache};
use crate::outcome::{classify, decide, parse_retry_after, Decision};
use crate::request::{self, BodyParts, HeaderParts};
use crate::retry::RATE_SLOT_HEADER;
use async_nats::jetstream::{AckKind, Message};
use chrono::{DateTime, Utc};
use herald_common::domain::DeliveryStatus;
use herald_common::messages::DeliveryJob;
use herald_common::metrics::{
    status_class, DELIVERIES_IN_FLIGHT, DELIVERIES_TOTAL, DELIVERY_ATTEMPTS_TOTAL,
    DELIVERY_ATTEMPT_DURATION_SECONDS, DELIVERY_LAG_SECONDS,
};
use herald_common::shutdown::CancellationToken;
use rand::Rng;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

const RETRY_LATER: Duration = Duration::from_secs(1);

pub struct JobContext {
    pub cache: Arc<EndpointsCache>,
    pub gates: Gates,
    pub http: HttpClient,
    pub log: AttemptLog,
    pub schedule: Vec<Duration>,
    pub jitter: f64,
    pub ack_wait: Duration,
    /// Stop admitting: jobs not yet sending are returned (NAK, no delay).
    pub shutdown: CancellationToken,
    /// The grace period is over: requests still running are abandoned.
    pub hard_stop: CancellationToken,
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
        let span = tracing::info_span!(
            "deliver",
            delivery_id = %job.delivery_id,
            event_id = %job.event_id,
            webhook_id = %job.webhook_id,
            attempt = job.attempts_made + 1,
        );
        self.run(&msg, &job).instrument(span).await;
    }

    async fn run(&self, msg: &Message, job: &DeliveryJob) {
        let endpoint = match self.endpoint(job).await {
            Ok(Some(e)) => e,
            Ok(None) => {
                tracing::info!("Endpoint deleted; dropping the job.");
                return ack(msg, AckKind::Ack).await;
            }
            Err(error) => {
                tracing::warn!(%error, "Could not load the endpoint.");
                return ack(msg, AckKind::Nak(Some(RETRY_LATER))).await;
            }
        };
        if endpoint.tenant_id != job.tenant_id {
            tracing::error!("Job and endpoint belong to different tenants; dropping the job.");
            return ack(msg, AckKind::Term).await;
        }
        if !endpoint.active {
            let reason = "endpoint is disabled".to_string();
            return self
                .finish(
                    msg,
                    Record::Fail {
                        delivery_id: job.delivery_id,
                        reason,
                    },
                )
                .await;
        }
        let reserved = msg
            .headers
            .as_ref()
            .and_then(|h| h.get(RATE_SLOT_HEADER))
            .and_then(|v| DateTime::parse_from_rfc3339(v.as_str()).ok())
            .map(|d| d.with_timezone(&Utc));
        let admitted = match self.gates.admit(&endpoint, reserved, &self.shutdown).await {
            Ok(Admission::Go(admitted)) => admitted,
            Ok(Admission::Park { until, rate_slot }) => {
                tracing::debug!(%until, "Endpoint busy; parking the job.");
                let park = Record::Park {
                    delivery_id: job.delivery_id,
                    until,
                    rate_slot,
                };
                return self.finish(msg, park).await;
            }
            Ok(Admission::Stopped) => return ack(msg, AckKind::Nak(None)).await,
            Ok(Admission::Gone) => return ack(msg, AckKind::Ack).await,
            Err(error) => {
                tracing::warn!(%error, "Could not reserve a rate-limit slot.");
                return ack(msg, AckKind::Nak(Some(RETRY_LATER))).await;
            }
        };

        let started_at = Utc::now();
        let clock = Instant::now();
        metrics::gauge!(DELIVERIES_IN_FLIGHT).increment(1.0);
        let sent = tokio::select! {
            r = self.send(&endpoint, job, started_at) => Some(r),
            _ = self.hard_stop.cancelled() => None,
        };
        metrics::gauge!(DELIVERIES_IN_FLIGHT).decrement(1.0);
        let took = clock.elapsed();
        admitted.gate.observe(took);
        drop(admitted);
        let Some(result) = sent else {
            tracing::info!("Shutdown grace period over; returning the job.");
            return ack(msg, AckKind::Nak(None)).await;
        };
        let record = self.judge(job, result, started_at, took);
        let (status, disabled) = (record.status, record.disable_reason.is_some());
        if !self.record(msg, Record::Attempt(Box::new(record))).await {
            return ack(msg, AckKind::Nak(None)).await;
        }
        ack(msg, AckKind::Ack).await;
        match status {
            DeliveryStatus::Delivered => {
                metrics::counter!(DELIVERIES_TOTAL, "outcome" => "delivered").increment(1);
                let lag = (Utc::now() - job.created_at).to_std().unwrap_or_default();
                metrics::histogram!(DELIVERY_LAG_SECONDS).record(lag.as_secs_f64());
            }
            DeliveryStatus::Failed if disabled => {
                metrics::counter!(DELIVERIES_TOTAL, "outcome" => "disabled").increment(1);
            }
            DeliveryStatus::Failed => {
                metrics::counter!(DELIVERIES_TOTAL, "outcome" => "failed").increment(1);
            }
            _ => {}
        }
    }

    /// The job's endpoint as fresh as the job needs: at least the version
    /// fan-out saw, and re-read once before a cached "disabled" fails the
    /// delivery (it may have been re-enabled a moment ago).
    async fn endpoint(&self, job: &DeliveryJob) -> Result<Option<Arc<Endpoint>>, crate::DbError> {
        match self
            .cache
            .get_at_least(job.webhook_id, job.webhook_version)
            .await?
        {
            Some(e) if !e.active => self.cache.refresh(job.webhook_id).await,
            other => Ok(other),
        }
    }

    /// Build, sign and send the request.
    async fn send(
        &self,
        endpoint: &Endpoint,
        job: &DeliveryJob,
        now: DateTime<Utc>,
    ) -> Result<HttpResponse, DeliveryError> {
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
        self.http.deliver(url, headers, body).await
    }

    /// Decide what the result means and describe it for the log.
    fn judge(
        &self,
        job: &DeliveryJob,
        result: Result<HttpResponse, DeliveryError>,
        started_at: DateTime<Utc>,
        took: Duration,
    ) -> AttemptRecord {
        let attempt = job.attempts_made.saturating_add(1);
        let (status_code, error, body, retry_after) = match result {
            Ok(r) => {
                let error = (!(200..300).contains(&r.status)).then(|| format!("HTTP {}", r.status));
                let retry_after = r
                    .retry_after
                    .as_deref()
                    .and_then(|v| parse_retry_after(v, Utc::now()));
                (Some(r.status), error, Some(r.body_excerpt), retry_after)
            }
            Err(e) => {
                metrics::counter!(DELIVERY_ATTEMPTS_TOTAL, "result" => e.label()).increment(1);
                (None, Some(e.to_string()), None, None)
            }
        };
        if let Some(code) = status_code {
            metrics::counter!(DELIVERY_ATTEMPTS_TOTAL, "result" => status_class(code)).increment(1);
        }
        metrics::histogram!(DELIVERY_ATTEMPT_DURATION_SECONDS).record(took.as_secs_f64());
        let jitter_sample = rand::thread_rng().gen_range(-1.0..=1.0);
        let made = u32::try_from(attempt).unwrap_or(u32::MAX);
        let decision = decide(
            classify(status_code),
            made,
            &self.schedule,
            self.jitter,
            jitter_sample,
            retry_after,
        );
        let (status, next_retry_at, disable_reason) = match decision {
            Decision::Delivered => (DeliveryStatus::Delivered, None, None),
            Decision::Retry { delay } => (DeliveryStatus::Retrying, Some(Utc::now() + delay), None),
            Decision::Failed => (DeliveryStatus::Failed, None, None),
            Decision::Disable => (
                DeliveryStatus::Failed,
                None,
                Some("the endpoint answered 410 Gone".to_string()),
            ),
        };
        match &error {
            Some(error) => tracing::info!(%error, ?decision, "Delivery attempt failed."),
            None => tracing::debug!("Delivered."),
        }
        AttemptRecord {
            delivery_id: job.delivery_id,
            webhook_id: job.webhook_id,
            tenant_id: job.tenant_id.clone(),
            attempt,
            started_at,
            duration: took,
            status_code,
            error,
            response_body: body,
            status,
            next_retry_at,
            disable_reason,
        }
    }

    /// Record, then ack; NAK (no delay) if it could not be recorded.
    async fn finish(&self, msg: &Message, record: Record) {
        if self.record(msg, record).await {
            ack(msg, AckKind::Ack).await;
        } else {
            ack(msg, AckKind::Nak(None)).await;
        }
    }

    /// Wait for the record to be committed, telling JetStream the job is in
    /// progress meanwhile (Postgres may be slow or down).
    async fn record(&self, msg: &Message, record: Record) -> bool {
        let recorded = self.log.record(record);
        tokio::pin!(recorded);
        let every = (self.ack_wait / 2).max(Duration::from_millis(500));
        loop {
            tokio::select! {
                ok = &mut recorded => return ok,
                _ = tokio::time::sleep(every) => ack(msg, AckKind::Progress).await,
            }
        }
    }
}

async fn ack(msg: &Message, kind: AckKind) {
    if let Err(error) = msg.ack_with(kind).await {
        tracing::warn!(%error, "Could not acknowledge a job.");
    }
}
