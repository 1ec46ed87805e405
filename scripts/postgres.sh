#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and benchmarks.
#
# Executed:
#   scripts/postgres.sh CMD [ARGS...]   start a server, run CMD with XRM_TEST_DATABASE_URL set,
#                                       stop the server and remove its files; exits with CMD's code
#   scripts/postgres.sh                 start a server, print the URL, wait for Ctrl-C, clean up
# Sourced:
#   source scripts/postgres.sh
#   xrm_pg_start      # exports XRM_TEST_DATABASE_URL; an EXIT/INT/TERM trap stops the server
#   ...
#   xrm_pg_stop       # optional: stop now (idempotent)
#
# The server binary comes from Debian's postgresql package, installed with apt-get when missing.
# The cluster lives in a temporary directory owned by the postgres system user (the server refuses
# to run as root), listens only on 127.0.0.1 on a free port, keeps its unix socket in that
# directory, runs with fsync off, and has a superuser "xrm" (trust auth) owning a database "xrm".
# Environment: XRM_PG_PORT (a fixed port instead of a free one), XRM_PG_KEEP=1 (keep the files).

_xrm_pg_say() { printf '[postgres] %s\n' "$*" >&2; }

_xrm_pg_bindir() {
    local bins
    bins="$(ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sort -V | tail -n 1)"
    [[ -n "$bins" ]] && dirname "$bins"
}

_xrm_pg_install() {
    if [[ $EUID -ne 0 ]]; then
        _xrm_pg_say "error: no PostgreSQL server in /usr/lib/postgresql/*/bin and not root to install it" \
            "(apt-get install postgresql)"
        return 1
    fi
    _xrm_pg_say "no PostgreSQL server found: installing Debian's postgresql package (once)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || return 1
    # Install the cluster manager first and tell it not to create (and start) a default
    # 'main' cluster on port 5432: only our throwaway clusters should ever run.
    apt-get install -y -qq postgresql-common >/dev/null || return 1
    mkdir -p /etc/postgresql-common/createcluster.d
    printf '# written by xrm scripts/postgres.sh\ncreate_main_cluster = false\n' \
        >/etc/postgresql-common/createcluster.d/xrm-no-main-cluster.conf
    apt-get install -y -qq postgresql >/dev/null || return 1
}

_xrm_pg_free_port() {
    local python
    python="$(command -v python3 || command -v python3.11)"
    "$python" - "${1:-55432}" <<'PY'
import socket, sys
def free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return None
        return s.getsockname()[1]
print(free(int(sys.argv[1])) or free(0))
PY
}

# Run a command as the postgres user (or as ourselves when not root), from a directory it can read.
_xrm_pg_as() {
    if [[ $EUID -eq 0 ]]; then
        (cd "$_XRM_PG_DIR" && runuser -u postgres -- "$@")
    else
        (cd "$_XRM_PG_DIR" && "$@")
    fi
}

