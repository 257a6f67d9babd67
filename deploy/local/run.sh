#!/usr/bin/env bash
# Start Herald on this machine: NATS (nats.conf, store in .herald/nats),
# Postgres (data in .herald/pg; or yours through HERALD_DATABASE_URL), one
# herald-ingest and two herald-dispatchers (release builds). Installs what is
# missing first. Ctrl-C (or SIGTERM) stops everything it started.
#
# Settings (environment): HERALD_LISTEN (ingest, default 127.0.0.1:8080),
# HERALD_NATS_PORT (4222), HERALD_NATS_MONITOR_PORT (8222), HERALD_PG_PORT
# (5433), HERALD_DISPATCHER_METRICS_PORT (9091; the second dispatcher gets
# the next port), HERALD_STOP_TIMEOUT (seconds, 30), and any HERALD_* setting
# of the binaries (see the README), which is passed through.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HERALD_ROOT"

NATS_PORT="${HERALD_NATS_PORT:-4222}"
NATS_MONITOR_PORT="${HERALD_NATS_MONITOR_PORT:-8222}"
PG_PORT="${HERALD_PG_PORT:-5433}"
LISTEN="${HERALD_LISTEN:-127.0.0.1:8080}"
METRICS_PORT="${HERALD_DISPATCHER_METRICS_PORT:-9091}"
STOP_TIMEOUT="${HERALD_STOP_TIMEOUT:-30}"
export HERALD_ADMIN_TOKEN="${HERALD_ADMIN_TOKEN:-herald-local-admin-token}"
# Local development: endpoints on this machine (localhost receivers) are allowed.
export HERALD_ALLOW_PRIVATE_URLS="${HERALD_ALLOW_PRIVATE_URLS:-true}"
LOGS="$HERALD_DIR/logs"
PG_DATA="$HERALD_DIR/pg"

# --- install what is missing -------------------------------------------------
command -v cargo >/dev/null 2>&1 || die "cargo not found: install the Rust toolchain (rustup)"
command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates
ensure_nats_server
if [ -z "${HERALD_DATABASE_URL:-}" ]; then
  ensure_postgres
  ensure_pg_user
fi
mkdir -p "$LOGS" "$HERALD_DIR/nats"
for f in "$LOGS"/*.log; do [ -e "$f" ] && mv -f "$f" "$f.1"; done  # keep the previous run's logs

for port in "$NATS_PORT" "$NATS_MONITOR_PORT" "${LISTEN##*:}" "$METRICS_PORT" "$((METRICS_PORT + 1))"; do
  port_in_use "$port" && die "port $port is taken (is Herald already running? see the settings at the top of $0)"
done

log "building release binaries (cargo build --release)"
cargo build --release -p herald-ingest -p herald-dispatcher

# --- start, and stop on exit -------------------------------------------------
PIDS=()
NAMES=()
PG_STARTED=""
CLEANED=""

stop_all() {
  [ -n "$CLEANED" ] && return 0
  CLEANED=1
  trap - INT TERM
  log "stopping Herald"
  local i deadline alive
  # Herald's processes first (they drain), NATS last.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${PIDS[i]}" 2>/dev/null || true; done
  deadline=$((SECONDS + STOP_TIMEOUT))
  while :; do
    alive=()
    for i in "${!PIDS[@]}"; do kill -0 "${PIDS[i]}" 2>/dev/null && alive+=("${NAMES[i]}"); done
    [ ${#alive[@]} -eq 0 ] && break
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "still running after ${STOP_TIMEOUT}s, killing: ${alive[*]}"
      for i in "${!PIDS[@]}"; do kill -KILL "${PIDS[i]}" 2>/dev/null || true; done
      break
    fi
    sleep 0.2
  done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$PG_STARTED" ]; then pg_stop "$PG_DATA"; fi
  log "stopped"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME COMMAND...: run in the background, output to .herald/logs/NAME.log.
start() {
  local name="$1"; shift
  "$@" >>"$LOGS/$name.log" 2>&1 &
  PIDS+=("$!")
  NAMES+=("$name")
}

check_alive() {
  local i
  for i in "${!PIDS[@]}"; do
    if ! kill -0 "${PIDS[i]}" 2>/dev/null; then
      tail -n 30 "$LOGS/${NAMES[i]}.log" >&2 || true
      die "${NAMES[i]} exited (log: $LOGS/${NAMES[i]}.log)"
    fi
  done
}

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
export HERALD_NATS_URL="nats://127.0.0.1:$NATS_PORT"

log "starting NATS on 127.0.0.1:$NATS_PORT (store in .herald/nats, set by nats.conf)"
start nats "$NATS_SERVER" -c "$HERALD_ROOT/nats.conf" -a 127.0.0.1 -p "$NATS_PORT" \
  -m "$NATS_MONITOR_PORT"
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$NATS_MONITOR_PORT/healthz" 2>/dev/null && break
  check_alive
  sleep 0.1
done

log "applying database migrations (herald-ingest migrate)"
target/release/herald-ingest migrate >>"$LOGS/ingest.log" 2>&1 \
  || { tail -n 20 "$LOGS/ingest.log" >&2; die "migrations failed (log: $LOGS/ingest.log)"; }

log "starting herald-ingest on $LISTEN and two herald-dispatchers"
start ingest env HERALD_LISTEN="$LISTEN" target/release/herald-ingest
for n in 1 2; do
  start "dispatcher-$n" env HERALD_DISPATCHER_ID="dispatcher-$n" \
    HERALD_METRICS_LISTEN="127.0.0.1:$((METRICS_PORT + n - 1))" target/release/herald-dispatcher
done

ready=""
for _ in $(seq 1 600); do
  check_alive
  if curl -fsS -o /dev/null "http://$LISTEN/healthz" 2>/dev/null; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || die "herald-ingest did not answer /healthz within 60s (log: $LOGS/ingest.log)"

cat >&2 <<EOF

Herald is running (Ctrl-C stops everything).
  ingest       http://$LISTEN        (API, /healthz, /readyz, /metrics, dashboard at /)
  dispatchers  http://127.0.0.1:$METRICS_PORT/metrics  http://127.0.0.1:$((METRICS_PORT + 1))/metrics
  NATS         $HERALD_NATS_URL   (monitoring http://127.0.0.1:$NATS_MONITOR_PORT)
  Postgres     $(printf '%s' "$HERALD_DATABASE_URL" | sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#')
  logs         $LOGS/
  admin token  $HERALD_ADMIN_TOKEN

Try it:
  TOKEN=$HERALD_ADMIN_TOKEN
  curl -s -X POST http://$LISTEN/event-types -H "Authorization: Bearer \$TOKEN" \\
    -H 'content-type: application/json' -d '{"name":"order.created"}'
  curl -s -X POST http://$LISTEN/webhooks -H "Authorization: Bearer \$TOKEN" \\
    -H 'content-type: application/json' \\
    -d '{"url":"https://example.com/webhook","event_types":["order.created"]}'
  curl -s -X POST http://$LISTEN/events -H "Authorization: Bearer \$TOKEN" \\
    -H 'content-type: application/json' \\
    -d '{"type":"order.created","payload":{"order_id":123,"amount":99.99}}'

EOF

while :; do
  check_alive
  sleep 1 &
  wait $! || true
done
