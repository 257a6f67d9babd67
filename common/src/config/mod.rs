//! Configuration from `HERALD_*` environment variables.
//!
//! Every variable is declared once, in [`settings`] (name, section, default,
//! meaning); the README's settings table is generated from that table and a
//! test compares them. Values are read through the [`Env`] trait so tests
//! build a [`Config`] from a map without touching the process environment.
//! Every bad variable is reported at once ([`ConfigErrors`]), so an operator
//! fixes them in one go, and the binaries exit with status 64 before they
//! touch Postgres or NATS.

mod env;
mod nats;
mod parse;
mod read;
#[cfg(test)]
mod readme;
mod sections;
pub mod settings;
#[cfg(any(test, feature = "test-util"))]
mod testing;
#[cfg(any(test, feature = "test-util"))]
pub use testing::TEST_ENCRYPTION_KEY;
#[cfg(test)]
mod security_tests;
#[cfg(test)]
mod tests;

pub use env::{Env, MapEnv, ProcessEnv, Secret};
pub use nats::NatsSettings;
pub use parse::{parse_duration, parse_max_bytes, parse_retry_schedule};
pub use sections::*;

use parse::Reader;

/// Every Herald setting, by section. Both binaries read the same struct and
/// use the sections they need.
#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub database: DatabaseSettings,
    pub nats: NatsSettings,
    pub streams: StreamSettings,
    pub ingest: IngestSettings,
    pub dispatcher: DispatcherSettings,
    pub retry: RetryPolicy,
    pub security: SecuritySettings,
    pub telemetry: TelemetrySettings,
}

/// All configuration problems found, one line each.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors(pub Vec<String>);

/// The exit status of a process started with a bad configuration
/// (`EX_USAGE` of sysexits.h).
pub const EXIT_USAGE: u8 = 64;

impl Config {
    /// Read from the process environment.
    pub fn from_env() -> Result<Self, ConfigErrors> {
        Self::from_source(&ProcessEnv)
    }

    /// What a binary's `main` does first: read the process environment, or
    /// print every problem to stderr and return the exit status to use.
    pub fn load() -> Result<Self, std::process::ExitCode> {
        Self::from_env().map_err(|errors| {
            eprintln!("{errors}");
            std::process::ExitCode::from(EXIT_USAGE)
        })
    }

    /// Read from any [`Env`]; all errors are collected.
    pub fn from_source(env: &dyn Env) -> Result<Self, ConfigErrors> {
        let mut r = Reader::new(env);
        let mode = read::mode(&mut r);
        let database = read::database(&mut r);
        let nats = read::nats(&mut r);
        let streams = read::streams(&mut r);
        let ingest = read::ingest(&mut r);
        let dispatcher = read::dispatcher(&mut r);
        let retry = read::retry(&mut r);
        let security = read::security(&mut r, mode);
        let telemetry = read::telemetry(&mut r);
        let config = (|| {
            Some(Config {
                mode: mode?,
                database: database?,
                nats: nats?,
                streams: streams?,
                ingest: ingest?,
                dispatcher: dispatcher?,
                retry: retry?,
                security: security?,
                telemetry: telemetry?,
            })
        })();
        match config {
            Some(config) if r.errors.is_empty() => Ok(config),
            _ if r.errors.is_empty() => Err(ConfigErrors(vec!["a setting was not read".into()])),
            _ => Err(ConfigErrors(r.errors)),
        }
    }
}
