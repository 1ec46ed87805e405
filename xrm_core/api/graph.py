"""The party graph over REST: roles, relationship types, relationships, graph queries, the party
360, the party timeline and party merge.

Every answer goes through the request's permission-scoped session: a party the caller cannot see
is a 404 when named, and is left out of (never walked through by) neighbours, neighbourhoods and
paths. Changing a party's roles needs ``core.party.update`` on it; creating, changing or ending a
relationship needs ``core.party.link`` on both ends; defining relationship types needs
``core.relationship_type.create`` / ``.update`` / ``.delete`` (tenant administrators). A broken graph rule (an
end the type does not admit, an unknown role or type, inverted dates) is a 422 naming the field.

Routes (under ``/api/v1``)::

    GET/POST   /parties/<id>/roles              POST /parties/<id>/roles/<role_id>/end
    GET/POST   /relationship-types              PATCH/DELETE /relationship-types/<code>
    POST       /relationships                   GET/PATCH /relationships/<id>   POST .../<id>/end
    GET        /parties/<id>/neighbours         GET /parties/<id>/neighbourhood   GET /paths
    GET        /parties/<id>/360                GET /parties/<id>/panels/<panel>
    GET        /parties/<id>/timeline           POST /parties/<id>/merge
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from flask import Response, jsonify, request, url_for
from flask.views import MethodView
from marshmallow import ValidationError, fields, validate
from sqlalchemy import select
from webargs.fields import DelimitedList

from .. import web
from ..errors import NotFound
from ..events import publish
from ..graph import GraphRuleError
from ..graph.history import TimelineEntry
from ..graph.merge import merge_parties
from ..graph.models import Party, Relationship, RelationshipTypeDef
from ..graph.party360 import PanelFailed, read_party360, render_panel
from ..graph.queries import (
    ALL_TIME,
    DIRECTIONS,
    MAX_DEPTH,
    MAX_HOPS,
    TODAY,
    neighbourhood,
    read_neighbours,
    shortest_paths,
)
from ..graph.schemas import PartySchema
from ..graph.service import (
    PARTY_KINDS,
    RoleCatalogue,
    add_role,
    define_relationship_type,
    delete_relationship_type,
    end_relationship,
    end_role,
    relate,
)
from ..graph.timeline import readable_entries, timeline_statement
from ..identity.fieldsecurity import unreadable_anywhere, without_fields
from ..identity.scoping import PermissionDenied, can
from ..problems import problem
from .auth import current_principal
from .blueprint import ApiBlueprint
from .etag import check_etag
from .listing import Listing, ListQuery, SortKey
from .pagination import cursor_paginate
from .schemas import RecordSchema, Schema

blueprint = ApiBlueprint("core_graph", __name__, description=(
    "The party graph: roles, relationship types, relationships, neighbours, neighbourhoods, paths, "
    "the party 360, the party timeline and party merge."))

AS_OF_HELP = "An ISO date (2024-05-31), 'today' (the default, UTC) or 'all' (every relationship that ever held)."


# -- fields and schemas ---------------------------------------------------------------------------


class AsOf(fields.Field):
    """``as_of`` in a query string: a date, ``today`` or ``all``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if value == "today":
            return TODAY
        if value == "all":
            return ALL_TIME
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValidationError(f"Not a date: {AS_OF_HELP}") from None


def _as_of() -> AsOf:
    # No load_default: the OpenAPI document would have to serialise it; views default to TODAY.
    return AsOf(metadata={"type": "string", "description": AS_OF_HELP})


def _types() -> DelimitedList:
    return DelimitedList(fields.String(), data_key="type", metadata={
        "description": "Only relationships of these type codes (comma-separated)."})


class PartyRefSchema(Schema):
    """A party named in a graph answer."""

    id = fields.Integer()
    kind = fields.String()
    display_name = fields.String()


class RoleSchema(Schema):
    id = fields.Integer()
    role = fields.String(required=True, validate=validate.Length(min=1, max=63))
    valid_from = fields.Date(allow_none=True, load_default=None, metadata={"description": "First day; null: always."})
    valid_to = fields.Date(allow_none=True, load_default=None, metadata={"description": "Last day; null: open."})


