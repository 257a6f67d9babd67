//! `HERALD_NATS_URL`: the NATS servers, validated with the other settings.

use std::fmt;

use async_nats::ServerAddr;
use url::Url;

/// Where NATS is: one server, or several nodes of a cluster.
#[derive(Clone, PartialEq, Eq)]
pub struct NatsSettings {
    /// Never empty; may carry `user:password@` (see [`NatsSettings::describe`]).
    pub servers: Vec<ServerAddr>,
}

impl NatsSettings {
    /// `scheme://host:port` of each server, comma-separated, without
    /// credentials: what logs may show.
    pub fn describe(&self) -> String {
        self.servers
            .iter()
            .map(|s| format!("{}://{}:{}", s.scheme(), s.host(), s.port()))
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl fmt::Debug for NatsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsSettings")
            .field("servers", &self.describe())
            .finish()
    }
}

/// One server of the list: `nats://`, `tls://`, `ws://` or `wss://`, a
/// host, and a port (explicit, or the scheme's own for `ws`/`wss`).
pub(super) fn parse_server(entry: &str) -> Result<ServerAddr, String> {
    const SHAPE: &str = "use nats://host:port (or tls://, ws://, wss://)";
    let url = Url::parse(entry).map_err(|e| format!("not a URL ({e}); {SHAPE}"))?;
    if !matches!(url.scheme(), "nats" | "tls" | "ws" | "wss") {
        return Err(format!(
            "the scheme {:?} is not NATS's; {SHAPE}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("no host; {SHAPE}"));
    }
    match url.port_or_known_default() {
        None => return Err(format!("no port; {SHAPE}")),
        Some(0) => return Err("port 0 is not a server's port".into()),
        Some(_) => {}
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(format!("a server address has no path or query; {SHAPE}"));
    }
    ServerAddr::from_url(url).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_need_a_nats_scheme_a_host_and_a_port() {
        for good in [
            "nats://127.0.0.1:4222",
            "tls://nats.example:4443",
            "nats://user:pass@[::1]:4222",
            "ws://nats.example",
            "wss://nats.example:8443/",
        ] {
            assert!(parse_server(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("http://127.0.0.1:4222", "scheme"),
            ("127.0.0.1:4222", "not a URL"),
            ("nats://127.0.0.1", "no port"),
            ("nats://:4222", "not a URL"),
            ("nats://127.0.0.1:0", "port 0"),
            ("nats://127.0.0.1:99999", "not a URL"),
            ("nats://127.0.0.1:4222/x", "no path"),
        ] {
            let err = parse_server(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn credentials_never_print() {
        let settings = NatsSettings {
            servers: vec![parse_server("nats://herald:s3cret@127.0.0.1:4222").expect("valid")],
        };
        assert_eq!(settings.describe(), "nats://127.0.0.1:4222");
        assert!(!format!("{settings:?}").contains("s3cret"));
    }
}
