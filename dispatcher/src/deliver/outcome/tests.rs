use super::*;

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn policy(schedule: &[Duration], jitter: f64) -> RetryPolicy {
    RetryPolicy {
        schedule: schedule.to_vec(),
        jitter,
        retry_on_4xx: true,
    }
}

#[test]
fn classify_follows_the_status_table() {
    use Outcome::{Delivered, Disable, GiveUp, Retry};
    // (status, with retry_on_4xx, without it)
    let cases = [
        (Some(200), Delivered, Delivered),
        (Some(201), Delivered, Delivered),
        (Some(204), Delivered, Delivered),
        (Some(299), Delivered, Delivered),
        // Redirects are never followed: a failed attempt, like any non-2xx.
        (Some(301), Retry, Retry),
        (Some(302), Retry, Retry),
        (Some(303), Retry, Retry),
        (Some(307), Retry, Retry),
        (Some(308), Retry, Retry),
        (Some(400), Retry, GiveUp),
        (Some(401), Retry, GiveUp),
        (Some(404), Retry, GiveUp),
        (Some(408), Retry, Retry),
        (Some(409), Retry, Retry),
        (Some(410), Disable, Disable),
        (Some(422), Retry, GiveUp),
        (Some(425), Retry, Retry),
        (Some(429), Retry, Retry),
        (Some(451), Retry, GiveUp),
        (Some(500), Retry, Retry),
        (Some(503), Retry, Retry),
        (None, Retry, Retry),
    ];
    for (status, retried, not_retried) in cases {
        assert_eq!(classify(status, true), retried, "{status:?}");
        assert_eq!(classify(status, false), not_retried, "{status:?}");
    }
}

#[test]
fn retry_after_counts_only_with_429_and_503() {
    let cases = [
        (429, true),
        (503, true),
        (500, false),
        (502, false),
        (408, false),
        (301, false),
        (200, false),
    ];
    for (status, want) in cases {
        assert_eq!(honours_retry_after(status), want, "{status}");
    }
}

#[test]
fn an_endpoint_s_policy_overrides_the_schedule_and_the_4xx_choice() {
    let global = policy(&[s(5), s(300)], 0.2);
    let own = global.for_endpoint(Some(&[s(1)]), false);
    assert_eq!(
        (own.schedule, own.jitter, own.retry_on_4xx),
        (vec![s(1)], 0.2, false)
    );
    let inherited = global.for_endpoint(None, true);
    assert_eq!(inherited, global);
}

#[test]
fn retry_delay_walks_the_schedule_then_stops() {
    let schedule = [s(5), s(300), s(1800)];
    let cases = [
        (0, None),
        (1, Some(s(5))),
        (2, Some(s(300))),
        (3, Some(s(1800))),
        (4, None),
        (u32::MAX, None),
    ];
    for (attempts, want) in cases {
        assert_eq!(
            retry_delay(attempts, &policy(&schedule, 0.2), 0.0, None),
            want,
            "{attempts}"
        );
    }
}

#[test]
fn jitter_spreads_the_delay_within_its_fraction() {
    let schedule = [s(100)];
    let cases = [
        (0.2, -1.0, s(80)),
        (0.2, 1.0, s(120)),
        (0.2, 0.5, s(110)),
        (0.0, 1.0, s(100)),
        (0.2, 7.0, s(120)), // samples are clamped
        (3.0, -1.0, s(0)),  // jitter fractions are clamped to 1
    ];
    for (jitter, sample, want) in cases {
        assert_eq!(
            retry_delay(1, &policy(&schedule, jitter), sample, None),
            Some(want)
        );
    }
}

#[test]
fn retry_after_is_honoured_within_bounds() {
    let schedule = [s(60), s(3 * 86_400)];
    let cases = [
        // (attempts, Retry-After, delay)
        (1, s(120), s(120)),            // longer than scheduled: honoured
        (1, s(40), s(40)),              // shorter, but above half: honoured
        (1, s(1), s(30)),               // never below half the scheduled delay
        (1, s(10 * 86_400), s(86_400)), // never above a day
        (2, s(1), s(3 * 86_400 / 2)),   // a schedule above a day keeps its half
    ];
    for (attempts, asked, want) in cases {
        assert_eq!(
            retry_delay(attempts, &policy(&schedule, 0.2), 1.0, Some(asked)),
            Some(want),
            "{asked:?}"
        );
    }
    assert_eq!(
        retry_delay(3, &policy(&schedule, 0.2), 1.0, Some(s(1))),
        None
    );
}

#[test]
fn decide_combines_outcome_and_schedule() {
    let schedule = [s(5), s(10)];
    let cases = [
        (Outcome::Delivered, 1, Decision::Delivered),
        (Outcome::Delivered, 9, Decision::Delivered),
        (Outcome::Disable, 1, Decision::Disable),
        (Outcome::GiveUp, 1, Decision::Failed),
        (Outcome::Retry, 1, Decision::Retry { delay: s(5) }),
        (Outcome::Retry, 2, Decision::Retry { delay: s(10) }),
        (Outcome::Retry, 3, Decision::Failed),
    ];
    for (outcome, attempts, want) in cases {
        assert_eq!(
            decide(outcome, attempts, &policy(&schedule, 0.2), 0.0, None),
            want
        );
    }
}

#[test]
fn retry_after_parses_seconds_and_http_dates() {
    let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
        .expect("date")
        .with_timezone(&Utc);
    let cases = [
        ("120", Some(s(120))),
        (" 0 ", Some(s(0))),
        ("99999999999999999999999", Some(MAX_RETRY_AFTER * 2)),
        ("Wed, 21 Oct 2015 07:30:00 GMT", Some(s(120))),
        ("Wed, 21 Oct 2015 07:00:00 GMT", Some(s(0))),
        ("soon", None),
        ("-5", None),
        ("", None),
    ];
    for (value, want) in cases {
        assert_eq!(parse_retry_after(value, now), want, "{value:?}");
    }
}
