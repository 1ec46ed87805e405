"""Gapless document numbers per tenant and document type (``Q-2026-00042``).

Each (tenant, document type) has one counter row. Taking a number locks that row
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite transactions start with ``BEGIN IMMEDIATE``, which
already serialises writers) and increments it in the transaction that creates the document: if
that transaction rolls back, the increment rolls back with it, so numbers have no gap; and no
two transactions can hold the row at once, so there is no duplicate.
"""

from __future__ import annotations

import string
from datetime import date

import xrm_sdk as xrm
from sqlalchemy import Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

#: The document types that are numbered, with the pattern used until the tenant sets its own.
DEFAULT_PATTERNS = {
    "quote": "Q-{year}-{seq:05d}",
    "order": "O-{year}-{seq:05d}",
    "invoice": "INV-{year}-{seq:05d}",
    "credit_note": "CN-{year}-{seq:05d}",
}
#: The fields a pattern may use.
PATTERN_FIELDS = {"year", "month", "seq"}


class NumberingError(xrm.XrmError):
    """A numbering pattern or document type that cannot be used."""


class DocumentSequence(xrm.TenantScoped, xrm.Model):
    """The counter of one document type in one tenant; ``last_value`` is the last number given."""

    __tablename__ = "sales_document_sequences"
    __table_args__ = (UniqueConstraint("tenant_id", "document_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_type: Mapped[str] = mapped_column(String(20))
    pattern: Mapped[str] = mapped_column(String(100))
    last_value: Mapped[int] = mapped_column(Integer, default=0)


def check_pattern(pattern: str) -> str:
    """``pattern`` if it formats (fields ``year``, ``month``, ``seq``, which it must contain).

    :raises NumberingError: naming the problem.
    """
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
    except ValueError as exc:
        raise NumberingError(f"The numbering pattern {pattern!r} is not valid: {exc}.") from exc
    if not fields <= PATTERN_FIELDS:
        unknown = ", ".join(sorted(fields - PATTERN_FIELDS))
        raise NumberingError(f"The numbering pattern {pattern!r} uses unknown fields: {unknown}.")
    if "seq" not in fields:
        raise NumberingError(f"The numbering pattern {pattern!r} has no {{seq}}: numbers would repeat.")
    try:
        pattern.format(year=2000, month=1, seq=1)
    except (ValueError, IndexError, KeyError) as exc:
        raise NumberingError(f"The numbering pattern {pattern!r} is not valid: {exc}.") from exc
    return pattern


def set_pattern(session: Session, document_type: str, pattern: str) -> DocumentSequence:
    """Use ``pattern`` for the next numbers of ``document_type`` in the session's tenant."""
    sequence = _locked_sequence(session, document_type)
    sequence.pattern = check_pattern(pattern)
    return sequence


def next_number(session: Session, document_type: str, on_date: date | None = None) -> str:
    """Take the next number of ``document_type``, in the session's (uncommitted) transaction.

    The counter row stays locked until the caller commits or rolls back, so create the document
    and commit promptly.
    """
    sequence = _locked_sequence(session, document_type)
    sequence.last_value += 1
    session.flush()
    on_date = on_date or xrm.utcnow().date()
    return sequence.pattern.format(year=on_date.year, month=on_date.month, seq=sequence.last_value)


def _locked_sequence(session: Session, document_type: str) -> DocumentSequence:
    if document_type not in DEFAULT_PATTERNS:
        raise NumberingError(f"There is no numbering for {document_type!r} documents.")
    query = select(DocumentSequence).where(DocumentSequence.document_type == document_type).with_for_update()
    sequence = session.scalars(query).one_or_none()
    if sequence is not None:
        return sequence
    # The first number of a type: two transactions may both try to create the counter; the loser
    # of the unique constraint reads (and locks) the winner's row instead.
    try:
        with session.begin_nested():
            session.add(DocumentSequence(document_type=document_type, pattern=DEFAULT_PATTERNS[document_type]))
    except IntegrityError:
        pass
    return session.scalars(query.execution_options(populate_existing=True)).one()
