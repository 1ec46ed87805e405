"""Bulk create and update with a result per item, each item applied or refused on its own.

Per item, not all-or-nothing: importing 500 records should not fail because one is invalid.
Each item runs in its own savepoint: when it fails (invalid fields, 404, stale ETag, a database
constraint), everything it wrote is rolled back, the other items are unaffected, and its result
carries the same problem document the single-record endpoint would have answered. An unexpected
error (a bug) is not an item failure: the whole request fails with a 500 and nothing is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from .. import web
from ..storable import MAX_INTEGER, MIN_INTEGER
from .errors import ApiProblem, problem_for
from .records import get_for_update
from .schemas import Schema

#: Items in one bulk request; larger imports are split by the client.
MAX_BULK_ITEMS = 500


class BulkRequestSchema(Schema):
    """The envelope only: each item is validated on its own, so one bad item fails alone."""

    items = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1, max=MAX_BULK_ITEMS))


class BulkUpdateItemSchema(ma.Schema):
    """Plain marshmallow (still refusing unknown fields): here ``id`` and ``etag`` are input."""

    id = fields.Integer(required=True, strict=True, validate=validate.Range(MIN_INTEGER, MAX_INTEGER))
    #: Optional here so that a missing one is the same 428 as a missing If-Match header.
    etag = fields.String()
    changes = fields.Dict(required=True)


@dataclass(frozen=True)
class ItemResult:
    index: int
    status: int
    record: Any = None
    problem: ApiProblem | None = None


def run_bulk(items: list[Any], apply: Callable[[Any], Any], success_status: int) -> list[ItemResult]:
    """Apply each raw item in its own savepoint; ``apply`` returns the record it wrote."""
    session = web.db_session()
    results = []
    for index, item in enumerate(items):
        try:
            with session.begin_nested():
                record = apply(item)
                session.flush()
        except Exception as exc:
            problem = problem_for(exc)
            if problem is None:
                raise
            results.append(ItemResult(index, problem.status, problem=problem))
        else:
            results.append(ItemResult(index, success_status, record=record))
    return results


def create_item(schema: type[ma.Schema], create: Callable[[dict[str, Any]], Any]) -> Callable[[Any], Any]:
    """One bulk-create item: validated by ``schema``, then stored by ``create``."""
    return lambda item: create(schema().load(item))


def update_item(
    model: type, schema: type[ma.Schema], update: Callable[[Any, dict[str, Any]], Any]
) -> Callable[[Any], Any]:
    """One bulk-update item ``{"id", "etag", "changes"}``: 422, then 404, then 428/412, as alone."""

    def apply(item: Any) -> Any:
        envelope = BulkUpdateItemSchema().load(item)
        try:
            changes = schema(partial=True).load(envelope["changes"])
        except ma.ValidationError as exc:
            raise ma.ValidationError({"changes": exc.messages}) from exc
        record = get_for_update(model, envelope["id"], if_match=envelope.get("etag", ""))
        update(record, changes)
        return record

    return apply


@cache
def bulk_result_schema(schema: type[ma.Schema]) -> type[Schema]:
    """The documented response of a bulk endpoint whose records follow ``schema``."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(Schema.from_dict({
            "index": fields.Integer(metadata={"description": "Position of the item in the request."}),
            "status": fields.Integer(metadata={"description": "HTTP status the item alone would have had."}),
            "record": fields.Nested(schema, metadata={"description": "The stored record (on success)."}),
            "problem": fields.Dict(metadata={"description": "RFC 9457 problem (on failure)."}),
        }, name=f"{_base_name(schema)}BulkItemResult"))),
        "succeeded": fields.Integer(),
        "failed": fields.Integer(),
    }, name=f"{_base_name(schema)}BulkResult")


@cache
def bulk_create_schema(schema: type[ma.Schema]) -> type[Schema]:
    """The documented request of a bulk create (validated item by item at run time)."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(schema), validate=validate.Length(min=1, max=MAX_BULK_ITEMS)),
    }, name=f"{_base_name(schema)}BulkCreate")


@cache
def bulk_update_schema(schema: type[ma.Schema]) -> type[Schema]:
    """The documented request of a bulk update (validated item by item at run time)."""
    item = ma.Schema.from_dict({
        "id": fields.Integer(required=True),
        "etag": fields.String(required=True, metadata={"description": "The record's ETag, as for If-Match."}),
        "changes": fields.Nested(schema(partial=True), required=True),
    }, name=f"{_base_name(schema)}BulkUpdateItem")
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item), validate=validate.Length(min=1, max=MAX_BULK_ITEMS)),
    }, name=f"{_base_name(schema)}BulkUpdate")


def dump_results(schema: type[ma.Schema], results: list[ItemResult]) -> dict[str, Any]:
    dumper = schema()
    items = [
        {"index": r.index, "status": r.status, "record": dumper.dump(r.record)} if r.problem is None
        else {"index": r.index, "status": r.status, "problem": r.problem.body()}
        for r in results
    ]
    failed = sum(1 for r in results if r.problem is not None)
    return {"items": items, "succeeded": len(results) - failed, "failed": failed}


def _base_name(schema: type[ma.Schema]) -> str:
    return schema.__name__.removesuffix("Schema")
