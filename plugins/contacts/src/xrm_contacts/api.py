"""``/api/v1/contacts/…``: people, organizations, their addresses, contact points, consents and interactions.

Every read goes through the request's tenant- and permission-scoped session: a record the caller
may not see is a 404, one they see but may not change a 403. Writes of a record need ``If-Match``
with its ETag; creations answer 201 with ``Location``; errors are problem+json naming the field.

Routes (under ``/api/v1/contacts``)::

    GET/POST          /people                   GET/PATCH/DELETE /people/<id>
    GET/POST          /organizations            GET/PATCH/DELETE /organizations/<id>
    GET/POST          /parties/<id>/addresses   PATCH/DELETE /parties/<id>/addresses/<address_id>
    GET/POST          /parties/<id>/contact-points
    PATCH/DELETE      /parties/<id>/contact-points/<point_id>
    GET               /parties/<id>/consents    PUT /parties/<id>/consents/<channel>
    GET               /parties/<id>/may-contact?channel=email
    GET/POST          /interactions             GET/DELETE /interactions/<id>
"""

from __future__ import annotations

from typing import Any

import xrm_sdk as xrm
from flask import url_for
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import select

from . import people
from .consents import consents_of, history_of, set_consent
from .interactions import Interaction, log_interaction
from .profiles import CHANNELS, Address, ContactPoint, Profile
from .schemas import (
    AddressSchema,
    ConsentChangeSchema,
    ConsentSchema,
    ContactPointSchema,
    InteractionSchema,
    NewOrganizationSchema,
    NewPersonSchema,
    OrganizationSchema,
    PersonSchema,
)

blueprint = xrm.ApiBlueprint("contacts", __name__, description=(
    "Contacts: people and organizations with their addresses, contact points, consents and interactions."))

_CONTACT_FILTERS = {
    "display_name": ("eq", "contains"),
    "preferred_channel": ("eq", "in", "isnull"),
    "preferred_language": ("eq", "in"),
    "department_id": ("eq", "in", "isnull"),
    "owner_user_id": ("eq", "in", "isnull"),
    "created_at": ("gte", "lt"),
    "updated_at": ("gte", "lt"),
}
PEOPLE = xrm.Listing(
    Profile, PersonSchema, name="contacts_people",
    sortable=("display_name", "family_name", "given_name", "created_at", "updated_at"),
    filterable={**_CONTACT_FILTERS, "family_name": ("eq", "contains"), "given_name": ("eq", "contains"),
                "job_title": ("eq", "contains"), "birthday": ("gte", "lt", "isnull")},
    columns={"display_name": xrm.Party.display_name},
    default_sort="display_name",
)
ORGANIZATIONS = xrm.Listing(
    Profile, OrganizationSchema, name="contacts_organizations",
    sortable=("display_name", "created_at", "updated_at"), filterable=_CONTACT_FILTERS,
    columns={"display_name": xrm.Party.display_name}, default_sort="display_name",
)
INTERACTIONS = xrm.Listing(
    Interaction, InteractionSchema,
    sortable=("occurred_at", "created_at"),
    filterable={"party_id": ("eq", "in"), "channel": ("eq", "in"), "direction": ("eq",),
                "occurred_at": ("gte", "lt")},
    default_sort="-occurred_at",
)


def _contacts(kind: str):
    return select(Profile).join(xrm.Party, xrm.Party.id == Profile.id).where(Profile.kind == kind)


def _profile(kind: str, party_id: int, *, for_update: bool = False) -> Profile:
    """The visible profile of ``kind`` (404 otherwise), locked and at the client's version for a write."""
    profile = xrm.get_for_update(Profile, party_id) if for_update else xrm.get_or_404(Profile, party_id)
    if profile.kind != kind:
        raise xrm.NotFound(f"There is no {kind} {party_id} here.")
    return profile


def _party(party_id: int) -> xrm.Party:
    """A party the caller sees, whatever its kind (404 otherwise)."""
    return xrm.get_or_404(xrm.Party, party_id)


