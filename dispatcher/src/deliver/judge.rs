//! Judging an attempt: the HTTP result becomes the attempt's record, the
//! delivery's status and next retry, and the endpoint's disable reason. Pure:
//! the caller passes the time and the jitter sample, and does the metrics and
//! logging.

use super::header_log;
use super::http::{DeliveryError, HttpResponse};
use super::outcome::{classify, decide, honours_retry_after, parse_retry_after, Decision};
use crate::attempt_log::AttemptRecord;
use chrono::{DateTime, Utc};
use herald_common::config::RetryPolicy;
use herald_common::domain::DeliveryStatus;
use herald_common::messages::DeliveryJob;
use herald_common::metrics::status_class;
use std::time::Duration;

/// Why a `410 Gone` disables its endpoint.
pub const GONE_REASON: &str = "the endpoint answered 410 Gone";

/// A request that was sent: when, for how long, and what came back.
#[derive(Debug)]
pub struct Sent {
    pub started_at: DateTime<Utc>,
    pub took: Duration,
    /// The request's headers as sent, secrets redacted (empty when the
    /// request could not be built).
    pub request_headers: serde_json::Map<String, serde_json::Value>,
    pub result: Result<HttpResponse, DeliveryError>,
}

impl Sent {
    /// The bounded `result` label of `herald_delivery_attempts_total`.
    pub fn result_label(&self) -> &'static str {
        match &self.result {
            Ok(response) => status_class(response.status),
            Err(error) => error.label(),
        }
    }
}

/// An attempt, judged: what to do next, and what to record.
#[derive(Debug)]
pub struct Judged {
    pub decision: Decision,
    pub record: AttemptRecord,
}

/// What an attempt got back, as the log keeps it.
struct Answer {
    status_code: Option<u16>,
    headers: Option<serde_json::Map<String, serde_json::Value>>,
    error: Option<String>,
    body: Option<String>,
    retry_after: Option<Duration>,
}

fn answer(result: Result<HttpResponse, DeliveryError>, now: DateTime<Utc>) -> Answer {
    match result {
        Ok(r) => Answer {
            status_code: Some(r.status),
            headers: Some(header_log::response(&r.headers)),
            error: (!(200..300).contains(&r.status)).then(|| format!("HTTP {}", r.status)),
            retry_after: r
                .retry_after
                .as_deref()
                .filter(|_| honours_retry_after(r.status))
                .and_then(|v| parse_retry_after(v, now)),
            body: Some(r.body_excerpt),
        },
        Err(e) => Answer {
            status_code: None,
            headers: None,
            error: Some(e.to_string()),
            body: None,
            retry_after: None,
        },
    }
}

/// The delivery's status after a decision.
fn status_after(decision: Decision) -> DeliveryStatus {
    match decision {
        Decision::Delivered => DeliveryStatus::Delivered,
        Decision::Retry { .. } => DeliveryStatus::Retrying,
        Decision::Failed | Decision::Disable => DeliveryStatus::Failed,
    }
}

/// Judge the attempt `sent` made for `job`, at `now` (when the answer
/// arrived), with `jitter_sample` uniform in `[-1, 1]`. The retry delay is
/// that of the job's place in its schedule (a manual re-send starts the
/// schedule again); the recorded attempt number counts every attempt.
pub fn judge(
    job: &DeliveryJob,
    sent: Sent,
    policy: &RetryPolicy,
    now: DateTime<Utc>,
    jitter_sample: f64,
) -> Judged {
    let attempt = job.attempts_made.saturating_add(1);
    let answer = answer(sent.result, now);
    let decision = decide(
        classify(answer.status_code, policy.retry_on_4xx),
        u32::try_from(job.attempt_in_schedule()).unwrap_or(u32::MAX),
        policy,
        jitter_sample,
        answer.retry_after,
    );
    let record = AttemptRecord {
        delivery_id: job.delivery_id,
        webhook_id: job.webhook_id,
        tenant_id: job.tenant_id.clone(),
        event_id: job.event_id,
        event_type: job.event_type.clone(),
        attempt,
        started_at: sent.started_at,
        duration: sent.took,
        status_code: answer.status_code,
        error: answer.error,
        response_body: answer.body,
        headers: Some(header_log::record(sent.request_headers, answer.headers).to_string()),
        status: status_after(decision),
        next_retry_at: match decision {
            Decision::Retry { delay } => Some(now + delay),
            _ => None,
        },
        disable_reason: (decision == Decision::Disable).then(|| GONE_REASON.to_string()),
    };
    Judged { decision, record }
}

#[cfg(test)]
mod tests;
