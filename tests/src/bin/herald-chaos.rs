//! herald-chaos: the chaos soak (`herald_tests::chaos`) as a command. It
//! starts its own 3-node NATS cluster, Postgres database, two ingest and
//! three dispatcher processes and a receiver (all on loopback, all removed
//! at the end), runs a steady load while a seeded random schedule kills and
//! restarts processes and NATS nodes and flaps the receiver, then prints
//! what the checker found and the memory and descriptor trend of every
//! Herald process. `deploy/local/chaos.sh` installs what it needs and runs it.
//!
//! Exit status: 0 when nothing was lost, misrouted or badly signed, the
//! duplicates stayed within their bound and no process grew; 1 otherwise;
//! 2 when the soak could not run.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use herald_common::config::parse_duration;
use herald_tests::chaos::{self, ChaosOptions};

#[derive(Debug, Parser)]
#[command(name = "herald-chaos", about = "Chaos soak of a local Herald cluster")]
struct Args {
    /// How long the load and the faults run (e.g. 10m, 45s).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    duration: Duration,
    /// Seed of the fault schedule (printed; pass it again to replay a run).
    #[arg(long)]
    seed: Option<u64>,
    /// Events per second.
    #[arg(long, default_value_t = 300)]
    rate: u32,
    /// Longest acceptable memory growth of a process, MiB per minute.
    #[arg(long, default_value_t = 1.0)]
    max_rss_slope: f64,
    /// Longest acceptable growth of open descriptors per minute.
    #[arg(long, default_value_t = 1.0)]
    max_fds_slope: f64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(rand::random);
    let options = ChaosOptions::new(args.duration, seed, args.rate);
    let report = match chaos::run(&options).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("herald-chaos (seed {seed}): {e:#}");
            return ExitCode::from(2);
        }
    };
    println!("{report}");
    let flat = report.flat(args.max_rss_slope, args.max_fds_slope);
    match &flat {
        Ok(0) => println!("trends: no process lived long enough to judge"),
        Ok(n) => println!("trends: {n} process lives judged, all flat"),
        Err(e) => println!("trends: {e}"),
    }
    if report.is_clean() && flat.is_ok() {
        println!("chaos: clean");
        ExitCode::SUCCESS
    } else {
        println!("chaos: FAILED; replay with {}", report.replay());
        ExitCode::from(1)
    }
}
