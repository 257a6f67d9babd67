//! The delivery log (rows a dispatcher would write) and manual re-sends.

use herald_common::messages::DeliveryJob;
use http::Method;
use serde_json::json;

use super::support::*;

async fn delivery_jobs(app: &herald_tests::TestApp) -> Vec<(String, DeliveryJob)> {
    let js = app.jetstream();
    let mut stream = js.get_stream("HERALD_DELIVERIES").await.expect("stream");
    let state = stream.info().await.expect("info").state.clone();
    let mut jobs = Vec::new();
    if state.messages == 0 {
        return jobs;
    }
    for seq in state.first_sequence..=state.last_sequence {
        if let Ok(msg) = stream.get_raw_message(seq).await {
            let job: DeliveryJob = serde_json::from_slice(&msg.payload).expect("job");
            let id = msg
                .headers
                .get("Nats-Msg-Id")
                .map(|v| v.to_string())
                .unwrap_or_default();
            jobs.push((id, job));
        }
    }
    jobs
}

#[tokio::test]
async fn the_delivery_log_lists_filters_and_shows_attempts() {
    let app = app().await;
    let webhook = create_webhook(app.api(), &["order.created"]).await;
    let other = create_webhook(app.api(), &["order.created"]).await;
    let mut events = Vec::new();
    for _ in 0..3 {
        events.push(id_of(&post_event(app.api(), &event("order.created")).await));
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
    let ids: Vec<&str> = page["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|d| d["id"].as_str())
        .collect();
    assert_eq!(ids, [d3.to_string(), d2.to_string()], "newest first");
    let cursor = page["next_cursor"].as_str().expect("cursor");
    let page = app
        .api()
        .get(&format!("/deliveries?limit=2&cursor={cursor}"))
        .await
        .expect("page")
        .value();
    assert_eq!(page["data"][0]["id"], d1.to_string());
    assert_eq!(page["next_cursor"], serde_json::Value::Null);

    for (query, expected) in [
        (format!("webhook_id={webhook}"), vec![d2, d1]),
        (format!("event_id={}", events[2]), vec![d3]),
        ("status=failed".to_string(), vec![d1]),
        (format!("webhook_id={webhook}&status=delivered"), vec![d2]),
    ] {
        let v = app
            .api()
            .get(&format!("/deliveries?{query}"))
            .await
            .expect("filter")
            .value();
        let got: Vec<String> = v["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter_map(|d| d["id"].as_str().map(str::to_string))
            .collect();
        assert_eq!(
            got,
            expected.iter().map(|u| u.to_string()).collect::<Vec<_>>(),
            "{query}"
        );
    }

    let detail = app
        .api()
        .get(&format!("/deliveries/{d1}"))
        .await
        .expect("get")
        .value();
    assert_eq!(detail["status"], "failed");
    assert_eq!(detail["attempt_log"].as_array().map(Vec::len), Some(1));
    assert_eq!(detail["attempt_log"][0]["status_code"], 500);
    assert_eq!(
        detail["attempt_log"][0]["response_body"]
            .as_str()
            .map(str::len),
        Some(1024)
    );

    let ev = app
        .api()
        .get(&format!("/events/{}", events[0]))
        .await
        .expect("event")
        .value();
    assert_eq!(ev["deliveries"][0]["id"], d1.to_string());
    assert_eq!(ev["deliveries"][0]["status"], "failed");
}

#[tokio::test]
async fn retry_and_recover_publish_jobs_and_reset_the_status() {
    let app = app().await;
    let webhook = create_webhook(app.api(), &["order.created"]).await;
    let mut deliveries = Vec::new();
    for i in 0..3 {
        let r = post_event(
            app.api(),
            &json!({"type": "order.created", "payload": {"n": i}}),
        )
        .await;
        let status = if i == 2 { "delivered" } else { "failed" };
        deliveries.push(insert_delivery(&app, id_of(&r), webhook, "default", status).await);
    }

    // Retry one delivery, twice: two jobs (unique message ids), status pending.
    for _ in 0..2 {
        let r = app
            .api()
            .send(
                Method::POST,
                &format!("/deliveries/{}/retry", deliveries[0]),
                &[],
                "",
            )
            .await
            .expect("retry");
        assert_eq!(r.status, 202, "{}", r.text());
        assert_eq!(r.value()["status"], "pending");
    }
    let jobs = delivery_jobs(&app).await;
    assert_eq!(jobs.len(), 2);
    for (msg_id, job) in &jobs {
        assert!(
            msg_id.starts_with(&format!("{}.manual.", deliveries[0])),
            "{msg_id}"
        );
        assert_eq!(
            (job.delivery_id, job.webhook_id, job.attempts_made),
            (deliveries[0], webhook, 1)
        );
        assert_eq!(job.payload.get(), r#"{"n":0}"#);
    }
    assert_ne!(jobs[0].0, jobs[1].0);

    // Recover: only the failed delivery left (the other was reset), since the epoch.
    app.db()
        .execute(
            "UPDATE deliveries SET status = 'failed' WHERE id = $1",
            &[&deliveries[0]],
        )
        .await
        .expect("fail again");
    let r = app
        .api()
        .post_json(
            &format!("/webhooks/{webhook}/recover"),
            &json!({"since": "2000-01-01T00:00:00Z"}),
        )
        .await
        .expect("recover");
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(r.value()["requeued"], 2);
    let statuses: Vec<String> = app
        .db()
        .query("SELECT status FROM deliveries ORDER BY id", &[])
        .await
        .expect("rows")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(statuses, ["pending", "pending", "delivered"]);
    assert_eq!(delivery_jobs(&app).await.len(), 4);
    // A time after them recovers nothing.
    let r = app
        .api()
        .post_json(
            &format!("/webhooks/{webhook}/recover"),
            &json!({"since": "2999-01-01T00:00:00Z"}),
        )
        .await
        .expect("recover");
    assert_eq!(r.value()["requeued"], 0);
    let r = app
        .api()
        .post_json(
            &format!("/webhooks/{webhook}/recover"),
            &json!({"since": "yesterday"}),
        )
        .await
        .expect("bad since");
    assert_eq!(r.status, 400);
}
