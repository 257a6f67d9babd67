//! CPU seconds and peak RSS of the processes under test, read from /proc.
//!
//! Processes are named on the command line (`--process ingest=PID`,
//! `--process-tree postgres=PID` for a server and all its children) or, as
//! before, found by command name (`--process-names`). The load generator
//! itself (with its receivers) is always measured as `loadgen`.

use std::collections::BTreeMap;

#[derive(Debug, Clone, serde::Serialize)]
pub struct ProcUsage {
    pub pid: u32,
    pub name: String,
    pub cpu_seconds: f64,
    pub peak_rss_mib: f64,
}

/// What to measure: a label and a process (with its children when `tree`).
#[derive(Debug, Clone)]
pub struct Target {
    pub label: String,
    pub pid: u32,
    pub tree: bool,
}

impl Target {
    /// Parse `LABEL=PID`.
    pub fn parse(spec: &str, tree: bool) -> Result<Self, String> {
        let (label, pid) = spec
            .split_once('=')
            .ok_or_else(|| format!("{spec}: expected LABEL=PID"))?;
        let pid = pid
            .parse()
            .map_err(|_| format!("{spec}: {pid} is not a process id"))?;
        Ok(Self {
            label: label.to_string(),
            pid,
            tree,
        })
    }
}

/// The targets named by `--process` and `--process-tree`.
pub fn targets(processes: &[String], trees: &[String]) -> Result<Vec<Target>, String> {
    let own = processes.iter().map(|s| Target::parse(s, false));
    own.chain(trees.iter().map(|s| Target::parse(s, true)))
        .collect()
}

/// Clock ticks per second; 100 on every Linux we run on.
const TICKS: f64 = 100.0;

/// A process's /proc/PID/stat fields: (command name, parent pid, own CPU
/// ticks, CPU ticks of its reaped children).
fn stat(pid: u32) -> Option<(String, u32, f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_string();
    // Fields after the command name: state is 3, ppid 4, utime 14, stime 15,
    // cutime 16, cstime 17 (man 5 proc), so index n-3 here.
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
    let ppid = f.get(1)?.parse().ok()?;
    Some((comm, ppid, num(11)? + num(12)?, num(13)? + num(14)?))
}

fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn all_pids() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
        .collect()
}

/// CPU seconds of `t`: its own, plus (for a tree) its reaped children's and
/// its live children's. A child that exits between two snapshots moves from
/// the live sum to the parent's reaped sum, so differences stay right.
fn cpu_of(t: &Target, procs: &[(u32, u32, f64)]) -> Option<f64> {
    let (_, _, own, reaped) = stat(t.pid)?;
    if !t.tree {
        return Some(own / TICKS);
    }
    let children: f64 = procs
        .iter()
        .filter(|(_, ppid, _)| *ppid == t.pid)
        .map(|(_, _, cpu)| cpu)
        .sum();
    Some((own + reaped + children) / TICKS)
}

/// Usage of every target (by label), plus this process as `loadgen`.
pub fn snapshot_targets(targets: &[Target]) -> BTreeMap<String, ProcUsage> {
    let mut with_self = targets.to_vec();
    with_self.push(Target {
        label: "loadgen".into(),
        pid: std::process::id(),
        tree: false,
    });
    let procs: Vec<(u32, u32, f64)> = if targets.iter().any(|t| t.tree) {
        all_pids()
            .into_iter()
            .filter_map(|p| stat(p).map(|(_, ppid, cpu, _)| (p, ppid, cpu)))
            .collect()
    } else {
        Vec::new()
    };
    with_self
        .iter()
        .filter_map(|t| {
            let cpu = cpu_of(t, &procs)?;
            let usage = ProcUsage {
                pid: t.pid,
                name: t.label.clone(),
                cpu_seconds: cpu,
                peak_rss_mib: peak_rss_mib(t.pid),
            };
            Some((t.label.clone(), usage))
        })
        .collect()
}

/// Every process whose command name is one of `names` (keyed by pid).
pub fn snapshot_names(names: &[String]) -> BTreeMap<String, ProcUsage> {
    all_pids()
        .into_iter()
        .filter_map(|pid| {
            let (name, _, cpu, _) = stat(pid)?;
            names.contains(&name).then(|| {
                let usage = ProcUsage {
                    pid,
                    name,
                    cpu_seconds: cpu / TICKS,
                    peak_rss_mib: peak_rss_mib(pid),
                };
                (pid.to_string(), usage)
            })
        })
        .collect()
}

/// Reset each process's peak RSS (VmHWM) so the run's own peak is measured.
/// Needs permission over the process; silently skipped otherwise.
pub fn reset_peaks(procs: &BTreeMap<String, ProcUsage>) {
    for p in procs.values() {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", p.pid), "5");
    }
}

/// CPU used between two snapshots, and the peak RSS at the end.
pub fn diff(
    before: &BTreeMap<String, ProcUsage>,
    after: &BTreeMap<String, ProcUsage>,
) -> Vec<ProcUsage> {
    after
        .iter()
        .map(|(key, a)| {
            let cpu0 = before.get(key).map(|b| b.cpu_seconds).unwrap_or(0.0);
            ProcUsage {
                cpu_seconds: a.cpu_seconds - cpu0,
                ..a.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_label_equals_pid() {
        let got = targets(&["ingest=12".into()], &["postgres=7".into()]).expect("parse");
        let got: Vec<_> = got
            .iter()
            .map(|t| (t.label.as_str(), t.pid, t.tree))
            .collect();
        assert_eq!(got, [("ingest", 12, false), ("postgres", 7, true)]);
        assert!(targets(&["ingest".into()], &[]).is_err());
        assert!(targets(&["ingest=x".into()], &[]).is_err());
    }

    #[test]
    fn this_process_is_measured_as_loadgen() {
        let me = snapshot_targets(&[]);
        let own = me.get("loadgen").expect("loadgen measured");
        assert_eq!(own.pid, std::process::id());
        assert!(own.peak_rss_mib > 0.0);
    }
}
