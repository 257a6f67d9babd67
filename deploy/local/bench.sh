#!/usr/bin/env bash
# Run Herald's standard benchmark scenarios and write docs/benchmarks.md.
#
# Each scenario gets a fresh local cluster: a new NATS store, a new database
# on one private Postgres, one herald-ingest and N herald-dispatchers (release
# builds), then herald-loadgen drives it through the REST API, checks every
# delivery and prints its figures: events/s, deliveries/s, latency, and the
# CPU of every process (ingest, each dispatcher, nats-server, Postgres with
# all its backends, the load generator with its receivers) in µs per
# delivered event. Everything stays on 127.0.0.1 and stops by itself.
#
#   deploy/local/bench.sh              # every scenario of the table below
#   deploy/local/bench.sh 1 4          # only scenarios 1 and 4
#   deploy/local/bench.sh 1 1t         # scenario 1 on stock and on tuned Postgres
#
# Postgres runs with its stock settings (fsync and synchronous_commit on,
# default shared_buffers), as a new user's would; scenario 1t (in the default
# list) runs scenario 1 again on tuned settings (BENCH_PG_TUNED below), still
# durable. BENCH_PG=tuned runs every scenario on the tuned settings.
#
# Settings: BENCH_DISPATCHERS (dispatchers where the table says D, default 1),
# BENCH_OUT (default docs/benchmarks.md; each run's chart goes to
# docs/benchmarks/<run>.svg beside it), BENCH_SCALE (multiplies event counts,
# default 1; e.g. 0.1 for a quick smoke run), BENCH_KEEP=1 (keep the work
# directory with every node's log and each run's per-second CSV), BENCH_PG_STATS=1
# (load pg_stat_statements and print each scenario's costliest statements),
# BENCH_ENV (extra VAR=value settings for every Herald node, space-separated),
# BENCH_SCHEMA=1 (the run's event type gets a JSON Schema that ingest checks
# every event against), BENCH_FILTER=1 (every endpoint gets a payload filter
# that fan-out evaluates for every event; all events pass it, so the delivery
# counts do not change), BENCH_FLAME=1 (a CPU profile of scenario 1 with
# perf, drawn as docs/benchmarks/s1-flame.svg with inferno), BENCH_PROFILE=dev
# (debug builds: only to check that the scripts work, e.g. with
# BENCH_SCALE=0.01; never for figures), BENCH_BIN=DIR (run the herald-ingest,
# herald-dispatcher and herald-loadgen in DIR and build nothing: a copy of an
# earlier build, to measure before and after a change).
#
#   BENCH_SCHEMA=1 BENCH_FILTER=1 BENCH_OUT=/tmp/routing.md deploy/local/bench.sh 1 3
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HERALD_ROOT"

# The scenarios, one per line: ID RUN DISPATCHERS EVENTS PG SETTINGS FLAGS.
# DISPATCHERS "D" means BENCH_DISPATCHERS; EVENTS is multiplied by
# BENCH_SCALE; PG is stock or tuned; SETTINGS are HERALD_* values for every
# node, separated by ';' ("-" for none); FLAGS go to herald-loadgen. An ID
# may name several runs (scenario 5: 1, 2 and 4 dispatchers).
SCENARIO_TABLE='
1  s1       D 50000 stock -                                                                   --endpoints 1 --concurrency 64
2  s2       D 50000 stock -                                                                   --endpoints 1 --concurrency 64 --batch 100
3  s3       D 5000  stock -                                                                   --endpoints 10 --concurrency 64
4  s4       D 30000 stock -                                                                   --endpoints 1 --concurrency 64 --rate 1000
5  s5_d1    1 400   stock HERALD_DISPATCHER_CONCURRENCY=64;HERALD_ENDPOINT_MAX_IN_FLIGHT=64   --endpoints 50 --concurrency 16 --receiver-latency-ms 100
5  s5_d2    2 400   stock HERALD_DISPATCHER_CONCURRENCY=64;HERALD_ENDPOINT_MAX_IN_FLIGHT=64   --endpoints 50 --concurrency 16 --receiver-latency-ms 100
5  s5_d4    4 400   stock HERALD_DISPATCHER_CONCURRENCY=64;HERALD_ENDPOINT_MAX_IN_FLIGHT=64   --endpoints 50 --concurrency 16 --receiver-latency-ms 100
6  s6       D 10000 stock HERALD_RETRY_SCHEDULE=1m,1m,1m                                      --endpoints 1 --dead-endpoints 1 --concurrency 64 --rate 500
1t s1_tuned D 50000 tuned -                                                                   --endpoints 1 --concurrency 64
'
# Tuned (still durable: fsync and synchronous_commit stay on): a bigger
# buffer cache and WAL buffer, and fewer checkpoints.
BENCH_PG_TUNED="-c shared_buffers=512MB -c wal_buffers=16MB -c max_wal_size=4GB"
# inferno (perf output to a flame graph), installed with cargo when BENCH_FLAME=1.
INFERNO_VERSION="0.12.8"

