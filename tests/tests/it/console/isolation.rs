//! Tenant isolation of every route the console added: a tenant key can
//! neither read nor act on another tenant's endpoints, events or deliveries.

use chrono::Utc;
use herald_tests::{create_endpoint, post_event, tenant_with_key, TestAppOptions, UNREACHABLE_URL};
use serde_json::json;

use super::support::*;

#[tokio::test]
async fn a_tenant_key_can_neither_read_nor_act_on_another_tenants_objects() {
    let app = app(TestAppOptions::new().dispatchers(0)).await;
    let (acme, _) = tenant_with_key(app.api(), "acme").await;
    let (globex, _) = tenant_with_key(app.api(), "globex").await;
    let theirs = create_endpoint(&globex, UNREACHABLE_URL, &["order.created"], json!({}))
        .await
        .id;
    let ours = create_endpoint(&acme, UNREACHABLE_URL, &["order.created"], json!({}))
        .await
        .id;
    let their_event = post_event(&globex, "order.created", json!({"secret": "globex"})).await;
    let our_event = post_event(&acme, "order.created", json!({"n": 1})).await;
    let at = Utc::now();
    let (their_row_event, their_delivery) = insert_row(
        &app,
        &Row {
            tenant: "globex",
            webhook: theirs,
            event_type: "order.created",
            status: "failed",
            at,
        },
    )
    .await;
    let (our_row_event, our_delivery) = insert_row(
        &app,
        &Row {
            tenant: "acme",
            webhook: ours,
            event_type: "order.created",
            status: "failed",
            at,
        },
    )
    .await;

    // Acting on their objects: not found, as if they did not exist.
    let since = json!({"since": "2020-01-01T00:00:00Z"});
    for path in [
        format!("/webhooks/{theirs}/test"),
        format!("/webhooks/{theirs}/replay"),
        format!("/webhooks/{theirs}/recover"),
        format!("/deliveries/{their_delivery}/retry"),
    ] {
        let r = acme.post_json(&path, &since).await.expect(&path);
        assert_eq!(
            (r.status.as_u16(), r.error_code()),
            (404, "not_found".into()),
            "{path}: {}",
            r.text()
        );
    }
    for path in [
        format!("/webhooks/{theirs}/stats"),
        format!("/events/{their_event}"),
        format!("/events/{their_row_event}"),
        format!("/deliveries/{their_delivery}"),
    ] {
        let r = acme.get(&path).await.expect(&path);
        assert_eq!(r.status, 404, "{path}");
    }
    // Lists show only their own, whatever the filters name.
    let ours_newest_first = [our_row_event, our_event];
    assert_eq!(
        all_pages(&acme, "/events", "limit=200").await,
        ours_newest_first
    );
    assert_eq!(
        all_pages(&acme, "/events", "type=order.created").await,
        ours_newest_first
    );
    let deliveries = all_pages(&acme, "/deliveries", "limit=200").await;
    assert_eq!(deliveries, [our_delivery]);
    for q in [
        format!("webhook_id={theirs}"),
        format!("event_id={their_row_event}"),
        "event_type=order.created&status=failed".to_string(),
    ] {
        let got = all_pages(&acme, "/deliveries", &q).await;
        assert!(!got.contains(&their_delivery), "{q}");
    }
    // Naming the other tenant is refused outright.
    let r = acme
        .send(
            http::Method::GET,
            "/events",
            &[("herald-tenant", "globex")],
            "",
        )
        .await
        .expect("events");
    assert_eq!(r.status, 403);
    // Nothing was created for them by the refused calls.
    let count = app.count("deliveries WHERE tenant_id = 'globex'").await;
    assert_eq!(count, 1);

    // Their own key sees theirs; the admin narrowed to acme sees acme's.
    assert!(get_ok(&globex, &format!("/webhooks/{theirs}/stats")).await["last_24h"]["failed"] == 1);
    let admin_acme = app
        .api()
        .send(
            http::Method::GET,
            "/events",
            &[("herald-tenant", "acme")],
            "",
        )
        .await
        .expect("admin");
    assert_eq!(ids(&admin_acme.value()), ours_newest_first);
    let all = all_pages(app.api(), "/events", "limit=200").await;
    assert!(all.contains(&our_event) && all.contains(&their_event));
}
