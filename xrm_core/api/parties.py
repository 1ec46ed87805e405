"""``/api/v1/parties``: the party graph's parties over REST, with their identifiers and custom fields.

Every read and write goes through the request's permission-scoped session: a party outside the
caller's tenant or scope is a 404, a visible party the caller may not change or delete is a 403
(the write guard of :mod:`xrm_core.identity.scoping`). Custom field values are validated against
the tenant's definitions (422 naming ``custom.<code>``) and can be filtered and sorted on.
Each change publishes the core's party events in the same transaction.

Routes (under ``/api/v1``)::

    GET/POST          /parties                  POST/PATCH /parties/bulk
    GET/PATCH/DELETE  /parties/<id>
    GET/POST          /parties/<id>/identifiers DELETE /parties/<id>/identifiers/<identifier_id>
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import url_for
from flask.views import MethodView
from marshmallow import ValidationError, fields, validate
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.routing import RequestRedirect

from .. import web
from ..customfields.listing import CustomFieldListing, ListPredicate
from ..customfields.service import clean_values
from ..customfields.sql import JsonArrayIncludes
from ..db import utcnow
from ..errors import Conflict, NotFound
from ..events import publish
from ..graph import GraphRuleError
from ..graph.merge import resolve_alias
from ..graph.models import Party, PartyIdentifier, PartyRoleAssignment
from ..graph.schemas import NOT_BLANK, PartySchema
from ..graph.service import create_party
from ..identity.models import Department
from ..identity.scoping import PermissionDenied, can
from .auth import current_principal
from .blueprint import ApiBlueprint
from .listing import ListQuery
from .pagination import Page, cursor_paginate
from .records import get_for_update, get_or_404
from .schemas import Schema

blueprint = ApiBlueprint("core_parties", __name__, description=(
    "Parties (people and organizations), their identifiers in other systems and custom fields."))

ENTITY = Party.__custom_fields_entity__


def _today_role(code: str):
    """Parties holding role ``code`` today (UTC): a period that has started and not ended."""
    today = utcnow().date()
    roles = PartyRoleAssignment
    return Party.id.in_(select(roles.party_id).where(
        roles.role == code,
        or_(roles.valid_from.is_(None), roles.valid_from <= today),
        or_(roles.valid_to.is_(None), roles.valid_to >= today),
    ))


def _identified_by(source_value: str):
    source, _, value = source_value.partition(":")
    ids = PartyIdentifier
    return Party.id.in_(select(ids.party_id).where(and_(ids.source == source, ids.value == value)))


PARTIES = CustomFieldListing(
    Party,
    PartySchema,
    sortable=("display_name", "kind", "created_at", "updated_at"),
    filterable={
        "kind": ("eq", "in"),
        "display_name": ("eq", "contains"),
        "owner_user_id": ("eq", "in", "isnull"),
        "owner_team_id": ("eq", "in", "isnull"),
        "department_id": ("eq", "in", "isnull"),
        "created_at": ("gte", "lt"),
        "updated_at": ("gte", "lt"),
    },
    predicates={
        "tag": ListPredicate(fields.String(validate=validate.Length(min=1), metadata={
            "description": "Only parties with this tag."}), lambda tag: JsonArrayIncludes(Party.tags, None, tag)),
        "role": ListPredicate(fields.String(validate=validate.Length(min=1), metadata={
            "description": "Only parties holding this role today."}), _today_role),
        "identifier": ListPredicate(fields.String(validate=validate.Regexp(r"^[^:]+:.+$", error=(
            "Use source:value, e.g. vat:FR123.")), metadata={
            "description": "Only the party with this identifier, as source:value."}), _identified_by),
    },
    default_sort="display_name",
)


class IdentifierSchema(Schema):
    """One of the party's ids in another system (a sub-resource of the party)."""

    id = fields.Integer(dump_only=True)
    source = fields.String(required=True, validate=[validate.Length(min=1, max=63), NOT_BLANK])
    value = fields.String(required=True, validate=[validate.Length(min=1, max=200), NOT_BLANK])


# -- helpers -------------------------------------------------------------------------------------


def actor() -> str:
    return current_principal().name


@contextmanager
def rule_errors(field: str) -> Iterator[None]:
    """A broken graph rule is the client's input: a 422 naming ``field``."""
    try:
        yield
    except GraphRuleError as exc:
        raise ValidationError({field: [str(exc)]}) from None


