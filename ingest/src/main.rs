//! `herald-ingest [serve]` runs the REST API node; `herald-ingest migrate`
//! applies the database migrations and exits; `herald-ingest settings`
//! prints every `HERALD_*` setting (the README's tables).

use std::process::ExitCode;

use herald_common::config::{settings, Config, EXIT_USAGE};
use herald_common::{shutdown, telemetry};

/// mimalloc: 15-20% of Herald's CPU went to glibc malloc/free under load
/// (docs/benchmarks.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    if command == "settings" {
        print!("{}", settings::markdown());
        return ExitCode::SUCCESS;
    }
    let config = match Config::load() {
        Ok(c) => c,
        Err(code) => return code,
    };
    telemetry::init(&config.telemetry);
    let result = match command.as_str() {
        "migrate" => herald_ingest::migrate(&config, &shutdown::on_signal())
            .await
            .map(|report| println!("migrations applied: {:?}", report.applied)),
        "serve" => match tokio::net::TcpListener::bind(config.ingest.listen).await {
            Ok(listener) => herald_ingest::run(config, listener, shutdown::on_signal()).await,
            Err(e) => Err(e.into()),
        },
        other => {
            eprintln!("unknown command {other:?}; usage: herald-ingest [serve|migrate|settings]");
            return ExitCode::from(EXIT_USAGE);
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