class EndSchema(Schema):
    on = fields.Date(required=True, metadata={"description": "The last valid day."})


class RelationshipTypeSchema(Schema):
    id = fields.Integer()
    code = fields.String(required=True, validate=validate.Length(min=1, max=63))
    forward_label = fields.String(required=True, validate=validate.Length(min=1, max=100))
    inverse_label = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=1, max=100))
    symmetric = fields.Boolean(load_default=False)
    from_kinds = fields.List(fields.String(), load_default=list)
    to_kinds = fields.List(fields.String(), load_default=list)
    from_roles = fields.List(fields.String(), load_default=list)
    to_roles = fields.List(fields.String(), load_default=list)
    source = fields.String(dump_only=True, metadata={"description": "tenant, or plugin:<name>"})


class RelationshipTypeUpdateSchema(Schema):
    forward_label = fields.String(validate=validate.Length(min=1, max=100))
    inverse_label = fields.String(validate=validate.Length(min=1, max=100))
    from_kinds = fields.List(fields.String())
    to_kinds = fields.List(fields.String())
    from_roles = fields.List(fields.String())
    to_roles = fields.List(fields.String())


class RelationshipSchema(RecordSchema):
    from_party_id = fields.Integer()
    to_party_id = fields.Integer()
    type = fields.Function(lambda rel: rel.type.code, metadata={"type": "string"})
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)
    attributes = fields.Dict(keys=fields.String())
    notes = fields.String(allow_none=True)


class RelationshipCreateSchema(Schema):
    from_party_id = fields.Integer(required=True)
    to_party_id = fields.Integer(required=True)
    type = fields.String(required=True, metadata={"description": "A relationship type code of the tenant."})
    valid_from = fields.Date(allow_none=True, load_default=None)
    valid_to = fields.Date(allow_none=True, load_default=None)
    attributes = fields.Dict(keys=fields.String(), load_default=dict)
    notes = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=10_000))


class RelationshipUpdateSchema(Schema):
    attributes = fields.Dict(keys=fields.String())
    notes = fields.String(allow_none=True, validate=validate.Length(max=10_000))


class NeighbourSchema(Schema):
    relationship = fields.Nested(RelationshipSchema)
    party = fields.Nested(PartyRefSchema)
    direction = fields.String(metadata={"description": "out, in, or both (symmetric types)."})


class NeighboursQuerySchema(Schema):
    types = _types()
    role = fields.String(metadata={"description": "Only neighbours holding this role on as_of."})
    direction = fields.String(load_default="both", validate=validate.OneOf(DIRECTIONS))
    as_of = _as_of()


class NeighbourhoodQuerySchema(Schema):
    depth = fields.Integer(load_default=1, validate=validate.Range(min=0, max=MAX_DEPTH))
    types = _types()
    as_of = _as_of()


class NodeSchema(PartyRefSchema):
    hops = fields.Integer(metadata={"description": "Fewest hops from the centre."})


class EdgeSchema(Schema):
    id = fields.Integer(attribute="relationship_id")
    from_party_id = fields.Integer()
    to_party_id = fields.Integer()
    type = fields.String(attribute="type_code")


class NeighbourhoodSchema(Schema):
    nodes = fields.List(fields.Nested(NodeSchema))
    edges = fields.List(fields.Nested(EdgeSchema))


class PathsQuerySchema(Schema):
    from_id = fields.Integer(required=True, data_key="from")
    to_id = fields.Integer(required=True, data_key="to")
    max_hops = fields.Integer(load_default=MAX_HOPS, validate=validate.Range(min=1, max=MAX_HOPS))
    types = _types()
    as_of = _as_of()


class PathSchema(Schema):
    party_ids = fields.List(fields.Integer())
    relationship_ids = fields.List(fields.Integer())


class PathsSchema(Schema):
    paths = fields.List(fields.Nested(PathSchema))
    parties = fields.List(fields.Nested(PartyRefSchema), metadata={"description": "The parties on the paths."})


