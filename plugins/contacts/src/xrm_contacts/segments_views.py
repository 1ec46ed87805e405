"""The pages ``/contacts/segments``: the segments, an editor with a live count (htmx), members and export."""

from __future__ import annotations

import json

import xrm_sdk as xrm
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from marshmallow import ValidationError
from sqlalchemy import select

from . import segments_api
from . import segments_service as service
from .segments import compile_definition, count, members_select, membership
from .segments_export import FORMATS, export
from .segments_models import DYNAMIC, SEGMENT_KINDS, Segment

#: Members listed on a segment's page; the export has them all.
MEMBERS_SHOWN = 100
EXAMPLE = {"all": [{"field": "kind", "op": "eq", "value": "person"}, {"role": "customer"}]}

blueprint = Blueprint("contacts_segments_pages", __name__, template_folder="templates",
                      url_prefix="/contacts/segments")


def _errors(exc: ValidationError) -> list[str]:
    messages = exc.messages if isinstance(exc.messages, dict) else {"definition": exc.messages}
    return [f"{path}: {message}" for path, items in messages.items() for message in items]


def _definition(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError({"definition": [f"Not valid JSON: {exc.msg} (line {exc.lineno})."]}) from None


@blueprint.get("/")
@login_required
def index():
    """The segments the user may see, and the editor for a new one."""
    session = xrm.db_session()
    segments = session.scalars(select(Segment).order_by(Segment.name)).all()
    return render_template("contacts/segments_index.html", segments=segments, kinds=SEGMENT_KINDS,
                           example=json.dumps(EXAMPLE, indent=2), tenant=xrm.current_tenant())


@blueprint.post("/count")
@login_required
def live_count():
    """The editor's live count (an htmx fragment): how many parties match, or what is wrong."""
    session = xrm.db_session()
    try:
        matched = count(session, compile_definition(session, _definition(request.form.get("definition", ""))))
    except ValidationError as exc:
        return render_template("contacts/segments_count.html", errors=_errors(exc))
    return render_template("contacts/segments_count.html", count=matched)


@blueprint.post("/")
@login_required
def create():
    session = xrm.db_session()
    kind = request.form.get("kind", DYNAMIC)
    try:
        definition = _definition(request.form.get("definition", "")) if kind == DYNAMIC else None
        segment = service.create_segment(session, request.form.get("name", "").strip(), kind, definition,
                                         request.form.get("description", ""))
    except ValidationError as exc:
        for message in _errors(exc):
            flash(message, "error")
        return redirect(url_for(".index"))
    session.commit()
    flash(_("Segment created."))
    return redirect(url_for(".show", segment_id=segment.id))


@blueprint.get("/<int:segment_id>")
@login_required
def show(segment_id: int):
    session = xrm.db_session()
    segment = session.get(Segment, segment_id) or abort(404)
    condition = membership(session, segment)
    members = session.scalars(members_select(condition).limit(MEMBERS_SHOWN)).all()
    return render_template("contacts/segments_show.html", segment=segment, members=members,
                           total=count(session, condition), formats=FORMATS,
                           definition=json.dumps(segment.definition, indent=2) if segment.definition else "")


@blueprint.get("/<int:segment_id>/export.<fmt>")
@login_required
def download(segment_id: int, fmt: str):
    session = xrm.db_session()
    segment = session.get(Segment, segment_id) or abort(404)
    if fmt not in FORMATS:
        abort(404)
    principal = xrm.principal_of(session)
    if principal.scope_for("contacts.segment.export") is None:
        raise xrm.PermissionDenied(f"{principal.name} does not hold contacts.segment.export")
    return Response(export(session, segment, fmt), mimetype=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="segment-{segment.id}.{fmt}"'})

NAVIGATION = [xrm.NavEntry("contacts.segments", label=xrm.lazy_gettext("Segments"), url="/contacts/segments/", order=51)]
#: The segments' API and pages, for ``xrm_blueprints``.
BLUEPRINTS = [segments_api.blueprint, blueprint]
