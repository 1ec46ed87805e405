"""The XRM plugin SDK: everything a plugin may use from the platform, and nothing else.

Plugins, first-party ones included, import this module and never ``xrm_core``; an architecture
contract in the test suite enforces it. The names below are the public, versioned surface: they
are recorded in ``sdk/api.txt`` and a test fails when they change without that file changing.
"""

from importlib.metadata import version as _version

from marshmallow import ValidationError

from xrm_core.api import (
    ApiBlueprint,
    Listing,
    ListQuery,
    Page,
    RecordSchema,
    Schema,
    check_etag,
    cursor_paginate,
    get_for_update,
    get_or_404,
    record_etag,
)
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
from xrm_core.customfields.listing import CustomFieldListing, ListPredicate
from xrm_core.customfields.mixin import HasCustomFields
from xrm_core.customfields.service import clean_values as clean_custom_values
from xrm_core.db import Model, utcnow
from xrm_core.errors import Conflict, NotFound, XrmError
from xrm_core.events.catalogue import EventError
from xrm_core.events.envelope import Event, Subject
from xrm_core.events.outbox import publish
from xrm_core.hookspecs import HOOKSPEC_VERSION, hookimpl
from xrm_core.identity.fieldsecurity import protected_fields, redact_payload
from xrm_core.identity.ownership import Owned
from xrm_core.identity.scoping import PermissionDenied, principal_of
from xrm_core.tenancy import TenantScoped
from xrm_core.web import current_tenant, db_session

from ._deprecation import Deprecated, deprecated_names
from .parties import (
    Party,
    PartyIdentifier,
    PartyRoleAssignment,
    Relationship,
    add_party_role,
    create_party,
    end_relationship,
    merge_parties,
    relate,
    resolve_merged_party,
)

__version__ = _version("xrm-sdk")

#: Old name -> its replacement and removal version; see :mod:`xrm_sdk._deprecation` for the policy.
DEPRECATED: dict[str, Deprecated] = {}
__getattr__ = deprecated_names(__name__, globals(), DEPRECATED)

__all__ = [
    "HOOKSPEC_VERSION",
    "ApiBlueprint",
    "Conflict",
    "CustomFieldListing",
    "DashboardWidget",
    "DataFormat",
    "Event",
    "EventError",
    "EventHandler",
    "EventType",
    "HasCustomFields",
    "ListPredicate",
    "ListQuery",
    "Listing",
    "Manifest",
    "Model",
    "NavEntry",
    "NotFound",
    "Owned",
    "Page",
    "Panel",
    "Party",
    "PartyIdentifier",
    "PartyRole",
    "PartyRoleAssignment",
    "Permission",
    "PermissionDenied",
    "RecordSchema",
    "Relationship",
    "RelationshipType",
    "Schema",
    "SearchHit",
    "Subject",
    "TenantScoped",
    "ValidationError",
    "WorkflowAction",
    "WorkflowTrigger",
    "XrmError",
    "add_party_role",
    "check_etag",
    "clean_custom_values",
    "create_party",
    "current_tenant",
    "cursor_paginate",
    "db_session",
    "end_relationship",
    "get_for_update",
    "get_or_404",
    "hookimpl",
    "merge_parties",
    "principal_of",
    "protected_fields",
    "publish",
    "record_etag",
    "redact_payload",
    "relate",
    "resolve_merged_party",
    "utcnow",
]