def _contact_routes(kind: str, plural: str, listing: xrm.Listing, schema: type, new_schema: type) -> None:
    """The list/create and read/change/delete routes of one kind of contact."""
    endpoint = plural.capitalize()

    class Collection(MethodView):
        @blueprint.list_response(listing)
        def get(self, query):
            return xrm.cursor_paginate(_contacts(kind), query)

        @blueprint.arguments(new_schema)
        @blueprint.record_response(schema, 201)
        def post(self, data: dict[str, Any]):
            session = xrm.db_session()
            profile = people.create_contact(session, kind, data, region=data.pop("region", None))
            session.commit()
            return profile, {"Location": url_for(f".{endpoint}Item", party_id=profile.id)}

    class Item(MethodView):
        @blueprint.record_response(schema)
        def get(self, party_id: int):
            return _profile(kind, party_id)

        @blueprint.requires_if_match
        @blueprint.arguments(schema(partial=True))
        @blueprint.record_response(schema)
        def patch(self, changes: dict[str, Any], party_id: int):
            session = xrm.db_session()
            profile = _profile(kind, party_id, for_update=True)
            people.update_contact(session, profile, changes)
            session.commit()
            return profile

        @blueprint.requires_if_match
        @blueprint.response(204)
        def delete(self, party_id: int):
            session = xrm.db_session()
            people.delete_contact(session, _profile(kind, party_id, for_update=True))
            session.commit()

    Collection.get.__doc__ = f"List the {plural} the caller may see: filter, sort, page with cursors."
    Collection.post.__doc__ = f"Create a {kind} (a party with its contact record); 201 with Location."
    Item.get.__doc__ = f"Get a {kind}."
    Item.patch.__doc__ = f"Change some of a {kind}'s fields (If-Match required)."
    Item.delete.__doc__ = f"Delete a {kind} with its party and contact details (If-Match required)."
    blueprint.route(f"/{plural}", endpoint=endpoint)(Collection)
    blueprint.route(f"/{plural}/<int:party_id>", endpoint=f"{endpoint}Item")(Item)


_contact_routes("person", "people", PEOPLE, PersonSchema, NewPersonSchema)
_contact_routes("organization", "organizations", ORGANIZATIONS, OrganizationSchema, NewOrganizationSchema)


# -- addresses and contact points -----------------------------------------------------------------


def _detail(model: type, party_id: int, detail_id: int):
    """A detail of the party, locked and at the client's version (404 if it is another party's)."""
    record = xrm.get_for_update(model, detail_id)
    if record.party_id != party_id:
        raise xrm.NotFound(f"Party {party_id} has no such record {detail_id}.")
    return record


@blueprint.route("/parties/<int:party_id>/addresses")
class Addresses(MethodView):
    @blueprint.response(200, AddressSchema(many=True))
    def get(self, party_id: int):
        """The party's postal addresses, primary first."""
        _party(party_id)
        profile = xrm.db_session().get(Profile, party_id)
        return sorted(profile.addresses, key=lambda a: (not a.is_primary, a.id)) if profile else []

    @blueprint.arguments(AddressSchema)
    @blueprint.response(201, AddressSchema)
    def post(self, data: dict[str, Any], party_id: int):
        """Add a postal address."""
        session = xrm.db_session()
        address = people.add_address(session, people.ensure_profile(session, _party(party_id)), data)
        session.commit()
        return address, 201, {"Location": url_for(".AddressItem", party_id=party_id, address_id=address.id),
                              "ETag": xrm.record_etag(address)}


@blueprint.route("/parties/<int:party_id>/addresses/<int:address_id>")
class AddressItem(MethodView):
    @blueprint.requires_if_match
    @blueprint.arguments(AddressSchema(partial=True))
    @blueprint.response(200, AddressSchema)
    def patch(self, changes: dict[str, Any], party_id: int, address_id: int):
        """Change an address (If-Match required)."""
        session = xrm.db_session()
        address = people.update_address(session, _detail(Address, party_id, address_id), changes)
        session.commit()
        return address, 200, {"ETag": xrm.record_etag(address)}

    @blueprint.requires_if_match
    @blueprint.response(204)
    def delete(self, party_id: int, address_id: int):
        """Remove an address (If-Match required)."""
        session = xrm.db_session()
        people.remove_detail(session, _detail(Address, party_id, address_id))
        session.commit()


@blueprint.route("/parties/<int:party_id>/contact-points")
class ContactPoints(MethodView):
    @blueprint.response(200, ContactPointSchema(many=True))
    def get(self, party_id: int):
        """The party's emails, phones, websites and social handles."""
        _party(party_id)
        profile = xrm.db_session().get(Profile, party_id)
        return list(profile.contact_points) if profile else []

    @blueprint.arguments(ContactPointSchema)
    @blueprint.response(201, ContactPointSchema)
    def post(self, data: dict[str, Any], party_id: int):
        """Add a contact point; phones are stored in E.164 (422 on ``value`` when not a valid number)."""
        session = xrm.db_session()
        point = people.add_contact_point(session, people.ensure_profile(session, _party(party_id)), data)
        session.commit()
        return point, 201, {"Location": url_for(".ContactPointItem", party_id=party_id, point_id=point.id),
                            "ETag": xrm.record_etag(point)}


