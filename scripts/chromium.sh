#!/usr/bin/env bash
# Debian's headless browser for the web UI's tests (tests/test_ui_browser.py): chromium and its
# chromedriver, installed with apt-get when missing. No browser build is downloaded from elsewhere.
#
#   scripts/chromium.sh        # install if needed; exits non-zero if they cannot be installed
# Sourced: `xrm_chromium_ensure` does the same and returns its status.

_xrm_chromium_say() { printf '[chromium] %s\n' "$*" >&2; }

xrm_chromium_ensure() {
    if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
        return 0
    fi
    _xrm_chromium_say "installing chromium and chromium-driver with apt-get"
    local sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium chromium-driver >/dev/null; then
        $sudo apt-get update -q >/dev/null &&
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium chromium-driver >/dev/null
    fi
    if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
        _xrm_chromium_say "could not install chromium and chromium-driver"
        return 1
    fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -uo pipefail
    xrm_chromium_ensure
fi
