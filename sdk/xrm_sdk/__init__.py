"""The XRM plugin SDK: everything a plugin may use from the platform, and nothing else.

Plugins, first-party ones included, import this module and never ``xrm_core``; an architecture
contract in the test suite enforces it. The names below are the public, versioned surface: they
are recorded in ``sdk/api.txt`` and a test fails when they change without that file changing.
"""

from importlib.metadata import version as _version

from xrm_core.contributions import (
    DashboardWidget,
    DataFormat,
    EventHandler,
    EventType,
    Manifest,
    NavEntry,
    Panel,
    PartyRole,
    Permission,
    RelationshipType,
    SearchHit,
    WorkflowAction,
    WorkflowTrigger,
)
from xrm_core.db import Model, utcnow
from xrm_core.errors import Conflict, NotFound, XrmError
from xrm_core.hookspecs import HOOKSPEC_VERSION, hookimpl
from xrm_core.tenancy import TenantScoped
from xrm_core.web import current_tenant, db_session

__version__ = _version("xrm-sdk")

__all__ = [
    "HOOKSPEC_VERSION",
    "Conflict",
    "DashboardWidget",
    "DataFormat",
    "EventHandler",
    "EventType",
    "Manifest",
    "Model",
    "NavEntry",
    "NotFound",
    "Panel",
    "PartyRole",
    "Permission",
    "RelationshipType",
    "SearchHit",
    "TenantScoped",
    "WorkflowAction",
    "WorkflowTrigger",
    "XrmError",
    "current_tenant",
    "db_session",
    "hookimpl",
    "utcnow",
]