class LinkSchema(Schema):
    """A relationship as seen from the party of a 360."""

    id = fields.Integer()
    type = fields.String()
    label = fields.String(metadata={"description": "Read from this party: 'employs' or 'is employed by'."})
    direction = fields.String()
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)
    party = fields.Nested(PartyRefSchema, metadata={"description": "The other end."})


class PanelEntrySchema(Schema):
    plugin = fields.String()
    name = fields.String(allow_none=True)
    title = fields.String()
    order = fields.Integer()
    url = fields.String(allow_none=True, metadata={"description": "GET it to render the panel."})
    error = fields.String(allow_none=True, metadata={"description": "Set when the plugin failed."})


class Party360Schema(Schema):
    party = fields.Nested(PartySchema)
    roles = fields.List(fields.Nested(RoleSchema), metadata={"description": "Roles held today."})
    relationships = fields.List(fields.Nested(LinkSchema), metadata={"description": "Valid today."})
    panels = fields.List(fields.Nested(PanelEntrySchema))


class PanelSchema(Schema):
    name = fields.String()
    title = fields.String()
    html = fields.String()


class TimelineEntrySchema(Schema):
    id = fields.Integer()
    event_id = fields.String()
    event_type = fields.String()
    source = fields.String(metadata={"description": "core, or the publishing plugin."})
    actor = fields.String()
    subject_type = fields.String()
    subject_id = fields.String()
    occurred_at = fields.DateTime()
    payload = fields.Dict()


class TimelineQuerySchema(Schema):
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))
    cursor = fields.String()
    type_prefix = fields.String(validate=validate.Length(min=1, max=150), metadata={
        "description": "Only event types starting with this (core.relationship.)."})
    source = fields.String(validate=validate.Length(min=1, max=63), metadata={
        "description": "Only events published by core or this plugin."})


class TimelinePageSchema(Schema):
    items = fields.List(fields.Nested(TimelineEntrySchema))
    next_cursor = fields.String(allow_none=True)


class MergeRequestSchema(Schema):
    loser_id = fields.Integer(required=True, metadata={"description": "The party merged into this one, then deleted."})


class MergeReportSchema(Schema):
    survivor_id = fields.Integer()
    loser_id = fields.Integer()
    relationships_moved = fields.Integer()
    relationships_folded = fields.Integer()
    relationships_dropped = fields.Integer()
    roles_moved = fields.Integer()
    identifiers_moved = fields.Integer()
    plugins = fields.List(fields.String())


class MergeResultSchema(Schema):
    party = fields.Nested(PartySchema)
    merge = fields.Nested(MergeReportSchema)


RELATIONSHIP_TYPES = Listing(RelationshipTypeDef, RelationshipTypeSchema, sortable=("code",),
                             filterable={"code": ("eq", "in"), "source": ("eq",)}, default_sort="code")
TIMELINE = Listing(TimelineEntry, TimelineEntrySchema, sortable=("occurred_at",), default_sort="-occurred_at")


# -- helpers ----------------------------------------------------------------------------------------


@contextmanager
def rule_errors(field: str) -> Iterator[None]:
    """A broken graph rule is the client's: a 422 naming ``field``."""
    try:
        yield
    except GraphRuleError as exc:
        raise ValidationError({field: [str(exc)]}) from None


def period_broken(data: dict[str, Any]) -> bool:
    """Whether the input's period ends before it starts (the error is then about ``valid_to``)."""
    return data.get("valid_from") is not None and data.get("valid_to") is not None \
        and data["valid_to"] < data["valid_from"]


def party_or_404(party_id: int, field: str | None = None) -> Party:
    """A party the caller may see; a 404 otherwise (never a 403 that would confirm it exists)."""
    party = web.db_session().get(Party, party_id)
    if party is None:
        raise NotFound(f"There is no party {party_id} here." + (f" ({field})" if field else ""))
    return party


def require(action: str, party: Party) -> None:
    """The caller may see ``party``; it must also be allowed ``action`` on it (403 otherwise)."""
    principal = current_principal()
    if not can(web.db_session(), principal, action, party):
        raise PermissionDenied(f"{principal.name} may not {action} party #{party.id}")


