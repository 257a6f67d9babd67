#!/usr/bin/env bash
# Run Herald's standard benchmark scenarios and write docs/benchmarks.md.
#
# Each scenario gets a fresh local cluster: a new NATS store, a new database
# on one private Postgres, one herald-ingest and N herald-dispatchers (release
# builds), then herald-loadgen drives it through the REST API and checks every
# delivery. Everything stays on 127.0.0.1 and stops by itself.
#
#   deploy/local/bench.sh              # all six scenarios
#   deploy/local/bench.sh 1 4          # only scenarios 1 and 4
#
# Settings: BENCH_DISPATCHERS (dispatchers for scenarios 1-4 and 6, default 1),
# BENCH_OUT (default docs/benchmarks.md), BENCH_SCALE (multiplies event
# counts, default 1; e.g. 0.1 for a quick smoke run), BENCH_KEEP=1 (keep the
# work directory with every node's log, printed at the end), BENCH_PG_STATS=1
# (load pg_stat_statements and print each scenario's costliest statements),
# BENCH_ENV (extra VAR=value settings for every Herald node, space-separated),
# BENCH_SCHEMA=1 (the run's event type gets a JSON Schema that ingest checks
# every event against), BENCH_FILTER=1 (every endpoint gets a payload filter
# that fan-out evaluates for every event; all events pass it, so the delivery
# counts do not change), BENCH_PROFILE=dev (debug builds: only to check that
# the scripts work, e.g. with BENCH_SCALE=0.01; never for figures).
#
#   deploy/local/bench.sh 1 3                                  # without routing
#   BENCH_SCHEMA=1 BENCH_FILTER=1 BENCH_OUT=/tmp/routing.md deploy/local/bench.sh 1 3
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HERALD_ROOT"

DISPATCHERS="${BENCH_DISPATCHERS:-1}"
OUT="${BENCH_OUT:-docs/benchmarks.md}"
SCALE="${BENCH_SCALE:-1}"
SCENARIOS=("$@")
ROUTING=()
[ "${BENCH_SCHEMA:-0}" = 1 ] && ROUTING+=(--schema)
[ "${BENCH_FILTER:-0}" = 1 ] && ROUTING+=(--filter)
case "${BENCH_PROFILE:-release}" in
  release) BUILD=(--release); BIN=target/release ;;
  dev) BUILD=(); BIN=target/debug ;;
  *) die "BENCH_PROFILE must be release or dev" ;;
