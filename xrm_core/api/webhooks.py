"""``/api/v1/webhooks``: a tenant's webhook subscriptions, their delivery log, tests, pause and resume.

Tenant administration: each action needs ``core.webhook.<read|create|update|delete>`` granted at
tenant scope (403 otherwise). The signing secret is in the answer to a create or a rotate-secret,
never again. URLs are checked at creation and on change as at delivery (http(s), no credentials,
the SSRF rule), and patterns against the event catalogue; a refusal is a 422 naming the field.
Changing or deleting a subscription needs its ETag in ``If-Match``.
"""

from __future__ import annotations

from flask import request, url_for
from flask.views import MethodView
from marshmallow import ValidationError, fields, validate
from sqlalchemy import select

from .. import web
from ..events.bus import get_bus
from ..events.models import WebhookAttempt, WebhookSubscription
from ..events.webhooks import (
    WebhookRefused,
    create_webhook,
    delete_webhook,
    pause_webhook,
    resume_webhook,
    rotate_secret,
    send_test,
    update_webhook,
)
from ..identity.authentication import current_principal
from ..identity.models import Scope
from ..identity.scoping import PermissionDenied
from .blueprint import ApiBlueprint
from .listing import Listing
from .pagination import cursor_paginate
from .records import get_for_update, get_or_404
from .schemas import RecordSchema, Schema

#: Mounted at ``/api/v1/webhooks`` by the application factory.
blueprint = ApiBlueprint("core_webhooks", __name__,
                         description="Webhook subscriptions: signed HTTP deliveries of the tenant's events.")

#: The permission resource; actions ``read``, ``create``, ``update``, ``delete``.
RESOURCE = "core.webhook"


class WebhookSchema(RecordSchema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000), metadata={
        "description": "http(s) URL the events are POSTed to; private and loopback addresses are refused."})
    pattern = fields.String(required=True, validate=validate.Length(min=1, max=150), metadata={
        "description": "Event types to send, an fnmatch pattern: 'sales.*', '*.party.created', 'core.party.updated'."})
    state = fields.String(dump_only=True, metadata={
        "description": "active, paused (by the tenant: events wait) or disabled (after persistent failure)."})
    failures = fields.Integer(dump_only=True, metadata={"description": "Consecutive failed attempts."})
    disabled_reason = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


class WebhookWithSecretSchema(WebhookSchema):
    secret = fields.String(dump_only=True, metadata={
        "description": "The HMAC-SHA256 signing key. Shown only now: store it."})


class AttemptSchema(Schema):
    id = fields.Integer(dump_only=True)
    event_id = fields.String(dump_only=True)
    attempt = fields.Integer(dump_only=True, metadata={"description": "1 for the first try of this event."})
    at = fields.DateTime(dump_only=True)
    status_code = fields.Integer(dump_only=True, allow_none=True, metadata={
        "description": "The receiver's HTTP status; null when no answer came (see error)."})
    ok = fields.Function(lambda a: a.status_code is not None and 200 <= a.status_code < 300, dump_only=True,
                         metadata={"type": "boolean", "description": "Whether the receiver answered 2xx."})
    error = fields.String(dump_only=True, allow_none=True)
    duration_ms = fields.Integer(dump_only=True)


WEBHOOKS = Listing(WebhookSubscription, WebhookSchema, sortable=("url", "created_at"),
                   filterable={"pattern": ("eq", "contains"), "url": ("eq", "contains")}, default_sort="id")
ATTEMPTS = Listing(WebhookAttempt, AttemptSchema, sortable=("at",),
                   filterable={"status_code": ("eq", "gte", "lt", "isnull"), "event_id": ("eq",)},
                   default_sort="-id", name="core_webhook_attempts")


@blueprint.before_request
def _require_right() -> None:
    """403 before any input is read unless the principal may do this to webhooks, tenant-wide.

    Reading needs ``read``; the collection's POST ``create``; DELETE ``delete``; every other
    change (PATCH, rotate-secret, pause, resume, test) ``update``.
    """
    if request.method in ("GET", "HEAD", "OPTIONS"):
        action = "read"
    elif request.method == "DELETE":
        action = "delete"
    else:
        action = "create" if request.endpoint == f"{blueprint.name}.Webhooks" else "update"
    principal = current_principal()
    granted = principal.scope_for(f"{RESOURCE}.{action}")
    if granted is None or granted.rank < Scope.TENANT.rank:
        raise PermissionDenied(f"{principal.name} may not {action} webhooks (needs {RESOURCE}.{action} "
                               "at tenant scope)")


