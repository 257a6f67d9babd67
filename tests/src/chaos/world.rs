//! What the soak runs and hurts: the NATS cluster, the Herald processes
//! and the receiver, and the driver that plays the schedule on them.

use std::time::{Duration, Instant};

use anyhow::Context;
use herald_common::config::settings::{
    DISPATCHER_CONCURRENCY, DISPATCHER_ID, ENDPOINT_MAX_IN_FLIGHT, RETRY_SCHEDULE, STREAM_REPLICAS,
};

use super::sampler::Pids;
use super::schedule::{Fault, FaultKind};
use super::{CONCURRENCY, DISPATCHERS, INGEST, NATS_NODES};
use crate::checker::EndpointSpec;
use crate::scenario::TYPES;
use crate::{
    scenario, ApiClient, Behavior, Binary, HeraldProcess, NatsCluster, TestApp, TestAppOptions,
    TestReceiver,
};

const HEALTHY: Duration = Duration::from_secs(60);
/// Retries in milliseconds to seconds spanning ~75 s: longer than any
/// outage of the schedule, so none exhausts them.
const RETRIES: &str = "100ms,250ms,500ms,1s,2s,2s,3s,3s,3s,5s,5s,5s,5s,5s,5s,5s,5s,5s,5s";

pub(super) struct World {
    // Dropped in this order: processes, then the app (its database), then NATS.
    ingest: Vec<HeraldProcess>,
    dispatchers: Vec<HeraldProcess>,
    pub receiver: TestReceiver,
    pub endpoints: Vec<EndpointSpec>,
    app: TestApp,
    cluster: NatsCluster,
}

/// A begin or an end of a fault, at its time from the start of the load.
struct Step {
    at: Duration,
    fault: Fault,
    begin: bool,
}

fn slot(binary: Binary, i: usize) -> String {
    match binary {
        Binary::Ingest => format!("ingest-{}", i + 1),
        Binary::Dispatcher => format!("dispatcher-{}", i + 1),
    }
}

impl World {
    /// Start everything and create the endpoints; every process is healthy
    /// and registered in `pids`.
    pub async fn start(pids: &Pids) -> anyhow::Result<Self> {
        let cluster = NatsCluster::try_start(NATS_NODES).await?;
        let options = TestAppOptions::new()
            .event_types(&TYPES)
            .without_ingest()
            .dispatchers(0)
            .nats_url(cluster.urls())
            .env(STREAM_REPLICAS.name, NATS_NODES.to_string())
            .env(DISPATCHER_CONCURRENCY.name, CONCURRENCY.to_string())
            .env(ENDPOINT_MAX_IN_FLIGHT.name, "64")
            .env(RETRY_SCHEDULE.name, RETRIES);
        let app = TestApp::try_spawn(options).await?;
        let receiver = TestReceiver::start().await;
        let mut world = Self {
            ingest: Vec::new(),
            dispatchers: Vec::new(),
            receiver,
            endpoints: Vec::new(),
            app,
            cluster,
        };
        for i in 0..INGEST {
            let p = world.process(Binary::Ingest, i, pids).await?;
            world.ingest.push(p);
        }
        let api = world.apis().remove(0);
        world.endpoints = scenario::create_endpoints(&api, &world.receiver).await?;
        for i in 0..DISPATCHERS {
            let p = world.process(Binary::Dispatcher, i, pids).await?;
            world.dispatchers.push(p);
        }
        Ok(world)
    }

    async fn process(
        &self,
        binary: Binary,
        i: usize,
        pids: &Pids,
    ) -> anyhow::Result<HeraldProcess> {
        let name = slot(binary, i);
        let extra = match binary {
            Binary::Dispatcher => vec![(DISPATCHER_ID.name, name.as_str())],
            Binary::Ingest => vec![],
        };
        let mut p = self.app.spawn_process(binary, &extra).await?;
        p.wait_healthy(HEALTHY)
            .await
            .with_context(|| name.clone())?;
        pids.set(&name, p.pid());
        Ok(p)
    }

