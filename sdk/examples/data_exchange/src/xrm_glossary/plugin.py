"""The ``glossary`` example: data exchange through the core's import and export.

* ``xrm_import_targets``: terms become a kind of record that ``xrm import``, ``xrm export``,
  ``/api/v1/imports`` and ``/api/v1/exports`` work with, in every format (CSV, XLSX, JSON lines...);
* ``xrm_import_export_formats``: Markdown tables become a format every target can use.
"""

from pathlib import Path

import xrm_sdk as xrm

from . import markdown
from .models import Term
from .target import TermTarget

MANIFEST = xrm.Manifest(name="glossary", title="Glossary", description="SDK example: imports and exports.")


@xrm.hookimpl
def xrm_models():
    return [Term]


@xrm.hookimpl
def xrm_migrations():
    return Path(__file__).parent / "migrations"


@xrm.hookimpl
def xrm_permissions():
    # The import target's permission resource: the engine checks these for the importing user.
    return [xrm.Permission(f"glossary.term.{action}", f"{action.capitalize()} glossary terms")
            for action in ("read", "create", "update", "delete", "export")]


@xrm.hookimpl
def xrm_import_targets():
    return [TermTarget()]


@xrm.hookimpl
def xrm_import_export_formats():
    return [xrm.DataFormat("glossary.markdown", label="Markdown table", extension="md",
                           read=markdown.read, write=markdown.write)]
