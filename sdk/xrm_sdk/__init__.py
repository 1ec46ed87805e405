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
from xrm_core.businesshours import BusinessCalendar
from xrm_core.businesshours import calendar_for as business_calendar
from xrm_core.contributions import (
    DashboardWidget,
    DataFormat,
    EventHandler,
    EventType,
    ListAction,
    ListColumn,
    ListFilter,
    ListView,
    Manifest,
    NavEntry,
    Panel,
    PartyRole,
    PeriodicJob,
    Permission,
    RelationshipType,
    SearchHit,
    WorkflowAction,
    WorkflowFunction,
    WorkflowTrigger,
)
from xrm_core.customfields.listing import CustomFieldListing, ListPredicate
from xrm_core.customfields.mixin import HasCustomFields
from xrm_core.customfields.service import clean_values as clean_custom_values
from xrm_core.dataio.formats import FileRejected, RowProblem
from xrm_core.dataio.targets import ImportField, ImportTarget
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
from .boards import Board, BoardCard, BoardColumn
from .collaboration import collaboration_panel
from .commands import command_platform, command_tenants, tenant_transaction
from .consent import CONTACT_CHANNELS, may_contact
from .directory import Department, Team, TeamMember, User, act_as_user, tenant_time_zone, user_time_zone
from .facts import PARTY_FACT_TYPES, PartyFact, party_facts
from .i18n import gettext, lazy_gettext, ngettext
from .notifications import Notification, NotificationError, notify
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
    sync_relationship_types,
)
from .public import PublicBlueprint, public_session, rate_limit
from .rows import plain_rows
from .selection import custom_field_condition, custom_field_types, json_array_includes
from .settings import plugin_settings
from .signing import InvalidSignedToken, read_signed_token, sign_token

__version__ = _version("xrm-sdk")

#: Old name -> its replacement and removal version; see :mod:`xrm_sdk._deprecation` for the policy.
DEPRECATED: dict[str, Deprecated] = {}
__getattr__ = deprecated_names(__name__, globals(), DEPRECATED)

__all__ = [
    "CONTACT_CHANNELS",
    "HOOKSPEC_VERSION",
    "PARTY_FACT_TYPES",
    "ApiBlueprint",
    "Board",
    "BoardCard",
    "BoardColumn",
    "BusinessCalendar",
    "Conflict",
    "CustomFieldListing",
    "DashboardWidget",
    "DataFormat",
    "Department",
    "Event",
    "EventError",
    "EventHandler",
    "EventType",
    "FileRejected",
    "HasCustomFields",
    "ImportField",
    "ImportTarget",
    "InvalidSignedToken",
    "ListAction",
    "ListColumn",
    "ListFilter",
    "ListPredicate",
    "ListQuery",
    "ListView",
    "Listing",
    "Manifest",
    "Model",
    "NavEntry",
    "NotFound",
    "Notification",
    "NotificationError",
    "Owned",
    "Page",
    "Panel",
    "Party",
    "PartyFact",
    "PartyIdentifier",
    "PartyRole",
    "PartyRoleAssignment",
    "PeriodicJob",
    "Permission",
    "PermissionDenied",
    "PublicBlueprint",
    "RecordSchema",
    "Relationship",
    "RelationshipType",
    "RowProblem",
    "Schema",
    "SearchHit",
    "Subject",
    "Team",
    "TeamMember",
    "TenantScoped",
    "User",
    "ValidationError",
    "WorkflowAction",
    "WorkflowFunction",
    "WorkflowTrigger",
    "XrmError",
    "act_as_user",
    "add_party_role",
    "business_calendar",
    "check_etag",
    "clean_custom_values",
    "collaboration_panel",
    "command_platform",
    "command_tenants",
    "create_party",
    "current_tenant",
    "cursor_paginate",
    "custom_field_condition",
    "custom_field_types",
    "db_session",
    "end_relationship",
    "get_for_update",
    "get_or_404",
    "gettext",
    "hookimpl",
    "json_array_includes",
    "lazy_gettext",
    "may_contact",
    "merge_parties",
    "ngettext",
    "notify",
    "party_facts",
    "plain_rows",
    "plugin_settings",
    "principal_of",
    "protected_fields",
    "public_session",
    "publish",
    "rate_limit",
    "read_signed_token",
    "record_etag",
    "redact_payload",
    "relate",
    "resolve_merged_party",
    "sign_token",
    "sync_relationship_types",
    "tenant_time_zone",
    "tenant_transaction",
    "user_time_zone",
    "utcnow",
]
