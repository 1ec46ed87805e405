#!/usr/bin/env bash
# Run the platform locally: bootstrap .venv, create/refresh the demo tenant, serve on
# http://127.0.0.1:5000 (XRM_HOST / XRM_PORT to change; extra arguments go to `xrm serve`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/bootstrap.sh
.venv/bin/xrm demo
exec .venv/bin/xrm serve --host "${XRM_HOST:-127.0.0.1}" --port "${XRM_PORT:-5000}" "$@"
