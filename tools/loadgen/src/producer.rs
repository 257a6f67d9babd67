//! Sends the events: C workers share a counter; at a fixed rate each event
//! waits for its slot (start + i/rate), otherwise they go as fast as ingest
//! answers. Every payload carries its sequence number and send time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::api::Api;
use crate::args::Args;
use crate::receiver::State;

#[derive(Debug, Default, Clone)]
pub struct Produced {
    pub accepted: usize,
    pub errors: usize,
    pub first_error: Option<String>,
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn event_json(event_type: &str, seq: usize, pad: &str) -> String {
    format!(
        r#"{{"type":"{event_type}","payload":{{"seq":{seq},"sent_ns":{},"pad":"{pad}"}}}}"#,
        now_ns()
    )
}

/// A JSON Schema every payload of [`event_json`] matches (`--schema`).
pub fn schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "required": ["seq", "sent_ns"],
        "properties": {
            "seq": {"type": "integer", "minimum": 0},
            "sent_ns": {"type": "integer"},
            "pad": {"type": "string"}
        },
        "additionalProperties": false
    })
}

/// A payload filter every payload of [`event_json`] passes (`--filter`).
pub fn filter() -> serde_json::Value {
    serde_json::json!({"seq": {"$gte": 0}})
}

pub async fn run(args: &Args, api: &Api, event_type: &str, state: Arc<State>) -> Produced {
    let pad: Arc<str> = "x".repeat(args.payload_bytes.saturating_sub(48)).into();
    let batch = args.batch.max(1);
    let requests = args.events.div_ceil(batch);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    state.start_clock();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (api, next, pad, state) = (api.clone(), next.clone(), pad.clone(), state.clone());
        let (event_type, rate, events) = (event_type.to_string(), args.rate, args.events);
        tasks.push(tokio::spawn(async move {
            let mut out = Produced::default();
            loop {
                let r = next.fetch_add(1, Ordering::Relaxed);
                if r >= requests {
                    break;
                }
                let first = r * batch;
                let last = (first + batch).min(events);
                if rate > 0.0 {
                    let due = start + Duration::from_secs_f64(first as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                let (path, body) = if batch == 1 {
                    ("/events", event_json(&event_type, first, &pad))
                } else {
                    let items: Vec<String> = (first..last)
                        .map(|s| event_json(&event_type, s, &pad))
                        .collect();
                    (
                        "/events/batch",
                        format!(r#"{{"events":[{}]}}"#, items.join(",")),
                    )
                };
                match api
                    .call(http::Method::POST, path, Some(Bytes::from(body)))
                    .await
                {
                    Ok((201, _)) | Ok((200, _)) => {
                        out.accepted += last - first;
                        state.mark_accepted(first..last);
                    }
                    Ok((status, body)) => {
                        out.errors += 1;
                        out.first_error.get_or_insert_with(|| {
                            format!("{status}: {}", String::from_utf8_lossy(&body))
                        });
                    }
                    Err(e) => {
                        out.errors += 1;
                        out.first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            out
        }));
    }
    let mut total = Produced::default();
    for t in tasks {
        if let Ok(p) = t.await {
            total.accepted += p.accepted;
            total.errors += p.errors;
            if total.first_error.is_none() {
                total.first_error = p.first_error;
            }
        }
    }
    total
}
