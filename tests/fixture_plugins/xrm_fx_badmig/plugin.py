"""A plugin whose migration fails half-way."""

from pathlib import Path

import xrm_sdk as xrm

MANIFEST = xrm.Manifest(name="badmig", title="Bad migration", requires=("tasks",))


@xrm.hookimpl
def xrm_migrations():
    return Path(__file__).parent / "migrations"
