"""The page ``/contacts/duplicates``: the review queue, each pair side by side with merge and dismiss."""

from __future__ import annotations

import xrm_sdk as xrm
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from marshmallow import ValidationError

from . import dedupe_api
from . import dedupe_queue as queue
from .dedupe_api import side_by_side
from .dedupe_models import DuplicatePair

#: Pairs shown on one page; the best scores first.
PAGE_SIZE = 50

blueprint = Blueprint("contacts_dedupe_pages", __name__, template_folder="templates",
                      url_prefix="/contacts/duplicates")


@blueprint.get("/")
@login_required
def index():
    """The open pairs the user may see, with both parties side by side."""
    session = xrm.db_session()
    queue.require(session, queue.READ)
    pairs = session.scalars(queue.visible_pairs().order_by(DuplicatePair.score.desc(), DuplicatePair.id)
                            .limit(PAGE_SIZE)).all()
    rows = [(pair, side_by_side(session, pair)) for pair in pairs]
    return render_template("contacts/dedupe_queue.html", rows=rows, tenant=xrm.current_tenant())


@blueprint.post("/scan")
@login_required
def scan():
    session = xrm.db_session()
    report = queue.scan(session)
    session.commit()
    flash(_("Scan done: %(found)s new pairs, %(closed)s closed.", found=report.found, closed=report.closed))
    return redirect(url_for(".index"))


@blueprint.post("/<int:pair_id>/merge")
@login_required
def merge(pair_id: int):
    session = xrm.db_session()
    try:
        survivor_id = int(request.form.get("survivor_id", ""))
    except ValueError:
        flash(_("Choose the party to keep."), "error")
        return redirect(url_for(".index"))
    try:
        queue.merge_pair(session, pair_id, survivor_id)
    except ValidationError as exc:
        flash("; ".join(message for messages in exc.messages.values() for message in messages), "error")
        return redirect(url_for(".index"))
    session.commit()
    flash(_("Merged."))
    return redirect(url_for(".index"))


@blueprint.post("/<int:pair_id>/dismiss")
@login_required
def dismiss(pair_id: int):
    session = xrm.db_session()
    queue.dismiss_pair(session, pair_id)
    session.commit()
    flash(_("Marked as not duplicates."))
    return redirect(url_for(".index"))

NAVIGATION = [xrm.NavEntry("contacts.duplicates", label=xrm.lazy_gettext("Duplicates"), url="/contacts/duplicates/", order=52)]
#: The queue's API and pages, for ``xrm_blueprints``.
BLUEPRINTS = [dedupe_api.blueprint, blueprint]
