#!/usr/bin/env bash
# The chaos soak (herald-chaos): a local cluster (a 3-node NATS cluster with
# 3-replica streams, two herald-ingest and three herald-dispatcher processes,
# a private Postgres, a receiver; all on 127.0.0.1) under a steady load while
# a seeded random schedule kill -9s and restarts dispatchers, ingest and NATS
# nodes and makes the receiver answer 503 or slowly. Prints the seed, the
# faults by kind, what the checker found (lost, misrouted, bad signatures,
# duplicates and their bound) and the memory and descriptor slope of every
# Herald process; stops everything and removes its files by itself.
#
#   deploy/local/chaos.sh                                  # 10 minutes at 300 events/s
#   deploy/local/chaos.sh --seed 42 --duration 45s --rate 300   # replay a run
#   deploy/local/chaos.sh --help
#
# Exit status: 0 clean; 1 something lost, misrouted, badly signed, too many
# duplicates or a process that grows; 2 the soak could not run.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HERALD_ROOT"

ensure_nats_server
ensure_postgres
ensure_pg_user
export HERALD_NATS_SERVER="$NATS_SERVER"

# The soak runs release binaries, as production does (debug builds of eight
# processes on two cores fall behind a few hundred events a second and
# measure the compiler, not Herald).
log "cargo build --release -p herald-ingest -p herald-dispatcher"
cargo build --release -p herald-ingest -p herald-dispatcher
export HERALD_BIN_DIR="${CARGO_TARGET_DIR:-$HERALD_ROOT/target}/release"
log "herald-chaos $*"
cargo run -q -p herald-tests --bin herald-chaos -- "$@"