DISPATCHERS="${BENCH_DISPATCHERS:-1}"
OUT="${BENCH_OUT:-docs/benchmarks.md}"
CHARTS="${OUT%.md}"
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
case "${BENCH_PG:-}" in
  "" | stock | tuned) ;;
  *) die "BENCH_PG must be stock or tuned" ;;
esac
[ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(1 2 3 4 5 6 1t)

ensure_nats_server
ensure_postgres
ensure_pg_user
command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates
if [ "${BENCH_FLAME:-0}" = 1 ]; then
  command -v perf >/dev/null 2>&1 || apt_install linux-perf
  command -v inferno-flamegraph >/dev/null 2>&1 \
    || cargo install --locked inferno --version "$INFERNO_VERSION" --no-default-features --features cli
fi

if [ -n "${BENCH_BIN:-}" ]; then
  BIN="$BENCH_BIN"
  log "using the binaries in $BIN (nothing built)"
else
  log "building ${BENCH_PROFILE:-release} binaries"
  cargo build ${BUILD[@]+"${BUILD[@]}"} -p herald-ingest -p herald-dispatcher -p herald-loadgen
fi

WORK="$(mktemp -d /tmp/herald-bench.XXXXXX)"
chmod 755 "$WORK"  # the postgres user must reach its data directory
RESULTS="$WORK/results"
mkdir -p "$RESULTS" "$CHARTS"
PG_DATA="$WORK/pg"
PG_PORT="$(free_port)"
PG_MODE=""
PIDS=()
PROCS=()

stop_nodes() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
  PROCS=()
}
cleanup() {
  stop_nodes
  pg_stop "$PG_DATA"
  if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# use_postgres stock|tuned: (re)start the private Postgres with those settings.
use_postgres() {
  local mode="${BENCH_PG:-$1}" opts=""
  [ "$mode" = "$PG_MODE" ] && return 0
  [ -n "$PG_MODE" ] && pg_stop "$PG_DATA"
  [ "$mode" = tuned ] && opts="$opts $BENCH_PG_TUNED"
  [ "${BENCH_PG_STATS:-0}" = 1 ] && opts="$opts -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on"
  log "starting Postgres ($mode settings) on 127.0.0.1:$PG_PORT"
  pg_start "$PG_DATA" "$PG_PORT" "$WORK/postgres.log" "$opts"
  PG_MODE="$mode"
}

# settle_postgres: each scenario starts on a settled server and pays only for
# its own writes. The previous scenario's database is dropped (unless
# BENCH_KEEP=1), so its autovacuum does not run during this one, and its dirty
# pages are written now by a CHECKPOINT: scenarios 1-3 leave about 500 MB of
# WAL, and the checkpoint it triggers (stock max_wal_size) otherwise lands in
# whatever scenario runs next (docs/benchmarks.md, "Scenario 4's tail").
settle_postgres() {
  if [ -n "${CURRENT_DB:-}" ] && [ "${BENCH_KEEP:-0}" != 1 ]; then
    "$PSQL" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
      -qc "DROP DATABASE IF EXISTS $CURRENT_DB WITH (FORCE)" >/dev/null
  fi
  "$PSQL" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qc "CHECKPOINT" >/dev/null
}

# start_cluster NAME DISPATCHERS [HERALD_*=... ...]: fresh NATS + database,
# one ingest, N dispatchers. Sets INGEST_URL and PROCS (loadgen --process flags).
start_cluster() {
  local name="$1" n="$2"; shift 2
  local nats_port ingest_port db
  nats_port="$(free_port)"
  ingest_port="$(free_port)"
  db="bench_${name}"
  settle_postgres
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
  PROCS=(--process "nats=$!" --process-tree "postgres=$(head -n 1 "$PG_DATA/postmaster.pid")")
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
  PROCS+=(--process "ingest=$!")
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
    PROCS+=(--process "dispatcher-$i=$!")
    for _ in $(seq 1 300); do
      curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
      sleep 0.1
    done
  done
}

# loadgen NAME ARGS...: run herald-loadgen against the current cluster; its
# figures go to the terminal and $RESULTS, its chart to $CHARTS/NAME.svg.
loadgen() {
  local name="$1"; shift
  log "scenario $name: herald-loadgen $*"
  cut -d' ' -f1-3 /proc/loadavg >"$RESULTS/$name.load"
  [ "$name" = s1 ] && [ "${BENCH_FLAME:-0}" = 1 ] && flame_start
  "$BIN/herald-loadgen" --ingest "$INGEST_URL" --label "$name" --keep-endpoints "${PROCS[@]}" \
    --json "$RESULTS/$name.json" --series "$RESULTS/$name.csv" --chart "$CHARTS/$name.svg" \
    ${ROUTING[@]+"${ROUTING[@]}"} "$@" | tee "$RESULTS/$name.txt" || true
  [ "$name" = s1 ] && [ "${BENCH_FLAME:-0}" = 1 ] && flame_finish "$CHARTS/s1-flame.svg"
  if [ "${BENCH_PG_STATS:-0}" = 1 ]; then
    "$PSQL" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$CURRENT_DB" -P pager=off -c "
      SELECT round(total_exec_time)::int AS exec_ms, round(total_plan_time)::int AS plan_ms,
             calls, rows,
             round((total_exec_time / greatest(calls, 1))::numeric, 3) AS ms_per_call,
             left(regexp_replace(query, '\s+', ' ', 'g'), 100) AS query
      FROM pg_stat_statements
      ORDER BY total_exec_time + total_plan_time DESC LIMIT 20" | tee -a "$RESULTS/$name.txt"
  fi
}

# flame_start: sample every process of the cluster (Postgres backends
# included, found once the run is under way) for 10 s, in the background.
# $WORK/flame.sed renames each process's stacks after its label.
flame_start() {
  (
    sleep 3
    local spec pids=() postmaster
    postmaster="$(head -n 1 "$PG_DATA/postmaster.pid")"
    for spec in "${PROCS[@]}"; do
      case "$spec" in *=*) pids+=("${spec#*=}"); echo "s/^[^;]*-${spec#*=};/${spec%%=*};/" ;; esac
    done >"$WORK/flame.sed"
    for spec in $(pgrep -P "$postmaster"); do
      pids+=("$spec"); echo "s/^[^;]*-$spec;/postgres;/"
    done >>"$WORK/flame.sed"
    echo 's/^postgres-[0-9]*;/postgres;/' >>"$WORK/flame.sed"
    perf record -q -F 199 --call-graph dwarf,16384 -p "$(IFS=,; echo "${pids[*]}")" \
      -o "$WORK/perf.data" -- sleep 10 >"$WORK/perf.log" 2>&1
  ) &
  FLAME_PID=$!
}
# flame_finish SVG: wait for the profile and draw it (one tower per process).
flame_finish() {
  wait "$FLAME_PID" || { tail -n 5 "$WORK/perf.log" >&2; log "no profile (perf failed)"; return 0; }
  perf script -F comm,pid,tid,time,event,ip,sym,dso -i "$WORK/perf.data" 2>/dev/null \
    | inferno-collapse-perf --pid \
    | sed -f "$WORK/flame.sed" >"$RESULTS/s1.folded"
  inferno-flamegraph --minwidth 1 --title "scenario 1: CPU of every Herald process, NATS and Postgres, 10 s" \
    <"$RESULTS/s1.folded" >"$1"
  rm -f "$WORK/perf.data"
  log "flame graph: $1"
}

