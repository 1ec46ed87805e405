"""Console section: the tenant's failed deliveries (the event bus's dead-letter list), retry and discard.

The same functions as ``xrm events failed|retry|discard`` (:mod:`xrm_core.events.deadletter`), on the
request's tenant-scoped session: an admin sees, retries and discards only their own tenant's dead
letters (another tenant's delivery id answers 404).

No permission of its own exists (the CLI is the operator's); deliveries are the event bus's side
of webhooks and plugin subscribers, so reading the list needs ``core.webhook.read`` and retrying
or discarding needs ``core.webhook.update``, for the whole tenant, like the webhooks API.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ... import web
from ...audit import record
from ...errors import NotFound, XrmError
from ...events import deadletter
from ...events.bus import get_bus
from ...identity.authentication import current_principal
from . import blueprint, requires, section
from .forms import holds, require_tenant_wide

READ, CHANGE = "core.webhook.read", "core.webhook.update"

section("admin.dead_letters", _l("Failed deliveries"),
        _l("Events a webhook or a plugin could not handle after every retry: retry or discard them."), READ)


@blueprint.get("/failed-deliveries")
@requires(READ)
def dead_letters():
    """The tenant's dead letters, oldest failure first: event, subscriber, attempts, last error, when."""
    require_tenant_wide(READ)
    failures = deadletter.failed(web.db_session())
    return render_template("admin/dead_letters.html", failures=failures, may_change=holds(CHANGE))


@blueprint.post("/failed-deliveries/<int:delivery_id>/retry")
@requires(READ)
def dead_letter_retry(delivery_id: int):
    """Queue the delivery again with a fresh count of attempts."""
    require_tenant_wide(CHANGE)
    session = web.db_session()
    try:
        deadletter.retry(session, delivery_id)
    except NotFound:
        abort(404)
    except XrmError as exc:  # someone retried or discarded it meanwhile
        flash(str(exc), "error")
        return redirect(url_for("admin.dead_letters"))
    record(session, current_principal().name, "event_delivery.retried", f"delivery:{delivery_id}")
    session.commit()
    get_bus(web.platform()).wake()
    flash(_("The delivery was queued again."), "success")
    return redirect(url_for("admin.dead_letters"))


@blueprint.post("/failed-deliveries/<int:delivery_id>/discard")
@requires(READ)
def dead_letter_discard(delivery_id: int):
    """Drop the delivery for good (the event stays in the event log)."""
    require_tenant_wide(CHANGE)
    session = web.db_session()
    try:
        deadletter.discard(session, delivery_id)
    except NotFound:
        abort(404)
    except XrmError as exc:  # someone retried or discarded it meanwhile
        flash(str(exc), "error")
        return redirect(url_for("admin.dead_letters"))
    record(session, current_principal().name, "event_delivery.discarded", f"delivery:{delivery_id}")
    session.commit()
    flash(_("The delivery was discarded."), "success")
    return redirect(url_for("admin.dead_letters"))
