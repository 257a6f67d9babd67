//! One batch of records as one transaction of multi-row statements.

use super::{AttemptRecord, Record};
use chrono::{DateTime, Utc};
use deadpool_postgres::{Pool, Transaction};
use herald_common::domain::DeliveryStatus;
use std::collections::BTreeMap;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

const INSERT_ATTEMPTS: &str = "
    INSERT INTO delivery_attempts
        (id, delivery_id, attempt, started_at, duration_ms, status_code, error, response_body, dispatcher_id)
    SELECT a.id, a.delivery_id, a.attempt, a.started_at, a.duration_ms, a.status_code, a.error, a.response_body, $9
    FROM UNNEST($1::uuid[], $2::uuid[], $3::int4[], $4::timestamptz[], $5::int4[], $6::int4[], $7::text[], $8::text[])
        AS a(id, delivery_id, attempt, started_at, duration_ms, status_code, error, response_body)
    WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = a.delivery_id)";

// A stale result (a duplicate job that ran an older attempt) never overwrites
// a newer one, and nothing overwrites `delivered`.
const UPDATE_DELIVERIES: &str = "
    UPDATE deliveries d SET
        status = v.status,
        attempts = GREATEST(d.attempts, COALESCE(v.attempts, d.attempts)),
        last_status_code = CASE WHEN v.attempts IS NULL THEN d.last_status_code ELSE v.status_code END,
        last_error = v.error,
        next_retry_at = v.next_retry_at,
        delivered_at = CASE WHEN v.status = 'delivered' THEN v.finished_at ELSE d.delivered_at END,
        rate_slot_at = NULL,
        updated_at = now()
    FROM UNNEST($1::uuid[], $2::text[], $3::int4[], $4::int4[], $5::text[], $6::timestamptz[], $7::timestamptz[])
        AS v(id, status, attempts, status_code, error, next_retry_at, finished_at)
    WHERE d.id = v.id AND d.status <> 'delivered'
      AND (v.status = 'delivered' OR v.attempts IS NULL OR v.attempts >= d.attempts)";

