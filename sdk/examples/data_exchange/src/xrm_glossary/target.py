"""``glossary.term``: what the core's import and export engine needs to know about terms.

The engine does everything that is the same for every kind of record (reading files in any format,
mapping columns, matching, dry runs, batches, undo, permission checks); a target only knows its
records. Every method gets the importing (or exporting) user's session and commits nothing.
"""

from collections.abc import Iterator
from typing import Any

import xrm_sdk as xrm
from marshmallow import fields, validate
from sqlalchemy import select

from .models import Term


class TermRow(xrm.Schema):
    """One mapped row of a file, validated; errors are reported by row and column, never imported."""

    term = fields.String(required=True, validate=validate.Length(min=1, max=100))
    definition = fields.String(load_default="", validate=validate.Length(max=10_000))


class TermTarget(xrm.ImportTarget):
    name = "glossary.term"
    label = "Glossary terms"
    permission = "glossary.term"  # importing needs glossary.term.create (.update to update matches)
    fields = (xrm.ImportField("term", "Term", required=True), xrm.ImportField("definition", "Definition", "text"))
    keys = ("term",)  # re-importing a file updates the terms it already has, matched on the term
    schema = TermRow

    def find(self, session, key: str, values: list[Any]) -> dict[Any, int]:
        return dict(session.execute(select(Term.term, Term.id).where(Term.term.in_(values))).all())

    def snapshot(self, session, ids: list[int]) -> dict[int, dict[str, Any]]:
        return {t.id: {"term": t.term, "definition": t.definition}
                for t in session.scalars(select(Term).where(Term.id.in_(ids)))}

    def create(self, session, rows: list[dict[str, Any]]) -> list[int]:
        terms = [Term(term=row["term"], definition=row.get("definition", "")) for row in rows]
        session.add_all(terms)
        session.flush()
        return [t.id for t in terms]

    def update(self, session, changes: dict[int, dict[str, Any]]) -> None:
        for term in session.scalars(select(Term).where(Term.id.in_(list(changes)))):
            for field, value in changes[term.id].items():
                setattr(term, field, value)
        session.flush()

    def delete(self, session, ids: list[int]) -> None:
        for term in session.scalars(select(Term).where(Term.id.in_(ids))):
            session.delete(term)
        session.flush()

    def export_rows(self, session, ids: list[int] | None = None) -> Iterator[dict[str, Any]]:
        query = select(Term).order_by(Term.term)
        if ids is not None:
            query = query.where(Term.id.in_(ids))
        for term in session.scalars(query):
            yield {"term": term.term, "definition": term.definition}
