//! What a soak showed: the load, the faults by kind, the checker's verdict
//! with its duplicate bound, and each Herald process's memory and
//! descriptor trend.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::sampler::Trend;
use super::schedule::Fault;
use super::ChaosOptions;
use crate::checker::Report;

/// A life must be sampled this long for its trend to count. Under chaos a
/// process's working set follows the load the others' kills shift onto it:
/// a 3-minute life of a restarted dispatcher grew 30 -> 36 MiB while it took
/// over a killed one's share (+2.4 MiB/min), and shrank in the next. Lives of
/// five minutes or more (always the never-killed ones) average that out;
/// every shorter life's slope is still printed.
const JUDGED_SPAN: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct ChaosReport {
    pub options: ChaosOptions,
    /// Faults injected, by kind.
    pub faults: BTreeMap<&'static str, usize>,
    pub schedule: Vec<Fault>,
    /// Processes and NATS nodes started again.
    pub restarts: usize,
    pub duplicate_bound: usize,
    pub sent: usize,
    pub accepted: usize,
    /// Accepted events per second of load.
    pub rate: f64,
    pub answers: BTreeMap<String, usize>,
    pub check: Report,
    pub trends: Vec<Trend>,
}

impl ChaosReport {
    /// Nothing lost, misrouted or badly signed, duplicates within the bound.
    pub fn is_clean(&self) -> bool {
        self.check.lost.is_empty()
            && self.check.misrouted.is_empty()
            && self.check.bad_signatures.is_empty()
            && self.check.total_duplicates() <= self.duplicate_bound
    }

    /// The trends long enough to judge (the lives of at least
    /// [`JUDGED_SPAN`]).
    pub fn judged(&self) -> impl Iterator<Item = &Trend> {
        self.trends.iter().filter(|t| t.span >= JUDGED_SPAN)
    }

    /// Every judged trend is flat: memory grows less than `rss_mib` MiB a
    /// minute and descriptors less than `fds` a minute. `Ok(0)` when the run
    /// was too short to judge any.
    pub fn flat(&self, rss_mib: f64, fds: f64) -> Result<usize, String> {
        let mut judged = 0;
        for t in self.judged() {
            judged += 1;
            let rss = t.rss_slope.unwrap_or(0.0);
            let fd = t.fds_slope.unwrap_or(0.0);
            if rss > rss_mib || fd > fds {
                return Err(format!(
                    "{} (pid {}) grows: {rss:+.2} MiB/min, {fd:+.2} fds/min",
                    t.slot, t.pid
                ));
            }
        }
        Ok(judged)
    }

    /// The command that plays this run again.
    pub fn replay(&self) -> String {
        format!(
            "deploy/local/chaos.sh --seed {} --duration {}s --rate {}",
            self.options.seed,
            self.options.duration.as_secs(),
            self.options.rate
        )
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or("n/a".to_string(), |v| format!("{v:+.3}"))
}

impl fmt::Display for ChaosReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        writeln!(f, "chaos soak, seed {}: {}", o.seed, self.replay())?;
        writeln!(
            f,
            "load: {} events sent over {}s at {}/s asked, {} accepted ({:.0}/s), answers {:?}",
            self.sent,
            o.duration.as_secs(),
            o.rate,
            self.accepted,
            self.rate,
            self.answers
        )?;
        let total: usize = self.faults.values().sum();
        writeln!(
            f,
            "faults: {total} ({:?}), {} restarts",
            self.faults, self.restarts
        )?;
        writeln!(f, "checker: {}", self.check)?;
        writeln!(
            f,
            "duplicates: {} (bound {}: {} per dispatcher kill, all dispatchers' per NATS node kill)",
            self.check.total_duplicates(),
            self.duplicate_bound,
            super::CONCURRENCY
        )?;
        writeln!(
            f,
            "{:<14} {:>7} {:>8} {:>12} {:>13} {:>10} {:>10}",
            "process", "pid", "sampled", "RSS MiB", "RSS MiB/min", "fds", "fds/min"
        )?;
        for t in &self.trends {
            writeln!(
                f,
                "{:<14} {:>7} {:>7.0}s {:>5.1}->{:<5.1} {:>13} {:>4}->{:<4} {:>10}",
                t.slot,
                t.pid,
                t.span.as_secs_f64(),
                t.rss_first_mib,
                t.rss_last_mib,
                opt(t.rss_slope),
                t.fds_first,
                t.fds_last,
                opt(t.fds_slope)
            )?;
        }
        Ok(())
    }
}
