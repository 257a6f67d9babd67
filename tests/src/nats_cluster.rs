//! A NATS cluster of N JetStream nodes with full-mesh routes, for tests of
//! replicated streams and node failures.

use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::stream;

use crate::nats::{ClusterArgs, NatsServer};
use crate::support::free_port;
use crate::wait::{connect_nats, wait_for_jetstream};

const READY_TIMEOUT: Duration = Duration::from_secs(60);

pub struct NatsCluster {
    name: String,
    nodes: Vec<NatsServer>,
}

impl NatsCluster {
    /// Start `size` nodes and wait until JetStream has a meta leader and
    /// every node is a peer (a probe stream with `size` replicas is created
    /// and deleted). Panics with the reason if it cannot.
    pub async fn start(size: usize) -> Self {
        match Self::try_start(size).await {
            Ok(c) => c,
            Err(e) => panic!("could not start a {size}-node NATS cluster: {e:#}"),
        }
    }

    pub async fn try_start(size: usize) -> anyhow::Result<Self> {
        anyhow::ensure!(size >= 1, "a cluster needs at least one node");
        let name = format!(
            "herald-test-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let cluster_ports = (0..size)
            .map(|_| free_port())
            .collect::<Result<Vec<u16>, _>>()?;
        let mut nodes = Vec::with_capacity(size);
        for (i, port) in cluster_ports.iter().enumerate() {
            let args = ClusterArgs {
                cluster_name: name.clone(),
                server_name: format!("n{}", i + 1),
                cluster_port: *port,
                routes: cluster_ports
                    .iter()
                    .copied()
                    .filter(|p| p != port)
                    .collect(),
            };
            let mut node = NatsServer::new(Some(args))?;
            node.spawn()
                .await
                .with_context(|| format!("node n{}", i + 1))?;
            nodes.push(node);
        }
        let cluster = Self { name, nodes };
        cluster.wait_until_ready(READY_TIMEOUT).await?;
        Ok(cluster)
    }

    /// The cluster name (`--cluster_name`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every node's client URL, comma-separated (for `HERALD_NATS_URL`).
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Node `i` (0-based); its server name is `n{i+1}`.
    pub fn node(&self, i: usize) -> &NatsServer {
        &self.nodes[i]
    }

    /// Node `i`, to `stop`, `kill` or `restart` it.
    pub fn node_mut(&mut self, i: usize) -> &mut NatsServer {
        &mut self.nodes[i]
    }

    /// A client that knows every node (it fails over between them).
    pub async fn connect(&self) -> async_nats::Client {
        match connect_nats(&self.urls()).await {
            Ok(c) => c,
            Err(e) => panic!("could not connect to the cluster {}: {e:#}", self.urls()),
        }
    }

    /// Wait until JetStream answers and a stream with one replica per node
    /// can be created, i.e. there is a meta leader and every node is a peer.
    pub async fn wait_until_ready(&self, timeout: Duration) -> anyhow::Result<()> {
        let started = tokio::time::Instant::now();
        wait_for_jetstream(&self.urls(), timeout).await?;
        let client = connect_nats(&self.urls()).await?;
        let js = async_nats::jetstream::new(client);
        let probe = format!("HARNESS_PROBE_{}", uuid::Uuid::new_v4().simple());
        let config = stream::Config {
            name: probe.clone(),
            subjects: vec![format!("harness.probe.{probe}")],
            num_replicas: self.nodes.len(),
            storage: stream::StorageType::Memory,
            ..Default::default()
        };
        loop {
            match js.create_stream(config.clone()).await {
                Ok(_) => break,
                Err(e) if started.elapsed() > timeout => {
                    anyhow::bail!("cluster not ready after {timeout:?}: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        let _ = js.delete_stream(&probe).await;
        Ok(())
    }
}
