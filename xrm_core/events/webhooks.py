"""Webhooks: tenants subscribe URLs to event patterns; deliveries are signed, retried and logged.

Each delivery is one ``POST`` of the event's JSON envelope (:meth:`Event.to_dict`) with headers:

``X-XRM-Event``, ``X-XRM-Event-Id``
    the event type and id (receivers drop duplicates by id: delivery is at least once);
``X-XRM-Timestamp``
    Unix seconds when the request was signed (receivers refuse old ones against replays);
``X-XRM-Signature``
    ``sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>.<body>"`` with the subscription's secret
    (:func:`verify_signature` is the reference check).

A 2xx answer is a success; anything else, a timeout or a connection error is a failed attempt,
logged with its response code or error, and retried with backoff like any delivery. After
``XRM_WEBHOOKS_DISABLE_AFTER`` consecutive failed attempts the subscription is disabled, with an
audit entry, and its pending deliveries are dead-lettered.

Server-side request forgery: a tenant must not make the server call into its own network. The
host name is resolved once, every address must be public (loopback, private, link-local, shared,
multicast and reserved ranges are refused), and the connection goes to the address that was
checked — a DNS answer cannot change between the check and the request. Redirects are not
followed. ``XRM_WEBHOOKS_ALLOW_PRIVATE=1`` lifts the address rule for operators (and tests).

The request is sent outside any database transaction: the delivery is leased while it is in flight.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import time
import uuid
from datetime import timedelta
from fnmatch import fnmatchcase
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import __version__
from ..audit import record
from ..db import Model, utcnow
from ..errors import NotFound, XrmError
from ..identity.fieldsecurity import redact_payload
from .catalogue import EVENT_TYPE_NAME, Catalogue
from .delivery import describe, event_of, record_failure
from .envelope import Event, Subject
from .models import DEAD, PENDING, Delivery, ProcessedEvent, WebhookAttempt, WebhookSubscription
from .settings import EventSettings

if TYPE_CHECKING:
    from .bus import EventBus

log = logging.getLogger("xrm.events.webhooks")

SIGNATURE_HEADER = "X-XRM-Signature"
TIMESTAMP_HEADER = "X-XRM-Timestamp"
EVENT_HEADER = "X-XRM-Event"
EVENT_ID_HEADER = "X-XRM-Event-Id"
#: Receivers should refuse signatures older than this many seconds.
DEFAULT_TOLERANCE_S = 300
#: Seconds before a delivery held by a paused subscription is looked at again (a safety net:
#: resuming makes its deliveries due at once).
PAUSED_RECHECK_S = 300
#: The type of the event "send test event" posts (it is not published: no other subscriber sees it).
TEST_EVENT = "core.webhook.test"

_D = Delivery.__table__


class WebhookRefused(XrmError):
    """The webhook target may not be called (bad URL, or an address the SSRF rule refuses)."""

    def __init__(self, message: str, field: str = "url"):
        super().__init__(message)
        #: The input at fault (``url`` or ``pattern``), for API errors naming it.
        self.field = field


# -- subscriptions ------------------------------------------------------------------------------

_PATTERN_CHARACTERS = set("abcdefghijklmnopqrstuvwxyz0123456789_*?[]!")


def check_pattern(pattern: str, catalogue: Catalogue | None = None) -> str:
    """``pattern`` if it is a valid event-type pattern matching at least one type of ``catalogue``.

    :raises WebhookRefused: (``field == "pattern"``) malformed, or it matches no declared type.
    """
    pattern = (pattern or "").strip()
    if not pattern or len(pattern) > 150 or not all(part and set(part) <= _PATTERN_CHARACTERS
                                                    for part in pattern.split(".")):
        raise WebhookRefused(f"event pattern {pattern!r} is invalid (e.g. 'sales.*' or '*.party.created')",
                             field="pattern")
    if catalogue is not None and not any(fnmatchcase(t.name, pattern) for t in catalogue):
        raise WebhookRefused(f"event pattern {pattern!r} matches no declared event type", field="pattern")
    return pattern


def _catalogue(session: Session) -> Catalogue | None:
    from .bus import bus_for_session

    try:
        return bus_for_session(session).catalogue
    except XrmError:  # no bus for this database yet: the syntax check alone
        return None


def create_webhook(session: Session, url: str, pattern: str, settings: EventSettings,
                   secret: str | None = None, actor: str = "cli") -> WebhookSubscription:
    """Subscribe ``url`` to the events matching ``pattern`` in the session's tenant.

    The target is checked now (and again at each delivery, as DNS may change); the pattern must
    match a declared event type. The secret is generated unless given: show it to the tenant once.
    :raises WebhookRefused: the URL is not http(s), its host resolves to a refused address, or the
        pattern is invalid (``exc.field`` says which).
    """
    pattern = check_pattern(pattern, _catalogue(session))
    resolve_target(url, settings)
    hook = WebhookSubscription(url=url, pattern=pattern, secret=secret or new_secret(),
                               active=True, paused=False, failures=0)
    session.add(hook)
    session.flush()
    record(session, actor, "webhook.created", url, webhook_id=hook.id, pattern=pattern)
    return hook


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def update_webhook(session: Session, hook: WebhookSubscription, settings: EventSettings, *,
                   url: str | None = None, pattern: str | None = None, actor: str = "cli") -> WebhookSubscription:
    """Change the target and/or the pattern, checked as at creation; events already queued keep going."""
    changed: dict[str, str] = {}
    if pattern is not None and pattern != hook.pattern:
        changed["pattern"] = hook.pattern = check_pattern(pattern, _catalogue(session))
    if url is not None and url != hook.url:
        resolve_target(url, settings)
        changed["url"] = hook.url = url
    if changed:
        session.flush()
        record(session, actor, "webhook.updated", hook.url[:200], webhook_id=hook.id, **changed)
    return hook


def delete_webhook(session: Session, hook: WebhookSubscription, actor: str = "cli") -> None:
    """Remove the subscription, its delivery log and its queued or dead-lettered deliveries."""
    session.execute(delete(_D).where(_D.c.subscriber == subscriber_name(hook.id)))
    session.execute(delete(WebhookAttempt.__table__).where(WebhookAttempt.__table__.c.webhook_id == hook.id))
    record(session, actor, "webhook.deleted", hook.url[:200], webhook_id=hook.id, pattern=hook.pattern)
    session.delete(hook)
    session.flush()


def rotate_secret(session: Session, hook: WebhookSubscription, actor: str = "cli") -> str:
    """Give the subscription a new secret and return it (shown once); the old one stops at once."""
    hook.secret = new_secret()
    session.flush()
    record(session, actor, "webhook.secret_rotated", hook.url[:200], webhook_id=hook.id)
    return hook.secret


def pause_webhook(session: Session, hook: WebhookSubscription, actor: str = "cli") -> None:
    """Stop sending: new events still queue for the subscription and wait until it is resumed."""
    if not hook.paused:
        hook.paused = True
        session.flush()
        record(session, actor, "webhook.paused", hook.url[:200], webhook_id=hook.id)


def resume_webhook(session: Session, hook: WebhookSubscription, actor: str = "cli") -> None:
    """Send again: what waited is due now. Also re-enables a subscription disabled after failures
    (what was dead-lettered then stays in the dead-letter list, to retry one by one)."""
    if not hook.paused and hook.active:
        return
    hook.paused = False
    hook.active = True
    hook.failures = 0
    hook.disabled_reason = None
    session.execute(
        update(_D).where(_D.c.subscriber == subscriber_name(hook.id), _D.c.status == PENDING)
        .values(next_attempt_at=utcnow(), queued_at=None, updated_at=utcnow())
    )
    session.flush()
    record(session, actor, "webhook.resumed", hook.url[:200], webhook_id=hook.id)


def subscriber_name(webhook_id: int) -> str:
    """The subscriber name of a webhook in deliveries and processed records: ``webhook.<id>``."""
    return f"webhook.{webhook_id}"


def send_test(bus: EventBus, tenant_id: int, webhook_id: int, actor: str) -> WebhookAttempt:
    """POST a signed ``core.webhook.test`` event to the subscription now, and log the attempt.

    Called outside any transaction (the request may take ``XRM_WEBHOOKS_TIMEOUT_S``); the attempt
    is returned whatever happened (its ``status_code`` or ``error`` tell). Paused and disabled
    subscriptions can be tested: that is how one checks a receiver before resuming.
    :raises NotFound: no such subscription in the tenant.
    """
    db = bus.platform.db
    with db.session(tenant_id, read_only=True) as session:
        hook = session.get(WebhookSubscription, webhook_id)
        if hook is None:
            raise NotFound(f"There is no webhook {webhook_id} here.")
        url, secret = hook.url, hook.secret
    event = Event(str(uuid.uuid4()), tenant_id, TEST_EVENT, actor, Subject(WebhookSubscription.__tablename__,
                  str(webhook_id)), utcnow(), {"webhook_id": webhook_id, "message": "A test event from XRM."})
    started = time.monotonic()
    status_code, error = None, None
    try:
        body, headers = request_for(secret, event)
        status_code = post(url, body, headers, bus.settings)
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except Exception as exc:  # noqa: BLE001 -- reported to the tester, like any failed attempt
        error = str(exc) if isinstance(exc, WebhookRefused) else describe(exc)
    with db.transaction(tenant_id) as session:
        attempt = WebhookAttempt(webhook_id=webhook_id, event_id=event.id, attempt=1, at=utcnow(),
                                 status_code=status_code, error=(error or None) and error[:500],
                                 duration_ms=int((time.monotonic() - started) * 1000))
        session.add(attempt)
        session.flush()
        record(session, actor, "webhook.tested", url[:200], webhook_id=webhook_id, status_code=status_code)
        session.expunge(attempt)
    return attempt


def matches(pattern: str, event_type: str) -> bool:
    return bool(EVENT_TYPE_NAME.match(event_type)) and fnmatchcase(event_type, pattern)


# -- signing ------------------------------------------------------------------------------------


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str,
                     tolerance_s: int = DEFAULT_TOLERANCE_S, now: float | None = None) -> bool:
    """Whether ``signature`` is the subscription's signature of ``body`` at a recent ``timestamp``."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except (TypeError, ValueError):
        return False
    return age <= tolerance_s and hmac.compare_digest(sign(secret, timestamp, body), signature or "")


