"""The plugin's marshmallow schemas: its API resources, shared by the pages' forms and the workflow action."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import xrm_sdk as xrm
from marshmallow import fields, validate
from sqlalchemy.orm import object_session

from .consents import STATUSES
from .interactions import DIRECTIONS, INTERACTION_CHANNELS
from .people import current_employer_id
from .profiles import ADDRESS_KINDS, CHANNELS, CONTACT_POINT_KINDS, CONTACT_POINT_LABELS

NOT_BLANK = validate.Regexp(r"\s*\S", error="Must not be blank.")
#: BCP 47 language tags as people write them: ``fr``, ``en-GB``, ``pt-BR``, ``zh-Hant``.
LANGUAGE_TAG = validate.Regexp(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", error="Use a language tag such as fr or en-GB.")


class UtcDateTime(fields.DateTime):
    """A moment given by a client, kept in UTC: an input without an offset is read as UTC.

    Only input needs it: stored moments come back from the database with their offset.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _values(kind: str):
    return lambda profile: [p.value for p in profile.points(kind)]


class ContactSchema(xrm.RecordSchema):
    """What people and organizations share: the party's name, tags, custom values and ownership."""

    kind = fields.String(dump_only=True)
    display_name = fields.String(validate=[validate.Length(min=1, max=200), NOT_BLANK])
    tags = fields.List(fields.String(validate=[validate.Length(min=1, max=100), NOT_BLANK]))
    custom = fields.Dict(keys=fields.String(), metadata={
        "description": "The party's custom field values by code, validated against the tenant's definitions."})
    preferred_channel = fields.String(allow_none=True, validate=validate.OneOf(CHANNELS))
    preferred_language = fields.String(allow_none=True, validate=[validate.Length(max=35), LANGUAGE_TAG])
    notes = fields.String(validate=validate.Length(max=10_000))
    owner_user_id = fields.Integer(allow_none=True)
    department_id = fields.Integer(allow_none=True)
    emails = fields.Function(_values("email"), dump_only=True, metadata={
        "description": "Email addresses, primary first (change them through contact-points)."})
    phones = fields.Function(_values("phone"), dump_only=True, metadata={
        "description": "Phone numbers in E.164, primary first (change them through contact-points)."})
    created_at = UtcDateTime(dump_only=True)
    updated_at = UtcDateTime(dump_only=True)


class PersonSchema(ContactSchema):
    """A person: the display name defaults to prefix, given and family names."""

    prefix = fields.String(validate=validate.Length(max=40))
    given_name = fields.String(validate=validate.Length(max=100))
    family_name = fields.String(validate=validate.Length(max=100))
    job_title = fields.String(validate=validate.Length(max=200))
    birthday = fields.Date(allow_none=True)
    organization_id = fields.Method("_employer", deserialize="_load_employer", allow_none=True, metadata={
        "description": "The organization the person works for today (a dated 'works for' relationship)."})
    works_since = fields.Date(load_only=True, allow_none=True, metadata={
        "description": "With organization_id: the employment's first day (default today)."})

    def _employer(self, profile) -> int | None:
        return current_employer_id(object_session(profile), profile)

    def _load_employer(self, value: Any) -> int | None:
        return fields.Integer(allow_none=True).deserialize(value)


class NewContactFields(xrm.Schema):
    """What only a creation accepts: the first emails and phones."""

    emails = fields.List(fields.String(validate=validate.Length(max=320)), load_default=list)
    phones = fields.List(fields.String(validate=validate.Length(max=40)), load_default=list)
    region = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^[A-Za-z]{2}$", error="Use a two-letter country code."), metadata={
        "description": "Country (ISO 3166) reading phone numbers given without +country code."})


class NewPersonSchema(NewContactFields, PersonSchema):
    """A person as created: the profile with its first emails and phones."""


class OrganizationSchema(ContactSchema):
    display_name = fields.String(required=True, validate=[validate.Length(min=1, max=200), NOT_BLANK])


class NewOrganizationSchema(NewContactFields, OrganizationSchema):
    """An organization as created: the profile with its first emails and phones."""


class AddressSchema(xrm.RecordSchema):
    kind = fields.String(required=True, validate=validate.OneOf(ADDRESS_KINDS))
    street = fields.String(load_default="", validate=validate.Length(max=1000))
    postal_code = fields.String(load_default="", validate=validate.Length(max=20))
    city = fields.String(load_default="", validate=validate.Length(max=100))
    region = fields.String(load_default="", validate=validate.Length(max=100))
    country = fields.String(load_default="", validate=validate.Regexp(
        r"^([A-Z]{2})?$", error="Use a two-letter ISO country code in capitals (FR, DE)."))
    is_primary = fields.Boolean(load_default=False)


class ContactPointSchema(xrm.RecordSchema):
    kind = fields.String(required=True, validate=validate.OneOf(CONTACT_POINT_KINDS))
    label = fields.String(load_default="work", validate=validate.OneOf(CONTACT_POINT_LABELS))
    value = fields.String(required=True, validate=[validate.Length(min=1, max=320), NOT_BLANK])
    service = fields.String(load_default="", validate=validate.Length(max=40))
    is_primary = fields.Boolean(load_default=False)
    region = fields.String(load_only=True, load_default=None, allow_none=True, validate=validate.Regexp(
        r"^[A-Za-z]{2}$", error="Use a two-letter country code."))


class ConsentSchema(xrm.RecordSchema):
    channel = fields.String(dump_only=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    decided_at = UtcDateTime(load_default=None, allow_none=True, metadata={
        "description": "When the party gave or refused it (default: now)."})
    source = fields.String(load_default="", validate=validate.Length(max=200))
    proof = fields.String(load_default="", validate=validate.Length(max=10_000))


class ConsentChangeSchema(xrm.Schema):
    channel = fields.String()
    status = fields.String()
    decided_at = UtcDateTime()
    source = fields.String()
    proof = fields.String()
    recorded_at = UtcDateTime()
    recorded_by = fields.String()


#: Users or other parties one interaction may name.
MAX_PARTICIPANTS = 1000


class InteractionSchema(xrm.RecordSchema):
    party_id = fields.Integer(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(INTERACTION_CHANNELS))
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    occurred_at = UtcDateTime(required=True)
    duration_minutes = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100_000))
    subject = fields.String(load_default="", validate=validate.Length(max=200))
    outcome = fields.String(load_default="", validate=validate.Length(max=200))
    notes = fields.String(load_default="", validate=validate.Length(max=20_000))
    # Bounded: each list is looked up in one IN, which PostgreSQL refuses beyond 65 535 parameters (a 500).
    user_ids = fields.List(fields.Integer(), load_default=list, validate=validate.Length(max=MAX_PARTICIPANTS))
    other_party_ids = fields.List(fields.Integer(), load_default=list, validate=validate.Length(max=MAX_PARTICIPANTS))
    created_at = UtcDateTime(dump_only=True)