def require_admin(action: str) -> None:
    principal = current_principal()
    if principal.scope_for(f"core.relationship_type.{action}") is None:
        raise PermissionDenied(f"{principal.name} may not {action} relationship types")


def check_type_ends(data: dict[str, Any]) -> None:
    """The kinds and roles a relationship type admits must exist: a 422 naming the list otherwise."""
    for name in ("from_kinds", "to_kinds"):
        unknown = sorted(set(data.get(name, ())) - set(PARTY_KINDS))
        if unknown:
            raise ValidationError({name: [f"Unknown party kind {unknown[0]!r} (known: {', '.join(PARTY_KINDS)})."]})
    catalogue = role_catalogue()
    for name in ("from_roles", "to_roles"):
        with rule_errors(name):
            catalogue.check(data.get(name, ()))


def actor() -> str:
    return current_principal().name


def relationship_or_404(relationship_id: int, *, for_update: bool = False) -> Relationship:
    """A relationship whose two ends the caller may see; a 404 otherwise."""
    session = web.db_session()
    statement = select(Relationship).where(Relationship.id == relationship_id)
    if for_update:
        # Only the relationship's row: PostgreSQL refuses to lock the outer-joined type.
        statement = statement.with_for_update(of=Relationship)
    rel = session.scalar(statement)
    if rel is None or session.get(Party, rel.from_party_id) is None or session.get(Party, rel.to_party_id) is None:
        raise NotFound(f"There is no relationship {relationship_id} here.")
    return rel


def relationship_payload(rel: Relationship) -> dict[str, Any]:
    return {"type": rel.type.code, "from_party_id": rel.from_party_id, "to_party_id": rel.to_party_id,
            "valid_from": rel.valid_from and rel.valid_from.isoformat(),
            "valid_to": rel.valid_to and rel.valid_to.isoformat()}


def party_refs(party_ids: Any) -> list[Party]:
    ids = sorted(set(party_ids))
    if not ids:
        return []
    return list(web.db_session().scalars(select(Party).where(Party.id.in_(ids)).order_by(Party.id)))


def role_catalogue() -> RoleCatalogue:
    return RoleCatalogue.from_platform(web.platform())


# -- roles ------------------------------------------------------------------------------------------


@blueprint.route("/parties/<int:party_id>/roles")
class PartyRoles(MethodView):
    @blueprint.response(200, RoleSchema(many=True))
    def get(self, party_id: int):
        """Every role the party holds, held or will hold, by start date."""
        party = party_or_404(party_id)
        return sorted(party.roles, key=lambda r: (r.valid_from or date.min, r.id))

    @blueprint.arguments(RoleSchema)
    @blueprint.response(201, RoleSchema)
    def post(self, data: dict[str, Any], party_id: int):
        """Give the party a role over a period (needs core.party.update on it)."""
        session = web.db_session()
        party = party_or_404(party_id)
        require("update", party)
        with rule_errors("valid_to" if period_broken(data) else "role"):
            assignment = add_role(session, party, data["role"], data["valid_from"], data["valid_to"],
                                  catalogue=role_catalogue())
        publish(session, "core.role.assigned", assignment,
                {"party_id": party.id, "role": assignment.role, "valid_from": _iso(assignment.valid_from),
                 "valid_to": _iso(assignment.valid_to)}, actor(), related=[party.id])
        session.commit()
        return assignment


@blueprint.route("/parties/<int:party_id>/roles/<int:role_id>/end")
class PartyRoleEnd(MethodView):
    @blueprint.arguments(EndSchema)
    @blueprint.response(200, RoleSchema)
    def post(self, data: dict[str, Any], party_id: int, role_id: int):
        """End a role on a day, its last (needs core.party.update on the party)."""
        session = web.db_session()
        party = party_or_404(party_id)
        assignment = next((r for r in party.roles if r.id == role_id), None)
        if assignment is None:
            raise NotFound(f"Party {party_id} has no role assignment {role_id}.")
        require("update", party)
        on = data["on"]
        try:
            end_role(session, assignment, on)
        except GraphRuleError as exc:
            raise ValidationError({"on": [str(exc)]}) from None
        publish(session, "core.role.ended", assignment,
                {"party_id": party.id, "role": assignment.role, "valid_to": on.isoformat()}, actor(),
                related=[party.id])
        session.commit()
        return assignment


