"""The party pages: the list (filters, columns, sort, keyset pages, export), a party's page, and its forms.

Every read goes through the request's session, which only returns what the signed-in user may
read: a party outside their tenant or reach answers 404 like one that does not exist.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import marshmallow as ma
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup
from sqlalchemy import or_, select
from sqlalchemy.orm.exc import StaleDataError

from .. import web
from ..api.pagination import cursor_paginate
from ..customfields.models import CustomFieldDefinition
from ..customfields.service import definitions
from ..errors import Conflict, NotFound
from ..graph import GraphRuleError
from ..graph.history import TimelineEntry
from ..graph.models import Party, PartyRoleAssignment
from ..graph.party360 import PanelFailed, party360, render_panel
from ..graph.queries import Neighbour
from ..graph.service import PARTY_KINDS, RoleCatalogue, add_role, create_party
from ..graph.timeline import timeline_statement
from ..identity.authentication import current_principal
from ..identity.fieldsecurity import unreadable_fields
from ..identity.models import Department
from ..identity.scoping import can
from ..models import User
from . import export, graph_view
from .forms import PartyForm
from .listing import BUILTIN_COLUMNS, SORTS, parse_view
from .saved_views import visible_views

blueprint = Blueprint("parties", __name__, url_prefix="/parties")

#: Most recent timeline entries shown on a party's page.
TIMELINE_LENGTH = 20


def _roles() -> RoleCatalogue:
    return RoleCatalogue.from_platform(web.platform())


def _current_roles(party_ids: list[int]) -> dict[int, list[str]]:
    """Party id -> the role codes it holds today, for one page of parties."""
    today = date.today()
    rows = web.db_session().execute(
        select(PartyRoleAssignment.party_id, PartyRoleAssignment.role).where(
            PartyRoleAssignment.party_id.in_(party_ids),
            or_(PartyRoleAssignment.valid_from.is_(None), PartyRoleAssignment.valid_from <= today),
            or_(PartyRoleAssignment.valid_to.is_(None), PartyRoleAssignment.valid_to >= today),
        ).order_by(PartyRoleAssignment.role)
    )
    held: dict[int, list[str]] = defaultdict(list)
    for party_id, role in rows:
        held[party_id].append(role)
    return held


# -- list ----------------------------------------------------------------------------------------


@blueprint.get("")
@login_required
def index():
    """The parties the user may read, filtered and sorted as asked, one keyset page at a time."""
    errors: dict[str, list[str]] = {}
    try:
        view = parse_view(request.args)
    except ma.ValidationError as exc:
        errors = exc.normalized_messages()
        view = parse_view({})
    custom_fields = _custom_fields()
    if unknown := [code for code in view.custom_columns if code not in custom_fields]:
        errors = {**errors, "columns": [_("There is no custom field %(code)s.", code=unknown[0])]}
    page = cursor_paginate(view.statement(), view.query)
    context = {
        "view": view,
        "page": page,
        "roles_of": _current_roles([party.id for party in page.items]),
        "columns": [c for c in view.columns if not c.startswith("cf.") or c[3:] in custom_fields],
        "custom_fields": custom_fields,
        "builtin_columns": BUILTIN_COLUMNS,
        "bulk": _bulk_choices(),
        "errors": errors,
        "sorts": SORTS,
        "kinds": PARTY_KINDS,
        "role_catalogue": _roles().roles,
        "saved_views": visible_views("parties"),
        "may_create": _may("create"),
        "may_export": _may("export"),
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "party-results":
        return render_template("parties/_results.html", **context)
    return render_template("parties/index.html", **context)


def _custom_fields() -> dict[str, CustomFieldDefinition]:
    """The party custom fields the user may show as columns, by code (none if ``custom`` is protected)."""
    if "custom" in unreadable_fields(current_principal(), Party):
        return {}
    return {d.code: d for d in definitions(web.db_session(), "core.party", active_only=True)}


def _bulk_choices() -> dict[str, list[tuple[int, str]]] | None:
    """Owners and departments the bulk form offers, or ``None`` if the user may change no party at all."""
    if not any(_may(action) for action in ("update", "assign", "delete")):
        return None
    session = web.db_session()
    users = session.execute(select(User.id, User.display_name).where(User.active.is_(True))
                            .order_by(User.display_name, User.id)).all()
    departments = session.execute(select(Department.id, Department.name).order_by(Department.name, Department.id)).all()
    return {"users": [tuple(row) for row in users], "departments": [tuple(row) for row in departments]}


def _may(action: str) -> bool:
    """Whether any grant lets the user ``action`` parties at all (the records decide the rest)."""
    principal = current_principal()
    return principal is not None and principal.scope_for(f"core.party.{action}") is not None


@blueprint.get("/export.<any(csv, xlsx):file_format>")
@login_required
def export_view(file_format: str):
    """The current view (all its pages) as CSV or XLSX: the parties the user may read and export."""
    if not _may("export"):
        abort(403, description=_("You may not export parties."))
    try:
        view = parse_view(request.args, paged=False)
    except ma.ValidationError as exc:
        abort(400, description="; ".join(f"{k}: {' '.join(v)}" for k, v in exc.normalized_messages().items()))
    return export.send(view, file_format)


# -- one party -------------------------------------------------------------------------------------


def _visible_party(party_id: int) -> Party:
    party = web.db_session().scalar(select(Party).where(Party.id == party_id))
    if party is None:
        abort(404, description=_("There is no party #%(id)s that you may see.", id=party_id))
    return party


@blueprint.get("/<int:party_id>")
@login_required
def show(party_id: int):
    """A party's 360: roles and key facts, relationships, plugin panels (loaded lazily), timeline."""
    session = web.db_session()
    try:
        view = party360(session, web.platform(), web.require_tenant(), party_id)
    except NotFound:
        abort(404, description=_("There is no party #%(id)s that you may see.", id=party_id))
    party = view.party
    relationships = [
        (_relationship_label(neighbour), neighbour.party, neighbour.relationship) for neighbour in view.relationships
    ]
    owner = session.scalar(select(User.display_name).where(User.id == party.owner_user_id)) \
        if party.owner_user_id else None
    department = session.scalar(select(Department.name).where(Department.id == party.department_id)) \
        if party.department_id else None
    timeline = session.scalars(
        timeline_statement(party.id).order_by(TimelineEntry.occurred_at.desc(), TimelineEntry.id.desc())
        .limit(TIMELINE_LENGTH)
    ).all()
    return render_template(
        "parties/show.html",
        party=party,
        current_roles={role.role for role in view.roles},
        roles=sorted(party.roles, key=lambda r: (r.role, r.valid_from or date.min)),
        role_catalogue=_roles().roles,
        relationships=relationships,
        owner=owner,
        department=department,
        panels=view.panels,
        timeline=timeline,
        may_edit=can(session, current_principal(), "update", party),
        graph=graph_view.page_context(party.id, request.args),
    )


