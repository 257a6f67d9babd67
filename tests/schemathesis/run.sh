#!/usr/bin/env bash
# Run schemathesis against a live herald-ingest's /openapi.json: every
# operation gets a bounded number of generated requests (admin token), and
# the run fails on any 5xx or any response that breaks the schema.
#
#   tests/schemathesis/run.sh                 # its own Postgres and NATS
#   SCHEMATHESIS_MAX_EXAMPLES=50 tests/schemathesis/run.sh
#
# Inside deploy/local/test.sh it reuses the run's Postgres
# (HERALD_TEST_DATABASE_URL: a fresh database is created on it) and starts
# its own NATS. Debug build of herald-ingest. Exits with schemathesis' status.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../deploy/local/lib.sh"
cd "$HERALD_ROOT"

MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-20}"
TOKEN="schemathesis-admin-token-0123456789"

ensure_python
ensure_nats_server
ensure_python_packages schemathesis
ensure_postgres
ensure_pg_user
command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates

WORK="$(mktemp -d "${TMPDIR:-/tmp}/herald-schemathesis.XXXXXX")"
chmod 755 "$WORK"
PIDS=()
OWN_PG=""
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -z "$OWN_PG" ] || pg_stop "$OWN_PG"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${HERALD_TEST_DATABASE_URL:-}" ]; then
  BASE_URL="$HERALD_TEST_DATABASE_URL"
else
  OWN_PG="$WORK/pg"
  pg_port="$(free_port)"
  log "starting a private Postgres on 127.0.0.1:$pg_port"
  pg_start "$OWN_PG" "$pg_port" "$WORK/postgres.log" "-c fsync=off"
  BASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
fi
DB="schemathesis_$(date +%s)_$$"
"$PSQL" "$BASE_URL" -qc "CREATE DATABASE $DB" >/dev/null
DATABASE_URL="${BASE_URL%/*}/$DB"

nats_port="$(free_port)"
"$NATS_SERVER" -js -a 127.0.0.1 -p "$nats_port" -sd "$WORK/nats" >"$WORK/nats.log" 2>&1 &
PIDS+=($!)

cargo build -q -p herald-ingest
ingest_port="$(free_port)"
export HERALD_DATABASE_URL="$DATABASE_URL" HERALD_NATS_URL="nats://127.0.0.1:$nats_port" \
  HERALD_LISTEN="127.0.0.1:$ingest_port" HERALD_ADMIN_TOKEN="$TOKEN" \
  HERALD_ALLOW_PRIVATE_URLS=true RUST_LOG="${RUST_LOG:-warn}"
target/debug/herald-ingest >"$WORK/ingest.log" 2>&1 &
PIDS+=($!)
URL="http://127.0.0.1:$ingest_port"
for _ in $(seq 1 300); do
  curl -fsS "$URL/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "$URL/readyz" >/dev/null || { tail -n 40 "$WORK/ingest.log" >&2; die "ingest did not become ready"; }

cd "$WORK"  # schemathesis writes .schemathesis/ here
log "schemathesis: $URL/openapi.json, $MAX_EXAMPLES examples per operation"
status=0
"$(dirname "$PYTHON")/schemathesis" run "$URL/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$MAX_EXAMPLES" \
  --no-color || status=$?
if [ "$status" -ne 0 ]; then
  log "schemathesis failed ($status); ingest log tail:"
  tail -n 40 "$WORK/ingest.log" >&2
fi
"$PSQL" "$BASE_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
exit "$status"
