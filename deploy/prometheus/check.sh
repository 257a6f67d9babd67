#!/usr/bin/env bash
# Prometheus and promtool for Herald (Debian's package `prometheus`), and the
# checks of this directory: `promtool check config` of both scrape configs,
# `promtool check rules` and `promtool test rules` (tests/*.yml).
#
#   deploy/prometheus/check.sh       # install if missing, then check
#
# deploy/local/test.sh sources it and calls ensure_prometheus and
# prometheus_checks; PROMETHEUS is then the server binary the tests start.
# shellcheck shell=bash

PROMETHEUS_VERSION="2.42.0"
PROMETHEUS_CONFIG_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# PROMETHEUS, PROMTOOL: the binaries; installs Debian's prometheus
# $PROMETHEUS_VERSION when either is missing. The package's own service is
# stopped and disabled: Herald starts its Prometheus itself (run.sh, tests).
ensure_prometheus() {
  if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    apt_install "prometheus=$PROMETHEUS_VERSION*" || {
      log "prometheus $PROMETHEUS_VERSION is not in this distribution; installing its version"
      apt_install prometheus
    }
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
      as_root systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
  fi
  PROMETHEUS="$(command -v prometheus)" || die "prometheus not found after installing it"
  PROMTOOL="$(command -v promtool)" || die "promtool not found after installing prometheus"
  export PROMETHEUS PROMTOOL
}

prometheus_checks() {
  local dir="$PROMETHEUS_CONFIG_DIR" config test
  for config in "$dir/prometheus.yml" "$dir/prometheus.compose.yml"; do
    log "promtool check config ${config#"$dir"/}"
    "$PROMTOOL" check config "$config" >&2 || die "promtool check config $config failed"
  done
  log "promtool check rules alerts.yml"
  "$PROMTOOL" check rules "$dir/alerts.yml" >&2 || die "promtool check rules failed"
  for test in "$dir"/tests/*.yml; do
    log "promtool test rules tests/${test##*/}"
    "$PROMTOOL" test rules "$test" >&2 || die "promtool test rules $test failed"
  done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  # shellcheck source=deploy/local/lib.sh
  source "$PROMETHEUS_CONFIG_DIR/../local/lib.sh"
  ensure_prometheus
  prometheus_checks
fi
