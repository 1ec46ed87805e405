#!/usr/bin/env bash
# A throwaway Redis server for tests and benchmarks (the Celery broker of the scale-out mode).
#
# Executed:
#   scripts/redis.sh CMD [ARGS...]   start a server, run CMD with XRM_TEST_REDIS_URL set,
#                                    stop the server and remove its files; exits with CMD's code
#   scripts/redis.sh                 start a server, print the URL, wait for Ctrl-C, clean up
# Sourced:
#   source scripts/redis.sh
#   xrm_redis_start   # exports XRM_TEST_REDIS_URL; an EXIT/INT/TERM trap stops the server
#   ...
#   xrm_redis_stop    # optional: stop now (idempotent)
#
# The server binary comes from Debian's redis-server package, installed with apt-get when missing
# (the package's own service is not used). The server listens only on 127.0.0.1 on a free port,
# keeps its files in a temporary directory, persists nothing, and runs with
# maxmemory-policy noeviction: a broker must never drop a message to make room.
# Environment: XRM_REDIS_PORT (a fixed port instead of a free one), XRM_REDIS_KEEP=1 (keep the files).

_xrm_redis_say() { printf '[redis] %s\n' "$*" >&2; }

_xrm_redis_install() {
    if [[ $EUID -ne 0 ]]; then
        _xrm_redis_say "error: no redis-server on PATH and not root to install it (apt-get install redis-server)"
        return 1
    fi
    _xrm_redis_say "no redis-server found: installing Debian's redis-server package (once)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || return 1
    # policy-rc.d 101: do not start the packaged service; only our throwaway servers should run.
    local policy=/usr/sbin/policy-rc.d created=""
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
    fi
    apt-get install -y -qq redis-server >/dev/null
    local status=$?
    [[ -n "$created" ]] && rm -f "$policy"
    return $status
}

_xrm_redis_free_port() {
    local python
    python="$(command -v python3 || command -v python3.11)"
    "$python" - "${1:-56379}" <<'PY'
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

_xrm_redis_ping() {
    "$_XRM_REDIS_CLI" -h 127.0.0.1 -p "$1" ping 2>/dev/null | grep -q PONG
}

xrm_redis_start() {
    if [[ -n "${_XRM_REDIS_DIR:-}" ]]; then
        _xrm_redis_say "already running ($XRM_TEST_REDIS_URL)"
        return 0
    fi
    if ! command -v redis-server >/dev/null 2>&1; then
        _xrm_redis_install || { _xrm_redis_say "error: could not install redis-server"; return 1; }
    fi
    _XRM_REDIS_CLI="$(command -v redis-cli)"
    _XRM_REDIS_DIR="$(mktemp -d "${TMPDIR:-/tmp}/xrm-redis.XXXXXX")"
    _xrm_redis_install_trap

    local port attempt i
    for attempt in 1 2 3 4 5; do
        port="${XRM_REDIS_PORT:-$(_xrm_redis_free_port $((56379 + RANDOM % 1000)))}"
        redis-server --bind 127.0.0.1 --port "$port" --dir "$_XRM_REDIS_DIR" \
            --pidfile "$_XRM_REDIS_DIR/redis.pid" --logfile "$_XRM_REDIS_DIR/redis.log" \
            --daemonize yes --save '' --appendonly no --protected-mode yes \
            --maxmemory 256mb --maxmemory-policy noeviction >/dev/null 2>&1
        for i in $(seq 1 100); do
            _xrm_redis_ping "$port" && break
            sleep 0.05
        done
        if _xrm_redis_ping "$port"; then
            _XRM_REDIS_PORT="$port"
            break
        fi
        _xrm_redis_say "could not start on port $port (attempt $attempt)"
        tail -n 5 "$_XRM_REDIS_DIR/redis.log" >&2 2>/dev/null || true
        [[ -n "${XRM_REDIS_PORT:-}" ]] && break
    done
    if [[ -z "${_XRM_REDIS_PORT:-}" ]]; then
        _xrm_redis_say "error: the server did not start"
        xrm_redis_stop
        return 1
    fi
    export XRM_TEST_REDIS_URL="redis://127.0.0.1:$_XRM_REDIS_PORT/0"
    _xrm_redis_say "Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2) running in $_XRM_REDIS_DIR"
    _xrm_redis_say "XRM_TEST_REDIS_URL=$XRM_TEST_REDIS_URL"
}

xrm_redis_stop() {
    [[ -n "${_XRM_REDIS_DIR:-}" ]] || return 0
    if [[ -n "${_XRM_REDIS_PORT:-}" ]]; then
        "$_XRM_REDIS_CLI" -h 127.0.0.1 -p "$_XRM_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    fi
    if [[ -f "$_XRM_REDIS_DIR/redis.pid" ]]; then
        local pid i
        pid="$(cat "$_XRM_REDIS_DIR/redis.pid" 2>/dev/null)"
        for i in $(seq 1 100); do
            [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    fi
    if [[ -n "${XRM_REDIS_KEEP:-}" ]]; then
        _xrm_redis_say "stopped; files kept in $_XRM_REDIS_DIR"
    else
        rm -rf "$_XRM_REDIS_DIR"
        _xrm_redis_say "stopped and removed"
    fi
    unset _XRM_REDIS_DIR _XRM_REDIS_PORT XRM_TEST_REDIS_URL
}

# Stop on exit, keeping whatever EXIT trap the caller had; INT/TERM exit (and so run it).
_xrm_redis_install_trap() {
    local previous
    previous="$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT\$/\\1/")"
    if [[ "$previous" != *xrm_redis_stop* ]]; then
        # shellcheck disable=SC2064
        trap "xrm_redis_stop${previous:+; $previous}" EXIT
    fi
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# -- executed rather than sourced ----------------------------------------------------------------
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -uo pipefail
    xrm_redis_start || exit 1
    if [[ $# -gt 0 ]]; then
        "$@" <&0 &
        _xrm_redis_child=$!
        trap 'kill -TERM "$_xrm_redis_child" 2>/dev/null; wait "$_xrm_redis_child"; exit 143' TERM
        trap 'kill -INT "$_xrm_redis_child" 2>/dev/null; wait "$_xrm_redis_child"; exit 130' INT
        wait "$_xrm_redis_child"
        exit $?
    fi
    printf 'export XRM_TEST_REDIS_URL=%q\n' "$XRM_TEST_REDIS_URL"
    _xrm_redis_say "press Ctrl-C to stop"
    while :; do sleep 3600 & wait $!; done
fi