# -- relationship types -----------------------------------------------------------------------------


@blueprint.route("/relationship-types")
class RelationshipTypes(MethodView):
    @blueprint.list_response(RELATIONSHIP_TYPES)
    def get(self, query: ListQuery):
        """The tenant's relationship types (its own and those its plugins contribute)."""
        return cursor_paginate(select(RelationshipTypeDef), query)

    @blueprint.arguments(RelationshipTypeSchema)
    @blueprint.response(201, RelationshipTypeSchema)
    def post(self, data: dict[str, Any]):
        """Define a relationship type (tenant administrators: core.relationship_type.create)."""
        require_admin("create")
        session = web.db_session()
        check_type_ends(data)
        if not data["symmetric"] and not data["inverse_label"]:
            raise ValidationError({"inverse_label": ["Required unless the type is symmetric."]})
        with rule_errors("code"):
            definition = define_relationship_type(session, catalogue=role_catalogue(), **data)
        session.commit()
        return definition


@blueprint.route("/relationship-types/<code>")
class RelationshipTypeItem(MethodView):
    @blueprint.arguments(RelationshipTypeUpdateSchema)
    @blueprint.response(200, RelationshipTypeSchema)
    def patch(self, changes: dict[str, Any], code: str):
        """Change a tenant-defined type's labels or admitted kinds and roles (core.relationship_type.update).

        The new rules apply to relationships created from now on; existing ones are kept.
        """
        require_admin("update")
        session = web.db_session()
        definition = session.scalar(select(RelationshipTypeDef).where(RelationshipTypeDef.code == code))
        if definition is None:
            raise NotFound(f"There is no relationship type {code!r} here.")
        if definition.source != "tenant":
            raise PermissionDenied(f"relationship type {code!r} belongs to {definition.source}: change it there")
        check_type_ends(changes)
        for name, value in changes.items():
            setattr(definition, name, value)
        if definition.symmetric and (set(definition.from_kinds) != set(definition.to_kinds)
                                     or set(definition.from_roles) != set(definition.to_roles)):
            raise ValidationError({"to_kinds": ["A symmetric type must admit the same kinds and roles at both ends."]})
        session.commit()
        return definition

    @blueprint.response(204)
    def delete(self, code: str):
        """Delete a tenant-defined type no relationship uses (core.relationship_type.delete).

        A type in use is a 409 saying how many relationships use it; a plugin's type is a 403.
        """
        require_admin("delete")
        session = web.db_session()
        definition = session.scalar(select(RelationshipTypeDef).where(RelationshipTypeDef.code == code))
        if definition is None:
            raise NotFound(f"There is no relationship type {code!r} here.")
        if definition.source != "tenant":
            raise PermissionDenied(f"relationship type {code!r} belongs to {definition.source}: it stays")
        delete_relationship_type(session, definition)
        session.commit()


# -- relationships ----------------------------------------------------------------------------------


def _end_field(message: str) -> str:
    """Which input field a relationship rule's message is about."""
    if "unknown relationship type" in message:
        return "type"
    if "its from end" in message or "the from end" in message:
        return "from_party_id"
    if "its to end" in message or "the to end" in message or "related to itself" in message:
        return "to_party_id"
    return "valid_to"