# -- SSRF-safe requests -------------------------------------------------------------------------


def _refused_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast or address.is_reserved or address.is_unspecified


def resolve_target(url: str, settings: EventSettings) -> tuple[str, str, int, str, str]:
    """``(scheme, host, port, address to connect to, path)`` for ``url``, or refuse it.

    :raises WebhookRefused: not http(s), no host, unresolvable, or an address the SSRF rule refuses.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused(f"webhook URL {url!r} must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise WebhookRefused("webhook URLs may not carry credentials; use the signature to authenticate")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise WebhookRefused(f"webhook URL {url!r} has an invalid port") from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise WebhookRefused(f"cannot resolve {parts.hostname!r}: {exc}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise WebhookRefused(f"{parts.hostname!r} has no address")
    if not settings.webhooks_allow_private:
        refused = [str(a) for a in addresses if _refused_address(a)]
        if refused:
            raise WebhookRefused(
                f"refusing webhook target {parts.hostname!r}: {', '.join(sorted(set(refused)))} is a private, "
                "loopback or reserved address (an operator can allow it with XRM_WEBHOOKS_ALLOW_PRIVATE=1)"
            )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, str(addresses[0]), path


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], settings: EventSettings) -> int:
    """POST ``body`` to ``url`` under the SSRF rule; return the response status (redirects not followed)."""
    scheme, host, port, address, path = resolve_target(url, settings)
    kind = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = kind(host, port, address, settings.webhooks_timeout_s)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)
        return response.status
    finally:
        connection.close()


def request_for(hook_secret: str, event: Event) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one signed delivery of ``event``.

    The payload leaves the platform to an unknown audience: fields protected by field security on
    the subject's resource are removed (:func:`~xrm_core.identity.fieldsecurity.redact_payload`
    with no principal: fail closed).
    """
    envelope = event.to_dict()
    resource = resource_of(event.subject.entity)
    if resource is not None:
        envelope["payload"] = redact_payload(None, resource, envelope["payload"])
    body = json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"xrm-webhooks/{__version__}",
        EVENT_HEADER: event.type,
        EVENT_ID_HEADER: event.id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(hook_secret, timestamp, body),
    }
    return body, headers


