//! The delivery log's filters and its pages while new deliveries arrive.

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use herald_tests::{create_endpoint, TestApp, TestAppOptions};
use serde_json::json;
use uuid::Uuid;

use super::support::*;

const STATUSES: [&str; 4] = ["pending", "delivered", "retrying", "failed"];

/// One inserted delivery and what the filters look at.
#[derive(Debug, Clone)]
struct Made {
    id: Uuid,
    webhook: Uuid,
    event_type: &'static str,
    status: &'static str,
    minutes_ago: i64,
}

/// 150 deliveries over the last 150 minutes, one a minute, alternating
/// endpoints, types and statuses.
async fn insert_log(app: &TestApp, hooks: &[Uuid; 2], now: DateTime<Utc>) -> Vec<Made> {
    let mut made = Vec::new();
    for i in 0..150usize {
        let minutes_ago = 150 - i as i64;
        let row = Row {
            tenant: "default",
            webhook: hooks[i % 2],
            event_type: TYPES[i % 3],
            status: STATUSES[i % 4],
            at: now - TimeDelta::minutes(minutes_ago),
        };
        let (_, id) = insert_row(app, &row).await;
        made.push(Made {
            id,
            webhook: row.webhook,
            event_type: row.event_type,
            status: row.status,
            minutes_ago,
        });
    }
    made
}

/// Three pages of 50 while a new delivery arrives before each page: no row
/// twice, none of the 150 skipped, none of the later ones inside.
async fn pages_while_arriving(app: &TestApp, webhook: Uuid, made: &[Made]) {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for page_no in 0..3 {
        let now = Row {
            tenant: "default",
            webhook,
            event_type: TYPES[0],
            status: "pending",
            at: Utc::now(),
        };
        insert_row(app, &now).await;
        let mut url = "/deliveries?limit=50".to_string();
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page = get_ok(app.api(), &url).await;
        seen.extend(ids(&page));
        cursor = page["next_cursor"].as_str().map(str::to_string);
        assert!(cursor.is_some(), "page {page_no} has a next page");
    }
    let unique: HashSet<Uuid> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "a row appeared twice");
    // The first page had the first new delivery on top, then the 150 in order.
    let expected: Vec<Uuid> = made.iter().rev().map(|m| m.id).collect();
    assert_eq!(&seen[1..], &expected[..149], "rows skipped or out of order");
}

/// One combination of filters: the query and the rows it must return.
fn combination(
    made: &[Made],
    webhook: Option<Uuid>,
    status: Option<&str>,
    event_type: Option<&str>,
    window: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> (String, Vec<Uuid>) {
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let mut q = vec!["limit=7".to_string()];
    if let Some(w) = webhook {
        q.push(format!("webhook_id={w}"));
    }
    if let Some(s) = status {
        q.push(format!("status={s}"));
    }
    if let Some(t) = event_type {
        q.push(format!("event_type={t}"));
    }
    if let Some((since, until)) = window {
        q.push(format!("since={}&until={}", fmt(since), fmt(until)));
    }
    let want = made
        .iter()
        .rev()
        .filter(|m| webhook.is_none_or(|w| m.webhook == w))
        .filter(|m| status.is_none_or(|s| m.status == s))
        .filter(|m| event_type.is_none_or(|t| m.event_type == t))
        .filter(|m| window.is_none() || (m.minutes_ago <= 100 && m.minutes_ago > 40))
        .map(|m| m.id)
        .collect();
    (q.join("&"), want)
}

#[tokio::test]
async fn the_log_pages_stably_while_deliveries_arrive_and_every_filter_combination_is_right() {
    let app = app(TestAppOptions::new().dispatchers(0)).await;
    let api = app.api();
    let hooks = [
        create_endpoint(api, "http://127.0.0.1:9/a", &TYPES, json!({}))
            .await
            .id,
        create_endpoint(api, "http://127.0.0.1:9/b", &TYPES, json!({}))
            .await
            .id,
    ];
    let now = Utc::now();
    let made = insert_log(&app, &hooks, now).await;
    pages_while_arriving(&app, hooks[0], &made).await;

    // Every combination of endpoint, status, event type and time range the
    // console uses (the window: 100 to 40 minutes ago, by the rows' times).
    let window = (now - TimeDelta::minutes(100), now - TimeDelta::minutes(40));
    for webhook in [None, Some(hooks[1])] {
        for status in [None, Some("failed")] {
            for event_type in [None, Some("order.updated")] {
                for timed in [None, Some(window)] {
                    let (q, want) = combination(&made, webhook, status, event_type, timed);
                    let got: Vec<Uuid> = all_pages(app.api(), "/deliveries", &q)
                        .await
                        .into_iter()
                        .filter(|id| made.iter().any(|m| m.id == *id))
                        .collect();
                    assert_eq!(got, want, "{q}");
                }
            }
        }
    }
    let detail = get_ok(app.api(), &format!("/deliveries/{}", made[0].id)).await;
    assert_eq!(detail["event_type"], made[0].event_type);
    assert_eq!(detail["attempt_log"][0]["request_headers"], json!({}));
}
