"""The platform's clock: the one place the core (and plugins, through ``xrm.utcnow()``) ask the time.

In production :func:`now` is the system clock in UTC. A test can freeze it at a moment, move it
forward and give it back, so that waits, timers, schedules, reminders and anything "due" can be
tested without sleeping::

    from xrm_core import clock

    with clock.frozen(datetime(2026, 3, 27, 9, 0, tzinfo=UTC)):
        ...                                 # clock.now() is 09:00 and stays there
        clock.advance(timedelta(hours=4))   # now 13:00

The setting is process-wide (every thread sees it: the embedded dispatcher and periodic runner
too), as the platform runs one clock. Plugin tests use the SDK's ``xrm_clock`` fixture, which
restores the real clock after the test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_lock = threading.Lock()
_frozen_at: datetime | None = None


def now() -> datetime:
    """The current moment, timezone-aware in UTC (the frozen one while a test holds the clock)."""
    frozen = _frozen_at
    return frozen if frozen is not None else datetime.now(UTC)


def is_frozen() -> bool:
    """Whether a test holds the clock."""
    return _frozen_at is not None


def freeze(moment: datetime | None = None) -> datetime:
    """Stop the clock at ``moment`` (default: the current moment); return it.

    :raises ValueError: ``moment`` is naive (without a time zone: which moment it is would be a guess).
    """
    global _frozen_at
    if moment is None:
        moment = now()
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"the clock is set to an aware datetime, not the naive {moment.isoformat()}")
    with _lock:
        _frozen_at = moment.astimezone(UTC)
        return _frozen_at


def advance(delta: timedelta) -> datetime:
    """Move the frozen clock forward by ``delta`` (backward if negative); return the new moment.

    :raises RuntimeError: the clock is not frozen (the real clock cannot be moved).
    """
    global _frozen_at
    with _lock:
        if _frozen_at is None:
            raise RuntimeError("freeze the clock before advancing it")
        _frozen_at = _frozen_at + delta
        return _frozen_at


def unfreeze() -> None:
    """Give the clock back to the system."""
    global _frozen_at
    with _lock:
        _frozen_at = None


@contextmanager
def frozen(moment: datetime | None = None) -> Iterator[datetime]:
    """Freeze the clock at ``moment`` for the ``with`` block; the previous state is restored after."""
    previous = _frozen_at
    try:
        yield freeze(moment)
    finally:
        if previous is None:
            unfreeze()
        else:
            freeze(previous)
