"""Console section: the tenant's webhook subscriptions, their recent deliveries, pause and resume.

The pages call :mod:`xrm_core.events.webhooks` as ``/api/v1/webhooks`` does, under the same rule:
each action needs ``core.webhook.<read|create|update|delete>`` for the whole tenant. The signing
secret is shown once, on the page that answers the creation (or a new secret), never again.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from ... import web
from ...events.bus import get_bus
from ...events.models import WebhookAttempt, WebhookSubscription
from ...events.webhooks import (
    WebhookRefused,
    create_webhook,
    delete_webhook,
    pause_webhook,
    resume_webhook,
    rotate_secret,
    update_webhook,
)
from ...identity.authentication import current_principal
from . import blueprint, requires, section
from .forms import WHOLE_FORM, holds, require_tenant_wide, stale

RESOURCE = "core.webhook"
#: Most recent delivery attempts shown on a subscription's page.
RECENT_ATTEMPTS = 20

section("admin.webhooks", _l("Webhooks"),
        _l("Signed HTTP deliveries of this organisation's events to other systems."), f"{RESOURCE}.read")


def _hook_or_404(webhook_id: int) -> WebhookSubscription:
    hook = web.db_session().get(WebhookSubscription, webhook_id)
    if hook is None:
        abort(404)
    return hook


def _settings():
    return get_bus(web.platform()).settings


def _actor() -> str:
    return current_principal().name


def _form_page(values, errors: dict[str, list[str]], hook=None, status: int = 200):
    attempts = []
    if hook is not None:
        attempts = web.db_session().scalars(
            select(WebhookAttempt).where(WebhookAttempt.webhook_id == hook.id)
            .order_by(WebhookAttempt.id.desc()).limit(RECENT_ATTEMPTS)).all()
    return render_template("admin/webhook.html", form=values, errors=errors, hook=hook, attempts=attempts,
                           may_update=holds(f"{RESOURCE}.update"), may_delete=holds(f"{RESOURCE}.delete")), status


def _secret_page(hook: WebhookSubscription, secret: str, status: int = 200):
    return render_template("admin/webhook_secret.html", hook=hook, secret=secret), status


@blueprint.get("/webhooks")
@requires(f"{RESOURCE}.read")
def webhooks():
    """The subscriptions: URL, pattern, state and consecutive failures."""
    require_tenant_wide(f"{RESOURCE}.read")
    hooks = web.db_session().scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)).all()
    return render_template("admin/webhooks.html", hooks=hooks, may_create=holds(f"{RESOURCE}.create"))


@blueprint.route("/webhooks/new", methods=["GET", "POST"])
@requires(f"{RESOURCE}.read")
def webhook_create():
    """Subscribe a URL to events; the answer shows the signing secret, this once."""
    require_tenant_wide(f"{RESOURCE}.create")
    if request.method == "GET":
        return _form_page({"url": "", "pattern": ""}, {})
    session = web.db_session()
    try:
        hook = create_webhook(session, request.form.get("url", "").strip(), request.form.get("pattern", ""),
                              _settings(), actor=_actor())
        secret = hook.secret
        session.commit()
    except WebhookRefused as exc:
        session.rollback()
        return _form_page(request.form, {exc.field: [str(exc)]}, status=422)
    return _secret_page(hook, secret, 201)


@blueprint.route("/webhooks/<int:webhook_id>", methods=["GET", "POST"])
@requires(f"{RESOURCE}.read")
def webhook(webhook_id: int):
    """A subscription's settings (changed here: URL, pattern) and its most recent deliveries."""
    require_tenant_wide(f"{RESOURCE}.read")
    session = web.db_session()
    hook = _hook_or_404(webhook_id)
    if request.method == "GET":
        return _form_page({"url": hook.url, "pattern": hook.pattern, "version": hook.version}, {}, hook)
    require_tenant_wide(f"{RESOURCE}.update")
    errors = stale(hook, request.form)
    if not errors:
        try:
            update_webhook(session, hook, _settings(), url=request.form.get("url", "").strip(),
                           pattern=request.form.get("pattern", ""), actor=_actor())
            session.commit()
        except WebhookRefused as exc:
            errors = {exc.field: [str(exc)]}
        except StaleDataError:
            errors = {WHOLE_FORM: [_("Someone else changed this webhook while you were saving; nothing was saved. "
                                     "Reload the page.")]}
        else:
            flash(_("The webhook was saved."), "success")
            return redirect(url_for("admin.webhook", webhook_id=webhook_id))
        session.rollback()
    return _form_page(request.form, errors, _hook_or_404(webhook_id), 422)


def _change(webhook_id: int, action: str):
    """The subscription, locked and at the version the page showed, for a button's action; else a message."""
    require_tenant_wide(f"{RESOURCE}.{action}")
    hook = web.db_session().get(WebhookSubscription, webhook_id, with_for_update={"of": WebhookSubscription})
    if hook is None:
        abort(404)
    errors = stale(hook, request.form)
    if errors:
        flash(errors[WHOLE_FORM][0], "error")
        return None
    return hook


@blueprint.post("/webhooks/<int:webhook_id>/pause")
@requires(f"{RESOURCE}.read")
def webhook_pause(webhook_id: int):
    """Stop sending (disable); events keep waiting for the subscription until it is resumed."""
    hook = _change(webhook_id, "update")
    if hook is not None:
        pause_webhook(web.db_session(), hook, actor=_actor())
        web.db_session().commit()
        flash(_("The webhook is paused: its events wait until you resume it."), "success")
    return redirect(url_for("admin.webhook", webhook_id=webhook_id))


@blueprint.post("/webhooks/<int:webhook_id>/resume")
@requires(f"{RESOURCE}.read")
def webhook_resume(webhook_id: int):
    """Send again what waited; also re-enables a subscription disabled after failures."""
    hook = _change(webhook_id, "update")
    if hook is not None:
        resume_webhook(web.db_session(), hook, actor=_actor())
        web.db_session().commit()
        get_bus(web.platform()).wake()
        flash(_("The webhook is active again."), "success")
    return redirect(url_for("admin.webhook", webhook_id=webhook_id))


@blueprint.post("/webhooks/<int:webhook_id>/rotate-secret")
@requires(f"{RESOURCE}.read")
def webhook_rotate_secret(webhook_id: int):
    """Replace the signing secret (the old one stops at once) and show the new one, this once."""
    hook = _change(webhook_id, "update")
    if hook is None:
        return redirect(url_for("admin.webhook", webhook_id=webhook_id))
    secret = rotate_secret(web.db_session(), hook, actor=_actor())
    web.db_session().commit()
    return _secret_page(hook, secret)


@blueprint.post("/webhooks/<int:webhook_id>/delete")
@requires(f"{RESOURCE}.read")
def webhook_delete(webhook_id: int):
    """Delete the subscription, its delivery log and the deliveries still queued for it."""
    hook = _change(webhook_id, "delete")
    if hook is None:
        return redirect(url_for("admin.webhook", webhook_id=webhook_id))
    delete_webhook(web.db_session(), hook, actor=_actor())
    web.db_session().commit()
    flash(_("The webhook was deleted."), "success")
    return redirect(url_for("admin.webhooks"))
