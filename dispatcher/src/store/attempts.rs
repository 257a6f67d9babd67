//! `delivery_attempts`: one row per HTTP attempt, written by the attempt log.

use super::StoreError;
use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

// An attempt of a delivery deleted meanwhile (its endpoint was deleted) is
// skipped.
const INSERT: &str = "
    INSERT INTO delivery_attempts
        (id, delivery_id, attempt, started_at, duration_ms, status_code, error, response_body, headers, dispatcher_id)
    SELECT a.id, a.delivery_id, a.attempt, a.started_at, a.duration_ms, a.status_code, a.error, a.response_body, a.headers::jsonb, $10
    FROM UNNEST($1::uuid[], $2::uuid[], $3::int4[], $4::timestamptz[], $5::int4[], $6::int4[], $7::text[], $8::text[], $9::text[])
        AS a(id, delivery_id, attempt, started_at, duration_ms, status_code, error, response_body, headers)
    WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = a.delivery_id)";

pub(super) const STATEMENTS: &[&str] = &[INSERT];
pub(super) const HOT: &[&str] = &[INSERT];

/// One attempt to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAttempt<'a> {
    pub delivery_id: Uuid,
    /// 1 for the first attempt.
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub status_code: Option<i32>,
    pub error: Option<&'a str>,
    pub response_body: Option<&'a str>,
    /// The headers sent and received as JSON text (`deliver::header_log`),
    /// serialized by the delivery task, not by the log's one writer.
    pub headers: Option<&'a str>,
}

/// Insert `attempts` (each gets a fresh id), recorded by `dispatcher_id`.
pub async fn insert(
    tx: &Transaction<'_>,
    dispatcher_id: &str,
    attempts: &[NewAttempt<'_>],
) -> Result<u64, StoreError> {
    if attempts.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = attempts.iter().map(|_| Uuid::now_v7()).collect();
    let deliveries: Vec<Uuid> = attempts.iter().map(|a| a.delivery_id).collect();
    let numbers: Vec<i32> = attempts.iter().map(|a| a.attempt).collect();
    let started: Vec<DateTime<Utc>> = attempts.iter().map(|a| a.started_at).collect();
    let durations: Vec<i32> = attempts.iter().map(|a| a.duration_ms).collect();
    let codes: Vec<Option<i32>> = attempts.iter().map(|a| a.status_code).collect();
    let errors: Vec<Option<&str>> = attempts.iter().map(|a| a.error).collect();
    let bodies: Vec<Option<&str>> = attempts.iter().map(|a| a.response_body).collect();
    let headers: Vec<Option<&str>> = attempts.iter().map(|a| a.headers).collect();
    let params: [&(dyn ToSql + Sync); 10] = [
        &ids,
        &deliveries,
        &numbers,
        &started,
        &durations,
        &codes,
        &errors,
        &bodies,
        &headers,
        &dispatcher_id,
    ];
    super::execute(tx, INSERT, &params).await
}
