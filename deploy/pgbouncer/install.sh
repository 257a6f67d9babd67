# shellcheck shell=bash
# PgBouncer for the test that runs Herald through it (deploy::pgbouncer).
# Herald keeps named prepared statements on its hot path, and PgBouncer
# carries those across transaction pooling only from 1.21 on
# (max_prepared_statements); Debian 12 ships 1.18. So this builds the pinned
# release from Debian's own source package (trixie's, checked against the
# sha256 of its .dsc) into .herald/, once. Sourced by deploy/local/test.sh
# after lib.sh; sets and exports HERALD_PGBOUNCER.

PGBOUNCER_VERSION=1.24.1
PGBOUNCER_SHA256=da72a3aba13072876d055a3e58dd4aba4a5de4ed6148e73033185245598fd3e0
PGBOUNCER_URL="http://deb.debian.org/debian/pool/main/p/pgbouncer/pgbouncer_${PGBOUNCER_VERSION}.orig.tar.gz"

ensure_pgbouncer() {
  local prefix="$HERALD_DIR/pgbouncer-$PGBOUNCER_VERSION"
  HERALD_PGBOUNCER="$prefix/bin/pgbouncer"
  export HERALD_PGBOUNCER
  [ -x "$HERALD_PGBOUNCER" ] && return 0
  local missing=() tool
  for tool in cc make pkg-config curl; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [ ${#missing[@]} -eq 0 ] || apt_install gcc make pkg-config curl ca-certificates
  pkg-config --exists libevent 2>/dev/null || apt_install libevent-dev
  log "building PgBouncer $PGBOUNCER_VERSION from Debian's source package (once, about a minute)"
  local src
  src="$(mktemp -d "${TMPDIR:-/tmp}/herald-pgbouncer.XXXXXX")"
  (
    set -e
    cd "$src"
    curl -fsSL -o src.tar.gz "$PGBOUNCER_URL"
    echo "$PGBOUNCER_SHA256  src.tar.gz" | sha256sum -c --quiet -
    tar xzf src.tar.gz
    cd "pgbouncer-$PGBOUNCER_VERSION"
    ./configure --prefix="$prefix" --without-openssl --without-cares --without-pam \
      --without-systemd >build.log 2>&1
    make -j"$(nproc)" >>build.log 2>&1
    make install >>build.log 2>&1
  ) || { tail -20 "$src"/pgbouncer-*/build.log >&2 2>/dev/null; rm -rf "$src"; die "building PgBouncer failed"; }
  rm -rf "$src"
  [ -x "$HERALD_PGBOUNCER" ] || die "PgBouncer not found at $HERALD_PGBOUNCER after building it"
}
