#!/usr/bin/env bash
# Start Herald on this machine and stop it all with Ctrl-C (or SIGTERM).
# Installs what is missing first.
#
#   deploy/local/run.sh                  NATS (nats.conf), Postgres, 1 herald-ingest,
#                                        2 herald-dispatchers, Prometheus
#   deploy/local/run.sh --cluster        3 NATS nodes (deploy/nats/cluster.conf, streams
#                                        with 3 replicas), Postgres, 2 ingest nodes,
#                                        3 dispatchers, Prometheus
#   deploy/local/run.sh --dispatchers N  N dispatchers (with or without --cluster)
#
# Ports: NATS 4222 (monitoring 8222; --cluster: 4222-4224, 8222-8224, routes
# 6222-6224), Postgres 5433, ingest 8080 (--cluster: and 8081), dispatchers'
# metrics 9091 and up, Prometheus 9090.
#
# Settings (environment): HERALD_LISTEN (first ingest, 127.0.0.1:8080; the
# next gets the next port), HERALD_NATS_PORT (4222), HERALD_NATS_MONITOR_PORT
# (8222), HERALD_PG_PORT (5433), HERALD_DISPATCHER_METRICS_PORT (9091),
# HERALD_PROMETHEUS_PORT (9090), HERALD_STOP_TIMEOUT (seconds per stop stage,
# 30), HERALD_STATE_DIR (Postgres data, NATS cluster stores, Prometheus data
# and logs; .herald), HERALD_BUILD_PROFILE (release; `debug` builds in a
# minute instead of ~9), HERALD_BIN_DIR (use the binaries there, build
# nothing), and any HERALD_* setting of the binaries (see the README), which
# is passed through.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# ensure_prometheus (Debian's package, its own service disabled).
# shellcheck source=deploy/prometheus/check.sh
source "$HERALD_ROOT/deploy/prometheus/check.sh"
cd "$HERALD_ROOT"

CLUSTER=""
DISPATCHERS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cluster) CLUSTER=1 ;;
    --dispatchers) [ $# -ge 2 ] || die "--dispatchers needs a number"; DISPATCHERS="$2"; shift ;;
    --dispatchers=*) DISPATCHERS="${1#*=}" ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see $0 --help)" ;;
  esac
  shift
done
NATS_NODES=1; INGEST_NODES=1
[ -z "$CLUSTER" ] || { NATS_NODES=3; INGEST_NODES=2; }
DISPATCHERS="${DISPATCHERS:-$([ -n "$CLUSTER" ] && echo 3 || echo 2)}"
[[ "$DISPATCHERS" =~ ^[0-9]+$ ]] && [ "$DISPATCHERS" -ge 1 ] || die "--dispatchers must be 1 or more"

NATS_PORT="${HERALD_NATS_PORT:-4222}"
NATS_MONITOR_PORT="${HERALD_NATS_MONITOR_PORT:-8222}"
NATS_CLUSTER_PORT=6222
PG_PORT="${HERALD_PG_PORT:-5433}"
LISTEN="${HERALD_LISTEN:-127.0.0.1:8080}"
LISTEN_HOST="${LISTEN%:*}"; LISTEN_PORT="${LISTEN##*:}"
METRICS_PORT="${HERALD_DISPATCHER_METRICS_PORT:-9091}"
PROM_PORT="${HERALD_PROMETHEUS_PORT:-9090}"
STOP_TIMEOUT="${HERALD_STOP_TIMEOUT:-30}"
STATE="${HERALD_STATE_DIR:-$HERALD_DIR}"
export HERALD_ADMIN_TOKEN="${HERALD_ADMIN_TOKEN:-herald-local-admin-token}"
# Local development: endpoints on this machine (localhost receivers) are allowed.
export HERALD_ALLOW_PRIVATE_URLS="${HERALD_ALLOW_PRIVATE_URLS:-true}"
[ -z "$CLUSTER" ] || export HERALD_STREAM_REPLICAS="${HERALD_STREAM_REPLICAS:-3}"
mkdir -p "$STATE"
STATE="$(cd "$STATE" && pwd)"
LOGS="$STATE/logs"
PG_DATA="$STATE/pg"
PROM_DIR="$STATE/prometheus"

# --- install what is missing, check the ports ---------------------------------
command -v cargo >/dev/null 2>&1 || [ -n "${HERALD_BIN_DIR:-}" ] \
  || die "cargo not found: install the Rust toolchain (rustup)"
command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates
command -v setsid >/dev/null 2>&1 || apt_install util-linux
ensure_nats_server
ensure_prometheus
if [ -z "${HERALD_DATABASE_URL:-}" ]; then
  ensure_postgres
  ensure_pg_user
