//! `herald-ingest [serve]` runs the REST API node; `herald-ingest migrate`
//! applies the database migrations and exits; `herald-ingest migrate down
//! [N]` rolls back the newest N (default 1) and exits.

use std::process::ExitCode;

use herald_common::config::Config;
use herald_common::{shutdown, telemetry};

/// mimalloc: 15-20% of Herald's CPU went to glibc malloc/free under load
/// (docs/benchmarks.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: herald-ingest [serve | migrate [up] | migrate down [N]]";

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Serve,
    MigrateUp,
    MigrateDown(usize),
}

fn parse(args: &[String]) -> Option<Command> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] | ["serve"] => Some(Command::Serve),
        ["migrate"] | ["migrate", "up"] => Some(Command::MigrateUp),
        ["migrate", "down"] => Some(Command::MigrateDown(1)),
        ["migrate", "down", n] => n.parse().ok().filter(|n| *n > 0).map(Command::MigrateDown),
        _ => None,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = parse(&args) else {
        eprintln!("unknown command {args:?}; {USAGE}");
        return ExitCode::from(64);
    };
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(64);
        }
    };
    telemetry::init(&config);
    let result = match command {
        Command::MigrateUp => herald_ingest::migrate(&config).await.map(|report| {
            println!("migrations applied: {:?}", report.applied);
        }),
        Command::MigrateDown(steps) => herald_ingest::migrate_down(&config, steps)
            .await
            .map(|report| println!("migrations rolled back: {:?}", report.reverted)),
        Command::Serve => match tokio::net::TcpListener::bind(config.listen).await {
            Ok(listener) => herald_ingest::run(config, listener, shutdown::on_signal()).await,
            Err(e) => Err(e.into()),
        },
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Option<Command> {
        parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn subcommands_parse() {
        assert_eq!(parsed(&[]), Some(Command::Serve));
        assert_eq!(parsed(&["serve"]), Some(Command::Serve));
        assert_eq!(parsed(&["migrate"]), Some(Command::MigrateUp));
        assert_eq!(parsed(&["migrate", "up"]), Some(Command::MigrateUp));
        assert_eq!(parsed(&["migrate", "down"]), Some(Command::MigrateDown(1)));
        assert_eq!(
            parsed(&["migrate", "down", "3"]),
            Some(Command::MigrateDown(3))
        );
        assert_eq!(parsed(&["migrate", "down", "0"]), None);
        assert_eq!(parsed(&["migrate", "down", "x"]), None);
        assert_eq!(parsed(&["migrate", "sideways"]), None);
    }
}
