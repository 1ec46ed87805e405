"""The hook specifications: the public contract between the platform and its plugins.

Every hook is named ``xrm_*``, is called with keyword arguments only, and an implementation may
accept any subset of the arguments (new arguments can be added without breaking plugins). The
platform calls each plugin's implementation separately: one that raises is logged with the plugin's
name and skipped, the others still run, and repeated failures for a tenant disable the plugin for
that tenant. Hooks that take a ``tenant`` are only called for plugins enabled for that tenant.

Changes follow :data:`HOOKSPEC_VERSION`: arguments are only ever added (minor version); removing or
renaming a hook or argument is a major version.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from flask import Blueprint
    from sqlalchemy.orm import Session

    from .contributions import (
        DashboardWidget,
        DataFormat,
        EventHandler,
        EventType,
        ListView,
        NavEntry,
        Panel,
        PartyFact,
        PartyRole,
        PeriodicJob,
        Permission,
        RelationshipType,
        SearchHit,
        WorkflowAction,
        WorkflowFunction,
        WorkflowTrigger,
    )
    from .events import Event
    from .models import Tenant

#: Version of this contract; plugins built for another major version are refused.
HOOKSPEC_VERSION = "1.2"

PROJECT = "xrm"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# ---------------------------------------------------------------------------------------------
# Boot: called once per process, when the platform assembles itself. Not tenant-specific.
# ---------------------------------------------------------------------------------------------


@hookspec
def xrm_models() -> Iterable[type]:
    """Declare the plugin's SQLAlchemy models.

    Called once at start-up, after the plugin's module is imported.

    :returns: The model classes (subclasses of ``xrm_sdk.Model``). Each table name must start with
        ``<plugin>_``; tenant-owned models mix in ``xrm_sdk.TenantScoped``.

    .. versionadded:: 1.0
    """


@hookspec
def xrm_migrations() -> str | Path:
    """Declare where the plugin's Alembic revisions live.

    Called when the platform builds its migration environment (``xrm db …``, start-up checks).
    The plugin's first revision has ``down_revision = None`` and ``branch_labels = ("<plugin>",)``.

    :returns: The path of the folder holding the revision files.

    .. versionadded:: 1.0
    """


@hookspec
def xrm_blueprints() -> Iterable[Blueprint]:
    """Declare the plugin's API routes and web views.

    Called once when the Flask application is created.

    :returns: Flask blueprints named ``<plugin>`` or ``<plugin>_<something>``. An
        ``xrm_sdk.ApiBlueprint`` is mounted under ``/api/v1/<plugin>`` (plus its own prefix) and
        documented in the OpenAPI document; other blueprints under ``/<plugin>`` (or
        ``/api/<plugin>`` for ``<plugin>_…`` names) when they set no URL prefix. For a tenant
        where the plugin is disabled their routes answer 404.

    .. versionadded:: 1.0
    """


@hookspec
def xrm_permissions() -> Iterable[Permission]:
    """Declare the permissions the plugin checks.

    Called when permissions are listed for roles and for admins.

    :returns: ``Permission("<plugin>.<resource>.<action>", label)`` objects.

    .. versionadded:: 1.0
    """


@hookspec
def xrm_party_roles() -> Iterable[PartyRole]:
    """Declare roles a party can play (customer, supplier, employee, …).

    Called when the party graph builds its role catalogue and when admins list roles.

    :returns: ``PartyRole(code, label)`` objects; a code already declared by another plugin is refused.

    .. versionadded:: 1.0
    """


@hookspec
def xrm_relationship_types() -> Iterable[RelationshipType]:
    """Declare relationship types between parties.

    Called when the party graph builds its type catalogue (merged with tenant-defined types).

    :returns: ``RelationshipType(code, forward_label, inverse_label, symmetric)`` objects; a code
        already declared by another plugin is refused.

    .. versionadded:: 1.0
    """


@hookspec
def xrm_event_types() -> Iterable[EventType]:
    """Declare the domain events the plugin publishes.

    Called when the event catalogue is built (publishing, webhooks, workflow editors).

    :returns: ``EventType("<plugin>.<entity>.<verb>", description, schema)`` objects.

    .. versionadded:: 1.0
    """


@hookspec
def xrm_event_handlers() -> Iterable[EventHandler]:
    """Declare the plugin's reactions to domain events.

    Called when the event relay builds its subscriber list.

    :returns: ``EventHandler("<plugin>.<handler>", pattern, handle)`` objects; ``handle(event)`` is
        called after the event's transaction committed, only for tenants where the plugin is enabled.

    .. versionadded:: 1.0
    """


@hookspec
def xrm_workflow_triggers() -> Iterable[WorkflowTrigger]:
    """Declare triggers admins can start workflows from, beyond events and schedules.

    Called when the workflow engine builds its trigger catalogue (saving a workflow, listing the
    triggers an editor offers), for the plugins enabled in the tenant.

    :returns: ``WorkflowTrigger("<plugin>.<trigger>", label, description, pattern)`` objects;
        ``pattern`` is the event type (``fnmatch`` pattern) the trigger stands for: a workflow
        with this trigger runs on those events, filtered by its own condition.

    .. versionadded:: 1.0
    .. versionchanged:: 1.2 ``pattern`` names the events behind the trigger.
    """


@hookspec
def xrm_workflow_actions() -> Iterable[WorkflowAction]:
    """Declare steps admins can use in workflows.

    Called when the workflow engine builds its action catalogue and validates a saved workflow.

    :returns: ``WorkflowAction("<plugin>.<action>", label, params, run)`` objects; ``params`` is a
        marshmallow schema validated when the workflow is saved (values that are templates are
        validated once rendered, when the step runs); ``run`` is called with the keyword
        arguments it names among ``params``, ``session``, ``event``, ``subject``, ``related`` and
        ``tenant``, acting as the workflow's principal, and returns the step's output (a dict).

    .. versionadded:: 1.0
    .. versionchanged:: 1.2 how ``run`` is called.
    """


@hookspec
def xrm_workflow_functions() -> Iterable[WorkflowFunction]:
    """Declare functions workflow conditions can call (``contacts.in_segment(subject, "VIP")``).

    Called when a workflow is saved or one of its conditions is checked (to check each call's
    arguments) and when a condition that calls a function runs, for the plugins enabled in the
    tenant.

    :returns: ``WorkflowFunction("<plugin>.<function>", description, params, evaluate,
        check_arguments)`` objects. ``evaluate(session, *arguments)`` is called with the tenant's
        session acting as the workflow's principal, then the call's arguments as plain values, and
        returns a plain value (a condition's ``if`` needs a boolean). ``check_arguments(session,
        arguments)`` is called when the workflow is saved, acting as the principal it will have,
        with each literal argument's value (``None`` for an expression), and returns why they are
        refused or ``None``: an unknown name is reported then, at the condition's path.

    .. versionadded:: 1.2
    """


@hookspec
def xrm_import_export_formats() -> Iterable[DataFormat]:
    """Declare file formats for import and export.

    Called when import and export list the formats they offer.

    :returns: ``DataFormat("<plugin>.<format>", label, extension, read, write)`` objects.

    .. versionadded:: 1.0
    """


@hookspec
def xrm_import_targets() -> Iterable[Any]:
    """Declare the kinds of record imports can create or update, and exports can read.

    Called when import and export list their targets (the ``xrm import``/``xrm export`` commands,
    the import API and page), for the plugins enabled in the tenant.

    :returns: instances of ``xrm_sdk.ImportTarget`` subclasses named ``"<plugin>.<entity>"``; see
        :mod:`xrm_core.dataio.targets` for what each method is called with and must do.

    .. versionadded:: 1.2
    """


@hookspec
def xrm_cli_commands() -> Iterable[click.Command]:
    """Declare the plugin's command-line commands.

    Called when the ``xrm`` command starts. The commands are grouped under ``xrm <plugin>``.

    :returns: click commands.

    .. versionadded:: 1.0
    """


@hookspec
def xrm_settings_schema() -> Any:
    """Declare the plugin's per-tenant settings.

    Called when settings are read, validated or edited (manifests, admin console).

    :returns: A marshmallow ``Schema`` class or instance; its ``load`` validates and fills defaults.

    .. versionadded:: 1.0
    """


# ---------------------------------------------------------------------------------------------
# Tenant: called for one tenant, only where the plugin is enabled.
# ---------------------------------------------------------------------------------------------


@hookspec
def xrm_tenant_setup(tenant: Tenant, session: Session) -> None:
    """Prepare a tenant when the plugin is enabled for it (default records, settings).

    Called inside the enabling transaction, within a savepoint: if it raises, the plugin is not
    enabled and the reason is reported. It must be idempotent, as enabling again calls it again.

    :param tenant: The tenant.
    :param session: A session scoped to the tenant.

    .. versionadded:: 1.0
    """


@hookspec
def xrm_demo_data(tenant: Tenant, session: Session) -> None:
    """Add sample data to a demo tenant.

    Called by ``xrm demo`` after every plugin has been enabled for the tenant, in dependency order.

    :param tenant: The demo tenant.
    :param session: A session scoped to the tenant.

    .. versionadded:: 1.0
    """


@hookspec
def xrm_navigation(tenant: Tenant) -> Iterable[NavEntry]:
    """Contribute main-navigation entries.

    Called when a page is rendered for a user of ``tenant``.

    :param tenant: The tenant of the page.
    :returns: ``NavEntry("<plugin>.<entry>", label, url, order)`` objects.

    .. versionadded:: 1.0
    """


@hookspec
def xrm_list_views(tenant: Tenant) -> Iterable[ListView]:
    """Contribute list pages the core serves for the plugin's models, at ``/lists/<name>``.

    Called when a list page, its export, its bulk action or a saved view of it is requested by a
    user of ``tenant`` (only for plugins enabled there: a disabled plugin's lists answer 404).
    The core reads the records through the user's tenant- and permission-scoped session.

    :param tenant: The tenant of the request.
    :returns: ``ListView("<plugin>.<list>", title=..., listing=<xrm.Listing>, columns=[ListColumn...],
        filters=[ListFilter...], permission="<plugin>.<resource>.read", detail_url=..., actions=[ListAction...])``
        objects.

    .. versionadded:: 1.2
    """


@hookspec
def xrm_party_panels(tenant: Tenant, party: Any) -> Iterable[Panel]:
    """Contribute panels to a party's page.

    Called when a party's page is rendered for a user of ``tenant``.

    :param tenant: The party's tenant.
    :param party: The party being shown (already permission-checked).
    :returns: ``Panel("<plugin>.<panel>", title, render, order)`` objects.

    .. versionadded:: 1.0
    """


@hookspec
def xrm_merge_parties(tenant: Tenant, session: Session, survivor_id: int, loser_id: int) -> None:
    """Move the plugin's records from a party being merged away to the party it is merged into.

    Called by the core's party merge, for each plugin enabled for ``tenant``, inside the merge's
    transaction and before the loser is deleted (rows still pointing at it would be deleted with
    it, or block the delete). Repoint every record that refers to ``loser_id`` to ``survivor_id``,
    merging or dropping what would become a duplicate. If it raises, the whole merge is rolled back
    and refused, naming the plugin: nothing is half-merged.

    :param tenant: The tenant of both parties.
    :param session: A session scoped to the tenant, in the merge's transaction; do not commit.
    :param survivor_id: The party that remains.
    :param loser_id: The party being merged into it; its id then resolves to ``survivor_id``.

    .. versionadded:: 1.2
    """


@hookspec
def xrm_party_facts(tenant: Tenant) -> Iterable[PartyFact]:
    """Expose facts the plugin knows about parties, for segments and other selections to filter on.

    Called when a party selection (a contacts segment, say) is validated or compiled for ``tenant``.
    A fact's ``query(session)`` must return a SQLAlchemy ``select`` of exactly two columns,
    ``(party_id, value)``, at most one row per party (aggregate if needed); parties without a row
    have no value. The select is embedded as a subquery of one larger query, so it must not
    execute anything itself, and it runs in the caller's tenant- and permission-scoped session.

    :param tenant: The tenant the selection belongs to.
    :returns: ``PartyFact("<plugin>.<fact>", label, type, query)`` objects; ``type`` is one of
        ``"number"``, ``"text"``, ``"date"``, ``"choice"`` (then give ``choices``).

    .. versionadded:: 1.2
    """


@hookspec
def xrm_periodic_jobs() -> Iterable[PeriodicJob]:
    """Declare work to run on a timer (reminders due, overdue scans, clean-ups).

    Called when the platform builds its list of periodic jobs (``xrm serve`` in embedded mode,
    ``xrm beat`` and ``xrm worker`` in scale-out mode). Each job then runs every ``seconds``
    seconds, once per tenant where the plugin is enabled, as ``run(session, tenant, now)`` in its
    own transaction acting as the principal ``job:<name>`` (the plugin's own permissions and those
    the job names in ``permissions``, tenant-wide); a run that raises is logged and rolled back and
    does not stop the other tenants or jobs.

    :returns: ``PeriodicJob("<plugin>.<job>", seconds=..., run=..., permissions=(...))`` objects.

    .. versionadded:: 1.2
    """


@hookspec
def xrm_dashboard_widgets(tenant: Tenant) -> Iterable[DashboardWidget]:
    """Contribute dashboard widgets.

    Called when a dashboard of ``tenant`` is rendered.

    :param tenant: The tenant of the dashboard.
    :returns: ``DashboardWidget("<plugin>.<widget>", title, render)`` objects.

    .. versionadded:: 1.0
    """


@hookspec
def xrm_search(tenant: Tenant, session: Session, query: str, limit: int) -> Iterable[SearchHit]:
    """Search the plugin's records for the global search box.

    Called for each global search in ``tenant``.

    :param tenant: The tenant searched.
    :param session: A session scoped to the tenant and to the searching user's permissions.
    :param query: What the user typed.
    :param limit: The most hits wanted from this plugin.
    :returns: ``SearchHit("<plugin>.<kind>.<id>", title, url, score)`` objects.

    .. versionadded:: 1.0
    """


@hookspec
def xrm_on_event(tenant: Tenant, event: Event, session: Session) -> None:
    """React to any domain event of a tenant where the plugin is enabled.

    Called once per event after the transaction that published it committed: by the dispatcher
    inside ``xrm serve``, or by an ``xrm worker`` when ``XRM_BROKER_URL`` is set. Delivery is at
    least once, but the effects are applied once: the implementation writes through ``session``,
    whose transaction also records the event as processed for this plugin, so a redelivery after a
    crash finds it processed and nothing is applied twice. Events about one subject arrive in the
    order they were published. If it raises, its writes are rolled back and the event is delivered
    again later (exponential backoff), up to the retry limit, then dead-lettered
    (``xrm events failed``); other subscribers are not affected. For one event type at a time,
    declare an ``EventHandler`` with ``xrm_event_handlers`` instead.

    :param tenant: The event's tenant.
    :param event: The event: ``id``, ``type`` (``<plugin>.<entity>.<verb>``), ``actor``, ``subject``
        (``entity``, ``id``), ``related`` party ids, ``occurred_at`` and the validated ``payload``.
    :param session: A session scoped to the tenant, in the transaction that records the event as
        processed; do not commit or roll it back.

    .. versionadded:: 1.1
    """


@hookspec(firstresult=True)
def xrm_contact_consent(tenant: Tenant, session: Session, party_id: int, channel: str) -> bool | None:
    """Say whether a party may be contacted on a channel (the consent question of every plugin).

    Called by :func:`xrm_sdk.may_contact` before any outbound communication (an email, a call, an
    SMS, a letter) to a party of ``tenant``. The answers are read in plugin order and the first
    one that is not ``None`` decides; a plugin that raises counts as a refusal, and without any
    ``True`` the answer is no.

    :param tenant: The party's tenant.
    :param session: The caller's session, scoped to the tenant (and to its principal, if any).
    :param party_id: The party to contact.
    :param channel: ``email``, ``phone``, ``sms`` or ``post``.
    :returns: ``True`` (consent given), ``False`` (refused) or ``None`` (no opinion).

    .. versionadded:: 1.2
    """


@hookspec
def xrm_personal_data(tenant: Tenant, session: Session, party_id: int) -> dict[str, Any] | None:
    """Return everything the plugin holds about a party, for the party's data-access request.

    Called by the core's privacy export (API, CLI) when a user allowed ``core.party.export``
    exports a party's personal data; each plugin's answer becomes one JSON file of the archive.

    :param tenant: The party's tenant.
    :param session: A session scoped to the tenant and to the exporting user's permissions.
    :param party_id: The party whose data is exported.
    :returns: A JSON-serialisable dict (dates as ISO strings), or ``None`` when the plugin holds
        nothing about the party.

    .. versionadded:: 1.2
    """


@hookspec
def xrm_erase_personal_data(tenant: Tenant, session: Session, party_id: int) -> None:
    """Erase or anonymise what the plugin holds about a party (the right to erasure).

    Called by the core's privacy erasure, for each plugin enabled for ``tenant``, inside the
    erasure's transaction and before the core anonymises the party itself. Remove or overwrite
    every personal value (names, contact details, free text); records the business must keep
    (invoices…) may stay, pointing at the anonymised party. If it raises, the whole erasure is
    rolled back and refused, naming the plugin.

    :param tenant: The party's tenant.
    :param session: A session scoped to the tenant and to the erasing user's permissions, in the
        erasure's transaction; do not commit.
    :param party_id: The party to erase.

    .. versionadded:: 1.2
    """