@blueprint.route("/relationships")
class Relationships(MethodView):
    @blueprint.arguments(RelationshipCreateSchema)
    @blueprint.record_response(RelationshipSchema, 201)
    def post(self, data: dict[str, Any]):
        """Link two parties (needs core.party.link on both); 422 when an end breaks the type's rules."""
        session = web.db_session()
        from_party = party_or_404(data["from_party_id"], "from_party_id")
        to_party = party_or_404(data["to_party_id"], "to_party_id")
        require("link", from_party)
        require("link", to_party)
        try:
            rel = relate(session, from_party, to_party, data["type"], data["valid_from"], data["valid_to"],
                         data["attributes"], data["notes"])
        except GraphRuleError as exc:
            raise ValidationError({_end_field(str(exc)): [str(exc)]}) from None
        publish(session, "core.relationship.created", rel, relationship_payload(rel), actor(),
                related=[rel.from_party_id, rel.to_party_id])
        session.commit()
        return rel, {"Location": url_for(".RelationshipItem", relationship_id=rel.id)}


@blueprint.route("/relationships/<int:relationship_id>")
class RelationshipItem(MethodView):
    @blueprint.record_response(RelationshipSchema)
    def get(self, relationship_id: int):
        """A relationship whose two ends the caller may see."""
        return relationship_or_404(relationship_id)

    @blueprint.requires_if_match
    @blueprint.arguments(RelationshipUpdateSchema)
    @blueprint.record_response(RelationshipSchema)
    def patch(self, changes: dict[str, Any], relationship_id: int):
        """Change a relationship's attributes or notes (If-Match; core.party.link on both ends)."""
        session = web.db_session()
        rel = relationship_or_404(relationship_id, for_update=True)
        check_etag(rel)
        require("link", session.get(Party, rel.from_party_id))
        require("link", session.get(Party, rel.to_party_id))
        for name, value in changes.items():
            setattr(rel, name, value)
        session.flush()
        publish(session, "core.relationship.updated", rel, {**relationship_payload(rel), "changed": sorted(changes)},
                actor(), related=[rel.from_party_id, rel.to_party_id])
        session.commit()
        return rel


@blueprint.route("/relationships/<int:relationship_id>/end")
class RelationshipEnd(MethodView):
    @blueprint.arguments(EndSchema)
    @blueprint.record_response(RelationshipSchema)
    def post(self, data: dict[str, Any], relationship_id: int):
        """End a relationship on a day, its last; it stays in the history (core.party.link on both ends)."""
        session = web.db_session()
        rel = relationship_or_404(relationship_id, for_update=True)
        require("link", session.get(Party, rel.from_party_id))
        require("link", session.get(Party, rel.to_party_id))
        with rule_errors("on"):
            end_relationship(session, rel, data["on"])
        publish(session, "core.relationship.ended", rel, relationship_payload(rel), actor(),
                related=[rel.from_party_id, rel.to_party_id])
        session.commit()
        return rel


# -- graph queries ----------------------------------------------------------------------------------


@blueprint.route("/parties/<int:party_id>/neighbours")
@blueprint.arguments(NeighboursQuerySchema, location="query")
@blueprint.response(200, NeighbourSchema(many=True))
def party_neighbours(args: dict[str, Any], party_id: int):
    """The parties directly related to this one that the caller may see, by name."""
    # Plain rows on the request's session: answering with relationships, the response's field
    # security (RecordSchema) reads its principal from that session anyway.
    with rule_errors("type"):
        return [n._asdict() for n in read_neighbours(web.db_session(), party_id, types=args.get("types"),
                                                     role=args.get("role"), direction=args["direction"],
                                                     as_of=args.get("as_of", TODAY))]


@blueprint.route("/parties/<int:party_id>/neighbourhood")
@blueprint.arguments(NeighbourhoodQuerySchema, location="query")
@blueprint.response(200, NeighbourhoodSchema)
def party_neighbourhood(args: dict[str, Any], party_id: int):
    """The visible parties within ``depth`` hops (at most 4), and the relationships between them."""
    with rule_errors("type"):
        found = neighbourhood(web.db_session(), party_id, args["depth"], types=args.get("types"), as_of=args.get("as_of", TODAY))
    nodes = [{"id": p.id, "kind": p.kind, "display_name": p.display_name, "hops": found.distances[p.id]}
             for p in party_refs(found.distances)]
    return {"nodes": sorted(nodes, key=lambda n: (n["hops"], n["id"])), "edges": found.edges}