xrm_pg_start() {
    if [[ -n "${_XRM_PG_DIR:-}" ]]; then
        _xrm_pg_say "already running ($XRM_TEST_DATABASE_URL)"
        return 0
    fi
    local bindir port attempt
    bindir="$(_xrm_pg_bindir)" || true
    if [[ -z "$bindir" ]]; then
        _xrm_pg_install || { _xrm_pg_say "error: could not install PostgreSQL"; return 1; }
        bindir="$(_xrm_pg_bindir)" || { _xrm_pg_say "error: postgresql installed but no server binary"; return 1; }
    fi
    if [[ $EUID -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
    fi

    _XRM_PG_BINDIR="$bindir"
    _XRM_PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/xrm-pg.XXXXXX")"
    chmod 0755 "$_XRM_PG_DIR"
    [[ $EUID -eq 0 ]] && chown postgres: "$_XRM_PG_DIR"
    _xrm_pg_install_trap

    if ! _xrm_pg_as "$bindir/initdb" -D "$_XRM_PG_DIR/data" -U xrm --auth=trust -E UTF8 --locale=C.UTF-8 \
        --no-instructions >"$_XRM_PG_DIR/initdb.log" 2>&1; then
        cat "$_XRM_PG_DIR/initdb.log" >&2
        _xrm_pg_say "error: initdb failed"
        xrm_pg_stop
        return 1
    fi

    for attempt in 1 2 3 4 5; do
        port="${XRM_PG_PORT:-$(_xrm_pg_free_port $((55432 + RANDOM % 1000)))}"
        if _xrm_pg_as "$bindir/pg_ctl" -D "$_XRM_PG_DIR/data" -l "$_XRM_PG_DIR/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$_XRM_PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            start >/dev/null 2>&1; then
            _XRM_PG_PORT="$port"
            break
        fi
        _xrm_pg_say "could not start on port $port (attempt $attempt)"
        tail -n 5 "$_XRM_PG_DIR/server.log" >&2 2>/dev/null || true
        [[ -n "${XRM_PG_PORT:-}" ]] && break
    done
    if [[ -z "${_XRM_PG_PORT:-}" ]]; then
        _xrm_pg_say "error: the server did not start"
        xrm_pg_stop
        return 1
    fi

    if ! _xrm_pg_as "$bindir/createdb" -h 127.0.0.1 -p "$_XRM_PG_PORT" -U xrm -O xrm xrm; then
        _xrm_pg_say "error: createdb failed"
        xrm_pg_stop
        return 1
    fi
    export XRM_TEST_DATABASE_URL="postgresql+psycopg://xrm:xrm@127.0.0.1:$_XRM_PG_PORT/xrm"
    _xrm_pg_say "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') running in $_XRM_PG_DIR"
    _xrm_pg_say "XRM_TEST_DATABASE_URL=$XRM_TEST_DATABASE_URL"
}

xrm_pg_stop() {
    [[ -n "${_XRM_PG_DIR:-}" ]] || return 0
    if [[ -f "$_XRM_PG_DIR/data/postmaster.pid" ]]; then
        _xrm_pg_as "$_XRM_PG_BINDIR/pg_ctl" -D "$_XRM_PG_DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1 \
            || _xrm_pg_say "warning: pg_ctl stop failed (see $_XRM_PG_DIR/server.log)"
    fi
    if [[ -n "${XRM_PG_KEEP:-}" ]]; then
        _xrm_pg_say "stopped; files kept in $_XRM_PG_DIR"
    else
        rm -rf "$_XRM_PG_DIR"
        _xrm_pg_say "stopped and removed"
    fi
    unset _XRM_PG_DIR _XRM_PG_PORT XRM_TEST_DATABASE_URL
}

# Stop on exit, keeping whatever EXIT trap the caller had; INT/TERM exit (and so run it).
_xrm_pg_install_trap() {
    local previous
    previous="$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT\$/\\1/")"
    if [[ "$previous" != *xrm_pg_stop* ]]; then
        # shellcheck disable=SC2064
        trap "xrm_pg_stop${previous:+; $previous}" EXIT
    fi
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# -- executed rather than sourced ----------------------------------------------------------------
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -uo pipefail
    xrm_pg_start || exit 1
    if [[ $# -gt 0 ]]; then
        # In the background (stdin kept) so that a TERM or INT sent to this script is handled at
        # once: the command is stopped, then the EXIT trap stops the server and removes its files.
        "$@" <&0 &
        _xrm_pg_child=$!
        trap 'kill -TERM "$_xrm_pg_child" 2>/dev/null; wait "$_xrm_pg_child"; exit 143' TERM
        trap 'kill -INT "$_xrm_pg_child" 2>/dev/null; wait "$_xrm_pg_child"; exit 130' INT
        wait "$_xrm_pg_child"
        exit $?
    fi
    printf 'export XRM_TEST_DATABASE_URL=%q\n' "$XRM_TEST_DATABASE_URL"
    _xrm_pg_say "press Ctrl-C to stop"
    while :; do sleep 3600 & wait $!; done
fi
