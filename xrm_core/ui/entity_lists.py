"""The plugins' list pages (``xrm_list_views``): one generic page per list, at ``/lists/<name>``.

The same machinery as the party list: the page's form fields are the query parameters of the
plugin's :class:`~xrm_core.api.listing.Listing` (so sorting, filtering and keyset cursors follow
the rules of its REST list), columns are chosen among the view's and the model's custom fields,
views are saved for me, my department or the organisation (:mod:`.saved_views`), the current view
is exported by :mod:`.export`, and bulk actions run record by record through :func:`.bulk.run_each`.

Every read goes through the request's session, which only returns the records the signed-in user
may read; a list of a plugin not enabled for the tenant answers 404, a list the user may not open 403.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import marshmallow as ma
from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from .. import web
from ..api.listing import ListQuery
from ..api.pagination import cursor_paginate
from ..contributions import ListColumn, ListFilter, ListView
from ..customfields.mixin import HasCustomFields
from ..customfields.models import CustomFieldDefinition
from ..customfields.service import definitions
from ..dataio.export_scope import exporting
from ..identity.authentication import current_principal
from ..identity.fieldsecurity import unreadable_fields
from . import bulk, export, saved_views
from .listing import CUSTOM_COLUMN
from .shell import contributed

blueprint = Blueprint("entity_lists", __name__, url_prefix="/lists")


# -- the list and what the user may see of it ---------------------------------------------------


@dataclass(frozen=True)
class EntityList:
    """A plugin's list view as the signed-in user may use it: fields they may not read left out."""

    definition: ListView
    #: The view's columns the user may read, by name.
    columns: Mapping[str, ListColumn]
    #: The model's custom fields the user may show as columns, by code.
    custom_fields: Mapping[str, CustomFieldDefinition]
    #: Sort values offered (``title``, ``-title``…): the listing's sortable fields the user may read.
    sorts: tuple[str, ...]
    #: The view's filters on fields the user may read.
    filters: tuple[ListFilter, ...]

    @property
    def model(self) -> type:
        return self.definition.listing.model

    @property
    def resource(self) -> str | None:
        """The model's permission resource (``sales.opportunity``), if it is a permission-checked record."""
        return getattr(self.model, "__permission_resource__", None)

    def may(self, action: str) -> bool:
        """Whether any grant lets the user ``action`` the list's records at all (the records decide the rest)."""
        return self.resource is not None and current_principal().scope_for(f"{self.resource}.{action}") is not None

    def label(self, column: str) -> str:
        """The heading of a column (``cf.<code>`` for a custom field)."""
        if column.startswith("cf."):
            return self.custom_fields[column[3:]].label
        definition = self.columns[column]
        return definition.label or column

    def value(self, record: Any, column: str) -> Any:
        """What ``record`` shows in ``column``."""
        if column.startswith("cf."):
            return (record.custom or {}).get(column[3:])
        definition = self.columns[column]
        return definition.value(record) if definition.value else getattr(record, column)

    def display(self, record: Any, column: str) -> str:
        """``record``'s value in ``column`` as the page shows it (dates in the user's language)."""
        value = self.value(record, column)
        if value is None:
            return ""
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if isinstance(value, datetime):
            return format_datetime(value, "medium")
        if isinstance(value, date):
            return format_date(value, "medium")
        if isinstance(value, list | tuple):
            return ", ".join(map(str, value))
        return str(value)


def find(name: str) -> EntityList:
    """The list ``name`` of a plugin enabled for the tenant, as the user may see it.

    Aborts with 404 when no enabled plugin serves it, 403 when the user lacks its permission.
    """
    definition = next((view for _plugin, view in contributed("xrm_list_views", ListView) if view.name == name), None)
    if definition is None:
        abort(404, description=_("There is no list %(name)s here.", name=name))
    principal = current_principal()
    if principal.scope_for(definition.permission) is None:
        abort(403, description=_("You may not open this list."))
    model = definition.listing.model
    hidden = unreadable_fields(principal, model)
    columns = {c.name: c for c in definition.columns if (c.field or c.name) not in hidden}
    entity = getattr(model, "__custom_fields_entity__", "")
    custom = {} if not (isinstance(model, type) and issubclass(model, HasCustomFields) and entity) \
        or "custom" in hidden else {d.code: d for d in definitions(web.db_session(), entity, active_only=True)}
    schema_fields = definition.listing.schema().fields

    def readable(field: str) -> bool:
        return (getattr(schema_fields.get(field), "attribute", None) or field) not in hidden

    sorts = tuple(spec for field in definition.listing.sortable if field != "id" and readable(field)
                  for spec in (field, f"-{field}"))
    filters = tuple(f for f in definition.filters if readable(f.parameter.partition("__")[0]))
    return EntityList(definition, columns, custom, sorts, filters)


# -- a view: filters, sort and columns ----------------------------------------------------------


@dataclass(frozen=True)
class View:
    """The page's filters, sort and columns as the user gave them, and the listing query they make."""

    values: Mapping[str, str]
    query: ListQuery
    #: Column names shown, in order (``cf.<code>`` for custom fields).
    columns: tuple[str, ...]


