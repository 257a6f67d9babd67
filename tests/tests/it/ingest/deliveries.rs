//! The delivery log (rows a dispatcher would write) and manual re-sends.

use herald_common::messages::DeliveryJob;
use herald_common::subjects::DELIVERIES_STREAM;
use herald_tests::{create_endpoint, post_event, TestApp, UNREACHABLE_URL};
use http::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use super::support::*;

/// Every job in `HERALD_DELIVERIES`, with its `Nats-Msg-Id`.
async fn delivery_jobs(app: &TestApp) -> Vec<(String, DeliveryJob)> {
    let js = app.jetstream();
    let mut stream = js.get_stream(DELIVERIES_STREAM).await.expect("stream");
    let state = stream.info().await.expect("info").state.clone();
    let mut jobs = Vec::new();
    if state.messages == 0 {
        return jobs;
    }
    for seq in state.first_sequence..=state.last_sequence {
        if let Ok(msg) = stream.get_raw_message(seq).await {
            let job: DeliveryJob = serde_json::from_slice(&msg.payload).expect("job");
            let id = msg.headers.get("Nats-Msg-Id").map(|v| v.to_string());
            jobs.push((id.unwrap_or_default(), job));
        }
    }
    jobs
}

/// The ids of a page's `data`.
fn ids(page: &Value) -> Vec<Uuid> {
    let data = page["data"].as_array().cloned().unwrap_or_default();
    data.iter()
        .map(|d| herald_tests::uuid_at(d, "id"))
        .collect()
}

/// An endpoint for `order.created` that is never called.
async fn endpoint(app: &TestApp) -> Uuid {
    let api = app.api();
    create_endpoint(api, UNREACHABLE_URL, &["order.created"], json!({}))
        .await
        .id
}

#[tokio::test]
async fn the_delivery_log_pages_newest_first_and_filters_by_endpoint_event_and_status() {
    let app = app().await;
    let (webhook, other) = (endpoint(&app).await, endpoint(&app).await);
    let mut events = Vec::new();
    for n in 0..3 {
        events.push(post_event(app.api(), "order.created", json!({"n": n})).await);
    }
    let d1 = insert_delivery(&app, events[0], webhook, "default", "failed").await;
    let d2 = insert_delivery(&app, events[1], webhook, "default", "delivered").await;
    let d3 = insert_delivery(&app, events[2], other, "default", "retrying").await;

    let page = app
        .api()
        .get("/deliveries?limit=2")
        .await
        .expect("list")
        .value();
    assert_eq!(ids(&page), [d3, d2], "newest first");
    let cursor = page["next_cursor"].as_str().expect("cursor");
    let next = app
        .api()
        .get(&format!("/deliveries?limit=2&cursor={cursor}"))
        .await;
    let next = next.expect("page").value();
    assert_eq!(ids(&next), [d1]);
    assert_eq!(next["next_cursor"], Value::Null);

    for (query, expected) in [
        (format!("webhook_id={webhook}"), vec![d2, d1]),
        (format!("event_id={}", events[2]), vec![d3]),
        ("status=failed".to_string(), vec![d1]),
        (format!("webhook_id={webhook}&status=delivered"), vec![d2]),
    ] {
        let page = app.api().get(&format!("/deliveries?{query}")).await;
        assert_eq!(ids(&page.expect("filter").value()), expected, "{query}");
    }
}

#[tokio::test]
async fn a_delivery_shows_its_attempts_with_the_body_cut_to_1_kib_and_its_event_lists_it() {
    let app = app().await;
    let webhook = endpoint(&app).await;
    let event = post_event(app.api(), "order.created", json!({"n": 1})).await;
    let delivery = insert_delivery(&app, event, webhook, "default", "failed").await;

    let detail = app.api().get(&format!("/deliveries/{delivery}")).await;
    let detail = detail.expect("get").value();
    assert_eq!(detail["status"], "failed");
    let attempts = detail["attempt_log"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(attempts.len(), 1, "{detail}");
    assert_eq!(attempts[0]["status_code"], 500);
    let body = attempts[0]["response_body"].as_str().unwrap_or_default();
    assert_eq!(body.len(), 1024, "3,000 bytes stored, 1 KiB shown");

    let ev = app.api().get(&format!("/events/{event}")).await;
    let ev = ev.expect("event").value();
    assert_eq!(ev["deliveries"][0]["id"], delivery.to_string());
    assert_eq!(ev["deliveries"][0]["status"], "failed");
}

#[tokio::test]
async fn each_retry_publishes_a_job_under_a_message_id_of_its_own() {
    let app = app().await;
    let webhook = endpoint(&app).await;
    let event = post_event(app.api(), "order.created", json!({"n": 0})).await;
    let delivery = insert_delivery(&app, event, webhook, "default", "failed").await;
    for _ in 0..2 {
        let path = format!("/deliveries/{delivery}/retry");
        let r = app
            .api()
            .send(Method::POST, &path, &[], "")
            .await
            .expect("retry");
        assert_eq!(r.status, 202, "{}", r.text());
        assert_eq!(r.value()["status"], "pending");
    }
    let jobs = delivery_jobs(&app).await;
    assert_eq!(jobs.len(), 2);
    for (msg_id, job) in &jobs {
        assert!(
            msg_id.starts_with(&format!("{delivery}.manual.")),
            "{msg_id}"
        );
        let target = (job.delivery_id, job.webhook_id, job.attempts_made);
        assert_eq!(target, (delivery, webhook, 1));
        assert_eq!(job.payload.get(), r#"{"n":0}"#);
    }
    assert_ne!(jobs[0].0, jobs[1].0, "a second retry is not a duplicate");
}

#[tokio::test]
async fn a_recovery_requeues_the_failed_deliveries_since_a_time() {
    let app = app().await;
    let webhook = endpoint(&app).await;
    let mut deliveries = Vec::new();
    for (n, status) in ["failed", "failed", "delivered"].into_iter().enumerate() {
        let event = post_event(app.api(), "order.created", json!({"n": n})).await;
        deliveries.push(insert_delivery(&app, event, webhook, "default", status).await);
    }
    let recover = |since: &'static str| {
        let (api, path) = (app.api().clone(), format!("/webhooks/{webhook}/recover"));
        async move {
            let r = api.post_json(&path, &json!({ "since": since })).await;
            let r = r.expect("recover");
            assert_eq!(r.status, 202, "{}", r.text());
            r.value()["requeued"].clone()
        }
    };
    assert_eq!(
        recover("2999-01-01T00:00:00Z").await,
        0,
        "none failed since"
    );
    assert_eq!(recover("2000-01-01T00:00:00Z").await, 2);
    let statuses: Vec<String> = app
        .deliveries_of(webhook)
        .await
        .into_iter()
        .map(|d| d.status)
        .collect();
    assert_eq!(statuses, ["pending", "pending", "delivered"]);
    let jobs = delivery_jobs(&app).await;
    let mut requeued: Vec<Uuid> = jobs.iter().map(|(_, job)| job.delivery_id).collect();
    requeued.sort();
    assert_eq!(requeued, deliveries[..2]);
}
