use super::*;
use crate::fixtures::{at, id, job};
use DeliveryStatus::{Delivered, Failed, Retrying};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// When the answer arrived.
fn now() -> DateTime<Utc> {
    at(0)
}

fn response(status: u16, retry_after: Option<&str>) -> Result<HttpResponse, DeliveryError> {
    Ok(HttpResponse {
        status,
        retry_after: retry_after.map(str::to_string),
        headers: http::HeaderMap::new(),
        body_excerpt: format!("body of {status}"),
    })
}

fn sent(result: Result<HttpResponse, DeliveryError>) -> Sent {
    Sent {
        started_at: now() - secs(2),
        took: secs(2),
        request_headers: serde_json::Map::new(),
        result,
    }
}

/// The expected record in short: (attempt, status code, error, delivery
/// status, next retry after `now`, disable reason).
type Want = (
    i32,
    Option<u16>,
    Option<&'static str>,
    DeliveryStatus,
    Option<Duration>,
    Option<&'static str>,
);

/// (name, attempts made before, what came back, jitter sample, expected).
type Case = (
    &'static str,
    i32,
    Result<HttpResponse, DeliveryError>,
    f64,
    Want,
);

#[test]
fn an_attempt_s_result_becomes_its_record_next_retry_and_disable_reason() {
    let policy = RetryPolicy {
        schedule: vec![secs(5), secs(60)],
        jitter: 0.2,
        retry_on_4xx: true,
    };
    let timeout = || Err(DeliveryError::Timeout(secs(10)));
    let cases: Vec<Case> = vec![
        (
            "2xx delivers",
            0,
            response(204, None),
            0.0,
            (1, Some(204), None, Delivered, None, None),
        ),
        (
            "5xx retries after the first delay",
            0,
            response(500, None),
            0.0,
            (
                1,
                Some(500),
                Some("HTTP 500"),
                Retrying,
                Some(secs(5)),
                None,
            ),
        ),
        (
            "the jitter sample spreads the delay",
            1,
            response(500, None),
            -1.0,
            (
                2,
                Some(500),
                Some("HTTP 500"),
                Retrying,
                Some(secs(48)),
                None,
            ),
        ),
        (
            "after the last delay the delivery fails",
            2,
            response(500, None),
            0.0,
            (3, Some(500), Some("HTTP 500"), Failed, None, None),
        ),
        (
            "410 fails the delivery and disables the endpoint",
            0,
            response(410, Some("5")),
            0.0,
            (
                1,
                Some(410),
                Some("HTTP 410"),
                Failed,
                None,
                Some(GONE_REASON),
            ),
        ),
        (
            "Retry-After in seconds replaces the delay",
            0,
            response(429, Some("120")),
            1.0,
            (
                1,
                Some(429),
                Some("HTTP 429"),
                Retrying,
                Some(secs(120)),
                None,
            ),
        ),
        (
            "Retry-After as a date counts from now",
            0,
            response(503, Some("Tue, 14 Nov 2023 22:15:20 GMT")),
            0.0,
            (
                1,
                Some(503),
                Some("HTTP 503"),
                Retrying,
                Some(secs(120)),
                None,
            ),
        ),
        (
            "a transport error retries without a status",
            0,
            timeout(),
            0.0,
            (
                1,
                None,
                Some("timed out after 10s"),
                Retrying,
                Some(secs(5)),
                None,
            ),
        ),
        (
            "Retry-After is ignored on a 500",
            0,
            response(500, Some("120")),
            0.0,
            (
                1,
                Some(500),
                Some("HTTP 500"),
                Retrying,
                Some(secs(5)),
                None,
            ),
        ),
        (
            "Retry-After is ignored on a 4xx other than 429",
            0,
            response(400, Some("120")),
            0.0,
            (
                1,
                Some(400),
                Some("HTTP 400"),
                Retrying,
                Some(secs(5)),
                None,
            ),
        ),
        (
            "a 4xx other than 410 retries",
            1,
            response(404, None),
            0.0,
            (
                2,
                Some(404),
                Some("HTTP 404"),
                Retrying,
                Some(secs(60)),
                None,
            ),
        ),
    ];
    for (name, attempts_made, result, sample, want) in cases {
        let Judged { record, .. } =
            judge(&job(attempts_made), sent(result), &policy, now(), sample);
        let next = record
            .next_retry_at
            .map(|t| (t - now()).to_std().expect("in the future"));
        let got = (
            record.attempt,
            record.status_code,
            record.error.as_deref(),
            record.status,
            next,
            record.disable_reason.as_deref(),
        );
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn the_record_names_the_job_and_keeps_the_answer() {
    let policy = RetryPolicy {
        schedule: vec![],
        jitter: 0.0,
        retry_on_4xx: true,
    };
    let Judged { decision, record } =
        judge(&job(0), sent(response(500, None)), &policy, now(), 0.0);
    assert_eq!(decision, Decision::Failed);
    assert_eq!(
        (
            record.delivery_id,
            record.webhook_id,
            record.tenant_id.as_str()
        ),
        (id(3), id(2), "acme")
    );
    assert_eq!(
        (record.started_at, record.duration),
        (now() - secs(2), secs(2))
    );
    assert_eq!(record.response_body.as_deref(), Some("body of 500"));
    let error = sent(Err(DeliveryError::Blocked("10.0.0.1".into())));
    assert_eq!(error.result_label(), "blocked");
    assert_eq!(sent(response(503, None)).result_label(), "5xx");
    assert_eq!(
        judge(&job(0), error, &policy, now(), 0.0)
            .record
            .response_body,
        None
    );
}

#[test]
fn an_endpoint_that_does_not_retry_4xx_fails_at_once_except_on_408_409_425_429() {
    let policy = RetryPolicy {
        schedule: vec![secs(5), secs(60)],
        jitter: 0.0,
        retry_on_4xx: false,
    };
    let cases = [
        (400, Failed, None),
        (404, Failed, None),
        (422, Failed, None),
        (408, Retrying, Some(secs(5))),
        (409, Retrying, Some(secs(5))),
        (425, Retrying, Some(secs(5))),
        (429, Retrying, Some(secs(5))),
        (500, Retrying, Some(secs(5))),
        (200, Delivered, None),
    ];
    for (status, want, next) in cases {
        let Judged { decision, record } =
            judge(&job(0), sent(response(status, None)), &policy, now(), 0.0);
        let got_next = record
            .next_retry_at
            .map(|t| (t - now()).to_std().expect("future"));
        assert_eq!((record.status, got_next), (want, next), "{status}");
        assert_eq!(record.disable_reason, None, "{status}");
        if want == Failed {
            assert_eq!(decision, Decision::Failed);
        }
    }
}

#[test]
fn a_manual_re_send_starts_the_retry_schedule_again() {
    let policy = RetryPolicy {
        schedule: vec![secs(5), secs(60)],
        jitter: 0.0,
        retry_on_4xx: true,
    };
    // Three attempts used the whole schedule; a re-send after them
    // (schedule_start 3) is attempt 4 in the log and the first of a new
    // schedule: retried after the first delay, then the second, then failed.
    for (attempts_made, next, status) in [
        (3, Some(secs(5)), Retrying),
        (4, Some(secs(60)), Retrying),
        (5, None, Failed),
    ] {
        let job = job(attempts_made).with_schedule_start(3);
        let Judged { record, .. } = judge(&job, sent(response(500, None)), &policy, now(), 0.0);
        let got = record
            .next_retry_at
            .map(|t| (t - now()).to_std().expect("future"));
        assert_eq!(
            (record.attempt, got, record.status),
            (attempts_made + 1, next, status)
        );
    }
}

#[test]
fn the_record_keeps_the_headers_sent_and_an_excerpt_of_those_received() {
    let policy = RetryPolicy {
        schedule: vec![secs(5)],
        jitter: 0.0,
        retry_on_4xx: true,
    };
    let mut request_headers = serde_json::Map::new();
    request_headers.insert("webhook-id".into(), "evt".into());
    let mut headers = http::HeaderMap::new();
    headers.insert("x-trace", http::HeaderValue::from_static("t-1"));
    let answer = Ok(HttpResponse {
        status: 200,
        retry_after: None,
        headers,
        body_excerpt: String::new(),
    });
    let with_headers = Sent {
        request_headers,
        ..sent(answer)
    };
    let Judged { record, .. } = judge(&job(0), with_headers, &policy, now(), 0.0);
    let headers: serde_json::Value =
        serde_json::from_str(&record.headers.expect("headers")).expect("json");
    assert_eq!(headers["request"]["webhook-id"], "evt");
    assert_eq!(headers["response"]["x-trace"], "t-1");
    let Judged { record, .. } = judge(
        &job(0),
        sent(Err(DeliveryError::Timeout(secs(1)))),
        &policy,
        now(),
        0.0,
    );
    let headers: serde_json::Value =
        serde_json::from_str(&record.headers.expect("headers")).expect("json");
    assert!(headers.get("response").is_none());
}
