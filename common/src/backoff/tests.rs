use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Run `retry` on paused time with an attempt that fails `failures` times
/// (permanently at failure `permanent_at`, if any); the gaps between
/// attempts, and the result.
async fn run(
    backoff: Backoff,
    failures: usize,
    permanent_at: Option<usize>,
) -> (Vec<Duration>, Result<usize, GaveUp<String>>) {
    let mut times = Vec::new();
    let never = CancellationToken::new();
    let result = backoff
        .retry(
            "test",
            &never,
            |e: &String| Some(e.as_str()) == permanent_at.map(|n| format!("fail {n}")).as_deref(),
            || {
                times.push(Instant::now());
                let n = times.len();
                async move {
                    if n <= failures {
                        Err(format!("fail {n}"))
                    } else {
                        Ok(n)
                    }
                }
            },
        )
        .await;
    let gaps = times.windows(2).map(|w| w[1] - w[0]).collect();
    (gaps, result)
}

/// One row: an attempt failing `failures` times (for good at
/// `permanent_at`), the gaps expected between attempts, and the result.
struct Case {
    name: &'static str,
    backoff: Backoff,
    failures: usize,
    permanent_at: Option<usize>,
    gaps_ms: &'static [u64],
    result: Result<usize, GaveUp<String>>,
}

#[tokio::test(start_paused = true)]
async fn retries_wait_the_growing_capped_delays_and_respect_the_deadline() {
    let doubling = Backoff::new(ms(100), ms(2_000));
    let failed = |n: usize| Err(GaveUp::Failed(format!("fail {n}")));
    let cases = [
        Case {
            name: "succeeds at once",
            backoff: doubling,
            failures: 0,
            permanent_at: None,
            gaps_ms: &[],
            result: Ok(1),
        },
        Case {
            name: "doubles up to the max",
            backoff: doubling,
            failures: 7,
            permanent_at: None,
            gaps_ms: &[100, 200, 400, 800, 1_600, 2_000, 2_000],
            result: Ok(8),
        },
        Case {
            name: "another factor",
            backoff: Backoff::new(ms(50), ms(1_000)).factor(3),
            failures: 4,
            permanent_at: None,
            gaps_ms: &[50, 150, 450, 1_000],
            result: Ok(5),
        },
        Case {
            name: "a permanent error ends it",
            backoff: doubling,
            failures: 5,
            permanent_at: Some(2),
            gaps_ms: &[100],
            result: failed(2),
        },
        Case {
            name: "no sleep ends past the deadline",
            backoff: doubling.deadline(ms(1_000)),
            failures: 10,
            permanent_at: None,
            gaps_ms: &[100, 200, 400],
            result: failed(4),
        },
        Case {
            name: "an initial delay above the max is capped",
            backoff: Backoff::new(ms(5_000), ms(1_000)),
            failures: 2,
            permanent_at: None,
            gaps_ms: &[1_000, 1_000],
            result: Ok(3),
        },
    ];
    for case in cases {
        let (gaps, result) = run(case.backoff, case.failures, case.permanent_at).await;
        let want: Vec<Duration> = case.gaps_ms.iter().copied().map(ms).collect();
        assert_eq!(gaps, want, "{}: delays", case.name);
        assert_eq!(result, case.result, "{}: result", case.name);
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_cuts_the_wait_short() {
    let stop = CancellationToken::new();
    let cancel = stop.clone();
    let started = Instant::now();
    tokio::spawn(async move {
        tokio::time::sleep(ms(150)).await;
        cancel.cancel();
    });
    let backoff = Backoff::new(ms(100), ms(10_000));
    let result: Result<(), _> = backoff
        .retry("test", &stop, |_| false, || async { Err("down") })
        .await;
    assert_eq!(result, Err(GaveUp::Cancelled));
    // 100 ms, then cancelled 50 ms into the 200 ms wait.
    assert_eq!(started.elapsed(), ms(150));
}

#[test]
fn delays_restart_from_the_first_when_made_again() {
    let backoff = Backoff::new(ms(1_000), ms(5_000));
    let first: Vec<u64> = backoff
        .delays()
        .take(5)
        .map(|d| d.as_millis() as u64)
        .collect();
    assert_eq!(first, [1_000, 2_000, 4_000, 5_000, 5_000]);
    assert_eq!(backoff.delays().next(), Some(ms(1_000)));
}
