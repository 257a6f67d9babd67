//! `herald-dispatcher`: read the config, bind the metrics listener, run until
//! SIGINT/SIGTERM. Everything else lives in the library's `run`.

use herald_common::config::Config;
use herald_common::{shutdown, telemetry};
use std::process::ExitCode;

/// mimalloc (2.x, see the README's dependency notes): 15-20% of Herald's
/// CPU went to glibc malloc/free under load
/// (docs/benchmarks.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::load() {
        Ok(c) => c,
        Err(code) => return code,
    };
    telemetry::init(&config.telemetry);
    let listener = match tokio::net::TcpListener::bind(config.dispatcher.metrics_listen).await {
        Ok(l) => l,
        Err(error) => {
            tracing::error!(%error, addr = %config.dispatcher.metrics_listen, "Cannot bind the metrics listener.");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        dispatcher_id = %config.dispatcher.id,
        "herald-dispatcher starting."
    );
    match herald_dispatcher::run(config, listener, shutdown::on_signal()).await {
        Ok(()) => {
            tracing::info!("herald-dispatcher stopped.");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "herald-dispatcher failed.");
            ExitCode::FAILURE
        }
    }
}
