//! The one bounded polling helper, the one bound tests wait with, and
//! readiness checks built on them.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;

/// How long a test waits for anything that should happen "soon" (a delivery,
/// a retry, a consumer draining) before it fails: generous, for a busy
/// machine. Tests wait with [`eventually`] / [`wait_until`] / [`wait_for`]
/// and this bound, never with a fixed sleep.
pub const WAIT: Duration = Duration::from_secs(60);

/// A condition did not become true in time.
#[derive(Debug, thiserror::Error)]
#[error("condition not met within {0:?}")]
pub struct WaitTimeout(pub Duration);

const FIRST_DELAY: Duration = Duration::from_millis(10);
const MAX_DELAY: Duration = Duration::from_millis(200);

/// Poll `check` (10 ms, growing to 200 ms between polls) until it returns
/// true, or fail after `timeout`. `check` is always polled at least once and
/// once more right at the deadline.
pub async fn wait_until<F, Fut>(timeout: Duration, mut check: F) -> Result<(), WaitTimeout>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_for(timeout, || {
        let fut = check();
        async move { fut.await.then_some(()) }
    })
    .await
}

/// Like [`wait_until`], for a check that produces a value when it succeeds.
pub async fn wait_for<T, F, Fut>(timeout: Duration, mut check: F) -> Result<T, WaitTimeout>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut delay = FIRST_DELAY;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Err(WaitTimeout(timeout));
        }
        tokio::time::sleep(delay.min(deadline - now)).await;
        delay = (delay * 2).min(MAX_DELAY);
    }
}

/// [`wait_until`], panicking with `what` when the time is up:
/// `eventually("the receiver got 3 requests", secs(10), || async { .. }).await`.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    if wait_until(timeout, check).await.is_err() {
        panic!("timed out after {timeout:?} waiting until {what}");
    }
}

/// Connect to one NATS URL or a comma-separated list of them.
pub async fn connect_nats(urls: &str) -> anyhow::Result<async_nats::Client> {
    let addrs = urls
        .split(',')
        .map(|u| u.trim().parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("bad NATS URL list {urls:?}"))?;
    async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(5))
        .connect(addrs)
        .await
        .with_context(|| format!("connecting to {urls}"))
}

/// Wait until JetStream answers `$JS.API.INFO` on `urls`.
pub async fn wait_for_jetstream(urls: &str, timeout: Duration) -> anyhow::Result<()> {
    let client = wait_for(timeout, || async { connect_nats(urls).await.ok() })
        .await
        .with_context(|| format!("NATS at {urls} does not accept connections"))?;
    let js = async_nats::jetstream::new(client);
    wait_until(timeout, || async { js.query_account().await.is_ok() })
        .await
        .with_context(|| format!("JetStream at {urls} has no leader"))
}