def require(action: str, party: Party) -> None:
    """The caller sees ``party``; it must also be allowed ``action`` on it (403 otherwise)."""
    principal = current_principal()
    if not can(web.db_session(), principal, action, party):
        raise PermissionDenied(f"{principal.name} may not {action} party #{party.id}")


def _identifier_map(items: Iterable[Mapping[str, str]]) -> dict[str, str]:
    identifiers: dict[str, str] = {}
    for index, item in enumerate(items):
        # A partial (PATCH) load makes nested schemas partial too: an identifier still needs both.
        missing = [key for key in ("source", "value") if key not in item]
        if missing:
            raise ValidationError({"identifiers": {index: {key: ["Missing data for required field."]
                                                           for key in missing}}})
        if item["source"] in identifiers:
            raise ValidationError({"identifiers": [f"Source {item['source']!r} appears twice."]})
        identifiers[item["source"]] = item["value"]
    return identifiers


def _check_department(department_id: int | None) -> None:
    """A department of the caller's tenant (the tenant-scoped session hides the others)."""
    if department_id is not None and web.db_session().get(Department, department_id) is None:
        raise ValidationError({"department_id": [f"There is no department {department_id} here."]})


def _check_free(identifiers: Mapping[str, str], party_id: int | None) -> None:
    """No other party of the tenant, visible or not, holds one of these identifiers (409)."""
    if not identifiers:
        return
    ids = PartyIdentifier.__table__.c
    statement = select(ids.source, ids.value, ids.party_id).where(
        ids.tenant_id == current_principal().tenant_id,
        or_(*(and_(ids.source == s, ids.value == v) for s, v in identifiers.items())))
    for taken in web.db_session().connection().execute(statement):
        if taken.party_id != party_id:
            raise Conflict(f"The identifier {taken.source}:{taken.value} already belongs to another party.")


# -- writes shared by single and bulk endpoints (never commit) ---------------------------------------


def create_party_from(data: dict[str, Any]) -> Party:
    """A new party from validated ``PartySchema`` data, with its custom values and event."""
    session = web.db_session()
    custom = clean_values(session, ENTITY, data.get("custom", {}))
    identifiers = _identifier_map(data.get("identifiers", []))
    _check_department(data.get("department_id"))
    _check_free(identifiers, None)
    with rule_errors("display_name"):
        party = create_party(session, data["kind"], data["display_name"], data.get("tags", []), identifiers,
                             department_id=data.get("department_id"), custom=custom)
    publish(session, "core.party.created", party, {"kind": party.kind, "display_name": party.display_name,
                                                   "custom": party.custom}, actor())
    return party


def update_party_from(party: Party, changes: dict[str, Any]) -> Party:
    """Apply validated partial ``PartySchema`` data to ``party``, publishing what changed."""
    session = web.db_session()
    changed = []
    if "custom" in changes:
        custom = clean_values(session, ENTITY, changes.pop("custom"), current=party.custom)
        if custom != party.custom:
            party.custom = custom
            changed.append("custom")
    if "department_id" in changes:
        _check_department(changes["department_id"])
    if "identifiers" in changes:
        wanted = _identifier_map(changes.pop("identifiers"))
        current = {(i.source, i.value) for i in party.identifiers}
        if set(wanted.items()) != current:
            _check_free(wanted, party.id)
            party.identifiers.clear()
            session.flush()  # the old rows go before new ones reuse their (source, value)
            party.identifiers.extend(PartyIdentifier(source=s, value=v) for s, v in wanted.items())
            changed.append("identifiers")
    for name, value in changes.items():
        if name == "display_name":
            value = value.strip()
        if name == "tags":
            value = list(dict.fromkeys(tag.strip() for tag in value))
        if getattr(party, name) != value:
            setattr(party, name, value)
            changed.append(name)
    if changed:
        party.updated_at = utcnow()  # the party's version (its ETag) moves with its identifiers too
        session.flush()
        publish(session, "core.party.updated", party, {"changed": sorted(changed)}, actor())
    return party


# -- routes ----------------------------------------------------------------------------------------


def _list_statement(query: ListQuery):
    """Parties, loading the identifiers and roles only when the response includes them."""
    statement = select(Party)
    for name, relation in (("identifiers", Party.identifiers), ("roles", Party.roles)):
        if query.fields is None or name in query.fields:
            statement = statement.options(selectinload(relation))
    return statement


