"""The party pages: the list (filters, columns, sort, keyset pages, export), a party's page, and its forms.

Every read goes through the request's session, which only returns what the signed-in user may
read: a party outside their tenant or reach answers 404 like one that does not exist.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import marshmallow as ma
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup
from sqlalchemy import or_, select
from sqlalchemy.orm.exc import StaleDataError

from .. import web
from ..api.graph import relationship_payload
from ..api.pagination import cursor_paginate
from ..customfields.models import CustomFieldDefinition
from ..customfields.service import definitions
from ..errors import Conflict, NotFound
from ..events import publish
from ..graph import GraphRuleError
from ..graph.history import TimelineEntry
from ..graph.models import Party, PartyRoleAssignment, Relationship
from ..graph.party360 import PanelFailed, read_party360, render_panel
from ..graph.service import (
    PARTY_KINDS,
    RoleCatalogue,
    add_role,
    create_party,
    end_relationship,
    end_role,
    relate,
)
from ..graph.timeline import readable_entries, timeline_statement
from ..identity.authentication import current_principal
from ..identity.fieldsecurity import unreadable_fields
from ..identity.models import Department
from ..identity.scoping import can
from ..models import User
from . import export, graph_view
from .forms import PartyForm
from .listing import BUILTIN_COLUMNS, SORTS, parse_view
from .party_graph_forms import LinkChoice, link_choices, validate_end, validate_link, validate_role
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
    """A party's 360: roles and key facts, relationships, plugin panels (loaded lazily), timeline.

    ``link_q`` searches the parties to link this one to (the search without JavaScript).
    """
    return _show_page(party_id)


def _show_page(party_id: int, forms: dict[str, Any] | None = None) -> str:
    """The party page; ``forms`` holds a submitted form (its name -> values and errors) to show again."""
    session = web.db_session()
    try:
        view = read_party360(session, web.platform(), web.require_tenant(), party_id)
    except NotFound:
        abort(404, description=_("There is no party #%(id)s that you may see.", id=party_id))
    party = view.party
    relationships = [(link.label, link.party, link) for link in view.relationships]
    owner = session.scalar(select(User.display_name).where(User.id == party.owner_user_id)) \
        if party.owner_user_id else None
    department = session.scalar(select(Department.name).where(Department.id == party.department_id)) \
        if party.department_id else None
    timeline = readable_entries(session, session.scalars(
        timeline_statement(party.id).order_by(TimelineEntry.occurred_at.desc(), TimelineEntry.id.desc())
        .limit(TIMELINE_LENGTH)
    ))
    principal = current_principal()
    forms = forms or {}
    link_values = forms.get("link", {}).get("values", {})
    choices = link_choices(graph_view.relationship_types(), party)
    link_query = request.args.get("link_q", "").strip()
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
        may_edit=can(session, principal, "update", party),
        may_link=can(session, principal, "link", party),
        link_choices=choices,
        link_query=link_query,
        link_candidates=_link_candidates(party, link_query, choices, chosen=link_values.get("other_party_id", "")),
        forms=forms,
        today=date.today(),
        graph=graph_view.page_context(party.id, request.args),
    )


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
            # the events the API publishes for the same writes (timelines, webhooks, workflows)
            publish(session, "core.party.created", party, {"kind": party.kind, "display_name": party.display_name,
                                                           "custom": party.custom}, current_principal().name)
            if data["role"]:
                _published_role(party, add_role(session, party, data["role"], catalogue=_roles()),
                                "core.role.assigned")
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
        changed = sorted(name for name in ("kind", "display_name", "tags") if getattr(party, name) != data[name])
        party.kind, party.display_name, party.tags = data["kind"], data["display_name"], data["tags"]
        try:
            if changed:
                session.flush()  # the write guard checks the change before the event says it happened
                publish(session, "core.party.updated", party, {"changed": changed}, current_principal().name)
            session.commit()
        except StaleDataError:
            session.rollback()
            errors = {"_form": [_("Someone else changed this party while you were saving; reload it.")]}
        else:
            flash(_("%(name)s was saved.", name=party.display_name), "success")
            return redirect(url_for("parties.show", party_id=party.id))
    return _form_page(request.form, errors, party), 422


# -- the party's relationships and roles --------------------------------------------------------------

#: Parties the link form's search suggests at most.
LINK_CANDIDATES = 10


def _link_candidates(party: Party, query: str, choices: list[LinkChoice], *, type_value: str = "",
                     chosen: str = "") -> list[Party]:
    """Parties the user may read whose name contains ``query``, to link ``party`` to.

    Only kinds the chosen relationship type admits at the other end, when one is chosen; the party
    already ``chosen`` (a form shown again) comes first.
    """
    session = web.db_session()
    found: list[Party] = []
    if chosen.isdigit() and int(chosen) != party.id and (picked := session.get(Party, int(chosen))) is not None:
        found.append(picked)
    if not query:
        return found
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    statement = select(Party).where(Party.id != party.id, Party.display_name.ilike(f"%{escaped}%", escape="\\"))
    choice = next((choice for choice in choices if choice.value == type_value), None)
    if choice is not None and choice.other_kinds:
        statement = statement.where(Party.kind.in_(choice.other_kinds))
    for match in session.scalars(statement.order_by(Party.display_name, Party.id).limit(LINK_CANDIDATES)):
        if match not in found:
            found.append(match)
    return found


@blueprint.get("/<int:party_id>/link-candidates")
@login_required
def link_candidates(party_id: int):
    """The link form's suggestions for the name typed in its search field (an htmx fragment)."""
    party = _visible_party(party_id)
    choices = link_choices(graph_view.relationship_types(), party)
    query = request.args.get("link_q", "").strip()
    return render_template("parties/_link_candidates.html", party=party, link_query=query,
                           link_candidates=_link_candidates(party, query, choices,
                                                            type_value=request.args.get("type", "")),
                           chosen="")


