//! The loss checker of the reliability tests: from what the producer was
//! told (every event ingest accepted) and what the receivers saw, report
//! what was lost, duplicated, misrouted or badly signed.
//!
//! An event counts as delivered to an endpoint when a request carrying its
//! `webhook-id` reached the endpoint's path and the receiver answered 2xx.
//! Requests the receiver failed on purpose are retries, not duplicates.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::time::{Duration, Instant, UNIX_EPOCH};

use uuid::Uuid;

use crate::ReceivedRequest;

/// One event ingest answered `201` (or `200`, a repeat of its idempotency
/// key) for.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub id: Uuid,
    pub event_type: String,
    pub tenant: String,
    pub accepted_at: Instant,
}

/// One endpoint as created: where the receiver sees it, what it gets.
#[derive(Debug, Clone)]
pub struct EndpointSpec {
    pub path: String,
    pub secret: String,
    pub tenant: String,
    pub event_types: Vec<String>,
}

impl EndpointSpec {
    fn subscribed(&self, e: &Accepted) -> bool {
        e.tenant == self.tenant && self.event_types.contains(&e.event_type)
    }
}

/// What one scenario showed.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub scenario: String,
    pub accepted: usize,
    /// Deliveries expected: (accepted event, subscribed endpoint) pairs.
    pub expected: usize,
    pub requests: usize,
    /// (endpoint path, event id) pairs never delivered.
    pub lost: Vec<(String, Uuid)>,
    /// Extra 2xx deliveries per endpoint path.
    pub duplicates: BTreeMap<String, usize>,
    /// Requests whose signature did not verify: (path, webhook-id, reason).
    pub bad_signatures: Vec<(String, String, String)>,
    /// Requests that should not have reached their endpoint (path, reason).
    pub misrouted: Vec<(String, String)>,
    /// From the end of the fault to the last first delivery.
    pub recovery: Option<Duration>,
}

impl Report {
    pub fn total_duplicates(&self) -> usize {
        self.duplicates.values().sum()
    }

    /// Fail if more than `bound` deliveries arrived twice; `why` says where
    /// the bound comes from (the in-flight window of the fault).
    pub fn assert_duplicates_within(&self, bound: usize, why: &str) {
        let dups = self.total_duplicates();
        println!(
            "[{}] duplicates {dups} <= bound {bound} ({why})",
            self.scenario
        );
        assert!(
            dups <= bound,
            "[{}] {dups} duplicates, more than the bound {bound} ({why}): {:?}",
            self.scenario,
            self.duplicates
        );
    }

    /// Fail on anything lost, misrouted or badly signed; print the line.
    pub fn assert_clean(&self) {
        println!("{self}");
        let clean =
            self.lost.is_empty() && self.misrouted.is_empty() && self.bad_signatures.is_empty();
        assert!(
            clean,
            "{self}\nlost (first 10): {:?}\nmisrouted (first 10): {:?}\nbad signatures (first 10): {:?}",
            &self.lost[..self.lost.len().min(10)],
            &self.misrouted[..self.misrouted.len().min(10)],
            &self.bad_signatures[..self.bad_signatures.len().min(10)],
        );
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let recovery = match self.recovery {
            Some(d) => format!("{:.1}s", d.as_secs_f64()),
            None => "n/a".to_string(),
        };
        write!(
            f,
            "[{}] accepted={} expected_deliveries={} requests={} lost={} misrouted={} \
             bad_signatures={} duplicates={} {:?} recovery={recovery}",
            self.scenario,
            self.accepted,
            self.expected,
            self.requests,
            self.lost.len(),
            self.misrouted.len(),
            self.bad_signatures.len(),
            self.total_duplicates(),
            self.duplicates,
        )
    }
}

