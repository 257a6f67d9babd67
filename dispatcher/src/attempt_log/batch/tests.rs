use super::*;
use crate::fixtures::{at, id};
use std::time::Duration;
use DeliveryStatus::{Delivered, Failed, Retrying};

/// Attempt `attempt` of delivery `delivery` to endpoint `webhook`, started
/// at `started` and taking one second.
fn attempt(
    delivery: u128,
    webhook: u128,
    attempt: i32,
    status: DeliveryStatus,
    started: i64,
) -> Record {
    Record::Attempt(Box::new(AttemptRecord {
        delivery_id: id(delivery),
        webhook_id: id(webhook),
        tenant_id: "default".into(),
        event_id: id(100 + delivery),
        event_type: "order.created".into(),
        attempt,
        started_at: at(started),
        duration: Duration::from_secs(1),
        status_code: Some(if status == Delivered { 200 } else { 500 }),
        error: (status != Delivered).then(|| "HTTP 500".to_string()),
        response_body: None,
        headers: None,
        status,
        next_retry_at: None,
        disable_reason: None,
    }))
}

fn gone(delivery: u128, webhook: u128) -> Record {
    let Record::Attempt(mut a) = attempt(delivery, webhook, 1, Failed, 0) else {
        unreachable!("attempt() builds attempts")
    };
    a.disable_reason = Some("gone".into());
    Record::Attempt(a)
}

fn park(delivery: u128, until: i64) -> Record {
    Record::Park(Park {
        delivery_id: id(delivery),
        until: at(until),
        rate_slot: None,
    })
}

fn fail(delivery: u128) -> Record {
    Record::Fail {
        delivery_id: id(delivery),
        reason: "endpoint is disabled".into(),
    }
}

/// What a batch writes, in short: updates (delivery, status, attempts),
/// parks (delivery, until), results (endpoint, succeeded, at), disables.
type Summary = (
    Vec<(u128, DeliveryStatus, Option<i32>)>,
    Vec<(u128, i64)>,
    Vec<(u128, bool, i64)>,
    Vec<u128>,
);

fn summary(batch: &Batch<'_>) -> Summary {
    let secs = |t: DateTime<Utc>| t.timestamp() - 1_700_000_000;
    (
        batch
            .updates
            .iter()
            .map(|u| (u.id.as_u128(), u.status, u.attempts))
            .collect(),
        batch
            .parks
            .iter()
            .map(|p| (p.delivery_id.as_u128(), secs(p.until)))
            .collect(),
        batch
            .results
            .iter()
            .map(|r| (r.webhook_id.as_u128(), r.succeeded, secs(r.at)))
            .collect(),
        batch
            .disables
            .iter()
            .map(|d| d.webhook_id.as_u128())
            .collect(),
    )
}

#[test]
fn records_become_one_row_per_delivery_and_endpoint_sorted_by_id() {
    let cases: Vec<(&str, Vec<Record>, Summary)> = vec![
        (
            "a later attempt of a delivery wins, each endpoint keeps its latest result",
            vec![
                attempt(2, 9, 2, Retrying, 10),
                attempt(2, 9, 1, Retrying, 0),
                attempt(1, 8, 1, Delivered, 5),
            ],
            (
                vec![(1, Delivered, Some(1)), (2, Retrying, Some(2))],
                vec![],
                vec![(8, true, 6), (9, false, 11)],
                vec![],
            ),
        ),
        (
            "delivered beats a later failure, and a success clears the endpoint",
            vec![
                attempt(1, 9, 3, Retrying, 0),
                attempt(1, 9, 2, Delivered, 20),
            ],
            (
                vec![(1, Delivered, Some(2))],
                vec![],
                vec![(9, true, 21)],
                vec![],
            ),
        ),
        (
            "a failure without an attempt loses to any attempt",
            vec![fail(1), attempt(1, 9, 1, Retrying, 0), fail(2)],
            (
                vec![(1, Retrying, Some(1)), (2, Failed, None)],
                vec![],
                vec![(9, false, 1)],
                vec![],
            ),
        ),
        (
            "the last park of a delivery wins",
            vec![park(3, 50), park(1, 10), park(3, 60)],
            (vec![], vec![(1, 10), (3, 60)], vec![], vec![]),
        ),
        (
            "410 disables its endpoint once",
            vec![gone(1, 9), gone(2, 9), attempt(3, 8, 1, Retrying, 0)],
            (
                vec![
                    (1, Failed, Some(1)),
                    (2, Failed, Some(1)),
                    (3, Retrying, Some(1)),
                ],
                vec![],
                vec![(8, false, 1), (9, false, 1)],
                vec![9],
            ),
        ),
        (
            "an empty batch writes nothing",
            vec![],
            (vec![], vec![], vec![], vec![]),
        ),
    ];
    for (name, records, want) in cases {
        let batch = build(&records, at(100));
        assert_eq!(summary(&batch), want, "{name}");
        let attempts = records
            .iter()
            .filter(|r| matches!(r, Record::Attempt(_)))
            .count();
        assert_eq!(
            batch.attempts.len(),
            attempts,
            "{name}: every attempt is kept"
        );
    }
}

#[test]
fn rows_carry_the_record_s_fields() {
    let records = [gone(1, 9), fail(2)];
    let batch = build(&records, at(100));
    let a = &batch.attempts[0];
    assert_eq!(
        (
            a.delivery_id,
            a.attempt,
            a.duration_ms,
            a.status_code,
            a.error
        ),
        (id(1), 1, 1000, Some(500), Some("HTTP 500"))
    );
    assert_eq!(batch.updates[0].finished_at, at(1));
    assert_eq!(batch.updates[1].error, Some("endpoint is disabled"));
    assert_eq!(batch.updates[1].finished_at, at(100));
    assert_eq!(batch.disables[0].reason, "gone");
}

#[test]
fn within_a_batch_delivered_wins_then_the_latest_attempt() {
    let update = |status, attempts| DeliveryUpdate {
        id: Uuid::nil(),
        status,
        attempts,
        status_code: None,
        error: None,
        next_retry_at: None,
        finished_at: at(0),
    };
    let cases = [
        ((Retrying, Some(1)), (Retrying, Some(2)), false),
        ((Retrying, Some(2)), (Retrying, Some(1)), true),
        ((Retrying, Some(2)), (Retrying, Some(2)), true),
        ((Retrying, Some(2)), (Delivered, Some(1)), false),
        ((Delivered, Some(2)), (Retrying, Some(3)), true),
        ((Retrying, Some(1)), (Failed, None), true),
        ((Failed, None), (Retrying, Some(1)), false),
    ];
    for (new, old, wins) in cases {
        assert_eq!(
            beats(&update(new.0, new.1), &update(old.0, old.1)),
            wins,
            "{new:?} over {old:?}"
        );
    }
}