@blueprint.route("/parties/<int:party_id>/contact-points/<int:point_id>")
class ContactPointItem(MethodView):
    @blueprint.requires_if_match
    @blueprint.arguments(ContactPointSchema(partial=True))
    @blueprint.response(200, ContactPointSchema)
    def patch(self, changes: dict[str, Any], party_id: int, point_id: int):
        """Change a contact point (If-Match required)."""
        session = xrm.db_session()
        point = people.update_contact_point(session, _detail(ContactPoint, party_id, point_id), changes)
        session.commit()
        return point, 200, {"ETag": xrm.record_etag(point)}

    @blueprint.requires_if_match
    @blueprint.response(204)
    def delete(self, party_id: int, point_id: int):
        """Remove a contact point (If-Match required)."""
        session = xrm.db_session()
        people.remove_detail(session, _detail(ContactPoint, party_id, point_id))
        session.commit()


# -- consents -------------------------------------------------------------------------------------------


class ConsentsSchema(xrm.Schema):
    current = fields.Dict(keys=fields.String(), values=fields.Nested(ConsentSchema))
    history = fields.List(fields.Nested(ConsentChangeSchema))


class MayContactQuery(xrm.Schema):
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))


class MayContactSchema(xrm.Schema):
    channel = fields.String()
    may_contact = fields.Boolean()


@blueprint.route("/parties/<int:party_id>/consents")
class Consents(MethodView):
    @blueprint.response(200, ConsentsSchema)
    def get(self, party_id: int):
        """The party's current consent per channel and every recorded answer, newest first."""
        session = xrm.db_session()
        party = _party(party_id)
        return {"current": consents_of(session, party.id), "history": history_of(session, party.id)}


@blueprint.route("/parties/<int:party_id>/consents/<channel>")
class ConsentItem(MethodView):
    @blueprint.arguments(ConsentSchema)
    @blueprint.response(200, ConsentSchema)
    def put(self, data: dict[str, Any], party_id: int, channel: str):
        """Record the party's answer for a channel (email, phone, sms, post); the history keeps the old one."""
        session = xrm.db_session()
        consent = set_consent(session, _party(party_id), channel, data["status"], decided_at=data["decided_at"],
                              source=data["source"], proof=data["proof"], actor=people.actor_of(session))
        session.commit()
        return consent, 200, {"ETag": xrm.record_etag(consent)}


@blueprint.route("/parties/<int:party_id>/may-contact")
class MayContact(MethodView):
    @blueprint.arguments(MayContactQuery, location="query")
    @blueprint.response(200, MayContactSchema)
    def get(self, query: dict[str, Any], party_id: int):
        """Whether the party may be contacted on a channel, as every plugin asks before contacting."""
        session = xrm.db_session()
        party = _party(party_id)
        return {"channel": query["channel"], "may_contact": xrm.may_contact(session, party.id, query["channel"])}


# -- interactions -----------------------------------------------------------------------------------------


@blueprint.route("/interactions")
class Interactions(MethodView):
    @blueprint.list_response(INTERACTIONS)
    def get(self, query):
        """List the interactions the caller may see, newest first by default."""
        return xrm.cursor_paginate(select(Interaction), query)

    @blueprint.arguments(InteractionSchema)
    @blueprint.record_response(InteractionSchema, 201)
    def post(self, data: dict[str, Any]):
        """Log an interaction with a party; it shows on the timeline of every party involved."""
        session = xrm.db_session()
        party = session.get(xrm.Party, data.pop("party_id"))
        if party is None:
            raise xrm.ValidationError({"party_id": ["There is no such party here."]})
        interaction = log_interaction(session, party, actor=people.actor_of(session), **data)
        session.commit()
        return interaction, {"Location": url_for(".InteractionItem", interaction_id=interaction.id)}


@blueprint.route("/interactions/<int:interaction_id>")
class InteractionItem(MethodView):
    @blueprint.record_response(InteractionSchema)
    def get(self, interaction_id: int):
        """Get an interaction."""
        return xrm.get_or_404(Interaction, interaction_id)

    @blueprint.requires_if_match
    @blueprint.response(204)
    def delete(self, interaction_id: int):
        """Delete an interaction logged by mistake (If-Match required)."""
        session = xrm.db_session()
        session.delete(xrm.get_for_update(Interaction, interaction_id))
        session.commit()

