"""A plugin that reacts to events: ``xrm_on_event`` for everything, an ``EventHandler`` per type.

Each handler writes an ``Effect`` row through the session it is given (no unique constraint: a
second application of the same event would show as a second row). What the handler does is driven
by the event's payload:

``fail``
    ``"always"``: raise every time; a number ``k``: raise on the first ``k`` attempts.
``only``
    the name of the one subscriber the ``fail`` instruction applies to (default: both).
``hold``
    a file path: create ``<hold>.started`` then wait (at most 60 s) while ``<hold>`` exists.
"""

import os
import time
from collections import Counter
from pathlib import Path

import xrm_sdk as xrm
from marshmallow import Schema, fields
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

MANIFEST = xrm.Manifest(name="listen", title="Listen", description="Reacts to events (tests).")

#: (event id, subscriber) -> attempts seen by this process.
ATTEMPTS: Counter = Counter()


class Effect(xrm.TenantScoped, xrm.Model):
    __tablename__ = "listen_effects"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(150))
    subject: Mapped[str] = mapped_column(String(200))
    n: Mapped[int] = mapped_column(default=0)
    pid: Mapped[int] = mapped_column(default=0)


class ThingPayload(Schema):
    n = fields.Integer(required=True)
    fail = fields.Raw(load_default=None)
    only = fields.String(load_default=None)
    hold = fields.String(load_default=None)


def _react(subscriber, event, session):
    payload = event.payload
    ATTEMPTS[(event.id, subscriber)] += 1
    hold = payload.get("hold")
    if hold:
        Path(hold + ".started").write_text(str(os.getpid()))
        deadline = time.monotonic() + 60
        while os.path.exists(hold) and time.monotonic() < deadline:
            time.sleep(0.02)
    session.add(Effect(subscriber=subscriber, event_id=event.id, event_type=event.type,
                       subject=f"{event.subject.entity}:{event.subject.id}", n=payload.get("n") or 0,
                       pid=os.getpid()))
    session.flush()
    fail = payload.get("fail")
    applies = fail is not None and payload.get("only") in (None, subscriber)
    if applies and (fail == "always" or ATTEMPTS[(event.id, subscriber)] <= int(fail)):
        raise RuntimeError(f"{subscriber} refuses event {payload.get('n')}")


def audit(event, session):
    _react("listen.audit", event, session)


@xrm.hookimpl
def xrm_models():
    return [Effect]


@xrm.hookimpl
def xrm_migrations():
    return Path(__file__).parent / "migrations"


@xrm.hookimpl
def xrm_event_types():
    return [
        xrm.EventType("listen.thing.happened", description="Something happened to a thing.", schema=ThingPayload),
        xrm.EventType("listen.other.happened", description="An event without a schema."),
    ]


@xrm.hookimpl
def xrm_event_handlers():
    return [xrm.EventHandler("listen.audit", pattern="listen.thing.*", handle=audit)]


@xrm.hookimpl
def xrm_on_event(tenant, event, session):
    if event.type.startswith("listen."):
        _react("listen.xrm_on_event", event, session)