def _require(action: str, party: Party, message: str) -> None:
    """The user sees ``party``; a 403 unless they may also ``action`` it."""
    if not can(web.db_session(), current_principal(), action, party):
        abort(403, description=message)


def _refused(party_id: int, form: str, errors: dict[str, list[str]], status: int = 422, **extra: Any):
    """The party page again, with the submitted ``form`` and its errors; nothing was saved."""
    web.db_session().rollback()
    return _show_page(party_id, {form: {"values": request.form, "errors": errors, **extra}}), status


def _link_error_field(message: str, party_is_from: bool) -> str:
    """The link form's field a graph rule's message is about: the type for this party's end, the
    other party for the other end, the end date for the period."""
    if "unknown relationship type" in message:
        return "type"
    if "related to itself" in message:
        return "other_party_id"
    for end in ("from", "to"):
        if f"its {end} end" in message or f"the {end} end" in message:
            return "type" if (end == "from") == party_is_from else "other_party_id"
    return "valid_to"


@blueprint.post("/<int:party_id>/relationships")
@login_required
def link(party_id: int):
    """Link the party to another one (``core.party.link`` on both, like the API).

    The other party must be one the user may read (else: not found); a relationship the type's end
    rules refuse is shown next to the field concerned, and nothing is saved.
    """
    session = web.db_session()
    party = _visible_party(party_id)
    _require("link", party, _("You may see this party but not link it to others."))
    errors, data = validate_link(request.form, link_choices(graph_view.relationship_types(), party))
    if errors:
        return _refused(party_id, "link", errors)
    other = session.get(Party, data["other_party_id"])
    if other is None:
        return _refused(party_id, "link", {"other_party_id": [
            _("There is no party #%(id)s that you may see.", id=data["other_party_id"])]}, 404)
    _require("link", other, _("You may see %(name)s but not link it to others.", name=other.display_name))
    choice = data["choice"]
    ends = (party, other) if choice.outgoing else (other, party)
    try:
        relationship = relate(session, *ends, choice.type.code, data["valid_from"], data["valid_to"],
                              notes=data["notes"])
    except GraphRuleError as exc:
        return _refused(party_id, "link", {_link_error_field(str(exc), choice.outgoing): [str(exc)]})
    publish(session, "core.relationship.created", relationship, relationship_payload(relationship),
            current_principal().name, related=[relationship.from_party_id, relationship.to_party_id])
    session.commit()
    flash(_("%(name)s %(relation)s %(other)s.", name=party.display_name, relation=choice.label,
            other=other.display_name), "success")
    return redirect(url_for("parties.show", party_id=party_id, _anchor="relationships-heading"))