def _relationship_label(neighbour: Neighbour) -> str:
    """How the relationship reads from this party: "employs" one way, "works for" the other."""
    kind = neighbour.relationship.type
    return kind.inverse_label if neighbour.direction == "in" else kind.forward_label


@blueprint.get("/<int:party_id>/panels/<name>")
@login_required
def panel(party_id: int, name: str):
    """One plugin panel's HTML, fetched by the party page after it has loaded.

    A panel that fails to render shows a short notice in its place (the error is logged): the rest
    of the page is unaffected.
    """
    party = _visible_party(party_id)
    try:
        _found, html = render_panel(web.db_session(), web.platform(), web.require_tenant(), party, name)
    except NotFound:
        abort(404, description=_("No panel %(name)s on this page.", name=name))
    except PanelFailed:
        return render_template("parties/_panel.html", html=None)
    # Plugins are trusted code that return HTML and escape what they insert into it.
    return render_template("parties/_panel.html", html=Markup(html))


# -- forms -------------------------------------------------------------------------------------------


def _form_page(values, errors: dict[str, list[str]], party: Party | None) -> str:
    return render_template("parties/form.html", form=values, errors=errors, party=party, roles=_roles().roles)


@blueprint.route("/new", methods=["GET", "POST"])
@login_required
def create():
    """Create a party; invalid input is shown next to its field and nothing is saved."""
    if not _may("create"):
        abort(403, description=_("You may not create parties."))
    form = PartyForm(kinds=PARTY_KINDS, roles=_roles())
    if request.method == "GET":
        return _form_page(form.blank(), {}, None)
    errors, data = form.validate(request.form)
    if not errors:
        session = web.db_session()
        try:
            party = create_party(session, data["kind"], data["display_name"], data["tags"],
                                 {data["identifier_source"]: data["identifier_value"]}
                                 if data["identifier_value"] else None)
            if data["role"]:
                add_role(session, party, data["role"], catalogue=_roles())
            session.commit()
        except (GraphRuleError, Conflict) as exc:
            session.rollback()
            errors = {"_form": [str(exc)]}
        else:
            flash(_("%(name)s was created.", name=party.display_name), "success")
            return redirect(url_for("parties.show", party_id=party.id))
    return _form_page(request.form, errors, None), 422


@blueprint.route("/<int:party_id>/edit", methods=["GET", "POST"])
@login_required
def edit(party_id: int):
    """Change a party's kind, name and tags; a stale form (someone saved first) is refused."""
    session = web.db_session()
    party = _visible_party(party_id)
    if not can(session, current_principal(), "update", party):
        abort(403, description=_("You may see this party but not change it."))
    form = PartyForm(kinds=PARTY_KINDS, roles=_roles(), editing=True)
    if request.method == "GET":
        return _form_page(form.of(party), {}, party)
    errors, data = form.validate(request.form)
    if not errors and data["version"] != party.version:
        errors = {"_form": [_("Someone else changed this party after you opened the form; "
                              "reload it to see their changes.")]}
    if not errors:
        party.kind, party.display_name, party.tags = data["kind"], data["display_name"], data["tags"]
        try:
            session.commit()
        except StaleDataError:
            session.rollback()
            errors = {"_form": [_("Someone else changed this party while you were saving; reload it.")]}
        else:
            flash(_("%(name)s was saved.", name=party.display_name), "success")
            return redirect(url_for("parties.show", party_id=party.id))
    return _form_page(request.form, errors, party), 422
