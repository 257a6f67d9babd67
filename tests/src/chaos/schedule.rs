//! The chaos schedule: a pure function of a seed and a duration, so a run
//! that failed is replayed exactly (`--seed`). Faults come every few seconds
//! at random; each hits a target that is not already down, at most one NATS
//! node is down at a time, and everything is back a few seconds before the
//! load ends.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What a fault does, and to what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// `kill -9` the dispatcher process with this index, start it again at
    /// the end.
    KillDispatcher(usize),
    /// `kill -9` the ingest process with this index, start it again.
    KillIngest(usize),
    /// Kill (SIGKILL) NATS node `n`, start it again on its store.
    KillNatsNode(usize),
    /// The receiver answers 503 on this path (`None`: every path).
    Receiver503(Option<&'static str>),
    /// The receiver answers 30 % of requests after a second.
    ReceiverSlow,
}

impl FaultKind {
    /// The kind without its target, for counting.
    pub fn label(&self) -> &'static str {
        match self {
            FaultKind::KillDispatcher(_) => "kill -9 dispatcher",
            FaultKind::KillIngest(_) => "kill -9 ingest",
            FaultKind::KillNatsNode(_) => "kill NATS node",
            FaultKind::Receiver503(_) => "receiver 503 burst",
            FaultKind::ReceiverSlow => "receiver slow",
        }
    }

    /// What may not be hit twice at once.
    fn resource(&self) -> String {
        match self {
            FaultKind::KillDispatcher(i) => format!("dispatcher-{i}"),
            FaultKind::KillIngest(i) => format!("ingest-{i}"),
            FaultKind::KillNatsNode(_) => "nats".to_string(),
            FaultKind::Receiver503(_) | FaultKind::ReceiverSlow => "receiver".to_string(),
        }
    }
}

/// One fault: when it starts (from the start of the load) and how long it
/// lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub at: Duration,
    pub kind: FaultKind,
    pub lasts: Duration,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>6.1}s {:?} for {:.1}s",
            self.at.as_secs_f64(),
            self.kind,
            self.lasts.as_secs_f64()
        )
    }
}

/// What the schedule may hit.
#[derive(Debug, Clone)]
pub struct Targets {
    /// Indexes of the dispatcher processes that may be killed.
    pub dispatchers: Vec<usize>,
    /// Indexes of the ingest processes that may be killed.
    pub ingest: Vec<usize>,
    pub nats_nodes: usize,
    pub paths: &'static [&'static str],
}

/// No fault in the first seconds (everything warms up) ...
const QUIET_START: Duration = Duration::from_secs(5);
/// ... and everything is back this long before the load ends.
const QUIET_END: Duration = Duration::from_secs(5);

fn secs(rng: &mut StdRng, from: f64, to: f64) -> Duration {
    Duration::from_secs_f64(rng.gen_range(from..to))
}

/// A kind and its length: dispatcher 30 %, ingest 20 %, NATS node 20 %,
/// 503 burst 15 %, slow answers 15 %.
fn pick(rng: &mut StdRng, t: &Targets) -> (FaultKind, Duration) {
    let one = |rng: &mut StdRng, v: &[usize]| v[rng.gen_range(0..v.len())];
    match rng.gen_range(0..100) {
        0..=29 if !t.dispatchers.is_empty() => (
            FaultKind::KillDispatcher(one(rng, &t.dispatchers)),
            secs(rng, 1.0, 5.0),
        ),
        30..=49 if !t.ingest.is_empty() => (
            FaultKind::KillIngest(one(rng, &t.ingest)),
            secs(rng, 1.0, 3.0),
        ),
        50..=69 if t.nats_nodes > 1 => (
            FaultKind::KillNatsNode(rng.gen_range(0..t.nats_nodes)),
            secs(rng, 3.0, 10.0),
        ),
        70..=84 => {
            let path = match rng.gen_range(0..=t.paths.len()) {
                0 => None,
                n => Some(t.paths[n - 1]),
            };
            (FaultKind::Receiver503(path), secs(rng, 2.0, 6.0))
        }
        _ => (FaultKind::ReceiverSlow, secs(rng, 3.0, 8.0)),
    }
}

/// The faults of a run of `duration` with `seed`, in time order: one every
/// 3 to 8 s; a fault whose target is still down is skipped.
pub fn schedule(seed: u64, duration: Duration, targets: &Targets) -> Vec<Fault> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut busy: HashMap<String, Duration> = HashMap::new();
    let mut faults = Vec::new();
    let mut at = QUIET_START;
    let last_end = duration.saturating_sub(QUIET_END);
    loop {
        at += secs(&mut rng, 3.0, 8.0);
        let (kind, lasts) = pick(&mut rng, targets);
        if at + lasts > last_end {
            if at >= last_end {
                return faults;
            }
            continue;
        }
        let resource = kind.resource();
        if busy.get(&resource).is_some_and(|until| *until > at) {
            continue;
        }
        busy.insert(resource, at + lasts);
        faults.push(Fault { at, kind, lasts });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets() -> Targets {
        Targets {
            dispatchers: vec![1, 2],
            ingest: vec![1],
            nats_nodes: 3,
            paths: &["/a", "/b"],
        }
    }

    #[test]
    fn a_seed_gives_the_same_schedule_every_time() {
        let ten_minutes = Duration::from_secs(600);
        let a = schedule(42, ten_minutes, &targets());
        assert_eq!(a, schedule(42, ten_minutes, &targets()));
        assert_ne!(a, schedule(43, ten_minutes, &targets()));
        assert!(a.len() > 50, "a fault every few seconds: {}", a.len());
    }

    #[test]
    fn faults_stay_inside_the_run_and_never_hit_a_target_that_is_down() {
        for seed in 0..50 {
            let duration = Duration::from_secs(60);
            let faults = schedule(seed, duration, &targets());
            let mut down: HashMap<String, Duration> = HashMap::new();
            for f in &faults {
                assert!(f.at >= QUIET_START && f.at + f.lasts <= duration - QUIET_END);
                let r = f.kind.resource();
                assert!(down.get(&r).is_none_or(|until| *until <= f.at), "{f}");
                down.insert(r, f.at + f.lasts);
                if let FaultKind::KillDispatcher(i) = f.kind {
                    assert!(targets().dispatchers.contains(&i), "only victims die");
                }
            }
            assert!(faults.windows(2).all(|w| w[0].at < w[1].at));
        }
    }
}
