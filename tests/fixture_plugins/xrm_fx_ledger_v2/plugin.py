"""Two releases of one plugin; the second changes how amounts are stored and migrates the data."""

from pathlib import Path

import xrm_sdk as xrm

MANIFEST = xrm.Manifest(name="ledger", title="Ledger")


@xrm.hookimpl
def xrm_migrations():
    return Path(__file__).parent / "migrations"