def parse(entity_list: EntityList, args: Mapping[str, str], *, paged: bool = True) -> View:
    """The view the query string (or form) ``args`` describes.

    :raises marshmallow.ValidationError: a value the list cannot use, keyed by form field.
    """
    values = {f.parameter: args.get(f.parameter, "").strip() for f in entity_list.filters}
    values["sort"] = args.get("sort", "").strip()
    columns = _columns(entity_list, args)
    values["columns"] = ",".join(columns)
    listing_args: dict[str, Any] = {name: value for name, value in values.items() if value and name != "columns"}
    if values["sort"] and values["sort"] not in entity_list.sorts:
        raise ma.ValidationError({"sort": [_("Unknown sort %(sort)s.", sort=values["sort"])]})
    if paged:
        listing_args.update({name: args[name] for name in ("cursor", "limit") if args.get(name)})
    query = entity_list.definition.listing.query_schema().load(listing_args)
    shown = columns or tuple(name for name, column in entity_list.columns.items() if column.default)
    return View(values=values, query=query, columns=shown)


def _columns(entity_list: EntityList, args: Mapping[str, str]) -> tuple[str, ...]:
    """The chosen columns, from checkboxes (several ``columns``) or a link (``columns=a,b``).

    :raises marshmallow.ValidationError: a column the list does not offer this user.
    """
    given = args.getlist("columns") if hasattr(args, "getlist") else [args.get("columns", "")]
    columns = tuple(dict.fromkeys(c.strip() for value in given for c in (value or "").split(",") if c.strip()))
    unknown = [c for c in columns if c not in entity_list.columns
               and not (CUSTOM_COLUMN.match(c) and c[3:] in entity_list.custom_fields)]
    if unknown:
        raise ma.ValidationError({"columns": [_("Unknown column %(column)s.", column=unknown[0])]})
    return columns


def view_values(name: str):
    """How the list ``name`` reads a view to save from a form (see :mod:`.saved_views`); 404/403 as :func:`find`."""
    entity_list = find(name)
    return lambda form: parse(entity_list, form, paged=False).values


# -- pages --------------------------------------------------------------------------------------------


@blueprint.get("/<name>")
@login_required
def index(name: str):
    """The list's records the user may read, filtered and sorted as asked, one keyset page at a time."""
    entity_list = find(name)
    errors: dict[str, list[str]] = {}
    try:
        view = parse(entity_list, request.args)
    except ma.ValidationError as exc:
        errors = exc.normalized_messages()
        view = parse(entity_list, {})
    page = cursor_paginate(select(entity_list.model), view.query)
    definition = entity_list.definition
    context = {
        "entity_list": entity_list,
        "definition": definition,
        "view": view,
        "page": page,
        "errors": errors,
        "links": definition.links(web.db_session()) if definition.links else [],
        "actions": [a for a in definition.actions if entity_list.may(a.permission)],
        "saved_views": saved_views.visible_views(name),
        "may_export": entity_list.may("export"),
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "list-results":
        return render_template("lists/_results.html", **context)
    return render_template("lists/index.html", **context)


@blueprint.get("/<name>/export.<any(csv, xlsx):file_format>")
@login_required
def export_view(name: str, file_format: str):
    """The current view (all its pages) as CSV or XLSX: the records the user may read and export."""
    entity_list = find(name)
    if not entity_list.may("export"):
        abort(403, description=_("You may not export this list."))
    try:
        view = parse(entity_list, request.args, paged=False)
    except ma.ValidationError as exc:
        abort(400, description="; ".join(f"{k}: {' '.join(v)}" for k, v in exc.normalized_messages().items()))
    return export.send_rows(_rows(entity_list, view), file_format, name, str(entity_list.definition.title or name))


def _rows(entity_list: EntityList, view: View) -> Iterator[list]:
    """The header, then one row per record of ``view`` in the view's order: its id and shown columns."""
    yield [_("ID"), *(str(entity_list.label(column)) for column in view.columns)]
    statement = export.exported(select(entity_list.model), view.query)
    session = web.db_session()
    with exporting(session, entity_list.model.__permission_resource__):
        for record in session.scalars(statement):
            yield [record.id, *(entity_list.value(record, column) for column in view.columns)]


@blueprint.post("/<name>/bulk")
@login_required
def apply(name: str):
    """Apply one of the list's bulk actions to the selected records, each checked on its own."""
    entity_list = find(name)
    action = next((a for a in entity_list.definition.actions if a.name == request.form.get("action", "")), None)
    if action is None or entity_list.resource is None:
        abort(400, description=_("Choose an action."))
    ids = bulk.selected_ids(_("Select at least one record."),
                            _("Select at most %(max)s records at a time.", max=bulk.MAX_SELECTED))
    session, model = web.db_session(), entity_list.model
    records = {r.id: r for r in session.scalars(select(model).where(model.id.in_(ids)))}
    first = next(iter(entity_list.columns), None)
    outcome = bulk.run_each(
        records, ids, action.permission, lambda record: action.apply(session, record),
        label=lambda record: str(entity_list.value(record, first)) if first else f"#{record.id}",
        missing=_("there is no such record that you may see"),
        forbidden=lambda verb: _("you may see this record but not %(action)s it", action=verb))
    session.commit()
    list_url = url_for(".index", name=name)
    return render_template("parties/bulk_result.html", outcome=outcome, action=action.name,
                           back=request.form.get("back", ""), list_url=list_url,
                           record_header=entity_list.label(first) if first else _("Record"))