@blueprint.post("/<int:party_id>/relationships/<int:relationship_id>/end")
@login_required
def end_link(party_id: int, relationship_id: int):
    """End one of the party's relationships on a day, its last (``core.party.link`` on both ends).

    The form carries the relationship's version: if someone changed it since, nothing is changed.
    """
    session = web.db_session()
    party = _visible_party(party_id)
    # Locked like the API locks it (only its own row: PostgreSQL refuses to lock the joined type).
    relationship = session.scalar(select(Relationship).where(
        Relationship.id == relationship_id,
        or_(Relationship.from_party_id == party.id, Relationship.to_party_id == party.id),
    ).with_for_update(of=Relationship))
    other_id = None if relationship is None else (
        relationship.to_party_id if relationship.from_party_id == party.id else relationship.from_party_id)
    other = None if other_id is None else session.get(Party, other_id)
    if other is None:
        abort(404, description=_("%(name)s has no relationship #%(id)s that you may see.",
                                 name=party.display_name, id=relationship_id))
    _require("link", party, _("You may see this party but not change its relationships."))
    _require("link", other, _("You may see %(name)s but not change its relationships.", name=other.display_name))
    errors, data = validate_end(request.form, versioned=True)
    if not errors and data["version"] != relationship.version:
        errors = {"_form": [_("Someone else changed this relationship after you opened the page; "
                              "reload it to see their changes.")]}
    if not errors:
        try:
            end_relationship(session, relationship, data["on"])
        except GraphRuleError as exc:
            errors = {"on": [str(exc)]}
        except StaleDataError:
            errors = {"_form": [_("Someone else changed this relationship while you were saving; reload the page.")]}
    if errors:
        return _refused(party_id, "end", errors, target=f"relationship:{relationship_id}")
    publish(session, "core.relationship.ended", relationship, relationship_payload(relationship),
            current_principal().name, related=[relationship.from_party_id, relationship.to_party_id])
    session.commit()
    flash(_("The relationship with %(other)s ends on %(day)s.", other=other.display_name,
            day=format_date(data["on"], "long")), "success")
    return redirect(url_for("parties.show", party_id=party_id, _anchor="relationships-heading"))


@blueprint.post("/<int:party_id>/roles")
@login_required
def add_party_role(party_id: int):
    """Give the party a role over a period (``core.party.update`` on it, like the API)."""
    session = web.db_session()
    party = _visible_party(party_id)
    _require("update", party, _("You may see this party but not change it."))
    catalogue = _roles()
    errors, data = validate_role(request.form, catalogue)
    if errors:
        return _refused(party_id, "role", errors)
    try:
        assignment = add_role(session, party, data["role"], data["valid_from"], data["valid_to"], catalogue=catalogue)
    except (GraphRuleError, Conflict) as exc:
        return _refused(party_id, "role", {"role": [str(exc)]})
    _published_role(party, assignment, "core.role.assigned")
    session.commit()
    flash(_("%(name)s is now %(role)s.", name=party.display_name, role=_(catalogue.roles[data["role"]].label)),
          "success")
    return redirect(url_for("parties.show", party_id=party_id, _anchor="roles-heading"))


@blueprint.post("/<int:party_id>/roles/<int:role_id>/end")
@login_required
def end_party_role(party_id: int, role_id: int):
    """End one of the party's roles on a day, its last (``core.party.update`` on it, like the API)."""
    session = web.db_session()
    party = _visible_party(party_id)
    assignment = next((held for held in party.roles if held.id == role_id), None)
    if assignment is None:
        abort(404, description=_("%(name)s has no role #%(id)s.", name=party.display_name, id=role_id))
    _require("update", party, _("You may see this party but not change it."))
    errors, data = validate_end(request.form, versioned=False)
    if not errors:
        try:
            end_role(session, assignment, data["on"])
        except GraphRuleError as exc:
            errors = {"on": [str(exc)]}
    if errors:
        return _refused(party_id, "end", errors, target=f"role:{role_id}")
    _published_role(party, assignment, "core.role.ended")
    session.commit()
    flash(_("The role ends on %(day)s.", day=format_date(data["on"], "long")), "success")
    return redirect(url_for("parties.show", party_id=party_id, _anchor="roles-heading"))


def _published_role(party: Party, assignment: PartyRoleAssignment, event_type: str) -> None:
    """The event the API publishes for the same change, with the same payload."""
    payload = {"party_id": party.id, "role": assignment.role, "valid_to": _iso(assignment.valid_to)}
    if event_type == "core.role.assigned":
        payload["valid_from"] = _iso(assignment.valid_from)
    publish(web.db_session(), event_type, assignment, payload, current_principal().name, related=[party.id])


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