@blueprint.route("/paths")
@blueprint.arguments(PathsQuerySchema, location="query")
@blueprint.response(200, PathsSchema)
def paths(args: dict[str, Any]):
    """Every shortest path (at most ``max_hops``, 6 at most) between two parties, through visible parties."""
    with rule_errors("type"):
        found = shortest_paths(web.db_session(), args["from_id"], args["to_id"], args["max_hops"],
                               types=args.get("types"), as_of=args.get("as_of", TODAY))
    return {"paths": found, "parties": party_refs(pid for path in found for pid in path.party_ids)}


# -- party 360 --------------------------------------------------------------------------------------


@blueprint.route("/parties/<int:party_id>/360")
@blueprint.response(200, Party360Schema)
def party_360(party_id: int):
    """The party, its roles and relationships today, and the plugins' panels (rendered lazily:
    GET each panel's ``url``); a plugin that fails is an entry with an ``error``."""
    with web.read_scope() as scope:
        view = read_party360(scope, web.platform(), web.require_tenant(), party_id)
    panels = [{**entry.__dict__, "url": url_for(".party_panel", party_id=view.party.id, panel=entry.name)
               if entry.name else None} for entry in view.panels]
    return {"party": view.party, "roles": view.roles, "relationships": view.relationships, "panels": panels}


@blueprint.route("/parties/<int:party_id>/panels/<panel>")
@blueprint.response(200, PanelSchema)
@blueprint.alt_response(502, description="The plugin failed to render the panel.")
def party_panel(party_id: int, panel: str):
    """Render one plugin panel of the party's 360."""
    party = party_or_404(party_id)
    try:
        found, html = render_panel(web.db_session(), web.platform(), web.require_tenant(), party, panel)
    except PanelFailed as exc:
        return problem(502, "Bad Gateway", str(exc))
    return {"name": found.name, "title": found.title, "html": html}


# -- timeline ---------------------------------------------------------------------------------------


@blueprint.route("/parties/<int:party_id>/timeline")
@blueprint.arguments(TimelineQuerySchema, location="query")
@blueprint.response(200, TimelinePageSchema)
def party_timeline(args: dict[str, Any], party_id: int):
    """The party's events, newest first, keyset-paginated (``next_cursor``, ``Link: rel="next"``)."""
    party_or_404(party_id)
    query = ListQuery(listing=TIMELINE, limit=args["limit"], sort=(*TIMELINE.default_sort, SortKey("id", True)),
                      filters=(), fields=None, cursor=args.get("cursor"))
    page = cursor_paginate(timeline_statement(party_id, type_prefix=args.get("type_prefix"),
                                              source=args.get("source")), query)
    hidden = unreadable_anywhere(current_principal())
    items = [{**item, "payload": without_fields(item["payload"], hidden)}
             for item in TIMELINE.dump(readable_entries(web.db_session(), page.items), None)]
    response: Response = jsonify(items=items, next_cursor=page.next_cursor)
    if page.next_cursor is not None:
        link_args = request.args.copy()
        link_args["cursor"] = page.next_cursor
        response.headers["Link"] = f'<{url_for(".party_timeline", party_id=party_id, _external=True, **link_args)}>; rel="next"'
    return response


# -- merge ------------------------------------------------------------------------------------------


@blueprint.route("/parties/<int:party_id>/merge", methods=["POST"])
@blueprint.arguments(MergeRequestSchema)
@blueprint.response(200, MergeResultSchema)
def merge(data: dict[str, Any], party_id: int):
    """Merge ``loser_id`` into this party, then delete it (core.party.update here, core.party.delete
    on the loser); the loser's id then redirects to this party."""
    session = web.db_session()
    survivor = party_or_404(party_id)
    loser = party_or_404(data["loser_id"], "loser_id")
    if loser.id == survivor.id:
        raise ValidationError({"loser_id": ["A party cannot be merged into itself."]})
    require("update", survivor)
    require("delete", loser)
    report = merge_parties(session, web.platform(), survivor, loser, actor())
    session.commit()
    return {"party": survivor, "merge": report.as_dict()}


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None

