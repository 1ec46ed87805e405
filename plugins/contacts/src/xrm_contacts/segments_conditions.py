"""The workflow condition function ``contacts.in_segment(party, "segment name")``.

An admin writes ``contacts.in_segment(subject, "VIP customers")`` in a workflow's condition (the
trigger's, an ``if`` or a ``wait until``): true when the run's party is in the segment now, for a
dynamic segment as for a static list. It runs as the workflow, so the workflow needs
``contacts.segment.read`` to see the segment (and ``core.party.read`` to see the party). A
segment name that the workflow cannot see is refused when the workflow is saved.
"""

from __future__ import annotations

from typing import Any

import xrm_sdk as xrm
from sqlalchemy import select
from sqlalchemy.orm import Session

from .segments_actions import party_of_subject
from .segments_models import Segment
from .segments_service import is_member

#: Segment names listed in a refusal at most, as a hint.
HINT_LENGTH = 10


def _visible(session: Session, name: str) -> Segment | None:
    return session.scalar(select(Segment).where(Segment.name == name))


def _party_id(party: Any) -> int | None:
    if party is None:
        return None
    if isinstance(party, bool):  # a bool is an int in Python, never a party
        raise xrm.XrmError(f"contacts.in_segment: {party!r} is not a party")
    if isinstance(party, int):
        return party
    if isinstance(party, dict):
        return party_of_subject(party)
    raise xrm.XrmError(f"contacts.in_segment: {party!r} is not a party (pass subject, or a party id)")


def in_segment(session: Session, party: Any, segment: Any) -> bool:
    """Whether ``party`` (a record's values, such as ``subject``, or a party id) is in the named
    segment now; ``False`` for no party (a run without a subject)."""
    if not isinstance(segment, str):
        raise xrm.XrmError(f"contacts.in_segment: a segment is named by a string, not {segment!r}")
    found = _visible(session, segment)
    if found is None:
        raise xrm.NotFound(f"no segment named {segment!r} that this workflow can see")
    party_id = _party_id(party)
    return party_id is not None and is_member(session, found, party_id)


def check_in_segment(session: Session, arguments: list[Any]) -> str | None:
    """When the workflow is saved: a segment named by a literal must be one the workflow can see."""
    _party, segment = arguments
    if segment is None:
        return None  # an expression: known only when the condition runs
    if not isinstance(segment, str):
        return f"the segment is named by a string (\"VIP customers\"), not {segment!r}"
    if _visible(session, segment) is not None:
        return None
    names = session.scalars(select(Segment.name).order_by(Segment.name).limit(HINT_LENGTH + 1)).all()
    if not names:
        return (f"no segment named {segment!r} that this workflow can see (it sees none: does it hold "
                "contacts.segment.read?)")
    shown = ", ".join(repr(name) for name in names[:HINT_LENGTH]) + (", …" if len(names) > HINT_LENGTH else "")
    return f"no segment named {segment!r} that this workflow can see (it sees {shown})"


IN_SEGMENT = xrm.WorkflowFunction(
    "contacts.in_segment",
    description="True when the party (subject, or a party id) is in the named segment or list now.",
    params=("party", "segment"), evaluate=in_segment, check_arguments=check_in_segment)
FUNCTIONS = [IN_SEGMENT]
