//! `herald-ingest [serve]` runs the REST API node; `herald-ingest migrate`
//! applies the database migrations and exits.

use std::process::ExitCode;

use herald_common::config::Config;
use herald_common::{shutdown, telemetry};

/// mimalloc: 15-20% of Herald's CPU went to glibc malloc/free under load
/// (docs/benchmarks.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(64);
        }
    };
    telemetry::init(&config);
    let result = match command.as_str() {
        "migrate" => herald_ingest::migrate(&config).await.map(|report| {
            println!("migrations applied: {:?}", report.applied);
        }),
        "serve" => match tokio::net::TcpListener::bind(config.listen).await {
            Ok(listener) => herald_ingest::run(config, listener, shutdown::on_signal()).await,
            Err(e) => Err(e.into()),
        },
        other => {
            eprintln!("unknown command {other:?}; usage: herald-ingest [serve|migrate]");
            return ExitCode::from(64);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "herald-ingest failed.");
            eprintln!("herald-ingest: {error}");
            ExitCode::FAILURE
        }
    }
}