@cache
def resource_of(entity: str) -> str | None:
    """The permission resource (``core.party``) of the model stored in table ``entity``, if any."""
    for mapper in Model.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == entity:
            return getattr(mapper.class_, "__permission_resource__", None)
    return None


# -- delivering ---------------------------------------------------------------------------------


def send_delivery(bus: EventBus, row: Any) -> str:
    """Send one leased webhook delivery (a :func:`.delivery.ready` row) and record what happened.

    Returns ``"done"``, ``"pending"`` (will be retried) or ``"dead"``.
    """
    db = bus.platform.db
    webhook_id = int(row.subscriber.split(".", 1)[1])
    event = event_of(row)
    with db.session(row.tenant_id, read_only=True) as session:
        hook = session.get(WebhookSubscription, webhook_id)
        target = (hook.url, hook.secret, hook.active, hook.paused) if hook is not None else None
    if target is None or not target[2]:
        with db.transaction(row.tenant_id) as session:
            record_failure(bus, session, row.id, row.attempts,
                           "the webhook subscription was deleted or disabled", final=True)
        return DEAD
    url, secret, _active, paused = target
    if paused:  # wait, without using up attempts; resuming makes it due at once
        with db.transaction(row.tenant_id) as session:
            session.execute(update(_D).where(_D.c.id == row.id).values(
                next_attempt_at=utcnow() + timedelta(seconds=PAUSED_RECHECK_S), queued_at=None))
        return PENDING
    started = time.monotonic()
    status_code: int | None = None
    error: str | None = None
    final = False
    try:
        body, headers = request_for(secret, event)
        status_code = post(url, body, headers, bus.settings)
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except WebhookRefused as exc:
        error, final = str(exc), True
    except Exception as exc:  # noqa: BLE001 -- network errors, timeouts, TLS: a failed attempt
        error = describe(exc)
    duration_ms = int((time.monotonic() - started) * 1000)
    with db.transaction(row.tenant_id) as session:
        session.execute(insert(WebhookAttempt.__table__).values(
            tenant_id=row.tenant_id, webhook_id=webhook_id, event_id=event.id, attempt=row.attempts + 1,
            at=utcnow(), status_code=status_code, error=(error or None) and error[:500], duration_ms=duration_ms,
        ))
        hook = session.get(WebhookSubscription, webhook_id, with_for_update=not db.is_sqlite)
        if error is None:
            hook.failures = 0
            try:
                with session.begin_nested():
                    session.execute(insert(ProcessedEvent.__table__).values(
                        tenant_id=row.tenant_id, event_id=event.id, subscriber=row.subscriber, processed_at=utcnow()))
            except IntegrityError:
                pass  # already recorded by an earlier attempt whose bookkeeping was lost
            session.execute(delete(_D).where(_D.c.id == row.id))
            return "done"
        log.warning("webhook %s (%s) failed for %s %s: %s", webhook_id, url, event.type, event.id, error)
        status = record_failure(bus, session, row.id, row.attempts, error, final=final)
        hook.failures += 1
        if hook.active and hook.failures >= bus.settings.webhooks_disable_after:
            _disable(session, hook, f"disabled after {hook.failures} consecutive failed deliveries (last: {error})"[:500])
        return status


def _disable(session: Session, hook: WebhookSubscription, reason: str) -> None:
    hook.active = False
    hook.disabled_reason = reason
    session.execute(
        update(_D)
        .where(_D.c.subscriber == f"webhook.{hook.id}", _D.c.status == PENDING)
        .values(status=DEAD, last_error="the webhook subscription was disabled: " + reason, queued_at=None,
                updated_at=utcnow())
    )
    record(session, "platform", "webhook.disabled", hook.url[:200], webhook_id=hook.id, reason=reason)
    log.error("webhook %s (%s) %s", hook.id, hook.url, reason)


def attempts(session: Session, webhook_id: int) -> list[WebhookAttempt]:
    """The delivery log of one subscription, oldest first."""
    return list(session.scalars(select(WebhookAttempt).where(WebhookAttempt.webhook_id == webhook_id)
                                .order_by(WebhookAttempt.id)))
