"""The REST resource ``/api/v1/contacts/duplicates``: the review queue, a scan, merge and dismiss."""

from __future__ import annotations

from typing import Any

import xrm_sdk as xrm
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import dedupe_queue as queue
from .dedupe_models import PAIR_STATUSES, DuplicatePair
from .profiles import ContactPoint


class DuplicatePairSchema(xrm.Schema):
    id = fields.Integer(dump_only=True)
    party_a_id = fields.Integer(dump_only=True)
    party_b_id = fields.Integer(dump_only=True)
    score = fields.Integer(dump_only=True)
    reasons = fields.List(fields.String(), dump_only=True)
    status = fields.String(dump_only=True, validate=validate.OneOf(PAIR_STATUSES))
    found_at = fields.DateTime(dump_only=True)
    decided_by = fields.String(dump_only=True, allow_none=True)
    decided_at = fields.DateTime(dump_only=True, allow_none=True)
    survivor_id = fields.Integer(dump_only=True, allow_none=True)


class DuplicatePartySchema(xrm.Schema):
    id = fields.Integer()
    kind = fields.String()
    display_name = fields.String()
    tags = fields.List(fields.String())
    emails = fields.List(fields.String())
    phones = fields.List(fields.String())


class DuplicatePairDetailSchema(DuplicatePairSchema):
    parties = fields.List(fields.Nested(DuplicatePartySchema), dump_only=True)


class DuplicateMergeSchema(xrm.Schema):
    survivor_id = fields.Integer(required=True, metadata={"description": "The party that remains."})


class DuplicateMergeResultSchema(xrm.Schema):
    pair = fields.Nested(DuplicatePairSchema)
    merge = fields.Dict()


class DuplicateScanSchema(xrm.Schema):
    parties = fields.Integer()
    found = fields.Integer()
    refreshed = fields.Integer()
    closed = fields.Integer()
    dismissed_kept = fields.Integer()


PAIRS = xrm.Listing(
    DuplicatePair,
    DuplicatePairSchema,
    sortable=("score", "found_at"),
    filterable={"status": ("eq", "in"), "score": ("gte", "lt")},
    default_sort="-score",
)

blueprint = xrm.ApiBlueprint("contacts_dedupe", __name__, url_prefix="/duplicates",
                             description="Contacts: the duplicate review queue")


def side_by_side(session: Session, pair: DuplicatePair) -> list[dict[str, Any]]:
    """Both parties of ``pair`` as a reviewer compares them (those still existing and visible)."""
    ids = [pair.party_a_id, pair.party_b_id]
    points: dict[int, dict[str, list[str]]] = {party_id: {"email": [], "phone": []} for party_id in ids}
    for party_id, kind, value in session.execute(
            select(ContactPoint.party_id, ContactPoint.kind, ContactPoint.value)
            .where(ContactPoint.party_id.in_(ids), ContactPoint.kind.in_(("email", "phone")))
            .order_by(ContactPoint.is_primary.desc(), ContactPoint.id)):
        points[party_id][kind].append(value)
    sides = []
    for party_id in ids:
        party = session.get(xrm.Party, party_id)
        if party is not None:
            sides.append({"id": party.id, "kind": party.kind, "display_name": party.display_name,
                          "tags": party.tags, "emails": points[party_id]["email"],
                          "phones": points[party_id]["phone"]})
    return sides


@blueprint.route("")
class Pairs(MethodView):
    @blueprint.list_response(PAIRS)
    def get(self, query):
        """List the suspected duplicates whose two parties the caller may see (best score first)."""
        queue.require(xrm.db_session(), queue.READ)
        return xrm.cursor_paginate(queue.visible_pairs(None), query)


@blueprint.route("/scan")
class Scan(MethodView):
    @blueprint.response(200, DuplicateScanSchema)
    def post(self):
        """Scan the parties the caller may see and refresh the queue (dismissed pairs stay dismissed)."""
        session = xrm.db_session()
        report = queue.scan(session)
        session.commit()
        return report.as_dict()


@blueprint.route("/<int:pair_id>")
class PairDetail(MethodView):
    @blueprint.response(200, DuplicatePairDetailSchema)
    def get(self, pair_id):
        """One pair with its two parties side by side (404 unless the caller sees both)."""
        session = xrm.db_session()
        pair = queue.get_pair(session, pair_id)
        return {**{name: getattr(pair, name) for name in DuplicatePairSchema().fields},
                "parties": side_by_side(session, pair)}


@blueprint.route("/<int:pair_id>/merge")
class Merge(MethodView):
    @blueprint.arguments(DuplicateMergeSchema)
    @blueprint.response(200, DuplicateMergeResultSchema)
    def post(self, data, pair_id):
        """Merge the pair into the party the reviewer chose; every plugin's records follow it."""
        session = xrm.db_session()
        report = queue.merge_pair(session, pair_id, data["survivor_id"])
        pair = session.get(DuplicatePair, pair_id)
        session.commit()
        return {"pair": pair, "merge": report}


@blueprint.route("/<int:pair_id>/dismiss")
class Dismiss(MethodView):
    @blueprint.response(200, DuplicatePairSchema)
    def post(self, pair_id):
        """Record that the two parties are not one; rescans leave the pair dismissed."""
        session = xrm.db_session()
        pair = queue.dismiss_pair(session, pair_id)
        session.commit()
        return pair