const PARK: &str = "
    UPDATE deliveries d SET next_retry_at = v.until, rate_slot_at = v.slot,
        parked = d.parked + 1, updated_at = now()
    FROM UNNEST($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS v(id, until, slot)
    WHERE d.id = v.id AND d.status IN ('pending', 'retrying')";

const FAILING_SINCE: &str = "
    UPDATE webhooks w SET failing_since = CASE WHEN v.ok THEN NULL ELSE v.at END
    FROM UNNEST($1::uuid[], $2::bool[], $3::timestamptz[]) AS v(id, ok, at)
    WHERE w.id = v.id
      AND ((v.ok AND w.failing_since IS NOT NULL) OR (NOT v.ok AND w.failing_since IS NULL))";

const DISABLE: &str = "
    UPDATE webhooks w SET active = false, disabled_reason = v.reason, disabled_at = now(), updated_at = now()
    FROM UNNEST($1::uuid[], $2::text[]) AS v(id, reason)
    WHERE w.id = v.id AND w.active
    RETURNING w.id, w.tenant_id";

/// Write the batch; returns the endpoints it disabled.
#[tracing::instrument(skip_all, fields(records = records.len()))]
pub async fn flush(
    pool: &Pool,
    dispatcher_id: &str,
    records: &[Record],
) -> Result<Vec<(Uuid, String)>, crate::DbError> {
    let mut attempts: Vec<&AttemptRecord> = Vec::new();
    // Per delivery, the update that wins (deduplicated, sorted by id so that
    // concurrent flushes lock rows in the same order).
    let mut updates: BTreeMap<Uuid, Update> = BTreeMap::new();
    let mut parks: BTreeMap<Uuid, (DateTime<Utc>, Option<DateTime<Utc>>)> = BTreeMap::new();
    let mut endpoints: BTreeMap<Uuid, (bool, DateTime<Utc>)> = BTreeMap::new();
    let mut disables: BTreeMap<Uuid, String> = BTreeMap::new();
    for r in records {
        match r {
            Record::Attempt(a) => {
                attempts.push(a);
                let finished = a.started_at + a.duration;
                merge(
                    &mut updates,
                    a.delivery_id,
                    Update::from_attempt(a, finished),
                );
                let last = endpoints
                    .entry(a.webhook_id)
                    .or_insert((a.succeeded(), finished));
                if finished >= last.1 {
                    *last = (a.succeeded(), finished);
                }
                if let Some(reason) = &a.disable_reason {
                    disables.insert(a.webhook_id, reason.clone());
                }
            }
            Record::Fail {
                delivery_id,
                reason,
            } => {
                merge(&mut updates, *delivery_id, Update::failed(reason));
            }
            Record::Park {
                delivery_id,
                until,
                rate_slot,
            } => {
                parks.insert(*delivery_id, (*until, *rate_slot));
            }
        }
    }

    // The parameters of every statement, then the statements pipelined on
    // one connection (one round trip for all of them, not one each).
    let attempt_ids: Vec<Uuid> = attempts.iter().map(|_| Uuid::now_v7()).collect();
    let a_deliveries: Vec<Uuid> = attempts.iter().map(|a| a.delivery_id).collect();
    let a_numbers: Vec<i32> = attempts.iter().map(|a| a.attempt).collect();
    let a_started: Vec<DateTime<Utc>> = attempts.iter().map(|a| a.started_at).collect();
    let a_durations: Vec<i32> = attempts
        .iter()
        .map(|a| i32::try_from(a.duration.as_millis()).unwrap_or(i32::MAX))
        .collect();
    let a_codes: Vec<Option<i32>> = attempts
        .iter()
        .map(|a| a.status_code.map(i32::from))
        .collect();
    let a_errors: Vec<Option<&str>> = attempts.iter().map(|a| a.error.as_deref()).collect();
    let a_bodies: Vec<Option<&str>> = attempts
        .iter()
        .map(|a| a.response_body.as_deref())
        .collect();

    let u_ids: Vec<Uuid> = updates.keys().copied().collect();
    let u: Vec<&Update> = updates.values().collect();
    let u_statuses: Vec<&str> = u.iter().map(|u| u.status.as_str()).collect();
    let u_numbers: Vec<Option<i32>> = u.iter().map(|u| u.attempts).collect();
    let u_codes: Vec<Option<i32>> = u.iter().map(|u| u.status_code).collect();
    let u_errors: Vec<Option<&str>> = u.iter().map(|u| u.error.as_deref()).collect();
    let u_next: Vec<Option<DateTime<Utc>>> = u.iter().map(|u| u.next_retry_at).collect();
    let u_finished: Vec<DateTime<Utc>> = u.iter().map(|u| u.finished_at).collect();

    let p_ids: Vec<Uuid> = parks.keys().copied().collect();
    let p_until: Vec<DateTime<Utc>> = parks.values().map(|p| p.0).collect();
    let p_slots: Vec<Option<DateTime<Utc>>> = parks.values().map(|p| p.1).collect();

    let e_ids: Vec<Uuid> = endpoints.keys().copied().collect();
    let e_ok: Vec<bool> = endpoints.values().map(|e| e.0).collect();
    let e_at: Vec<DateTime<Utc>> = endpoints.values().map(|e| e.1).collect();

    let d_ids: Vec<Uuid> = disables.keys().copied().collect();
    let d_reasons: Vec<&str> = disables.values().map(String::as_str).collect();

    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let attempt_params: [&(dyn ToSql + Sync); 9] = [
        &attempt_ids,
        &a_deliveries,
        &a_numbers,
        &a_started,
        &a_durations,
        &a_codes,
        &a_errors,
        &a_bodies,
        &dispatcher_id,
    ];
    let update_params: [&(dyn ToSql + Sync); 7] = [
        &u_ids,
        &u_statuses,
        &u_numbers,
        &u_codes,
        &u_errors,
        &u_next,
        &u_finished,
    ];
    let park_params: [&(dyn ToSql + Sync); 3] = [&p_ids, &p_until, &p_slots];
    let failing_params: [&(dyn ToSql + Sync); 3] = [&e_ids, &e_ok, &e_at];
    let disable = async {
        if d_ids.is_empty() {
            return Ok(Vec::new());
        }
        let stmt = tx.prepare_cached(DISABLE).await?;
        tx.query(&stmt, &[&d_ids, &d_reasons]).await
    };
    let (_, _, _, _, disabled_rows) = futures::try_join!(
        execute_unless_empty(&tx, INSERT_ATTEMPTS, attempts.is_empty(), &attempt_params),
        execute_unless_empty(&tx, UPDATE_DELIVERIES, u_ids.is_empty(), &update_params),
        execute_unless_empty(&tx, PARK, p_ids.is_empty(), &park_params),
        execute_unless_empty(&tx, FAILING_SINCE, e_ids.is_empty(), &failing_params),
        disable
    )?;
    let mut disabled = Vec::new();
    for row in disabled_rows {
        disabled.push((row.try_get(0)?, row.try_get(1)?));
    }
    tx.commit().await?;
    Ok(disabled)
}

/// Run one of the batch's statements (prepared once per connection), or
/// nothing when it has no rows; the futures are pipelined by `flush`.
async fn execute_unless_empty(
    tx: &Transaction<'_>,
    sql: &str,
    empty: bool,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, tokio_postgres::Error> {
    if empty {
        return Ok(0);
    }
    let stmt = tx.prepare_cached(sql).await?;
    tx.execute(&stmt, params).await
}

/// The new state of one delivery.
#[derive(Debug, Clone)]
struct Update {
    status: DeliveryStatus,
    /// `None` for a change without an attempt.
    attempts: Option<i32>,
    status_code: Option<i32>,
    error: Option<String>,
    next_retry_at: Option<DateTime<Utc>>,
    finished_at: DateTime<Utc>,
}

impl Update {
    fn from_attempt(a: &AttemptRecord, finished_at: DateTime<Utc>) -> Self {
        Self {
            status: a.status,
            attempts: Some(a.attempt),
            status_code: a.status_code.map(i32::from),
            error: a.error.clone(),
            next_retry_at: a.next_retry_at,
            finished_at,
        }
    }

    fn failed(reason: &str) -> Self {
        Self {
            status: DeliveryStatus::Failed,
            attempts: None,
            status_code: None,
            error: Some(reason.to_string()),
            next_retry_at: None,
            finished_at: Utc::now(),
        }
    }

    /// Delivered beats everything; otherwise the later attempt wins.
    fn beats(&self, other: &Self) -> bool {
        let delivered = |u: &Self| u.status == DeliveryStatus::Delivered;
        match (delivered(self), delivered(other)) {
            (true, false) => true,
            (false, true) => false,
            _ => self.attempts.unwrap_or(0) >= other.attempts.unwrap_or(0),
        }
    }
}

fn merge(updates: &mut BTreeMap<Uuid, Update>, id: Uuid, new: Update) {
    match updates.get(&id) {
        Some(old) if !new.beats(old) => {}
        _ => {
            updates.insert(id, new);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(status: DeliveryStatus, attempts: Option<i32>) -> Update {
        Update {
            status,
            attempts,
            status_code: None,
            error: None,
            next_retry_at: None,
            finished_at: Utc::now(),
        }
    }

    #[test]
    fn within_a_batch_delivered_wins_then_the_latest_attempt() {
        use DeliveryStatus::*;
        let cases = [
            (
                (Retrying, Some(1)),
                (Retrying, Some(2)),
                (Retrying, Some(2)),
            ),
            (
                (Retrying, Some(2)),
                (Retrying, Some(1)),
                (Retrying, Some(2)),
            ),
            (
                (Delivered, Some(1)),
                (Retrying, Some(2)),
                (Delivered, Some(1)),
            ),
            (
                (Retrying, Some(3)),
                (Delivered, Some(2)),
                (Delivered, Some(2)),
            ),
            ((Failed, None), (Retrying, Some(1)), (Retrying, Some(1))),
        ];
        for (first, second, want) in cases {
            let mut map = BTreeMap::new();
            let id = Uuid::nil();
            merge(&mut map, id, update(first.0, first.1));
            merge(&mut map, id, update(second.0, second.1));
            let got = &map[&id];
            assert_eq!((got.status, got.attempts), want);
        }
    }
}
