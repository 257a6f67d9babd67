//! The chaos soak: Herald as it runs in production (a 3-node NATS cluster
//! with 3-replica streams, two ingest and three dispatcher processes,
//! Postgres) under a steady load, while a seeded random [`schedule`]
//! `kill -9`s and restarts dispatchers, ingest and NATS nodes and makes the
//! receiver answer 503 or slowly. At the end the loss checker must find
//! nothing lost, misrouted or badly signed, and duplicates within the
//! in-flight window of the kills; the [`sampler`] follows the resident
//! memory and open descriptors of every Herald process.
//!
//! One ingest and one dispatcher are never killed: their whole-run trends
//! tell a leak from a restart. `herald-chaos` (the binary) and the test
//! `reliability::chaos` call [`run`].

mod report;
pub mod sampler;
pub mod schedule;
mod world;

use std::collections::BTreeMap;
use std::time::Duration;

pub use report::ChaosReport;
use sampler::Pids;
use schedule::Targets;
use world::World;

use crate::scenario::{self, TYPES};
use crate::Producer;

/// Deliveries a dispatcher holds unacknowledged at most
/// (`HERALD_DISPATCHER_CONCURRENCY`): what one crash may send again.
pub const CONCURRENCY: usize = 64;
/// Dispatcher processes; the first is never killed.
pub const DISPATCHERS: usize = 3;
/// Ingest processes; the first is never killed.
pub const INGEST: usize = 2;
pub const NATS_NODES: usize = 3;

#[derive(Debug, Clone)]
pub struct ChaosOptions {
    /// How long the load runs (faults happen within it).
    pub duration: Duration,
    pub seed: u64,
    /// Events per second.
    pub rate: u32,
    /// How long the checker waits for the last deliveries after the load.
    pub settle: Duration,
    /// How often memory and descriptors are sampled.
    pub sample_every: Duration,
}

impl ChaosOptions {
    /// `duration` at `rate` with `seed`; two minutes to settle, a sample
    /// every 2 s.
    pub fn new(duration: Duration, seed: u64, rate: u32) -> Self {
        Self {
            duration,
            seed,
            rate,
            settle: Duration::from_secs(120),
            sample_every: Duration::from_secs(2),
        }
    }
}

/// What the schedule may hit: every process but the first of each binary.
fn targets() -> Targets {
    Targets {
        dispatchers: (1..DISPATCHERS).collect(),
        ingest: (1..INGEST).collect(),
        nats_nodes: NATS_NODES,
        paths: &["/a", "/b", "/c"],
    }
}

/// Run the soak as `options` say and report (an `Err` is a failure to set
/// up or to restart something, not a finding).
pub async fn run(options: &ChaosOptions) -> anyhow::Result<ChaosReport> {
    println!(
        "chaos: seed {} ({}s at {}/s)",
        options.seed,
        options.duration.as_secs(),
        options.rate
    );
    let faults = schedule::schedule(options.seed, options.duration, &targets());
    let pids = Pids::default();
    let mut world = World::start(&pids).await?;
    let (samples, sampler) = sampler::start(pids.clone(), options.sample_every);
    let producer = Producer::start(world.apis(), &TYPES, options.rate, options.duration);
    let injected = world.inject(&faults, &pids).await;
    let produced = producer.finish().await;
    let check = scenario::settle_and_check(
        "chaos",
        &produced.accepted,
        &world.endpoints,
        &world.receiver,
        None,
        options.settle,
    )
    .await;
    sampler.abort();
    let samples = samples.lock().unwrap_or_else(|p| p.into_inner()).clone();
    world.stop().await;
    let injected = injected?;
    let mut by_kind: BTreeMap<&'static str, usize> = BTreeMap::new();
    for f in &faults {
        *by_kind.entry(f.kind.label()).or_default() += 1;
    }
    let warm_up = (options.duration / 5).min(Duration::from_secs(60));
    Ok(ChaosReport {
        options: options.clone(),
        faults: by_kind,
        duplicate_bound: duplicate_bound(&faults),
        schedule: faults,
        restarts: injected,
        sent: produced.sent,
        accepted: produced.accepted.len(),
        rate: produced.rate(),
        answers: produced.answers,
        check,
        trends: sampler::trends(&samples, warm_up),
    })
}

/// What the faults may send twice: the jobs a killed dispatcher held, and
/// for a NATS node, the jobs every dispatcher held (their acks may be lost).
pub fn duplicate_bound(faults: &[schedule::Fault]) -> usize {
    faults
        .iter()
        .map(|f| match f.kind {
            schedule::FaultKind::KillDispatcher(_) => CONCURRENCY,
            schedule::FaultKind::KillNatsNode(_) => DISPATCHERS * CONCURRENCY,
            _ => 0,
        })
        .sum()
}
