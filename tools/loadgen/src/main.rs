//! herald-loadgen: drives a running Herald through its REST API and measures
//! what a product would see: accepted events/s, deliveries/s, end-to-end
//! latency (event POST sent → request arrived at the receiver), errors,
//! duplicates, losses, and the CPU and peak memory of every Herald process.
//!
//! It registers its own endpoints on its own loopback receivers under a
//! fresh event type (so runs never see each other's traffic), and deletes
//! them when it is done.

mod api;
mod args;
mod chart;
mod procstat;
mod producer;
mod receiver;
mod report;
mod series;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let args = args::Args::parse();
    match run(args).await {
        Ok(ok) if ok => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("herald-loadgen: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: args::Args) -> anyhow::Result<bool> {
    let api = api::Api::new(&args.ingest, &args.token);
    let run_id = uuid::Uuid::now_v7().simple().to_string();
    let event_type = format!("loadgen.e{}", &run_id[run_id.len() - 12..]);

    let healthy = args.endpoints;
    let total_endpoints = healthy + args.dead_endpoints;
    let state = Arc::new(receiver::State::new(
        total_endpoints,
        healthy,
        args.events,
        Duration::from_millis(args.receiver_latency_ms),
        args.failure_ratio,
    ));
    let addr = receiver::start(state.clone()).await?;

    let schema = args.schema.then(producer::schema);
    api.create_event_type(&event_type, schema).await?;
    let mut webhook_ids = Vec::with_capacity(total_endpoints);
    for k in 0..total_endpoints {
        let url = format!("http://{addr}/r/{k}");
        let rate = if k < healthy { args.rate_limit } else { None };
        let filter = args.filter.then(producer::filter);
        webhook_ids.push(api.create_webhook(&url, &event_type, rate, filter).await?);
    }
    eprintln!(
        "loadgen: {} healthy + {} dead endpoints on {addr}, type {event_type}",
        healthy, args.dead_endpoints
    );

    let targets =
        procstat::targets(&args.processes, &args.process_trees).map_err(|e| anyhow::anyhow!(e))?;
    let snapshot = || {
        if targets.is_empty() {
            procstat::snapshot_names(&args.process_names)
        } else {
            procstat::snapshot_targets(&targets)
        }
    };
    let procs_before = snapshot();
    procstat::reset_peaks(&procs_before);
    let started = Instant::now();
    let produced = producer::run(&args, &api, &event_type, state.clone()).await;
    let produce_secs = started.elapsed().as_secs_f64();

    // Wait until every expected delivery to the healthy endpoints arrived,
    // or nothing new arrived for `idle_timeout`.
    let expected = produced.accepted as u64 * healthy as u64;
    let mut last_seen = (0u64, Instant::now());
    loop {
        let got = state.unique_healthy();
        if got >= expected {
            break;
        }
        if got != last_seen.0 {
            last_seen = (got, Instant::now());
        } else if last_seen.1.elapsed() > Duration::from_secs(args.idle_timeout_secs) {
            eprintln!(
                "loadgen: no progress for {}s; giving up",
                args.idle_timeout_secs
            );
            break;
        }
        report::progress_line(started, produced.accepted, got, expected);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let procs_after = snapshot();

    let summary = report::Summary::build(
        &args,
        &produced,
        produce_secs,
        &state,
        expected,
        procstat::diff(&procs_before, &procs_after),
    );
    summary.print();
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&summary)?)?;
    }
    write_series(&args, &state)?;
    if !args.keep_endpoints {
        for id in webhook_ids {
            let _ = api.delete_webhook(&id).await;
        }
    }
    Ok(summary.lost == 0 && summary.duplicates == 0 && summary.misrouted == 0)
}

/// The per-second CSV and the SVG chart, when asked for.
fn write_series(args: &args::Args, state: &receiver::State) -> anyhow::Result<()> {
    if args.series.is_none() && args.chart.is_none() {
        return Ok(());
    }
    let seconds = series::of(state);
    if let Some(path) = &args.series {
        series::write_csv(path, &seconds)?;
    }
    if let Some(path) = &args.chart {
        chart::draw(path, &args.label, &seconds)?;
    }
    Ok(())
}