@blueprint.route("/parties")
class Parties(MethodView):
    @blueprint.list_response(PARTIES)
    def get(self, query: ListQuery) -> Page:
        """List the parties the caller may see: filter, sort (custom fields too), page with cursors."""
        return cursor_paginate(_list_statement(query), query)

    @blueprint.arguments(PartySchema)
    @blueprint.record_response(PartySchema, 201)
    def post(self, data: dict[str, Any]):
        """Create a party (needs core.party.create in the department it lands in)."""
        party = create_party_from(data)
        web.db_session().commit()
        return party, {"Location": url_for(".PartyItem", party_id=party.id)}


@blueprint.route("/parties/<int:party_id>")
class PartyItem(MethodView):
    @blueprint.record_response(PartySchema)
    def get(self, party_id: int):
        """Get a party; the id of a party merged into another redirects (308) to the survivor."""
        session = web.db_session()
        party = session.get(Party, party_id)
        if party is None:
            survivor_id = resolve_alias(session, party_id)
            # Redirect only to a survivor the caller can see: otherwise the alias would leak it.
            if survivor_id is not None and session.get(Party, survivor_id) is not None:
                raise RequestRedirect(url_for(".PartyItem", party_id=survivor_id))
            raise NotFound(f"There is no party {party_id} here.")
        return party

    @blueprint.requires_if_match
    @blueprint.arguments(PartySchema(partial=True))
    @blueprint.record_response(PartySchema)
    def patch(self, changes: dict[str, Any], party_id: int):
        """Change some of a party's fields; custom values are merged (null removes one)."""
        party = get_for_update(Party, party_id)
        require("update", party)
        update_party_from(party, changes)
        web.db_session().commit()
        return party

    @blueprint.requires_if_match
    @blueprint.response(204)
    def delete(self, party_id: int):
        """Delete a party with its identifiers, roles and relationships."""
        session = web.db_session()
        party = get_for_update(Party, party_id)
        require("delete", party)
        publish(session, "core.party.deleted", party, {"kind": party.kind, "display_name": party.display_name},
                actor())
        session.delete(party)
        session.commit()


@blueprint.route("/parties/bulk")
class PartiesBulk(MethodView):
    @blueprint.bulk_create(PartySchema)
    def post(self, data: dict[str, Any]):
        """Create many parties; each succeeds or fails on its own."""
        return create_party_from(data)

    @blueprint.bulk_update(PartySchema, Party)
    def patch(self, party: Party, changes: dict[str, Any]):
        """Change many parties; each item carries its id, etag and changes."""
        require("update", party)
        update_party_from(party, changes)


@blueprint.route("/parties/<int:party_id>/identifiers")
class PartyIdentifiers(MethodView):
    @blueprint.response(200, IdentifierSchema(many=True))
    def get(self, party_id: int):
        """The party's identifiers in other systems."""
        return sorted(get_or_404(Party, party_id).identifiers, key=lambda i: (i.source, i.value))

    @blueprint.arguments(IdentifierSchema)
    @blueprint.response(201, IdentifierSchema)
    def post(self, data: dict[str, Any], party_id: int):
        """Add an identifier (needs core.party.update on the party); 409 if another party has it."""
        session = web.db_session()
        party = get_or_404(Party, party_id)
        require("update", party)
        source, value = data["source"].strip(), data["value"].strip()
        if any(i.source == source and i.value == value for i in party.identifiers):
            raise Conflict(f"The party already has the identifier {source}:{value}.")
        _check_free({source: value}, party.id)
        identifier = PartyIdentifier(source=source, value=value)
        party.identifiers.append(identifier)
        party.updated_at = utcnow()
        session.flush()
        publish(session, "core.party.updated", party, {"changed": ["identifiers"]}, actor())
        session.commit()
        return identifier, 201, {"Location": url_for(".PartyIdentifierItem", party_id=party.id,
                                                    identifier_id=identifier.id)}


@blueprint.route("/parties/<int:party_id>/identifiers/<int:identifier_id>")
class PartyIdentifierItem(MethodView):
    @blueprint.response(204)
    def delete(self, party_id: int, identifier_id: int):
        """Remove an identifier (needs core.party.update on the party)."""
        session = web.db_session()
        party = get_or_404(Party, party_id)
        identifier = next((i for i in party.identifiers if i.id == identifier_id), None)
        if identifier is None:
            raise NotFound(f"Party {party_id} has no identifier {identifier_id}.")
        require("update", party)
        party.identifiers.remove(identifier)
        party.updated_at = utcnow()
        session.flush()
        publish(session, "core.party.updated", party, {"changed": ["identifiers"]}, actor())
        session.commit()