def _actor() -> str:
    """Who the audit entries name."""
    return current_principal().name


def _refused(exc: WebhookRefused) -> ValidationError:
    return ValidationError({exc.field: [str(exc)]})


@blueprint.route("")
class Webhooks(MethodView):
    @blueprint.list_response(WEBHOOKS)
    def get(self, query):
        """List the tenant's webhook subscriptions."""
        return cursor_paginate(select(WebhookSubscription), query)

    @blueprint.arguments(WebhookSchema)
    @blueprint.record_response(WebhookWithSecretSchema, 201)
    def post(self, data):
        """Subscribe a URL to events; the answer holds the signing secret, shown this once."""
        actor = _actor()
        session = web.db_session()
        try:
            hook = create_webhook(session, data["url"], data["pattern"], get_bus(web.platform()).settings,
                                  actor=actor)
        except WebhookRefused as exc:
            raise _refused(exc) from None
        session.commit()
        return hook, {"Location": url_for(".WebhookItem", webhook_id=hook.id)}


@blueprint.route("/<int:webhook_id>")
class WebhookItem(MethodView):
    @blueprint.record_response(WebhookSchema)
    def get(self, webhook_id):
        """Get a webhook subscription (without its secret)."""
        return get_or_404(WebhookSubscription, webhook_id)

    @blueprint.requires_if_match
    @blueprint.arguments(WebhookSchema(partial=True))
    @blueprint.record_response(WebhookSchema)
    def patch(self, changes, webhook_id):
        """Change the URL and/or the pattern (checked as at creation)."""
        actor = _actor()
        hook = get_for_update(WebhookSubscription, webhook_id)
        try:
            update_webhook(web.db_session(), hook, get_bus(web.platform()).settings, url=changes.get("url"),
                           pattern=changes.get("pattern"), actor=actor)
        except WebhookRefused as exc:
            raise _refused(exc) from None
        web.db_session().commit()
        return hook

    @blueprint.requires_if_match
    @blueprint.response(204)
    def delete(self, webhook_id):
        """Delete the subscription, its delivery log and the deliveries still queued for it."""
        actor = _actor()
        session = web.db_session()
        delete_webhook(session, get_for_update(WebhookSubscription, webhook_id), actor=actor)
        session.commit()


@blueprint.route("/<int:webhook_id>/attempts")
class WebhookAttempts(MethodView):
    @blueprint.list_response(ATTEMPTS)
    def get(self, query, webhook_id):
        """The subscription's delivery log, newest first: response codes, errors, durations."""
        get_or_404(WebhookSubscription, webhook_id)
        return cursor_paginate(select(WebhookAttempt).where(WebhookAttempt.webhook_id == webhook_id), query)


@blueprint.route("/<int:webhook_id>/rotate-secret", methods=["POST"])
@blueprint.record_response(WebhookWithSecretSchema)
def rotate(webhook_id):
    """Replace the signing secret (the old one stops working at once); the answer holds the new one."""
    actor = _actor()
    session = web.db_session()
    hook = get_or_404(WebhookSubscription, webhook_id)
    rotate_secret(session, hook, actor=actor)
    session.commit()
    return hook


@blueprint.route("/<int:webhook_id>/pause", methods=["POST"])
@blueprint.record_response(WebhookSchema)
def pause(webhook_id):
    """Stop sending; events keep queueing for the subscription until it is resumed."""
    actor = _actor()
    session = web.db_session()
    hook = get_or_404(WebhookSubscription, webhook_id)
    pause_webhook(session, hook, actor=actor)
    session.commit()
    return hook


@blueprint.route("/<int:webhook_id>/resume", methods=["POST"])
@blueprint.record_response(WebhookSchema)
def resume(webhook_id):
    """Send again what waited; also re-enables a subscription disabled after failures."""
    actor = _actor()
    session = web.db_session()
    hook = get_or_404(WebhookSubscription, webhook_id)
    resume_webhook(session, hook, actor=actor)
    session.commit()
    get_bus(web.platform()).wake()
    return hook


@blueprint.route("/<int:webhook_id>/test", methods=["POST"])
@blueprint.response(200, AttemptSchema)
def test(webhook_id):
    """POST a signed ``core.webhook.test`` event to the URL now; the answer is the logged attempt."""
    actor = _actor()
    # No request transaction is opened: the call to the receiver must not hold the database.
    return send_test(get_bus(web.platform()), web.require_tenant().id, webhook_id, actor)
