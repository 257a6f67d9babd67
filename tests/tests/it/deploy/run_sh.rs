//! `deploy/local/run.sh --cluster` itself, on its fixed ports (skipped,
//! with a printed reason, when one is taken; never skipped in CI): both
//! streams have 3 replicas, events sent to either ingest node are
//! delivered, a NATS node killed with `kill -9` under load loses nothing,
//! and a Ctrl-C stops everything in order without an error line.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use herald_tests::{skip_or_fail, ApiClient, Binary, Producer, TestReceiver, WAIT};
use rustix::process::{kill_process, kill_process_group, Pid, Signal};

use serde_json::Value;

use super::support::js_api;
use crate::reliability::support::{create_endpoints, finish, TYPES};

const TEST: &str = "deploy::run_sh::run_sh_cluster";
/// Every port `run.sh --cluster` takes: NATS clients, monitoring and
/// routes, ingest, Prometheus, three dispatchers, Postgres.
const PORTS: [u16; 16] = [
    4222, 4223, 4224, 8222, 8223, 8224, 6222, 6223, 6224, 8080, 8081, 9090, 9091, 9092, 9093, 5433,
];
const START_TIMEOUT: Duration = Duration::from_secs(240);
const STOP_TIMEOUT: Duration = Duration::from_secs(120);
const LOAD: Duration = Duration::from_secs(12);
/// Events per second over both ingest nodes.
const RATE: u32 = 30;

/// `run.sh --cluster` running in a process group of its own, like a
/// terminal's foreground job; stopped (and anything left killed) on drop.
struct RunSh {
    child: Child,
    dir: tempfile::TempDir,
}

