//! Resident memory and open file descriptors of every Herald process,
//! sampled from `/proc` while the soak runs, and their trend: the
//! least-squares slope over the second half of each process's life, per
//! minute.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

/// The processes to sample: slot name → its pid while it runs.
#[derive(Clone, Default)]
pub struct Pids(Arc<Mutex<BTreeMap<String, Option<u32>>>>);

impl Pids {
    pub fn set(&self, slot: &str, pid: Option<u32>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(slot.to_string(), pid);
    }

    fn running(&self) -> Vec<(String, u32)> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.iter()
            .filter_map(|(slot, pid)| Some((slot.clone(), (*pid)?)))
            .collect()
    }
}

/// One reading of one process.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub pid: u32,
    /// Since sampling started.
    pub at: Duration,
    pub rss_kib: u64,
    pub fds: u64,
}

/// Samples by slot, in time order.
pub type Samples = BTreeMap<String, Vec<Sample>>;

fn read(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some((rss, fds))
}

/// Sample every process of `pids` every `every` until aborted; the samples
/// so far are in the returned handle.
pub fn start(pids: Pids, every: Duration) -> (Arc<Mutex<Samples>>, JoinHandle<()>) {
    let samples = Arc::new(Mutex::new(Samples::new()));
    let out = samples.clone();
    let task = tokio::spawn(async move {
        let started = Instant::now();
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            for (slot, pid) in pids.running() {
                if let Some((rss_kib, fds)) = read(pid) {
                    let at = started.elapsed();
                    let mut all = out.lock().unwrap_or_else(|p| p.into_inner());
                    all.entry(slot).or_default().push(Sample {
                        pid,
                        at,
                        rss_kib,
                        fds,
                    });
                }
            }
        }
    });
    (samples, task)
}

/// The least-squares slope of `y` over `x` (`None` for fewer than 3 points
/// or no spread in `x`).
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 3 {
        return None;
    }
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// One process's life as sampled: from its first to its last sample.
#[derive(Debug, Clone)]
pub struct Trend {
    pub slot: String,
    pub pid: u32,
    /// How long it was sampled (warm-up included).
    pub span: Duration,
    pub rss_first_mib: f64,
    pub rss_last_mib: f64,
    /// MiB per minute over the second half of the life (`None`: too short
    /// to tell).
    pub rss_slope: Option<f64>,
    pub fds_first: u64,
    pub fds_last: u64,
    /// Descriptors per minute over the second half of the life.
    pub fds_slope: Option<f64>,
}

/// The trend of every process life in `samples`. The first half of each
/// life (and at least `warm_up`) is left out of the slopes: start-up, and
/// pools and caches filling to their bounds as the load and the faults reach
/// them (a dispatcher's HTTP pool grows to one connection per permit, 64,
/// during the first slow-receiver spell it meets, whenever that comes); a
/// leak grows through the second half too.
pub fn trends(samples: &Samples, warm_up: Duration) -> Vec<Trend> {
    let mut out = Vec::new();
    for (slot, all) in samples {
        let mut lives: BTreeMap<u32, Vec<Sample>> = BTreeMap::new();
        for s in all {
            lives.entry(s.pid).or_default().push(*s);
        }
        for (pid, life) in lives {
            let (Some(first), Some(last)) = (life.first(), life.last()) else {
                continue;
            };
            let skip = warm_up.max((last.at - first.at) / 2);
            let settled: Vec<&Sample> = life.iter().filter(|s| s.at >= first.at + skip).collect();
            let minutes = |s: &Sample| s.at.as_secs_f64() / 60.0;
            let rss: Vec<(f64, f64)> = settled
                .iter()
                .map(|s| (minutes(s), s.rss_kib as f64 / 1024.0))
                .collect();
            let fds: Vec<(f64, f64)> = settled.iter().map(|s| (minutes(s), s.fds as f64)).collect();
            out.push(Trend {
                slot: slot.clone(),
                pid,
                span: last.at - first.at,
                rss_first_mib: first.rss_kib as f64 / 1024.0,
                rss_last_mib: last.rss_kib as f64 / 1024.0,
                rss_slope: slope(&rss),
                fds_first: first.fds,
                fds_last: last.fds,
                fds_slope: slope(&fds),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slope_of_a_line_is_its_gradient_and_noise_averages_out() {
        let line: Vec<(f64, f64)> = (0..10).map(|x| (x as f64, 3.0 * x as f64 + 1.0)).collect();
        assert!((slope(&line).expect("slope") - 3.0).abs() < 1e-9);
        let flat: Vec<(f64, f64)> = (0..10)
            .map(|x| (x as f64, if x % 2 == 0 { 10.0 } else { 12.0 }))
            .collect();
        assert!(slope(&flat).expect("slope").abs() < 0.25);
        assert_eq!(slope(&[(1.0, 1.0), (2.0, 2.0)]), None);
        assert_eq!(slope(&[(1.0, 1.0), (1.0, 2.0), (1.0, 3.0)]), None);
    }

    #[test]
    fn each_life_of_a_slot_is_its_own_trend() {
        let s = |pid, secs, rss_kib| Sample {
            pid,
            at: Duration::from_secs(secs),
            rss_kib,
            fds: 10,
        };
        let mut samples = Samples::new();
        // Life 1 grows 1 MiB a minute all along (a leak), life 2 is one sample.
        let mut life: Vec<Sample> = (0..=8).map(|i| s(1, i * 30, 1024 + 512 * i)).collect();
        life.push(s(2, 250, 1024));
        samples.insert("dispatcher-2".into(), life);
        let trends = trends(&samples, Duration::ZERO);
        assert_eq!(trends.len(), 2);
        assert!(
            (trends[0].rss_slope.expect("slope") - 1.0).abs() < 1e-9,
            "1 MiB a minute"
        );
        assert_eq!(trends[0].span, Duration::from_secs(240));
        assert_eq!(trends[1].rss_slope, None, "one sample tells nothing");
    }

    #[test]
    fn a_pool_filling_in_the_first_half_is_flat_and_a_leak_is_not() {
        let s = |secs: u64, fds| Sample {
            pid: 7,
            at: Duration::from_secs(secs),
            rss_kib: 1024,
            fds,
        };
        // 15 descriptors, the pool fills to 80 by minute 4, then stays.
        let filling: Vec<Sample> = (0..=20).map(|i| s(i * 30, (15 + 8 * i).min(80))).collect();
        // One more descriptor every minute from start to end.
        let leaking: Vec<Sample> = (0..=20).map(|i| s(i * 30, 15 + i / 2)).collect();
        let mut samples = Samples::new();
        samples.insert("filling".into(), filling);
        samples.insert("leaking".into(), leaking);
        let trends = trends(&samples, Duration::from_secs(60));
        let slope_of = |slot: &str| {
            trends
                .iter()
                .find(|t| t.slot == slot)
                .and_then(|t| t.fds_slope)
                .expect("a slope")
        };
        assert!(slope_of("filling").abs() < 1e-9, "flat once filled");
        assert!((slope_of("leaking") - 1.0).abs() < 0.1, "1 fd a minute");
    }
}