fi
[ -f deploy/prometheus/prometheus.yml ] || die "deploy/prometheus/prometheus.yml is missing"
mkdir -p "$LOGS"
for f in "$LOGS"/*.log; do [ -e "$f" ] && mv -f "$f" "$f.1"; done  # keep the previous run's logs

ports=("$PROM_PORT")
for ((n = 0; n < DISPATCHERS; n++)); do ports+=($((METRICS_PORT + n))); done
for ((n = 0; n < NATS_NODES; n++)); do
  ports+=($((NATS_PORT + n)) $((NATS_MONITOR_PORT + n)))
  [ -z "$CLUSTER" ] || ports+=($((NATS_CLUSTER_PORT + n)))
done
for ((n = 0; n < INGEST_NODES; n++)); do ports+=($((LISTEN_PORT + n))); done
[ -n "${HERALD_DATABASE_URL:-}" ] || ports+=("$PG_PORT")
for port in "${ports[@]}"; do
  port_in_use "$port" && die "port $port is taken (is Herald already running? see the settings at the top of $0)"
done

# --- the binaries ---------------------------------------------------------------
if [ -n "${HERALD_BIN_DIR:-}" ]; then
  BIN="$(cd "$HERALD_BIN_DIR" && pwd)"
  log "using the binaries in $BIN (HERALD_BIN_DIR)"
else
  profile="${HERALD_BUILD_PROFILE:-release}"
  case "$profile" in debug|dev) profile=dev; dir=debug ;; *) dir="$profile" ;; esac
  log "building the binaries (cargo build --profile $profile)"
  cargo build --profile "$profile" -p herald-ingest -p herald-dispatcher
  BIN="${CARGO_TARGET_DIR:-$HERALD_ROOT/target}/$dir"
fi
for b in herald-ingest herald-dispatcher; do
  [ -x "$BIN/$b" ] || die "$BIN/$b not found"
done

# --- stop everything on exit, in order -----------------------------------------
PROC_PIDFILE="$STATE/run.pids"
: >"$PROC_PIDFILE"
PG_STARTED=""
STOPPED=""
stop_all() {
  [ -n "$STOPPED" ] && return 0
  STOPPED=1
  trap - INT TERM HUP
  log "stopping Herald"
  # Ingest first (no new events), then the dispatchers (they drain), then
  # what they used.
  local group
  for group in ingest dispatcher prometheus nats; do proc_stop_group "$group" "$STOP_TIMEOUT"; done
  if [ -n "$PG_STARTED" ]; then pg_stop "$PG_DATA"; fi
  rm -f "$PROC_PIDFILE"
  log "stopped"
}
on_exit stop_all

# --- Postgres -------------------------------------------------------------------
if [ -z "${HERALD_DATABASE_URL:-}" ]; then
  log "starting Postgres on 127.0.0.1:$PG_PORT (data in $PG_DATA)"
  PG_STARTED=1
  if [ -f "$PG_DATA/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    log "stopping the Postgres a previous run left behind"
    pg_stop "$PG_DATA"
  fi
  pg_start "$PG_DATA" "$PG_PORT" "$LOGS/postgres.log"
  exists="$("$PSQL" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'herald'")"
  [ "$exists" = 1 ] || "$PSQL" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qc "CREATE DATABASE herald"
  export HERALD_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/herald"
fi

# --- NATS -----------------------------------------------------------------------
nats_urls=()
if [ -z "$CLUSTER" ]; then
  log "starting NATS on 127.0.0.1:$NATS_PORT (store in .herald/nats, set by nats.conf)"
  mkdir -p "$HERALD_DIR/nats"
  proc_start nats nats "$LOGS/nats.log" "$NATS_SERVER" -c "$HERALD_ROOT/nats.conf" \
    -a 127.0.0.1 -p "$NATS_PORT" -m "$NATS_MONITOR_PORT"
  nats_urls+=("nats://127.0.0.1:$NATS_PORT")
else
  log "starting a 3-node NATS cluster on 127.0.0.1:$NATS_PORT-$((NATS_PORT + 2)) (deploy/nats/cluster.conf)"
  for n in 1 2 3; do
    mkdir -p "$STATE/nats-cluster/n$n"
    proc_start nats "nats-n$n" "$LOGS/nats-n$n.log" env NATS_NAME="n$n" NATS_HOST=127.0.0.1 \
      NATS_PORT=$((NATS_PORT + n - 1)) NATS_MONITOR_PORT=$((NATS_MONITOR_PORT + n - 1)) \
      NATS_CLUSTER_PORT=$((NATS_CLUSTER_PORT + n - 1)) NATS_STORE_DIR="$STATE/nats-cluster/n$n" \
      NATS_ROUTE_1="nats-route://127.0.0.1:$NATS_CLUSTER_PORT" \
      NATS_ROUTE_2="nats-route://127.0.0.1:$((NATS_CLUSTER_PORT + 1))" \
      NATS_ROUTE_3="nats-route://127.0.0.1:$((NATS_CLUSTER_PORT + 2))" \
      "$NATS_SERVER" -c "$HERALD_ROOT/deploy/nats/cluster.conf"
    nats_urls+=("nats://127.0.0.1:$((NATS_PORT + n - 1))")
  done
fi
for ((n = 0; n < NATS_NODES; n++)); do
  wait_http "http://127.0.0.1:$((NATS_MONITOR_PORT + n))/healthz" 60 \
    || die "NATS on monitoring port $((NATS_MONITOR_PORT + n)) not healthy within 60s (logs: $LOGS/)"
done
HERALD_NATS_URL="$(IFS=,; echo "${nats_urls[*]}")"
export HERALD_NATS_URL

# --- Herald ---------------------------------------------------------------------
log "applying database migrations (herald-ingest migrate)"
"$BIN/herald-ingest" migrate >>"$LOGS/migrate.log" 2>&1 \
  || { tail -n 20 "$LOGS/migrate.log" >&2; die "migrations failed (log: $LOGS/migrate.log)"; }

ingest_urls=()
for ((n = 1; n <= INGEST_NODES; n++)); do
  addr="$LISTEN_HOST:$((LISTEN_PORT + n - 1))"
  name="ingest"; [ -z "$CLUSTER" ] || name="ingest-$n"
  proc_start ingest "$name" "$LOGS/$name.log" env HERALD_LISTEN="$addr" "$BIN/herald-ingest"
  ingest_urls+=("http://$addr")
done
dispatcher_urls=()
for ((n = 1; n <= DISPATCHERS; n++)); do
  port=$((METRICS_PORT + n - 1))
  proc_start dispatcher "dispatcher-$n" "$LOGS/dispatcher-$n.log" env HERALD_DISPATCHER_ID="dispatcher-$n" \
    HERALD_METRICS_LISTEN="127.0.0.1:$port" "$BIN/herald-dispatcher"
  dispatcher_urls+=("http://127.0.0.1:$port")
done

# --- Prometheus -------------------------------------------------------------------
# deploy/prometheus/prometheus.yml finds Herald's nodes in targets/*.json
# (file_sd_configs, relative to the config), written here for this run.
mkdir -p "$PROM_DIR/targets" "$PROM_DIR/data"
cp deploy/prometheus/prometheus.yml "$PROM_DIR/prometheus.yml"
[ ! -f deploy/prometheus/alerts.yml ] || cp deploy/prometheus/alerts.yml "$PROM_DIR/alerts.yml"
targets_json() { printf '[{"targets": [%s]}]\n' "$(printf '"%s",' "${@#http://}" | sed 's/,$//')"; }
targets_json "${ingest_urls[@]}" >"$PROM_DIR/targets/ingest.json"
targets_json "${dispatcher_urls[@]}" >"$PROM_DIR/targets/dispatcher.json"
log "starting Prometheus on 127.0.0.1:$PROM_PORT"
proc_start prometheus prometheus "$LOGS/prometheus.log" "$PROMETHEUS" \
  --config.file="$PROM_DIR/prometheus.yml" --storage.tsdb.path="$PROM_DIR/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT"

for url in "${ingest_urls[@]}"; do
  wait_http "$url/healthz" 60 || die "herald-ingest at $url did not answer /healthz within 60s (logs: $LOGS/)"
done
for url in "${dispatcher_urls[@]}"; do
  wait_http "$url/healthz" 60 || die "herald-dispatcher at $url not healthy within 60s (logs: $LOGS/)"
done
wait_http "http://127.0.0.1:$PROM_PORT/-/ready" 60 \
  || die "Prometheus not ready within 60s (log: $LOGS/prometheus.log)"

monitor_urls=()
for ((n = 0; n < NATS_NODES; n++)); do monitor_urls+=("http://127.0.0.1:$((NATS_MONITOR_PORT + n))"); done
cat >&2 <<EOF

Herald is running (Ctrl-C stops everything).
  ingest       ${ingest_urls[*]}   (API, /healthz, /readyz, /metrics, dashboard at /)
  dispatchers  $(printf '%s/metrics ' "${dispatcher_urls[@]}")
  NATS         $HERALD_NATS_URL   (monitoring ${monitor_urls[*]}; streams with ${HERALD_STREAM_REPLICAS:-1} replica(s))
  Postgres     $(printf '%s' "$HERALD_DATABASE_URL" | sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#')
  Prometheus   http://127.0.0.1:$PROM_PORT
  logs         $LOGS/
  admin token  $HERALD_ADMIN_TOKEN

Try it:
  TOKEN=$HERALD_ADMIN_TOKEN
  curl -s -X POST ${ingest_urls[0]}/event-types -H "Authorization: Bearer \$TOKEN" \\
    -H 'content-type: application/json' -d '{"name":"order.created"}'
  curl -s -X POST ${ingest_urls[0]}/webhooks -H "Authorization: Bearer \$TOKEN" \\
    -H 'content-type: application/json' \\
    -d '{"url":"https://example.com/webhook","event_types":["order.created"]}'
  curl -s -X POST ${ingest_urls[0]}/events -H "Authorization: Bearer \$TOKEN" \\
    -H 'content-type: application/json' \\
    -d '{"type":"order.created","payload":{"order_id":123,"amount":99.99}}'

EOF
log "ready"
# From now on a cluster goes on when one of its nodes dies (try kill -9 on
# one: $STATE/run.pids lists them); start-up failures above are fatal.
[ -z "$CLUSTER" ] || PROC_TOLERATE_EXIT=1

while :; do
  proc_check
  sleep 1 &
  wait $! || true
done
