"""In-transaction listeners: one blinker signal per event type, connected strongly.

``publish`` sends ``signal(<type>)`` and then :data:`any_event` with the session as sender and the
event as ``event=``, *before* the transaction commits. A receiver runs inside the publisher's
transaction: what it writes commits or rolls back with it, and an exception it raises propagates
to the publisher (blinker does not catch it). Anything that must happen only after commit, or may
fail independently, is a subscriber (``xrm_on_event``, ``EventHandler``), not a receiver.

blinker connects weakly by default, so a receiver defined in a function would silently vanish once
garbage-collected; :func:`connect` always connects with ``weak=False``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from blinker import Namespace, Signal

namespace = Namespace()

#: Sent for every event, after the type's own signal.
any_event: Signal = namespace.signal("*", doc="Sent for every published event (sender: the session; event=Event).")


def signal(event_type: str) -> Signal:
    """The signal sent when an event of ``event_type`` is published."""
    return namespace.signal(event_type)


def connect(event_type: str | None, receiver: Callable[..., Any]) -> Callable[..., Any]:
    """Connect ``receiver(session, event=…)`` strongly to one type (or to every event with ``None``).

    :raises TypeError: ``receiver`` is a coroutine function (it runs inside a synchronous transaction).
    """
    if inspect.iscoroutinefunction(receiver):
        raise TypeError(f"{receiver!r} is a coroutine function: in-transaction receivers must be plain functions")
    target = any_event if event_type is None else signal(event_type)
    target.connect(receiver, weak=False)
    return receiver


def disconnect(event_type: str | None, receiver: Callable[..., Any]) -> None:
    (any_event if event_type is None else signal(event_type)).disconnect(receiver)


def send(session: Any, event: Any) -> None:
    """Notify the receivers of ``event.type``, then those of every event."""
    typed = namespace.get(event.type)
    if typed is not None and typed.receivers:
        _notify(typed, session, event)
    if any_event.receivers:
        _notify(any_event, session, event)


def _notify(target: Signal, session: Any, event: Any) -> None:
    # Signal.send, minus what publishing does not need on every call: the per-call coroutine check
    # (connect refuses coroutine functions once) and the list of return values.
    if target.is_muted:
        return
    for receiver in target.receivers_for(session):
        receiver(session, event=event)
