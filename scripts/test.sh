#!/usr/bin/env bash
# The whole check, as CI runs it: bootstrap, import contracts, then the test suite on SQLite and,
# at the same time, on a throwaway PostgreSQL server (scripts/postgres.sh). A throwaway Redis server
# (scripts/redis.sh) serves both test phases as the Celery broker of the scale-out tests. Every
# phase runs even when an earlier one failed (bootstrap excepted); the exit code is non-zero if any
# failed.
#
#   scripts/test.sh [PYTEST ARGS...]      # e.g. scripts/test.sh -x -k tenancy
# Environment:
#   XRM_TEST_POSTGRES_URL=...   use this PostgreSQL database instead of starting a server
#   XRM_TEST_SKIP_POSTGRES=1    skip the PostgreSQL phase (reported, and counted as a failure in CI)
#   XRM_TEST_REDIS_URL=...      use this Redis server instead of starting one (databases 1 and 2)
#   XRM_TEST_SERIAL=1           run the SQLite and PostgreSQL phases one after the other
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
exec </dev/null
export PYTHONDONTWRITEBYTECODE=1 PIP_NO_INPUT=1 DEBIAN_FRONTEND=noninteractive

# The suite picks its database from XRM_TEST_DATABASE_URL; never inherit a stray one.
external_pg="${XRM_TEST_POSTGRES_URL:-}"
unset XRM_TEST_DATABASE_URL

if [[ -t 1 ]]; then BOLD=$'\033[1m' RED=$'\033[1;31m' GREEN=$'\033[1;32m' OFF=$'\033[0m'; else BOLD='' RED='' GREEN='' OFF=''; fi
failures=()
phase=0
header() {
    phase=$((phase + 1))
    printf '\n%s==> [%d/3] %s%s\n' "$BOLD" "$phase" "$*" "$OFF"
}
record() {  # record NAME EXIT_CODE
    if [[ $2 -eq 0 ]]; then
        printf '==> %s: ok\n' "$1"
    else
        [[ $2 -eq 5 ]] && printf '==> %s: pytest collected no tests (exit 5), which counts as a failure\n' "$1"
        printf '==> %s: FAILED (exit %d)\n' "$1" "$2"
        failures+=("$1")
    fi
}

header "bootstrap (.venv)"
if ! bash scripts/bootstrap.sh; then
    printf '==> bootstrap: FAILED\n'
    exit 1
fi
echo "==> bootstrap: ok"

header "import contracts (lint-imports)"
# The contracts also cover the test fixture plugins, which are never installed: put them on the path.
lint_path="$ROOT/tests/fixture_plugins"
PYTHONPATH="$lint_path${PYTHONPATH:+:$PYTHONPATH}" .venv/bin/lint-imports --no-cache --no-logo
record "lint-imports" $?

# Redis for both pytest phases (the scale-out tests fail, rather than skip, without it in CI).
if [[ -z "${XRM_TEST_REDIS_URL:-}" ]]; then
    # shellcheck source=scripts/redis.sh
    source scripts/redis.sh
    xrm_redis_start || record "Redis server" 1
else
    echo "==> using XRM_TEST_REDIS_URL"
fi

# Chromium for the browser tests (which fail, rather than skip, without it).
# shellcheck source=scripts/chromium.sh
source scripts/chromium.sh
xrm_chromium_ensure || record "Chromium" 1

# The two pytest phases run at the same time, each on its own database and Redis database index
# (the scale-out tests flush theirs), with its own temporary directory: on a 2-core machine much of
# each phase is spent waiting on servers, browsers and workers, so together they take little more
# than the longer one. Output lines are tagged with their phase; each phase's summary is repeated
# at the end. XRM_TEST_SERIAL=1 runs them one after the other instead.
logs="$(mktemp -d)"
declare -A phase_pid=() phase_rc=()
run_phase() {  # run_phase NAME DATABASE_URL REDIS_DB PYTEST_ARGS...
    local name=$1 url=$2 redis_db=$3
    shift 3
    (
        if [[ -n "$url" ]]; then export XRM_TEST_DATABASE_URL="$url"; else unset XRM_TEST_DATABASE_URL; fi
        [[ -n "${XRM_TEST_REDIS_URL:-}" ]] && export XRM_TEST_REDIS_URL="${XRM_TEST_REDIS_URL%/*}/$redis_db"
        export PYTHONUNBUFFERED=1
        exec .venv/bin/pytest -q --basetemp="$logs/tmp-$name" "$@" >>"$logs/$name.log" 2>&1
    ) &
    phase_pid[$name]=$!
    if [[ -n "${XRM_TEST_SERIAL:-}" ]]; then wait "${phase_pid[$name]}"; phase_rc[$name]=$?; fi
}

header "pytest on SQLite and PostgreSQL (concurrently)"
pg_url=""
if [[ -n "${XRM_TEST_SKIP_POSTGRES:-}" ]]; then
    echo "PostgreSQL phase skipped (XRM_TEST_SKIP_POSTGRES is set)"
    [[ -n "${CI:-}" ]] && failures+=("pytest (PostgreSQL) skipped")
elif [[ -n "$external_pg" ]]; then
    echo "using XRM_TEST_POSTGRES_URL"
    pg_url="$external_pg"
else
    # shellcheck source=scripts/postgres.sh
    source scripts/postgres.sh
    if xrm_pg_start; then
        pg_url="$XRM_TEST_DATABASE_URL"
        unset XRM_TEST_DATABASE_URL
    else
        record "PostgreSQL server" 1
    fi
fi
trap 'kill $(jobs -p) 2>/dev/null; exit 143' TERM
trap 'kill $(jobs -p) 2>/dev/null; exit 130' INT
run_phase sqlite "" 1 "$@"
[[ -n "$pg_url" ]] && run_phase postgresql "$pg_url" 2 "$@"
# Stream both logs, tagged, while the phases run.
phases=(sqlite)
[[ -n "$pg_url" ]] && phases+=(postgresql)
tails=()
for phase in "${phases[@]}"; do
    touch "$logs/$phase.log"
    # --pid: tail ends (and so its sed) once the phase's pytest has exited and its output is shown.
    tail -q -n +1 -f --pid="${phase_pid[$phase]}" "$logs/$phase.log" | sed -u "s/^/[$phase] /" &
    tails+=($!)
done
for phase in "${phases[@]}"; do
    if [[ -z "${phase_rc[$phase]:-}" ]]; then wait "${phase_pid[$phase]}"; phase_rc[$phase]=$?; fi
done
wait "${tails[@]}"
echo
for phase in "${phases[@]}"; do
    printf '==> %s summary: %s\n' "$phase" "$(grep -E '(passed|failed|error)' "$logs/$phase.log" | tail -n 1)"
    record "pytest ($phase)" "${phase_rc[$phase]}"
done
[[ -n "$pg_url" && -z "$external_pg" ]] && xrm_pg_stop
rm -rf "$logs"

echo
if [[ ${#failures[@]} -gt 0 ]]; then
    printf '%s==> FAILED: %s%s\n' "$RED" "$(IFS=,; echo "${failures[*]}" | sed 's/,/, /g')" "$OFF"
    exit 1
fi
printf '%s==> all checks passed%s\n' "$GREEN" "$OFF"