n() { python3 -c "import sys; print(max(1, int(float(sys.argv[1]) * float(sys.argv[2]))))" "$1" "$SCALE"; }

# run_row RUN DISPATCHERS EVENTS PG SETTINGS FLAGS...: one line of the table.
run_row() {
  local run="$1" d="$2" events="$3" pg="$4" settings="$5" env=()
  shift 5
  [ "$d" = D ] && d="$DISPATCHERS"
  [ "$settings" = - ] || IFS=';' read -r -a env <<<"$settings"
  use_postgres "$pg"
  start_cluster "$run" "$d" ${env[@]+"${env[@]}"}
  loadgen "$run" --events "$(n "$events")" "$@"
  stop_nodes
}

mapfile -t ROWS <<<"$SCENARIO_TABLE"
for s in "${SCENARIOS[@]}"; do
  found=""
  for row in "${ROWS[@]}"; do
    read -r id run d events pg settings flags <<<"$row"
    [ "${id:-}" = "$s" ] || continue
    found=1
    # shellcheck disable=SC2086 # FLAGS are words
    run_row "$run" "$d" "$events" "$pg" "$settings" $flags
  done
  [ -n "$found" ] || die "unknown scenario $s (see SCENARIO_TABLE)"
done

python3 "$HERALD_ROOT/deploy/local/bench_report.py" "$RESULTS" "$OUT" "$DISPATCHERS" "$SCALE" "${BENCH_PG:-stock}"
log "wrote $OUT"
