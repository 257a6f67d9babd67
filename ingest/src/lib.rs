//! herald-ingest: placeholder until the ingest issue lands.
use herald_common::config::Config;
use herald_common::shutdown::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

pub async fn run(
    _config: Config,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> Result<(), IngestError> {
    let app = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}
