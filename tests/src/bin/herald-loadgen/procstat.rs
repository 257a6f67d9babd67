//! CPU seconds and peak RSS of named processes, read from /proc.

use std::collections::BTreeMap;

#[derive(Debug, Clone, serde::Serialize)]
pub struct ProcUsage {
    pub pid: u32,
    pub name: String,
    pub cpu_seconds: f64,
    pub peak_rss_mib: f64,
}

/// Clock ticks per second; 100 on every Linux we run on.
const TICKS: f64 = 100.0;

fn read(pid: u32) -> Option<(String, f64, f64)> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hwm_kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    Some((
        comm.trim().to_string(),
        (utime + stime) / TICKS,
        hwm_kb / 1024.0,
    ))
}

/// Every process whose command name is one of `names`.
pub fn snapshot(names: &[String]) -> BTreeMap<u32, ProcUsage> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Some((name, cpu, rss)) = read(pid) {
            if names.contains(&name) {
                out.insert(
                    pid,
                    ProcUsage {
                        pid,
                        name,
                        cpu_seconds: cpu,
                        peak_rss_mib: rss,
                    },
                );
            }
        }
    }
    out
}

/// Reset each process's peak RSS (VmHWM) so the run's own peak is measured.
/// Needs permission over the process; silently skipped otherwise.
pub fn reset_peaks(procs: &BTreeMap<u32, ProcUsage>) {
    for pid in procs.keys() {
        let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    }
}

/// CPU used between two snapshots, and the peak RSS at the end.
pub fn diff(before: &BTreeMap<u32, ProcUsage>, after: &BTreeMap<u32, ProcUsage>) -> Vec<ProcUsage> {
    after
        .values()
        .map(|a| {
            let cpu0 = before.get(&a.pid).map(|b| b.cpu_seconds).unwrap_or(0.0);
            ProcUsage {
                cpu_seconds: a.cpu_seconds - cpu0,
                ..a.clone()
            }
        })
        .collect()
}
