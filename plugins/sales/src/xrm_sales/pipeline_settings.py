"""The pipelines' settings pages under ``/sales/settings/pipelines``: add and change pipelines and their stages.

Sales administrators (``sales.pipeline.create``) set each stage's order, probability, the fields
an opportunity needs to enter it and whether it wins or loses the deal. The pages call the same
services as the API (:func:`~xrm_sales.opportunities.create_pipeline`,
:func:`~xrm_sales.opportunities.update_pipeline`), so the same rules hold; their refusals are shown
next to the field they name and nothing is saved. The form carries the pipeline's version: a form
opened before someone else's change is refused rather than overwriting it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import xrm_sdk as xrm
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from . import opportunities
from .permissions import require
from .pipeline import OUTCOMES, REQUIRABLE_FIELDS, Pipeline

blueprint = Blueprint("sales_settings", __name__, template_folder="templates", url_prefix="/sales/settings")

#: Key of the messages shown above the form rather than next to a field.
WHOLE_FORM = "_form"
#: Empty stage rows offered below the pipeline's stages, to add stages.
BLANK_ROWS = 2
_STAGE_FIELD = re.compile(r"stage-(\d+)-name")
_SERVICE_KEY = re.compile(r"stages\.(\d+)\.(\w+)")
#: The configuration permission (the API's as well).
CONFIGURE = "sales.pipeline.create"


@blueprint.get("/pipelines")
def pipelines():
    """The tenant's pipelines and their stages, with links to change them."""
    session = xrm.db_session()
    require(session, CONFIGURE)
    found = session.scalars(select(Pipeline).order_by(Pipeline.name)).all()
    return render_template("sales/pipeline_settings.html", pipelines=found)


@blueprint.route("/pipelines/new", methods=["GET", "POST"])
def new_pipeline():
    """Add a pipeline with its stages."""
    session = xrm.db_session()
    require(session, CONFIGURE)
    if request.method == "GET":
        return _page(None, {"name": "", "is_default": False, "version": ""}, _blank_rows(0), {})
    form, rows, errors = _read_form(request.form)
    if not errors:
        try:
            pipeline = opportunities.create_pipeline(session, form["name"], _stages(rows),
                                                     is_default=form["is_default"])
            session.commit()
            flash(_("Pipeline %(name)s added.", name=pipeline.name), "success")
            return redirect(url_for(".pipelines"))
        except (xrm.ValidationError, xrm.Conflict) as exc:
            session.rollback()
            errors = _errors_of(exc, rows)
    return _page(None, form, rows, errors), 422


@blueprint.route("/pipelines/<int:pipeline_id>", methods=["GET", "POST"])
def edit_pipeline(pipeline_id: int):
    """Change a pipeline's name, default flag and stages (refused when the form is stale)."""
    session = xrm.db_session()
    require(session, CONFIGURE)
    pipeline = session.get(Pipeline, pipeline_id) or abort(404)
    if request.method == "GET":
        rows = [_row_of(stage) for stage in pipeline.stages]
        form = {"name": pipeline.name, "is_default": pipeline.is_default, "version": str(pipeline.version)}
        return _page(pipeline, form, rows + _blank_rows(len(rows)), {})
    form, rows, errors = _read_form(request.form)
    stale = _stale(pipeline, form)
    if stale:
        return _page(pipeline, form, rows, stale), 409
    if not errors:
        try:
            opportunities.update_pipeline(session, pipeline, form["name"], _stages(rows), is_default=form["is_default"])
            session.commit()
            flash(_("Pipeline %(name)s saved.", name=pipeline.name), "success")
            return redirect(url_for(".pipelines"))
        except (xrm.ValidationError, xrm.Conflict) as exc:
            session.rollback()
            errors = _errors_of(exc, rows)
        except StaleDataError:  # saved by someone else between the version check and this commit
            session.rollback()
            return _page(pipeline, form, rows, {WHOLE_FORM: [_(
                "Someone else changed this pipeline while you were saving; nothing was saved. "
                "Reload the page to see their changes.")]}), 409
    return _page(pipeline, form, rows, errors), 422


def _page(pipeline: Pipeline | None, form: Mapping[str, Any], rows: list[dict[str, Any]], errors: dict):
    return render_template("sales/pipeline_form.html", pipeline=pipeline, form=form, rows=rows, errors=errors,
                           requirable=REQUIRABLE_FIELDS, outcomes=OUTCOMES)