    /// A client for each ingest process.
    pub fn apis(&self) -> Vec<ApiClient> {
        self.ingest
            .iter()
            .map(|p| ApiClient::new(p.url()).with_token(self.app.admin_token()))
            .collect()
    }

    /// Play `faults` from now on; how many restarts there were. An error
    /// is a restart that failed (a NATS node that did not come back).
    pub async fn inject(&mut self, faults: &[Fault], pids: &Pids) -> anyhow::Result<usize> {
        let mut steps: Vec<Step> = faults
            .iter()
            .flat_map(|f| {
                [
                    Step {
                        at: f.at,
                        fault: *f,
                        begin: true,
                    },
                    Step {
                        at: f.at + f.lasts,
                        fault: *f,
                        begin: false,
                    },
                ]
            })
            .collect();
        steps.sort_by_key(|s| s.at);
        let started = Instant::now();
        let mut restarts = 0;
        for step in steps {
            tokio::time::sleep((started + step.at).saturating_duration_since(Instant::now())).await;
            println!(
                "chaos: {:>6.1}s {} {:?}",
                started.elapsed().as_secs_f64(),
                if step.begin { "begin" } else { "end  " },
                step.fault.kind
            );
            if step.begin {
                self.begin(step.fault.kind, pids).await;
            } else {
                restarts += self.end(step.fault.kind, pids).await?;
            }
        }
        Ok(restarts)
    }

    async fn begin(&mut self, kind: FaultKind, pids: &Pids) {
        match kind {
            FaultKind::KillDispatcher(i) => {
                self.dispatchers[i].kill9();
                pids.set(&slot(Binary::Dispatcher, i), None);
            }
            FaultKind::KillIngest(i) => {
                self.ingest[i].kill9();
                pids.set(&slot(Binary::Ingest, i), None);
            }
            FaultKind::KillNatsNode(n) => self.cluster.node_mut(n).kill(),
            FaultKind::Receiver503(Some(path)) => {
                self.receiver.set_behavior_for(path, Behavior::status(503))
            }
            FaultKind::Receiver503(None) => self.receiver.set_behavior(Behavior::status(503)),
            FaultKind::ReceiverSlow => self
                .receiver
                .set_behavior(Behavior::slow_fraction(0.3, Duration::from_secs(1))),
        }
    }

    /// Undo a fault; 1 if a process was started again.
    async fn end(&mut self, kind: FaultKind, pids: &Pids) -> anyhow::Result<usize> {
        let p = match kind {
            FaultKind::KillDispatcher(i) => (&mut self.dispatchers[i], slot(Binary::Dispatcher, i)),
            FaultKind::KillIngest(i) => (&mut self.ingest[i], slot(Binary::Ingest, i)),
            FaultKind::KillNatsNode(n) => {
                self.cluster
                    .node_mut(n)
                    .restart()
                    .await
                    .context("NATS node restart")?;
                return Ok(1);
            }
            FaultKind::Receiver503(Some(path)) => {
                self.receiver.clear_behavior_for(path);
                return Ok(0);
            }
            FaultKind::Receiver503(None) | FaultKind::ReceiverSlow => {
                self.receiver.set_behavior(Behavior::ok());
                return Ok(0);
            }
        };
        let (process, name) = p;
        process
            .start()
            .await
            .with_context(|| format!("restart {name}"))?;
        pids.set(&name, process.pid());
        Ok(1)
    }

    /// Stop every Herald process gracefully (SIGTERM); whether each exited
    /// cleanly is printed.
    pub async fn stop(&mut self) {
        for p in self.dispatchers.iter_mut().chain(self.ingest.iter_mut()) {
            let status = p.stop(Duration::from_secs(30)).await;
            if !status.is_some_and(|s| s.success()) {
                println!(
                    "chaos: a process did not stop cleanly: {status:?}\n{}",
                    p.log()
                );
            }
        }
    }
}
