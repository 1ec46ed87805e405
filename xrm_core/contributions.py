"""The values plugins return from hooks.

Each is a frozen dataclass with a ``name``. Names that a plugin owns start with the plugin's own
name and a dot (``sales.quote.sent``): the plugin host refuses any other, so two plugins can never
claim the same permission, event or action.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

#: A plugin name: lower-case letters, digits and underscores, starting with a letter. It is also the
#: table prefix, blueprint name, URL prefix, Alembic branch label and settings namespace.
PLUGIN_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")

#: Actions a permission may grant.
PERMISSION_ACTIONS = ("read", "create", "update", "delete", "assign", "share", "export", "link")


@dataclass(frozen=True)
class Manifest:
    """What a plugin says about itself; its module exposes it as ``MANIFEST``.

    The version and the version ranges of what it requires come from the distribution's metadata
    (``pyproject.toml``), never from here, so there is one source of truth for each.
    """

    #: Must equal the entry-point name under ``xrm.plugins``.
    name: str
    title: str
    #: Defaults to the distribution's summary.
    description: str = ""
    #: Names of plugins that must be installed and enabled first.
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contribution:
    """Base of everything a plugin contributes by name."""

    #: Whether ``name`` must start with ``<plugin>.``.
    owned_name: ClassVar[bool] = True
    name: str

    def check(self, plugin: str) -> str | None:
        """Return why this contribution is invalid for ``plugin``, or ``None``."""
        if self.owned_name and not self.name.startswith(plugin + "."):
            return f"{type(self).__name__} {self.name!r} must be named '{plugin}.<…>'"
        return None


@dataclass(frozen=True)
class Permission(Contribution):
    """A right a role can grant: ``<plugin>.<resource>.<action>``."""

    label: str = ""

    def check(self, plugin: str) -> str | None:
        parts = self.name.split(".")
        if len(parts) != 3 or parts[2] not in PERMISSION_ACTIONS:
            return (
                f"permission {self.name!r} must be '<plugin>.<resource>.<action>' with an action among "
                + ", ".join(PERMISSION_ACTIONS)
            )
        return super().check(plugin)


@dataclass(frozen=True)
class PartyRole(Contribution):
    """A role a party can play (customer, supplier, …); codes are global, first plugin wins."""

    owned_name: ClassVar[bool] = False
    label: str = ""


@dataclass(frozen=True)
class RelationshipType(Contribution):
    """A typed, possibly directed link between two parties ("employs" / "works for")."""

    owned_name: ClassVar[bool] = False
    forward_label: str = ""
    inverse_label: str = ""
    symmetric: bool = False


@dataclass(frozen=True)
class EventType(Contribution):
    """A domain event ``<plugin>.<entity>.<verb>`` and the marshmallow schema of its payload."""

    description: str = ""
    schema: Any = None


@dataclass(frozen=True)
class EventHandler(Contribution):
    """A reaction to events whose type matches ``pattern`` (``fnmatch`` syntax)."""

    pattern: str = "*"
    handle: Callable[..., Any] | None = None


@dataclass(frozen=True)
class WorkflowTrigger(Contribution):
    """A named occasion admins can start a workflow from ("a task became overdue").

    ``pattern`` is the event type (or ``fnmatch`` pattern) the occasion stands for: a workflow
    with this trigger runs on those events, with its own condition as a filter.
    """

    label: str = ""
    description: str = ""
    pattern: str = ""


@dataclass(frozen=True)
class WorkflowAction(Contribution):
    """A step a workflow can run, with a marshmallow schema for its parameters.

    ``run`` is called with the keyword arguments it names among ``params`` (loaded by the
    schema, templates rendered), ``session`` (the tenant's, acting as the workflow's principal),
    ``event``, ``subject`` and ``related`` (plain JSON values, as conditions see them) and
    ``tenant``. It returns a JSON-able dict (the step's output) or ``None``; raising fails the step.
    """

    label: str = ""
    params: Any = None
    run: Callable[..., Any] | None = None


@dataclass(frozen=True)
class WorkflowFunction(Contribution):
    """A function workflow conditions can call by its full name: ``contacts.in_segment(subject, "VIP")``.

    ``evaluate(session, *arguments)`` gets the tenant's session, acting as the workflow's
    principal, then the call's CEL arguments as plain values (maps, lists, strings, numbers); it
    returns a plain value. Raising fails the condition, with the exception's message as the reason.
    ``params`` names the arguments (the call must pass exactly these many).
    ``check_arguments(session, arguments)``, optional, is called when a workflow is saved or its
    condition checked, acting as the principal the workflow will have: ``arguments`` holds each literal argument's value, and
    ``None`` for an argument that is an expression; it returns why they are refused, or ``None``.
    """

    description: str = ""
    params: tuple[str, ...] = ()
    evaluate: Callable[..., Any] | None = None
    check_arguments: Callable[..., str | None] | None = None

    def check(self, plugin: str) -> str | None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*\.[a-z_][a-z0-9_]*", self.name):
            return f"workflow function {self.name!r} must be named '<plugin>.<function>' (letters, digits, _)"
        if not callable(self.evaluate):
            return f"workflow function {self.name!r} has no evaluate function"
        if self.check_arguments is not None and not callable(self.check_arguments):
            return f"workflow function {self.name!r}: check_arguments is not callable"
        return super().check(plugin)


@dataclass(frozen=True)
class PeriodicJob(Contribution):
    """Work a plugin wants done every ``seconds`` seconds, once per tenant where it is enabled.

    ``run(session, tenant, now)``: ``session`` is the tenant's, acting as the recorded principal
    ``job:<name>`` and committed when ``run`` returns (rolled back if it raises); ``now`` is the
    platform clock's moment (UTC) for this round. Any of the three may be left out of ``run``'s
    parameters. The job must be safe to run again.

    The principal holds the plugin's own permissions (``<plugin>.*``) tenant-wide, plus the other
    declared ones the job names in ``permissions`` (``("core.party.read",)``): never an implicit
    superuser.
    """

    seconds: float = 0
    run: Callable[..., Any] | None = None
    permissions: tuple[str, ...] = ()

    def check(self, plugin: str) -> str | None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*", self.name):
            return f"periodic job {self.name!r} must be named '<plugin>.<job>' in lower case"
        if not (isinstance(self.seconds, (int, float)) and self.seconds > 0):
            return f"periodic job {self.name!r} needs seconds > 0, not {self.seconds!r}"
        if not callable(self.run):
            return f"periodic job {self.name!r} has no run function"
        return super().check(plugin)


#: The value types a :class:`PartyFact` may have.
PARTY_FACT_TYPES = ("number", "text", "date", "choice")


@dataclass(frozen=True)
class PartyFact(Contribution):
    """A per-party value a plugin computes (``sales.revenue_12m``), for selections to filter on.

    ``query(session)`` returns a SQLAlchemy select of ``(party_id, value)`` columns, one row per
    party at most; ``choices`` lists the allowed values of a ``"choice"`` fact.
    """

    label: str = ""
    type: str = "text"
    query: Callable[..., Any] | None = None
    choices: tuple[str, ...] = ()

    def check(self, plugin: str) -> str | None:
        if self.type not in PARTY_FACT_TYPES:
            return f"party fact {self.name!r} has type {self.type!r}, not one of " + ", ".join(PARTY_FACT_TYPES)
        if not callable(self.query):
            return f"party fact {self.name!r} has no query"
        return super().check(plugin)


@dataclass(frozen=True)
class NavEntry(Contribution):
    """An entry in the main navigation; shown only where the plugin is enabled."""

    label: str = ""
    url: str = ""
    order: int = 100


@dataclass(frozen=True)
class Panel(Contribution):
    """A block on a party's page; ``render(party)`` returns HTML."""

    title: str = ""
    render: Callable[..., str] | None = None
    order: int = 100


@dataclass(frozen=True)
class DashboardWidget(Contribution):
    """A dashboard block; ``render(tenant)`` returns HTML."""

    title: str = ""
    render: Callable[..., str] | None = None


@dataclass(frozen=True)
class SearchHit(Contribution):
    """One result of a plugin's search provider; ``name`` identifies the record (``sales.quote.42``)."""

    title: str = ""
    url: str = ""
    score: float = 0.0


@dataclass(frozen=True)
class DataFormat(Contribution):
    """An import/export format (``contacts.vcard``); ``read``/``write`` stream records."""

    label: str = ""
    extension: str = ""
    read: Callable[..., Any] | None = None
    write: Callable[..., Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)


#: Query parameters of a list page that no :class:`ListFilter` may take.
RESERVED_LIST_PARAMETERS = frozenset({"name", "file_format", "columns", "saved", "sort", "cursor", "limit", "fields"})


@dataclass(frozen=True)
class ListColumn:
    """A column of a :class:`ListView`.

    ``name`` is a field of the view's listing (sortable when the listing lets it be sorted), or any
    name when ``value`` computes what is shown. ``field`` is the model attribute the value comes
    from, for field security: the column is left out, on the page and in exports, for whoever may
    not read that attribute (defaults to ``name``).
    """

    name: str
    label: str = ""
    #: ``value(record)`` -> what the cell shows and the export writes; defaults to the attribute ``name``.
    value: Callable[[Any], Any] | None = None
    field: str | None = None
    #: Shown when the user has chosen no columns.
    default: bool = True


@dataclass(frozen=True)
class ListFilter:
    """A filter of a :class:`ListView`: one query parameter of its listing (``status``, ``title__contains``)."""

    parameter: str
    label: str = ""
    #: ``(value, label)`` pairs offered in a select; none: a free text field.
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ListAction:
    """A bulk action of a :class:`ListView`: ``apply(session, record)`` on each selected record.

    Each record is checked on its own first: the user must have ``permission`` (a record action:
    ``update``, ``assign``, ``delete``…) on that very record, else it is refused with the reason.
    """

    name: str
    label: str = ""
    permission: str = "update"
    apply: Callable[..., None] | None = None


@dataclass(frozen=True)
class ListView(Contribution):
    """A list page the core serves at ``/lists/<name>`` (``sales.opportunities``) for a plugin's model.

    Sorting, filtering and keyset pagination follow the plugin's ``listing`` (an
    :class:`xrm_sdk.Listing`, the same rules as its REST list); reads go through the user's
    session, so only the records their rights reach appear. The page adds column choice (with the
    model's custom fields when it has :class:`~xrm_sdk.HasCustomFields`), saved views (for me, my
    department or the organisation), export of the current view to CSV and Excel (for users with
    ``<resource>.export``; protected fields left out) and the bulk ``actions``.
    """

    title: str = ""
    description: str = ""
    listing: Any = None
    columns: tuple[ListColumn, ...] = ()
    filters: tuple[ListFilter, ...] = ()
    #: The permission needed to open the list (``sales.opportunity.read``).
    permission: str = ""
    #: ``detail_url(record)`` -> the record's page, linked from the first column.
    detail_url: Callable[[Any], str] | None = None
    actions: tuple[ListAction, ...] = ()
    #: ``links(session)`` -> ``(label, url)`` buttons in the page's head ("New opportunity").
    links: Callable[..., Any] | None = None

    def check(self, plugin: str) -> str | None:
        """Also refuse a view without a listing, columns or permission, or naming an unknown filter."""
        if self.listing is None or not hasattr(self.listing, "query_schema"):
            return f"list view {self.name!r} has no listing"
        if not self.columns or not self.permission:
            return f"list view {self.name!r} needs columns and a permission"
        parameters = set(self.listing.query_schema().fields) - RESERVED_LIST_PARAMETERS
        if unknown := [f.parameter for f in self.filters if f.parameter not in parameters]:
            return f"list view {self.name!r} filters on {unknown[0]!r}, which its listing does not accept"
        if self.actions and not hasattr(self.listing.model, "__permission_resource__"):
            return f"list view {self.name!r} has bulk actions but its model's records are not permission-checked"
        return super().check(plugin)