esac
[ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(1 2 3 4 5 6)

ensure_nats_server
ensure_postgres
ensure_pg_user
command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates

log "building ${BENCH_PROFILE:-release} binaries"
cargo build ${BUILD[@]+"${BUILD[@]}"} -p herald-ingest -p herald-dispatcher
cargo build ${BUILD[@]+"${BUILD[@]}"} -p herald-tests --bin herald-loadgen

WORK="$(mktemp -d /tmp/herald-bench.XXXXXX)"
chmod 755 "$WORK"  # the postgres user must reach its data directory
RESULTS="$WORK/results"
mkdir -p "$RESULTS"
PG_DATA="$WORK/pg"
PG_PORT="$(free_port)"
PIDS=()

stop_nodes() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
cleanup() {
  stop_nodes
  pg_stop "$PG_DATA"
  if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "starting Postgres on 127.0.0.1:$PG_PORT"
pg_make_dir "$PG_DATA"
# Durable settings (fsync on); a bigger WAL buffer and fewer checkpoints.
PG_OPTS="-c max_connections=300 -c shared_buffers=512MB -c wal_buffers=16MB -c max_wal_size=4GB"
[ "${BENCH_PG_STATS:-0}" = 1 ] && PG_OPTS="$PG_OPTS -c shared_preload_libraries=pg_stat_statements"
pg_start "$PG_DATA" "$PG_PORT" "$WORK/postgres.log" "$PG_OPTS"

# start_cluster NAME DISPATCHERS [HERALD_*=... ...]: fresh NATS + database,
# one ingest, N dispatchers. Sets INGEST_URL.
start_cluster() {
  local name="$1" n="$2"; shift 2
  local nats_port ingest_port db
  nats_port="$(free_port)"
  ingest_port="$(free_port)"
  db="bench_${name}"
  "$PSQL" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $db" \
    -c "CREATE DATABASE $db" >/dev/null
  CURRENT_DB="$db"
  if [ "${BENCH_PG_STATS:-0}" = 1 ]; then
    "$PSQL" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" -qc "CREATE EXTENSION pg_stat_statements" \
      -c "SELECT pg_stat_statements_reset()" >/dev/null
  fi
  mkdir -p "$WORK/$name/nats"
  # nats.conf with the store dir given on the command line instead.
  grep -v '^[[:space:]]*store_dir:' "$HERALD_ROOT/nats.conf" >"$WORK/$name/nats.conf"
  "$NATS_SERVER" -c "$WORK/$name/nats.conf" -a 127.0.0.1 -p "$nats_port" -m 0 \
    -sd "$WORK/$name/nats" >"$WORK/$name/nats.log" 2>&1 &
  PIDS+=("$!")
  local common=(
    HERALD_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/$db"
    HERALD_NATS_URL="nats://127.0.0.1:$nats_port"
    HERALD_ALLOW_PRIVATE_URLS=true
    HERALD_LOG=warn
    HERALD_ADMIN_TOKEN=herald-local-admin-token
    ${BENCH_ENV:-}
    "$@"
  )
  env "${common[@]}" HERALD_LISTEN="127.0.0.1:$ingest_port" \
    "$BIN/herald-ingest" >"$WORK/$name/ingest.log" 2>&1 &
  PIDS+=("$!")
  INGEST_URL="http://127.0.0.1:$ingest_port"
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$INGEST_URL/readyz" 2>/dev/null && break
    sleep 0.1
  done
  curl -fsS -o /dev/null "$INGEST_URL/readyz" \
    || { tail -n 30 "$WORK/$name/ingest.log" "$WORK/$name/nats.log" >&2; die "ingest did not become ready"; }
  local i port
  for i in $(seq 1 "$n"); do
    port="$(free_port)"
    env "${common[@]}" HERALD_METRICS_LISTEN="127.0.0.1:$port" HERALD_DISPATCHER_ID="bench-$i" \
      "$BIN/herald-dispatcher" >"$WORK/$name/dispatcher-$i.log" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 1 300); do
      curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
      sleep 0.1
    done
  done
}

# loadgen NAME ARGS...: run herald-loadgen against the current cluster.
loadgen() {
  local name="$1"; shift
  log "scenario $name: herald-loadgen $*"
  "$BIN/herald-loadgen" --ingest "$INGEST_URL" --label "$name" --keep-endpoints \
    --json "$RESULTS/$name.json" ${ROUTING[@]+"${ROUTING[@]}"} "$@" | tee "$RESULTS/$name.txt" || true
  if [ "${BENCH_PG_STATS:-0}" = 1 ]; then
    "$PSQL" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$CURRENT_DB" -P pager=off -c "
      SELECT round(total_exec_time)::int AS ms, calls, rows,
             round((total_exec_time / greatest(calls, 1))::numeric, 3) AS ms_per_call,
             left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query
      FROM pg_stat_statements
      ORDER BY total_exec_time DESC LIMIT 15" | tee -a "$RESULTS/$name.txt"
  fi
}

n() { python3 -c "import sys; print(max(1, int(float(sys.argv[1]) * float(sys.argv[2]))))" "$1" "$SCALE"; }

for s in "${SCENARIOS[@]}"; do
  case "$s" in
    1) start_cluster s1 "$DISPATCHERS"
       loadgen s1 --endpoints 1 --events "$(n 50000)" --concurrency 64
       stop_nodes ;;
    2) start_cluster s2 "$DISPATCHERS"
       loadgen s2 --endpoints 1 --events "$(n 50000)" --concurrency 64 --batch 100
       stop_nodes ;;
    3) start_cluster s3 "$DISPATCHERS"
       loadgen s3 --endpoints 10 --events "$(n 5000)" --concurrency 64
       stop_nodes ;;
    4) start_cluster s4 "$DISPATCHERS"
       loadgen s4 --endpoints 1 --events "$(n 30000)" --concurrency 64 --rate 1000
       stop_nodes ;;
    5) for d in 1 2 4; do
         start_cluster "s5_d$d" "$d" HERALD_DISPATCHER_CONCURRENCY=64 HERALD_ENDPOINT_MAX_IN_FLIGHT=64
         loadgen "s5_d$d" --endpoints 50 --events "$(n 400)" --concurrency 16 --receiver-latency-ms 100
         stop_nodes
       done ;;
    6) start_cluster s6 "$DISPATCHERS" HERALD_RETRY_SCHEDULE=1m,1m,1m
       loadgen s6 --endpoints 1 --dead-endpoints 1 --events "$(n 10000)" --concurrency 64 --rate 500
       stop_nodes ;;
    *) die "unknown scenario $s (1-6)" ;;
  esac
done

python3 "$HERALD_ROOT/deploy/local/bench_report.py" "$RESULTS" "$OUT" "$DISPATCHERS" "$SCALE"
log "wrote $OUT"
