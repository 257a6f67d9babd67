//! The run second by second: events accepted, deliveries (first arrivals at
//! the healthy endpoints) and their end-to-end latency, written as CSV and
//! drawn by [`crate::chart`].

use std::io::Write;
use std::sync::atomic::Ordering;

use crate::receiver::State;

/// One second of the run, counted from the producer's start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Second {
    pub t: u64,
    pub accepted: u64,
    pub delivered: u64,
    /// Latency percentiles (ms) of the deliveries that arrived in this second.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Nearest-rank percentile `p` (0..=1) of sorted microseconds, in ms.
pub fn percentile_ms(sorted_us: &[u64], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let i = ((sorted_us.len() as f64 - 1.0) * p).round() as usize;
    sorted_us[i.min(sorted_us.len() - 1)] as f64 / 1000.0
}

/// Bucket `arrivals` (arrival unix ns, latency µs) and `accepted` counts per
/// second from `start_ns`.
pub fn build(start_ns: u64, accepted: &[u64], arrivals: &[(u64, u64)]) -> Vec<Second> {
    let mut per: Vec<Vec<u64>> = Vec::new();
    for (at, us) in arrivals {
        let i = (at.saturating_sub(start_ns) / 1_000_000_000) as usize;
        if per.len() <= i {
            per.resize(i + 1, Vec::new());
        }
        per[i].push(*us);
    }
    let len = per.len().max(accepted.len());
    (0..len)
        .map(|i| {
            let mut lat = per.get(i).cloned().unwrap_or_default();
            lat.sort_unstable();
            Second {
                t: i as u64,
                accepted: accepted.get(i).copied().unwrap_or(0),
                delivered: lat.len() as u64,
                p50_ms: percentile_ms(&lat, 0.50),
                p99_ms: percentile_ms(&lat, 0.99),
                max_ms: lat.last().map(|v| *v as f64 / 1000.0).unwrap_or(0.0),
            }
        })
        .collect()
}

/// The series of a finished run.
pub fn of(state: &State) -> Vec<Second> {
    let arrivals = state
        .latencies_us
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    build(
        state.started_ns.load(Ordering::Relaxed),
        &state.accepted_per_second(),
        &arrivals,
    )
}

/// Write `series` as CSV (header `t_s,accepted,delivered,p50_ms,p99_ms,max_ms`).
pub fn write_csv(path: &std::path::Path, series: &[Second]) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "t_s,accepted,delivered,p50_ms,p99_ms,max_ms")?;
    for s in series {
        writeln!(
            out,
            "{},{},{},{:.3},{:.3},{:.3}",
            s.t, s.accepted, s.delivered, s.p50_ms, s.p99_ms, s.max_ms
        )?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_fall_into_their_second_with_its_own_percentiles() {
        let s0 = 1_000_000_000_000;
        let arrivals = [
            (s0 + 100, 2_000),
            (s0 + 900_000_000, 4_000),
            (s0 + 2_500_000_000, 10_000),
        ];
        let got = build(s0, &[5, 3], &arrivals);
        assert_eq!(got.len(), 3);
        assert_eq!((got[0].accepted, got[0].delivered), (5, 2));
        assert_eq!((got[0].p50_ms, got[0].max_ms), (4.0, 4.0));
        assert_eq!((got[1].accepted, got[1].delivered), (3, 0));
        assert_eq!((got[2].delivered, got[2].p99_ms), (1, 10.0));
    }
}
