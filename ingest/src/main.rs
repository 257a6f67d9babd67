//! `herald-ingest [serve]` runs the REST API node; `herald-ingest migrate`
//! applies the database migrations and exits; `herald-ingest migrate down
//! [N]` rolls back the newest N (default 1) and exits; `herald-ingest
//! rotate-keys [--batch N]` re-encrypts endpoint secrets under the first key
//! of `HERALD_ENCRYPTION_KEYS` and exits; `herald-ingest settings` prints
//! every `HERALD_*` setting (the README's tables).

use std::process::ExitCode;

use herald_common::config::{settings, Config, EXIT_USAGE};
use herald_common::{shutdown, telemetry};

/// mimalloc (2.x, see the README's dependency notes): 15-20% of Herald's
/// CPU went to glibc malloc/free under load
/// (docs/benchmarks.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str =
    "usage: herald-ingest [serve | migrate [up] | migrate down [N] | rotate-keys [--batch N] | settings]";
/// Endpoints re-encrypted per batch by default.
const ROTATE_BATCH: i64 = 100;

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Serve,
    MigrateUp,
    MigrateDown(usize),
    /// Re-encrypt endpoint secrets, this many per batch.
    RotateKeys(i64),
    /// Print the settings tables.
    Settings,
}

fn parse(args: &[String]) -> Option<Command> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] | ["serve"] => Some(Command::Serve),
        ["migrate"] | ["migrate", "up"] => Some(Command::MigrateUp),
        ["migrate", "down"] => Some(Command::MigrateDown(1)),
        ["migrate", "down", n] => n.parse().ok().filter(|n| *n > 0).map(Command::MigrateDown),
        ["settings"] => Some(Command::Settings),
        ["rotate-keys"] => Some(Command::RotateKeys(ROTATE_BATCH)),
        ["rotate-keys", "--batch", n] => n.parse().ok().filter(|n| *n > 0).map(Command::RotateKeys),
        _ => None,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = parse(&args) else {
        eprintln!("unknown command {args:?}; {USAGE}");
        return ExitCode::from(EXIT_USAGE);
    };
    if command == Command::Settings {
        print!("{}", settings::markdown());
        return ExitCode::SUCCESS;
    }
    let config = match Config::load() {
        Ok(c) => c,
        Err(code) => return code,
    };
    telemetry::init(&config.telemetry);
    let stop = shutdown::on_signal();
    let result = match command {
        Command::MigrateUp => herald_ingest::migrate(&config, &stop)
            .await
            .map(|report| println!("migrations applied: {:?}", report.applied)),
        Command::MigrateDown(steps) => herald_ingest::migrate_down(&config, steps, &stop)
            .await
            .map(|report| println!("migrations rolled back: {:?}", report.reverted)),
        Command::RotateKeys(batch) => rotate_keys(&config, batch, &stop).await,
        Command::Serve => match tokio::net::TcpListener::bind(config.ingest.listen).await {
            Ok(listener) => herald_ingest::run(config, listener, stop).await,
            Err(e) => Err(e.into()),
        },
        Command::Settings => Ok(()),
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

/// Re-encrypt, printing a line per batch; unreadable secrets fail the run
/// (so the old key is not dropped while rows still need it).
async fn rotate_keys(
    config: &Config,
    batch: i64,
    stop: &herald_common::shutdown::CancellationToken,
) -> Result<(), herald_ingest::IngestError> {
    let report =
        herald_ingest::rotate_keys::rotate_keys(config, batch, stop, |r| println!("{}", r.line()))
            .await?;
    println!("{}", report.line());
    if report.unreadable > 0 {
        return Err(herald_ingest::IngestError::Unreadable(report.unreadable));
    }
    Ok(())
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
        assert_eq!(parsed(&["settings"]), Some(Command::Settings));
        assert_eq!(parsed(&["rotate-keys"]), Some(Command::RotateKeys(100)));
        assert_eq!(
            parsed(&["rotate-keys", "--batch", "5"]),
            Some(Command::RotateKeys(5))
        );
        assert_eq!(parsed(&["rotate-keys", "--batch", "0"]), None);
    }
}
