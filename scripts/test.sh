#!/usr/bin/env bash
# The whole check, as CI runs it: bootstrap, import contracts, the test suite on SQLite, then the
# test suite again on a throwaway PostgreSQL server (scripts/postgres.sh). A throwaway Redis server
# (scripts/redis.sh) serves both test phases as the Celery broker of the scale-out tests. Every
# phase runs even when an earlier one failed (bootstrap excepted); the exit code is non-zero if any
# failed.
#
#   scripts/test.sh [PYTEST ARGS...]      # e.g. scripts/test.sh -x -k tenancy
# Environment:
#   XRM_TEST_POSTGRES_URL=...   use this PostgreSQL database instead of starting a server
#   XRM_TEST_SKIP_POSTGRES=1    skip the PostgreSQL phase (reported, and counted as a failure in CI)
#   XRM_TEST_REDIS_URL=...      use this Redis server instead of starting one
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
    printf '\n%s==> [%d/4] %s%s\n' "$BOLD" "$phase" "$*" "$OFF"
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

header "pytest on SQLite"
.venv/bin/pytest -q "$@"
record "pytest (SQLite)" $?

header "pytest on PostgreSQL"
if [[ -n "${XRM_TEST_SKIP_POSTGRES:-}" ]]; then
    echo "skipped (XRM_TEST_SKIP_POSTGRES is set)"
    [[ -n "${CI:-}" ]] && failures+=("pytest (PostgreSQL) skipped")
elif [[ -n "$external_pg" ]]; then
    echo "using XRM_TEST_POSTGRES_URL"
    XRM_TEST_DATABASE_URL="$external_pg" .venv/bin/pytest -q "$@"
    record "pytest (PostgreSQL)" $?
else
    # shellcheck source=scripts/postgres.sh
    source scripts/postgres.sh
    if xrm_pg_start; then
        .venv/bin/pytest -q "$@"    # XRM_TEST_DATABASE_URL is exported by xrm_pg_start
        record "pytest (PostgreSQL)" $?
        xrm_pg_stop
    else
        record "PostgreSQL server" 1
    fi
fi

echo
if [[ ${#failures[@]} -gt 0 ]]; then
    printf '%s==> FAILED: %s%s\n' "$RED" "$(IFS=,; echo "${failures[*]}" | sed 's/,/, /g')" "$OFF"
    exit 1
fi
printf '%s==> all checks passed%s\n' "$GREEN" "$OFF"
