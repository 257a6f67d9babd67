//! Connecting to NATS, one way for both binaries: the client is returned at
//! once and connects (and reconnects, forever, to any server of the list)
//! in the background; a [`Link`] tells who cares when it is connected. Every
//! (re)connect, disconnect and connection error is logged here, the same way
//! for ingest and dispatchers.

use std::sync::Arc;

use async_nats::{Client, ConnectOptions, Event};
use tokio::sync::watch;

use crate::config::NatsSettings;
use crate::shutdown::CancellationToken;

#[derive(Debug, Clone, Copy, Default)]
struct LinkState {
    connected: bool,
    /// Connections made so far (the first one counts).
    connects: u64,
}

/// Watches the connection of one client.
#[derive(Debug, Clone)]
pub struct Link(watch::Receiver<LinkState>);

impl Link {
    pub fn is_connected(&self) -> bool {
        self.0.borrow().connected
    }

    /// How many times the client has connected so far.
    pub fn connects(&self) -> u64 {
        self.0.borrow().connects
    }

    /// Wait until the client is connected; `false` if `stop` came first.
    pub async fn connected(&mut self, stop: &CancellationToken) -> bool {
        self.wait(stop, |s| s.connected).await
    }

    /// Wait for a connection made after the first `seen` ones (a reconnect);
    /// `false` if `stop` came first.
    pub async fn connected_after(&mut self, seen: u64, stop: &CancellationToken) -> bool {
        self.wait(stop, |s| s.connects > seen).await
    }

    async fn wait(&mut self, stop: &CancellationToken, until: impl Fn(&LinkState) -> bool) -> bool {
        tokio::select! {
            _ = stop.cancelled() => false,
            // The sender lives as long as the client's event task.
            state = self.0.wait_for(until) => state.is_ok(),
        }
    }
}

/// A client named `name` for `settings`' servers. It does not wait for a
/// server: connecting happens in the background, with async-nats's
/// reconnect backoff (at once, then doubling from 2 ms up to 4 s).
pub async fn connect(
    name: &str,
    settings: &NatsSettings,
) -> Result<(Client, Link), async_nats::ConnectError> {
    let (tx, rx) = watch::channel(LinkState::default());
    let tx = Arc::new(tx);
    let servers = settings.describe();
    let client = ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .event_callback(move |event| {
            let (tx, servers) = (tx.clone(), servers.clone());
            async move { observe(&tx, &servers, event) }
        })
        .connect(settings.servers.clone())
        .await?;
    Ok((client, Link(rx)))
}

fn observe(tx: &watch::Sender<LinkState>, servers: &str, event: Event) {
    match event {
        Event::Connected => {
            tx.send_modify(|s| {
                s.connected = true;
                s.connects += 1;
            });
            tracing::info!(servers, "NATS connected.");
        }
        Event::Disconnected => {
            tx.send_modify(|s| s.connected = false);
            tracing::warn!(servers, "NATS disconnected; reconnecting.");
        }
        Event::ClientError(error) => {
            tracing::warn!(%error, servers, "NATS not reachable; retrying.")
        }
        Event::ServerError(_) | Event::LameDuckMode | Event::SlowConsumer(_) => {
            tracing::warn!(%event, servers, "NATS server event.")
        }
        Event::Draining | Event::Closed => {
            tracing::info!(%event, servers, "NATS connection ending.")
        }
    }
}