impl RunSh {
    fn start(bin_dir: &Path) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("herald-run-sh-")
            .tempdir()
            .expect("tempdir");
        let out = std::fs::File::create(dir.path().join("out.txt")).expect("out.txt");
        let script = herald_tests::workspace_root().join("deploy/local/run.sh");
        let mut cmd = Command::new("env");
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("HERALD_") {
                cmd.env_remove(k);
            }
        }
        // A shell started in the background ignores SIGINT, and a script
        // cannot trap a signal ignored at its start: undo that, as a
        // terminal's foreground job has it.
        let child = cmd
            .args(["--default-signal=INT"])
            .arg(&script)
            .arg("--cluster")
            .env("HERALD_STATE_DIR", dir.path().join("state"))
            .env("HERALD_BIN_DIR", bin_dir)
            .env("HERALD_ACK_WAIT", "5s")
            .env(
                "HERALD_RETRY_SCHEDULE",
                "100ms,250ms,500ms,1s,2s,2s,3s,3s,3s,3s",
            )
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("out"))
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("start run.sh");
        Self { child, dir }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("out.txt")).unwrap_or_default()
    }

    /// "NAME PID" lines of `run.pids`.
    fn pids(&self) -> Vec<(String, i32)> {
        let text =
            std::fs::read_to_string(self.dir.path().join("state/run.pids")).unwrap_or_default();
        text.lines()
            .filter_map(|l| l.split_once(' '))
            .filter_map(|(n, p)| Some((n.to_string(), p.trim().parse().ok()?)))
            .collect()
    }

    fn pid_of(&self, name: &str) -> i32 {
        let found = self.pids().into_iter().find(|(n, _)| n == name);
        found
            .map(|(_, p)| p)
            .unwrap_or_else(|| panic!("{name} not in run.pids:\n{}", self.output()))
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while !self
            .output()
            .lines()
            .any(|l| l.ends_with("[herald]\u{1b}[0m ready"))
        {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "run.sh exited ({status}) before it was ready:\n{}",
                    self.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "run.sh not ready in {START_TIMEOUT:?}:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Ctrl-C in a terminal: SIGINT to the whole foreground process group.
    async fn ctrl_c(&mut self) -> std::process::ExitStatus {
        let group = Pid::from_raw(self.child.id() as i32).expect("pid");
        kill_process_group(group, Signal::INT).expect("SIGINT to run.sh's group");
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "run.sh still running:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for RunSh {
    fn drop(&mut self) {
        let pids = self.pids();
        if let Ok(None) = self.child.try_wait() {
            signal(self.child.id() as i32, Signal::TERM);
            let deadline = Instant::now() + STOP_TIMEOUT;
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for (_, pid) in pids {
            signal(pid, Signal::KILL);
        }
        if std::thread::panicking() {
            eprintln!("----- run.sh output -----\n{}\n-----", self.output());
        }
    }
}

fn signal(pid: i32, sig: Signal) {
    if let Some(pid) = Pid::from_raw(pid) {
        let _ = kill_process(pid, sig);
    }
}

fn alive(pid: i32) -> bool {
    PathBuf::from(format!("/proc/{pid}")).exists()
}

fn port_taken(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

async fn nats() -> async_nats::Client {
    let urls = [
        "nats://127.0.0.1:4222",
        "nats://127.0.0.1:4223",
        "nats://127.0.0.1:4224",
    ];
    async_nats::connect(urls.as_slice())
        .await
        .expect("connect to the cluster")
}

/// Both streams report 3 replicas: a leader and two followers.
async fn assert_three_replicas(client: &async_nats::Client) {
    for stream in ["HERALD_EVENTS", "HERALD_DELIVERIES"] {
        let info = js_api(client, &format!("$JS.API.STREAM.INFO.{stream}"), "").await;
        assert_eq!(info["config"]["num_replicas"], 3, "{stream}: {info}");
        assert!(
            info["cluster"]["leader"].is_string(),
            "{stream} has a leader: {info}"
        );
        let followers = info["cluster"]["replicas"].as_array().map_or(0, Vec::len);
        assert_eq!(followers, 2, "{stream}: {info}");
    }
}

/// The instances Prometheus on 9090 scrapes successfully.
async fn scraped() -> Vec<String> {
    let Ok(r) = ApiClient::new("http://127.0.0.1:9090")
        .get("/api/v1/targets")
        .await
    else {
        return Vec::new();
    };
    let v: Value = r.value();
    let targets = v["data"]["activeTargets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let up = targets.iter().filter(|t| t["health"] == "up");
    up.filter_map(|t| t["labels"]["instance"].as_str().map(String::from))
        .collect()
}

/// Prometheus scrapes both ingest nodes and the three dispatchers.
async fn assert_prometheus_scrapes_every_node() {
    let all = herald_tests::wait_until(WAIT, || async { scraped().await.len() == 5 }).await;
    assert!(
        all.is_ok(),
        "Prometheus scrapes {:?}, not all 5 nodes",
        scraped().await
    );
}

#[tokio::test]
async fn run_sh_cluster() {
    let taken: Vec<u16> = PORTS.into_iter().filter(|p| port_taken(*p)).collect();
    if !taken.is_empty() {
        return skip_or_fail(TEST, &format!("run.sh's fixed ports {taken:?} are taken"));
    }
    let _alone = herald_tests::machine_alone().await;
    let started = Instant::now();
    let bin = Binary::Ingest.path().await.expect("binaries built");
    let mut run = RunSh::start(bin.parent().expect("bin dir"));
    run.wait_ready().await;
    println!(
        "run.sh --cluster ready after {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let client = nats().await;
    assert_three_replicas(&client).await;

    let receiver = TestReceiver::start().await;
    let apis = ["http://127.0.0.1:8080", "http://127.0.0.1:8081"]
        .map(|u| ApiClient::new(u).with_token("herald-local-admin-token"));
    herald_tests::register_event_types(&apis[0], &TYPES).await;
    let endpoints = create_endpoints(&apis[0], &receiver).await;
    let producers = apis
        .clone()
        .map(|api| Producer::start(vec![api], &TYPES, RATE / 2, LOAD));
    tokio::time::sleep(LOAD / 3).await;
    let victim = run.pid_of("nats-n1");
    signal(victim, Signal::KILL);
    let killed_at = Instant::now();

    let mut accepted = Vec::new();
    for (api, producer) in apis.iter().zip(producers) {
        let produced = producer.finish().await;
        let after = produced
            .accepted
            .iter()
            .filter(|e| e.accepted_at > killed_at)
            .count();
        assert!(after > 0, "{} accepted nothing after the kill", api.base());
        accepted.extend(produced.accepted);
    }
    finish(
        "run.sh --cluster, kill -9 of nats-n1",
        &accepted,
        &endpoints,
        &receiver,
        Some(killed_at),
    )
    .await;

    assert_prometheus_scrapes_every_node().await;

    let pids = run.pids();
    let stop_started = Instant::now();
    let status = run.ctrl_c().await;
    println!(
        "stopped in {:.1}s; whole test {:.1}s",
        stop_started.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let output = run.output();
    assert_eq!(
        status.code(),
        Some(130),
        "exit status after Ctrl-C:\n{output}"
    );
    let errors: Vec<&str> = output
        .lines()
        .filter(|l| l.to_lowercase().contains("error"))
        .collect();
    assert!(errors.is_empty(), "error lines: {errors:?}\n{output}");
    assert!(
        output.contains("warning: nats-n1 exited"),
        "the killed node is reported:\n{output}"
    );
    assert!(
        output
            .lines()
            .last()
            .is_some_and(|l| l.ends_with("stopped")),
        "{output}"
    );
    let left: Vec<&(String, i32)> = pids.iter().filter(|(_, p)| alive(*p)).collect();
    assert!(left.is_empty(), "still running after Ctrl-C: {left:?}");
    let open: Vec<u16> = PORTS.into_iter().filter(|p| port_taken(*p)).collect();
    assert!(open.is_empty(), "ports still open after Ctrl-C: {open:?}");
}
