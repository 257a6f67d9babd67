//! Test-only constructors (the `test-util` feature).

use super::settings::*;
use super::{Config, MapEnv};

/// The encryption key of test configs: SHA-256 of "herald test key".
pub const TEST_ENCRYPTION_KEY: &str = "WjsfpXCY718dY+R2RCgQs0lR9VLJ3Aps+hOG8G7XkqU=";

impl Config {
    /// The variables of a test config: defaults, pointed at the given
    /// servers, loopback endpoints allowed, millisecond retries, port 0, and
    /// a fixed encryption key (so no test writes a local key file).
    pub fn test_env(database_url: &str, nats_url: &str) -> MapEnv {
        MapEnv::new()
            .with(DATABASE_URL.name, database_url)
            .with(ENCRYPTION_KEY.name, TEST_ENCRYPTION_KEY)
            .with(NATS_URL.name, nats_url)
            .with(ALLOW_PRIVATE_URLS.name, "true")
            .with(RETRY_SCHEDULE.name, "50ms,100ms,200ms")
            .with(RETRY_POLL_INTERVAL.name, "20ms")
            .with(OUTBOX_INTERVAL.name, "100ms")
            .with(LISTEN.name, "127.0.0.1:0")
            .with(METRICS_LISTEN.name, "127.0.0.1:0")
    }

    /// A config for tests, built from [`Config::test_env`].
    pub fn for_tests(database_url: &str, nats_url: &str) -> Self {
        let env = Self::test_env(database_url, nats_url);
        match Self::from_source(&env) {
            Ok(c) => c,
            Err(e) => panic!("test config is invalid: {e}"),
        }
    }
}
