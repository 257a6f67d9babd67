use super::*;
use crate::fixtures::{at, event, id};
use serde_json::json;
use DeliveryStatus::{Delivered, Failed, Pending, Retrying};

/// An endpoint `id(n)` of `tenant` at version `at(n)`, owning its routing.
struct Endpoint {
    n: u128,
    tenant: &'static str,
    routing: Routing,
    fifo: bool,
}

fn endpoint(n: u128, tenant: &'static str, types: &[&str]) -> Endpoint {
    filtered(n, tenant, types, serde_json::Value::Null)
}

fn filtered(n: u128, tenant: &'static str, types: &[&str], filter: serde_json::Value) -> Endpoint {
    Endpoint {
        n,
        tenant,
        routing: Routing::compile(types, Some(&filter)).expect("valid routing"),
        fifo: false,
    }
}

fn candidates(endpoints: &[Endpoint]) -> Vec<Candidate<'_>> {
    endpoints
        .iter()
        .map(|e| Candidate {
            id: id(e.n),
            tenant_id: e.tenant,
            version: at(e.n as i64),
            routing: &e.routing,
            fifo: e.fifo,
        })
        .collect()
}

/// (event index, endpoint) of each pair.
fn paired(events: &[EventMessage], endpoints: &[Endpoint]) -> Vec<(usize, u128)> {
    pairs(events, &candidates(endpoints))
        .iter()
        .map(|p| (p.event, p.webhook_id.as_u128()))
        .collect()
}

fn with_payload(n: u128, event_type: &str, payload: &str) -> EventMessage {
    let mut e = event(n, "a", event_type);
    e.payload = RawValue::from_string(payload.into()).expect("json");
    e
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
        assert_eq!(paired(&events, &endpoints), want, "{events:?}");
    }
}

#[test]
fn wildcards_pair_by_nats_tokens() {
    let endpoints = [
        endpoint(10, "a", &["order.*"]),
        endpoint(11, "a", &["order.>"]),
        endpoint(12, "a", &[">"]),
        endpoint(13, "a", &["user.signed_up", "*.created"]),
    ];
    let events = [
        event(1, "a", "order.created"),
        event(2, "a", "order.updated"),
        event(3, "a", "order.item.added"),
        event(4, "a", "invoice.created"),
        event(5, "a", "herald.endpoint.disabled"),
    ];
    assert_eq!(
        paired(&events, &endpoints),
        [
            (0, 10),
            (0, 11),
            (0, 12),
            (0, 13),
            (1, 10),
            (1, 11),
            (1, 12),
            (2, 11),
            (2, 12),
            (3, 12),
            (3, 13),
            (4, 12),
        ]
    );
}

#[test]
fn a_filter_keeps_only_the_events_whose_payload_passes() {
    let endpoints = [
        filtered(
            10,
            "a",
            &["order.created"],
            json!({"amount": {"$gte": 100}}),
        ),
        endpoint(11, "a", &["order.created"]),
        filtered(
            12,
            "a",
            &["order.created"],
            json!({"customer.tier": "gold"}),
        ),
    ];
    let events = [
        with_payload(1, "order.created", r#"{"amount": 100}"#),
        with_payload(
            2,
            "order.created",
            r#"{"amount": 99.5, "customer": {"tier": "gold"}}"#,
        ),
        with_payload(3, "order.created", r#"{"amount": "lots"}"#),
        with_payload(4, "order.created", "[1]"),
    ];
    assert_eq!(
        paired(&events, &endpoints),
        [(0, 10), (0, 11), (1, 11), (1, 12), (2, 11), (3, 11)]
    );
}

#[test]
fn pairs_carry_the_endpoint_version_and_ask_for_one_row_each() {
    let events = [event(1, "b", "x"), event(2, "a", "x"), event(3, "b", "x")];
    assert_eq!(tenants(&events), ["a", "b"]);
    let pairs = pairs(&events, &candidates(&[endpoint(7, "b", &["x"])]));
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
        &candidates(&[
            endpoint(7, "a", &["x"]),
            endpoint(8, "a", &["x"]),
            endpoint(9, "a", &["x"]),
        ]),
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
    let got: Vec<Uuid> = pairs(&events, &candidates(&endpoints))
        .iter()
        .map(|p| p.webhook_id)
        .collect();
    assert_eq!(got, [id(7)]);
}

#[test]
fn a_group_names_the_fifo_lines_its_events_belong_to() {
    let fifo = |n, tenant, types| Endpoint {
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
    let got: Vec<u128> = fifo_lines(&events, &candidates(&endpoints))
        .iter()
        .map(|e| e.id.as_u128())
        .collect();
    assert_eq!(
        got,
        [20],
        "one line, named once; unordered endpoints are not lines"
    );
    assert!(fifo_lines(&[], &candidates(&endpoints)).is_empty());
}

#[test]
fn a_fifo_line_wants_what_fan_out_would_pair() {
    let e = filtered(8, "a", &["order.*"], json!({"amount": {"$gte": 100}}));
    let cases = [
        ("order.created", r#"{"amount": 100}"#, true),
        ("order.created", r#"{"amount": 5}"#, false),
        ("order.item.added", r#"{"amount": 100}"#, false),
        ("invoice.created", r#"{"amount": 100}"#, false),
    ];
    for (t, payload, want) in cases {
        assert_eq!(
            wants(&e.routing, &with_payload(1, t, payload)),
            want,
            "{t} {payload}"
        );
    }
}
