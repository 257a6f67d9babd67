use super::*;
use crate::fixtures::{at, event, id};
use DeliveryStatus::{Delivered, Failed, Pending, Retrying};

fn endpoint(n: u128, tenant: &str, types: &[&str]) -> Subscribed {
    Subscribed {
        id: id(n),
        tenant_id: tenant.into(),
        event_types: types.iter().map(|t| t.to_string()).collect(),
        version: at(n as i64),
        fifo: false,
    }
}

#[test]
fn each_event_pairs_with_its_tenant_s_subscribed_endpoints() {
    let endpoints = [
        endpoint(10, "a", &["order.created", "order.paid"]),
        endpoint(11, "a", &["order.paid"]),
        endpoint(12, "b", &["order.created"]),
        endpoint(13, "b", &[]),
    ];
    // (events as (id, tenant, type), pairs as (event index, endpoint))
    type Events = Vec<(u128, &'static str, &'static str)>;
    let cases: Vec<(Events, Vec<(usize, u128)>)> = vec![
        (vec![(1, "a", "order.created")], vec![(0, 10)]),
        (vec![(1, "a", "order.paid")], vec![(0, 10), (0, 11)]),
        (
            vec![(1, "b", "order.created"), (2, "a", "order.created")],
            vec![(0, 12), (1, 10)],
        ),
        (vec![(1, "a", "order.refunded")], vec![]),
        (vec![(1, "c", "order.created")], vec![]),
        (vec![(1, "a", "order")], vec![]),
        (vec![], vec![]),
    ];
    for (events, want) in cases {
        let events: Vec<EventMessage> = events
            .iter()
            .map(|(n, tenant, t)| event(*n, tenant, t))
            .collect();
        let got: Vec<(usize, u128)> = pairs(&events, &endpoints)
            .iter()
            .map(|p| (p.event, p.webhook_id.as_u128()))
            .collect();
        assert_eq!(got, want, "{events:?}");
    }
}

#[test]
fn pairs_carry_the_endpoint_version_and_ask_for_one_row_each() {
    let events = [event(1, "b", "x"), event(2, "a", "x"), event(3, "b", "x")];
    assert_eq!(tenants(&events), ["a", "b"]);
    let pairs = pairs(&events, &[endpoint(7, "b", &["x"])]);
    assert_eq!(
        pairs,
        [
            Pair {
                event: 0,
                webhook_id: id(7),
                version: at(7)
            },
            Pair {
                event: 2,
                webhook_id: id(7),
                version: at(7)
            },
        ]
    );
    let rows = new_deliveries(&events, &pairs);
    let keys: Vec<(u128, u128, &str)> = rows
        .iter()
        .map(|r| {
            (
                r.key.event_id.as_u128(),
                r.key.webhook_id.as_u128(),
                r.tenant_id,
            )
        })
        .collect();
    assert_eq!(keys, [(1, 7, "b"), (3, 7, "b")]);
}

#[test]
fn only_pending_rows_not_waiting_for_a_time_get_a_job() {
    let cases = [
        (Pending, None, true),
        (Pending, Some(at(60)), false), // parked
        (Retrying, Some(at(60)), false),
        (Retrying, None, false),
        (Delivered, None, false),
        (Failed, None, false),
    ];
    for (status, next_retry_at, want) in cases {
        let row = DeliveryRow {
            id: id(100),
            key: DeliveryKey {
                event_id: id(1),
                webhook_id: id(7),
            },
            status,
            next_retry_at,
            attempts: 0,
        };
        assert_eq!(needs_job(&row), want, "{status:?} {next_retry_at:?}");
    }
}

#[test]
fn jobs_go_to_pairs_with_a_row_that_needs_one() {
    let events = [event(1, "a", "x"), event(2, "a", "x")];
    let pairs = pairs(
        &events,
        &[
            endpoint(7, "a", &["x"]),
            endpoint(8, "a", &["x"]),
            endpoint(9, "a", &["x"]),
        ],
    );
    let row = |delivery: u128, event: u128, webhook: u128, status| DeliveryRow {
        id: id(delivery),
        key: DeliveryKey {
            event_id: id(event),
            webhook_id: id(webhook),
        },
        status,
        next_retry_at: None,
        attempts: 0,
    };
    // Endpoint 9's rows are missing (deleted meanwhile); event 2 was
    // delivered to endpoint 8 before this redelivery.
    let rows: HashMap<DeliveryKey, DeliveryRow> = [
        row(100, 1, 7, Pending),
        row(101, 1, 8, Pending),
        row(102, 2, 7, Pending),
        row(103, 2, 8, Delivered),
    ]
    .into_iter()
    .map(|r| (r.key, r))
    .collect();
    let got: Vec<PlannedJob> = jobs(&events, &pairs, &rows).collect();
    let target = |delivery: u128, webhook: u128| JobTarget {
        delivery_id: id(delivery),
        webhook_id: id(webhook),
        attempts_made: 0,
        webhook_version: Some(at(webhook as i64)),
    };
    assert_eq!(
        got,
        [
            PlannedJob {
                event: 0,
                target: target(100, 7)
            },
            PlannedJob {
                event: 0,
                target: target(101, 8)
            },
            PlannedJob {
                event: 1,
                target: target(102, 7)
            },
        ]
    );
}

#[test]
fn fifo_endpoints_are_left_to_their_lines() {
    let events = [event(1, "acme", "order.created")];
    let mut fifo = endpoint(8, "acme", &["order.created"]);
    fifo.fifo = true;
    let endpoints = [endpoint(7, "acme", &["order.created"]), fifo];
    let got: Vec<Uuid> = pairs(&events, &endpoints)
        .iter()
        .map(|p| p.webhook_id)
        .collect();
    assert_eq!(got, [id(7)]);
}

#[test]
fn a_group_names_the_fifo_lines_its_events_belong_to() {
    let fifo = |n, tenant, types| Subscribed {
        fifo: true,
        ..endpoint(n, tenant, types)
    };
    let endpoints = [
        fifo(20, "a", &["order.created"]),
        fifo(21, "a", &["order.paid"]),
        fifo(22, "b", &["order.created"]),
        endpoint(23, "a", &["order.created"]),
    ];
    let events = [
        event(1, "a", "order.created"),
        event(2, "a", "order.created"),
    ];
    let got: Vec<u128> = fifo_lines(&events, &endpoints)
        .iter()
        .map(|e| e.id.as_u128())
        .collect();
    assert_eq!(
        got,
        [20],
        "one line, named once; unordered endpoints are not lines"
    );
    assert!(fifo_lines(&[], &endpoints).is_empty());
}
