//! A TCP proxy on loopback that can be cut (open connections dropped, new
//! ones closed at once) and restored: "Postgres is down" for the nodes
//! behind it, while the shared test server keeps running for everyone else.
//!
//! The target is set through a [`ProxyTarget`] handle, also after the start
//! (e.g. from a `TestAppOptions::configure` closure, once the test database
//! exists); [`ProxyTarget::reroute`] points it at a database URL's server.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

pub struct CuttableProxy {
    target: ProxyTarget,
    up: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    task: JoinHandle<()>,
}

/// Where a [`CuttableProxy`] forwards to; a cheap clone that can move into
/// `'static` closures. Until a target is set, connections close at once.
#[derive(Clone)]
pub struct ProxyTarget {
    proxy: SocketAddr,
    to: Arc<Mutex<Option<SocketAddr>>>,
}

impl ProxyTarget {
    pub fn set(&self, to: SocketAddr) {
        *self.to.lock().expect("lock") = Some(to);
    }

    fn get(&self) -> Option<SocketAddr> {
        *self.to.lock().expect("lock")
    }

    /// Forward to the `host:port` of `database_url` (port 5432 when it names
    /// none) and return the URL with the proxy's port instead.
    pub fn reroute(&self, database_url: &str) -> String {
        let mut url = url::Url::parse(database_url).expect("database url");
        let real = format!(
            "{}:{}",
            url.host_str().expect("host"),
            url.port().unwrap_or(5432)
        );
        self.set(real.parse().expect("postgres address"));
        url.set_port(Some(self.proxy.port())).expect("port");
        url.into()
    }
}

impl CuttableProxy {
    /// Listen on a free port; forward to whatever the [`ProxyTarget`] holds
    /// when a connection arrives (set later, once the address is known).
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let target = ProxyTarget {
            proxy: listener.local_addr().expect("proxy addr"),
            to: Arc::default(),
        };
        let up = Arc::new(AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (target2, up2, conns2) = (target.clone(), up.clone(), connections.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let (true, Some(to)) = (up2.load(Ordering::SeqCst), target2.get()) else {
                    continue; // dropped: the connection closes at once
                };
                let copy = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                conns2.lock().expect("lock").push(copy.abort_handle());
            }
        });
        Self {
            target,
            up,
            connections,
            task,
        }
    }

    /// The address to connect to instead of the target.
    pub fn addr(&self) -> SocketAddr {
        self.target.proxy
    }

    /// The handle that sets where this proxy forwards.
    pub fn target(&self) -> ProxyTarget {
        self.target.clone()
    }

    /// See [`ProxyTarget::reroute`].
    pub fn reroute(&self, database_url: &str) -> String {
        self.target.reroute(database_url)
    }

    /// Drop every open connection and close new ones at once.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for c in self.connections.lock().expect("lock").drain(..) {
            c.abort();
        }
    }

    /// Forward new connections again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}