/// Check `requests` (of every receiver) against `accepted` and `endpoints`.
/// `fault_end` is when the scenario's fault was repaired (for the recovery
/// time); `None` when there is no single end.
pub fn check(
    scenario: &str,
    accepted: &[Accepted],
    endpoints: &[EndpointSpec],
    requests: &[ReceivedRequest],
    fault_end: Option<Instant>,
) -> Report {
    let mut report = Report {
        scenario: scenario.to_string(),
        accepted: accepted.len(),
        requests: requests.len(),
        ..Report::default()
    };
    let events: HashMap<Uuid, &Accepted> = accepted.iter().map(|e| (e.id, e)).collect();
    let by_path: HashMap<&str, &EndpointSpec> =
        endpoints.iter().map(|e| (e.path.as_str(), e)).collect();
    // (path, event) -> first 2xx arrival, and the number of 2xx arrivals.
    let mut delivered: HashMap<(&str, Uuid), (Instant, usize)> = HashMap::new();
    for r in requests {
        let Some(endpoint) = by_path.get(r.path.as_str()) else {
            report
                .misrouted
                .push((r.path.clone(), "no endpoint on this path".into()));
            continue;
        };
        let raw_id = r.header("webhook-id").unwrap_or("").to_string();
        if let Err(reason) = verify(endpoint, r) {
            report
                .bad_signatures
                .push((r.path.clone(), raw_id.clone(), reason));
        }
        let Some(event) = raw_id.parse().ok().and_then(|id: Uuid| events.get(&id)) else {
            report
                .misrouted
                .push((r.path.clone(), format!("unknown event {raw_id:?}")));
            continue;
        };
        if !endpoint.subscribed(event) {
            report
                .misrouted
                .push((r.path.clone(), format!("not subscribed to {}", event.id)));
            continue;
        }
        if let Err(reason) = envelope_matches(r, event) {
            report.misrouted.push((r.path.clone(), reason));
            continue;
        }
        if (200..300).contains(&r.status) {
            let slot = delivered
                .entry((endpoint.path.as_str(), event.id))
                .or_insert((r.received_at, 0));
            slot.0 = slot.0.min(r.received_at);
            slot.1 += 1;
        }
    }
    let mut last_first: Option<Instant> = None;
    for endpoint in endpoints {
        let mut dups = 0;
        for event in accepted.iter().filter(|e| endpoint.subscribed(e)) {
            report.expected += 1;
            match delivered.get(&(endpoint.path.as_str(), event.id)) {
                Some((first, n)) => {
                    dups += n - 1;
                    last_first = Some(last_first.map_or(*first, |l| l.max(*first)));
                }
                None => report.lost.push((endpoint.path.clone(), event.id)),
            }
        }
        report.duplicates.insert(endpoint.path.clone(), dups);
    }
    report.recovery = match (fault_end, last_first) {
        (Some(end), Some(last)) => Some(last.saturating_duration_since(end)),
        _ => None,
    };
    report
}

/// The longest wait for a first delivery that a fault starting at `since`
/// caused: over every expected (event, endpoint) pair, its first 2xx arrival
/// minus the later of its acceptance and `since`. Events a dead node held
/// show here (they come back after the ack wait); a healthy pair adds its
/// normal latency. `None` when nothing was delivered.
pub fn worst_delay(
    accepted: &[Accepted],
    endpoints: &[EndpointSpec],
    requests: &[ReceivedRequest],
    since: Instant,
) -> Option<Duration> {
    let mut first: HashMap<(&str, &str), Instant> = HashMap::new();
    for r in requests.iter().filter(|r| (200..300).contains(&r.status)) {
        let Some(id) = r.header("webhook-id") else {
            continue;
        };
        let slot = first.entry((r.path.as_str(), id)).or_insert(r.received_at);
        *slot = (*slot).min(r.received_at);
    }
    let mut worst: Option<Duration> = None;
    for endpoint in endpoints {
        for event in accepted.iter().filter(|e| endpoint.subscribed(e)) {
            let id = event.id.to_string();
            if let Some(at) = first.get(&(endpoint.path.as_str(), id.as_str())) {
                let delay = at.saturating_duration_since(event.accepted_at.max(since));
                worst = Some(worst.map_or(delay, |w| w.max(delay)));
            }
        }
    }
    worst
}

/// Standard Webhooks verification with the endpoint's secret, at the time
/// the request arrived.
fn verify(endpoint: &EndpointSpec, r: &ReceivedRequest) -> Result<(), String> {
    let now = r
        .received_at_system
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let header = |name: &str| r.header(name).ok_or(format!("no {name} header"));
    herald_common::verify(
        &endpoint.secret,
        header("webhook-id")?,
        header("webhook-timestamp")?,
        header("webhook-signature")?,
        &r.body,
        now,
    )
    .map_err(|e| e.to_string())
}

/// The standard envelope names the event and its type.
fn envelope_matches(r: &ReceivedRequest, event: &Accepted) -> Result<(), String> {
    let body = r.json();
    let id = body["id"].as_str().unwrap_or("");
    let ty = body["type"].as_str().unwrap_or("");
    if id == event.id.to_string() && ty == event.event_type {
        Ok(())
    } else {
        Err(format!(
            "body names {id:?}/{ty:?}, header names {}/{}",
            event.id, event.event_type
        ))
    }
}

/// Event ids that reached no endpoint at all (a quick view for logs).
pub fn undelivered_events(report: &Report) -> HashSet<Uuid> {
    report.lost.iter().map(|(_, id)| *id).collect()
}
