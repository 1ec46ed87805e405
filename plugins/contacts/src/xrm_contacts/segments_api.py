"""The REST resource ``/api/v1/contacts/segments``: segments, static lists, live counts, members, export."""

from __future__ import annotations

from typing import Any

import xrm_sdk as xrm
from flask import Response, url_for
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import select

from . import segments_service as service
from .segments import compile_definition, count, members_select, membership
from .segments_export import FORMATS, export
from .segments_models import SEGMENT_KINDS, Segment


class SegmentSchema(xrm.RecordSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(SEGMENT_KINDS))
    description = fields.String(load_default="", validate=validate.Length(max=10_000))
    definition = fields.Dict(load_default=None, allow_none=True, metadata={
        "description": "A dynamic segment's filter tree (all/any/not groups of field, role, relationship, "
                       "fact and segment conditions); null for a static list."})
    owner_user_id = fields.Integer(dump_only=True, allow_none=True)
    department_id = fields.Integer(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class SegmentChangesSchema(xrm.Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=10_000))
    definition = fields.Dict()


class SegmentDefinitionSchema(xrm.Schema):
    definition = fields.Dict(required=True)


class SegmentCountSchema(xrm.Schema):
    count = fields.Integer()


class SegmentMembersChangeSchema(xrm.Schema):
    # Bounded here, for removals too: an unbounded list became one IN with a parameter per id, which
    # PostgreSQL refuses beyond 65 535 (a 500).
    party_ids = fields.List(fields.Integer(validate=validate.Range(min=1)), required=True,
                            validate=validate.Length(min=1, max=service.MAX_MEMBERS_PER_CALL,
                                                     error=f"From 1 to {service.MAX_MEMBERS_PER_CALL} parties at a time."))


class SegmentMembersChangedSchema(xrm.Schema):
    changed = fields.Integer()


class SegmentMemberSchema(xrm.Schema):
    id = fields.Integer()
    kind = fields.String()
    display_name = fields.String()


class SegmentSnapshotSchema(xrm.Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class SegmentExportQuerySchema(xrm.Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(tuple(FORMATS)))


SEGMENTS = xrm.Listing(Segment, SegmentSchema, sortable=("name", "updated_at"),
                       filterable={"kind": ("eq",), "name": ("eq", "contains")}, default_sort="name")

blueprint = xrm.ApiBlueprint("contacts_segments", __name__, url_prefix="/segments",
                             description="Contacts: segments and static lists")


def _segment(segment_id: int, *, for_update: bool = False) -> Segment:
    return xrm.get_for_update(Segment, segment_id) if for_update else xrm.get_or_404(Segment, segment_id)


def _require(permission: str) -> None:
    principal = xrm.principal_of(xrm.db_session())
    if principal.scope_for(permission) is None:
        raise xrm.PermissionDenied(f"{principal.name} does not hold {permission}")


@blueprint.route("")
class Segments(MethodView):
    @blueprint.list_response(SEGMENTS)
    def get(self, query):
        """List the segments and lists the caller may see."""
        return xrm.cursor_paginate(select(Segment), query)

    @blueprint.arguments(SegmentSchema)
    @blueprint.record_response(SegmentSchema, 201)
    def post(self, data: dict[str, Any]):
        """Create a dynamic segment (with its definition) or a static list; 422 names a bad definition's path."""
        session = xrm.db_session()
        segment = service.create_segment(session, data["name"], data["kind"], data["definition"], data["description"])
        session.commit()
        return segment, {"Location": url_for(".SegmentItem", segment_id=segment.id)}


@blueprint.route("/count")
class LiveCount(MethodView):
    @blueprint.arguments(SegmentDefinitionSchema)
    @blueprint.response(200, SegmentCountSchema)
    def post(self, data: dict[str, Any]):
        """How many parties the caller sees match a definition (for the editor's live count)."""
        session = xrm.db_session()
        _require("contacts.segment.read")
        return {"count": count(session, compile_definition(session, data["definition"]))}


@blueprint.route("/<int:segment_id>")
class SegmentItem(MethodView):
    @blueprint.record_response(SegmentSchema)
    def get(self, segment_id: int):
        """Get a segment."""
        return _segment(segment_id)

    @blueprint.requires_if_match
    @blueprint.arguments(SegmentChangesSchema)
    @blueprint.record_response(SegmentSchema)
    def patch(self, changes: dict[str, Any], segment_id: int):
        """Rename, describe or redefine a segment (If-Match required)."""
        session = xrm.db_session()
        segment = service.update_segment(session, _segment(segment_id, for_update=True), changes)
        session.commit()
        return segment

    @blueprint.requires_if_match
    @blueprint.response(204)
    def delete(self, segment_id: int):
        """Delete a segment (If-Match required)."""
        session = xrm.db_session()
        service.delete_segment(session, _segment(segment_id, for_update=True))
        session.commit()


@blueprint.route("/<int:segment_id>/count")
class SegmentCount(MethodView):
    @blueprint.response(200, SegmentCountSchema)
    def get(self, segment_id: int):
        """How many members of the segment the caller sees."""
        session = xrm.db_session()
        return {"count": service.member_count(session, _segment(segment_id))}


@blueprint.route("/<int:segment_id>/members")
class Members(MethodView):
    @blueprint.response(200, SegmentMemberSchema(many=True))
    def get(self, segment_id: int):
        """The members the caller sees, by name (at most 1000; export for more)."""
        session = xrm.db_session()
        return session.scalars(members_select(membership(session, _segment(segment_id))).limit(1000)).all()

    @blueprint.arguments(SegmentMembersChangeSchema)
    @blueprint.response(200, SegmentMembersChangedSchema)
    def post(self, data: dict[str, Any], segment_id: int):
        """Add parties to a static list (409 for a dynamic segment); returns how many were new."""
        session = xrm.db_session()
        added = service.add_members(session, _segment(segment_id), data["party_ids"])
        session.commit()
        return {"changed": added}

    @blueprint.arguments(SegmentMembersChangeSchema)
    @blueprint.response(200, SegmentMembersChangedSchema)
    def delete(self, data: dict[str, Any], segment_id: int):
        """Take parties off a static list; returns how many were on it."""
        session = xrm.db_session()
        removed = service.remove_members(session, _segment(segment_id), data["party_ids"])
        session.commit()
        return {"changed": removed}


@blueprint.route("/<int:segment_id>/snapshot")
class Snapshot(MethodView):
    @blueprint.arguments(SegmentSnapshotSchema)
    @blueprint.record_response(SegmentSchema, 201)
    def post(self, data: dict[str, Any], segment_id: int):
        """Freeze the segment's current members into a new static list."""
        session = xrm.db_session()
        target = service.snapshot(session, _segment(segment_id), data["name"])
        session.commit()
        return target, {"Location": url_for(".SegmentItem", segment_id=target.id)}


@blueprint.route("/<int:segment_id>/export")
class Export(MethodView):
    @blueprint.arguments(SegmentExportQuerySchema, location="query")
    def get(self, query: dict[str, Any], segment_id: int):
        """The members as CSV or XLSX (``?format=``), without the fields the caller may not read."""
        session = xrm.db_session()
        segment = _segment(segment_id)
        _require("contacts.segment.export")
        fmt = query["format"]
        filename = f"segment-{segment.id}.{fmt}"
        return Response(export(session, segment, fmt), mimetype=FORMATS[fmt],
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