def _row_of(stage) -> dict[str, Any]:
    return {"row": stage.position, "id": str(stage.id), "name": stage.name, "position": str(stage.position + 1),
            "probability": f"{stage.probability.normalize():f}", "required_fields": list(stage.required_fields),
            "outcome": stage.outcome or "", "remove": False}


def _blank_rows(first: int) -> list[dict[str, Any]]:
    return [{"row": first + n, "id": "", "name": "", "position": "", "probability": "", "required_fields": [],
             "outcome": "", "remove": False} for n in range(BLANK_ROWS)]


def _read_form(posted) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, list[str]]]:
    """The form's pipeline fields, its stage rows (as typed, in row order) and the errors of parsing them."""
    form = {"name": posted.get("name", "").strip(), "is_default": posted.get("is_default") == "on",
            "version": posted.get("version", "")}
    errors: dict[str, list[str]] = {}
    if not form["name"]:
        errors["name"] = [_("Give the pipeline a name.")]
    numbers = sorted(int(match.group(1)) for key in posted if (match := _STAGE_FIELD.fullmatch(key)))
    rows = []
    for row in numbers:
        value = {"row": row, "id": posted.get(f"stage-{row}-id", ""), "name": posted.get(f"stage-{row}-name", "").strip(),
                 "position": posted.get(f"stage-{row}-position", "").strip(),
                 "probability": posted.get(f"stage-{row}-probability", "").strip(),
                 "required_fields": posted.getlist(f"stage-{row}-required"),
                 "outcome": posted.get(f"stage-{row}-outcome", ""), "remove": posted.get(f"stage-{row}-remove") == "on"}
        if value["id"] and not value["id"].isdigit():
            errors[WHOLE_FORM] = [_("The form is incomplete; reload the page and try again.")]
        if value["position"] and not value["position"].isdigit():
            errors[f"stage-{row}-position"] = [_("A whole number (1 is the first stage).")]
        if value["outcome"] not in ("", *OUTCOMES):
            errors[f"stage-{row}-outcome"] = [_("Choose won, lost or nothing.")]
        rows.append(value)
    return form, rows, errors


def _kept(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows that are stages, in the order their numbers give (ties keep the rows' order)."""
    wanted = [row for row in rows if not row["remove"] and (row["id"] or row["name"])]
    return sorted(wanted, key=lambda row: (int(row["position"]) if row["position"] else len(rows) + 1, row["row"]))


def _stages(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stages the services take, from the kept rows in order."""
    return [{"id": int(row["id"]) if row["id"] else None, "name": row["name"], "probability": row["probability"],
             "required_fields": row["required_fields"], "outcome": row["outcome"] or None} for row in _kept(rows)]


def _errors_of(exc: Exception, rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """A service's refusal by form field: ``stages.2.probability`` is the third kept row's probability."""
    if isinstance(exc, xrm.Conflict):
        return {"name": [str(exc)]}
    kept = _kept(rows)
    messages = exc.messages if isinstance(exc.messages, Mapping) else {WHOLE_FORM: exc.messages}
    errors: dict[str, list[str]] = {}
    for key, found in messages.items():
        texts = [str(text) for text in (found if isinstance(found, list) else [found])]
        match = _SERVICE_KEY.fullmatch(key)
        if match and int(match.group(1)) < len(kept):
            field = {"required_fields": "required", "id": "name"}.get(match.group(2), match.group(2))
            key = f"stage-{kept[int(match.group(1))]['row']}-{field}"
        elif key not in ("name", "stages"):
            key = WHOLE_FORM
        errors.setdefault(key, []).extend(texts)
    return errors


def _stale(pipeline: Pipeline, form: Mapping[str, Any]) -> dict[str, list[str]]:
    """An error for the whole form when the pipeline is no longer at the version the form was opened on."""
    version = form["version"]
    if not version.isdigit():
        return {WHOLE_FORM: [_("The form is incomplete; reload the page and try again.")]}
    if int(version) != pipeline.version:
        return {WHOLE_FORM: [_("Someone else changed this pipeline after you opened the form; nothing was saved. "
                               "Reload the page to see their changes.")]}
    return {}
