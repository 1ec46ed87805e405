#!/usr/bin/env bash
# Create .venv in the repository root and install the whole workspace into it, editable:
# the core (with its test extra), the SDK and every plugins/*/ that has a pyproject.toml. The SDK's
# example plugins (sdk/examples/*/) are NOT installed: `make run` enables every installed plugin, and
# the examples are teaching material, not features. Their packages are only made importable (a .pth
# file, for their tests and the import contracts); without a .dist-info the platform never discovers
# them, and their tests load them from a temporary site folder (sdk/examples/conftest.py).
# Idempotent and quick on re-runs: nothing is reinstalled while the stamp file is newer than every
# pyproject.toml (and this script) and the set of projects is unchanged.
#
#   scripts/bootstrap.sh            # create/refresh .venv
#   XRM_BOOTSTRAP_FORCE=1 scripts/bootstrap.sh   # reinstall regardless of the stamp
#   PYTHON=python3.12 scripts/bootstrap.sh      # choose the interpreter (>= 3.11)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
STAMP="$VENV/.xrm-bootstrap.stamp"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 DEBIAN_FRONTEND=noninteractive

say() { printf '[bootstrap] %s\n' "$*" >&2; }

pick_python() {
    local candidate
    for candidate in ${PYTHON:-} python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    say "error: no Python >= 3.11 found (set PYTHON=/path/to/python3.11)"
    return 1
}

venv_ok() {
    [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import sys, pip; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}

make_venv() {
    local python
    python="$(pick_python)"
    rm -rf "$VENV"
    say "creating .venv with $python ($("$python" -c 'import platform; print(platform.python_version())'))"
    if ! "$python" -m venv "$VENV" 2>/tmp/xrm-venv-error.$$; then
        rm -rf "$VENV"
        # Debian ships venv/ensurepip separately (python3-venv); install it when we can.
        if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
            local minor
            minor="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
            say "python -m venv failed; installing python${minor}-venv with apt-get"
            apt-get update -qq >/dev/null
            apt-get install -y -qq "python${minor}-venv" >/dev/null
            "$python" -m venv "$VENV"
        else
            cat /tmp/xrm-venv-error.$$ >&2
            rm -f /tmp/xrm-venv-error.$$
            say "error: '$python -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"
            return 1
        fi
    fi
    rm -f /tmp/xrm-venv-error.$$
}

# -- the projects to install ----------------------------------------------------------------------
shopt -s nullglob
projects=(".[test]" "./sdk")
pyprojects=("pyproject.toml" "sdk/pyproject.toml")
for dir in plugins/*/; do
    if [[ -f "${dir}pyproject.toml" ]]; then
        projects+=("./${dir%/}")
        pyprojects+=("${dir}pyproject.toml")
    fi
done
shopt -u nullglob
wanted="$(printf '%s\n' "${projects[@]}")"

needs_install() {
    [[ -n "${XRM_BOOTSTRAP_FORCE:-}" ]] && return 0
    [[ -f "$STAMP" ]] || return 0
    [[ "$(cat "$STAMP")" == "$wanted" ]] || return 0
    local f
    for f in "${pyprojects[@]}" "${BASH_SOURCE[0]}"; do
        [[ "$f" -nt "$STAMP" ]] && return 0
    done
    return 1
}

if ! venv_ok; then
    make_venv
fi

if needs_install; then
    say "installing ${#projects[@]} project(s) in editable mode: ${projects[*]}"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    args=()
    for p in "${projects[@]}"; do args+=(-e "$p"); done
    "$VENV/bin/python" -m pip install -q "${args[@]}"
    printf '%s\n' "$wanted" >"$STAMP"
    say "done"
fi

# The example plugins' source folders on the path (cheap, so refreshed every time).
site_packages="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
shopt -s nullglob
examples=("$ROOT"/sdk/examples/*/src)
shopt -u nullglob
printf '%s\n' "${examples[@]}" >"$site_packages/xrm-sdk-examples.pth"
