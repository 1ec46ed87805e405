"""Creating, changing and deleting contacts (people and organizations) and their contact details.

Plain functions on the caller's tenant- and permission-scoped session that publish their events in
the caller's transaction and never commit, so the API, the pages, imports and workflow actions
share them. Bad input raises ``xrm.ValidationError`` naming the field (a 422 in the API).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

import phonenumbers
import xrm_sdk as xrm
from marshmallow import validate
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .profiles import Address, ContactPoint, Profile

#: The relationship type (person → organization) of employment, contributed to the party graph.
WORKS_FOR = "works_for"
#: The inverse type some tenants (and the core demo) record employment with: organization → person.
EMPLOYS = "employs"
PARTY_FIELDS = ("display_name", "tags", "custom", "department_id", "owner_user_id")
PROFILE_FIELDS = ("prefix", "given_name", "family_name", "job_title", "preferred_channel", "preferred_language",
                  "birthday", "notes")
_EMAIL = validate.Email(error="Not a valid email address.")


def actor_of(session: Session) -> str:
    """Who acts through ``session``: its principal, or the plugin itself (demo data, platform jobs)."""
    principal = xrm.principal_of(session)
    return principal.name if principal else "plugin:contacts"


# -- contact values --------------------------------------------------------------------------------


def normalise_phone(value: str, region: str | None, field: str) -> str:
    """``value`` in E.164 (``+33123456789``); ``region`` (ISO country) reads national numbers.

    :raises xrm.ValidationError: on ``field`` when the number cannot be read or is not a valid one.
    """
    try:
        number = phonenumbers.parse(value, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        hint = "" if region else " Give it in international format (+33 1 23 45 67 89) or give a region."
        raise xrm.ValidationError({field: [f"{value!r} is not a phone number.{hint}"]}) from None
    if not phonenumbers.is_valid_number(number):
        raise xrm.ValidationError({field: [f"{value!r} is not a valid phone number."]})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(value: str, field: str) -> str:
    """``value`` trimmed and lower-cased; :raises xrm.ValidationError: on ``field`` if not an email."""
    email = value.strip().lower()
    try:
        _EMAIL(email)
    except xrm.ValidationError as exc:
        raise xrm.ValidationError({field: exc.messages}) from None
    return email


def normalise_point(kind: str, value: str, region: str | None, field: str) -> str:
    """A contact point's value as stored: emails lower-cased, phones in E.164, others trimmed."""
    if kind == "email":
        return normalise_email(value, field)
    if kind == "phone":
        return normalise_phone(value, region, field)
    stripped = value.strip()
    if not stripped:
        raise xrm.ValidationError({field: ["Must not be blank."]})
    return stripped


def composed_name(data: Mapping[str, Any]) -> str:
    """A person's display name from prefix, given and family names."""
    return " ".join(part.strip() for part in (data.get("prefix", ""), data.get("given_name", ""),
                                               data.get("family_name", "")) if part and part.strip())


# -- profiles ----------------------------------------------------------------------------------------


def create_contact(session: Session, kind: str, data: Mapping[str, Any], region: str | None = None) -> Profile:
    """Create a party of ``kind`` with its profile, emails, phones and employer; publish the events.

    ``data`` holds validated profile and party fields, plus optionally ``emails`` and ``phones``
    (lists of strings), ``organization_id`` and ``works_since`` (the employment's first day), and
    ``identifiers`` (``{source: value}``, the party's ids in other systems).
    """
    name = (data.get("display_name") or "").strip() or composed_name(data)
    if not name:
        field = "display_name" if kind == "organization" else "family_name"
        raise xrm.ValidationError({field: ["Give a name."]})
    custom = xrm.clean_custom_values(session, "core.party", data.get("custom", {}))
    emails = [normalise_email(v, f"emails.{i}") for i, v in enumerate(data.get("emails", []))]
    phones = [normalise_phone(v, region, f"phones.{i}") for i, v in enumerate(data.get("phones", []))]
    try:
        party = xrm.create_party(session, kind, name, data.get("tags", []), data.get("identifiers"),
                                 owner_user_id=data.get("owner_user_id"),
                                 department_id=data.get("department_id"), custom=custom)
    except (xrm.Conflict, xrm.PermissionDenied):
        raise  # an identifier already taken (409) or a department out of reach (403): not the name's fault
    except xrm.XrmError as exc:
        raise xrm.ValidationError({"display_name": [str(exc)]}) from None
    actor = actor_of(session)
    xrm.publish(session, "core.party.created", party,
                {"kind": party.kind, "display_name": party.display_name, "custom": party.custom}, actor)
    profile = Profile(id=party.id, kind=kind, **_ownership(party),
                      **{f: data[f] for f in PROFILE_FIELDS if data.get(f) is not None})
    session.add(profile)
    session.flush()
    for number, email in enumerate(dict.fromkeys(emails)):
        _add_point(session, profile, "email", email, is_primary=number == 0)
    for number, phone in enumerate(dict.fromkeys(phones)):
        _add_point(session, profile, "phone", phone, is_primary=number == 0)
    if data.get("organization_id") is not None:
        set_employer(session, profile, data["organization_id"], data.get("works_since"))
    session.flush()
    xrm.publish(session, f"contacts.{kind}.created", profile, {"display_name": name, "changed": []}, actor,
                related=[party.id])
    return profile


def update_contact(session: Session, profile: Profile, changes: Mapping[str, Any]) -> list[str]:
    """Apply validated partial changes to the profile and its party; publish what changed."""
    party = profile.party
    changed: list[str] = []
    changes = dict(changes)
    if "organization_id" in changes:
        since = changes.pop("works_since", None)
        wanted = changes.pop("organization_id")
        if wanted != current_employer_id(session, profile):
            set_employer(session, profile, wanted, since)
            changed.append("organization_id")
    if "custom" in changes:
        custom = xrm.clean_custom_values(session, "core.party", changes.pop("custom"), current=party.custom)
        if custom != party.custom:
            party.custom = custom
            changed.append("custom")
    for name, value in changes.items():
        if name == "tags":
            value = list(dict.fromkeys(tag.strip() for tag in value if tag.strip()))
        if name == "display_name":
            value = value.strip()
        target = party if name in PARTY_FIELDS else profile
        if getattr(target, name) != value:
            setattr(target, name, value)
            changed.append(name)
    if profile.kind == "person" and {"prefix", "given_name", "family_name"} & set(changed) \
            and "display_name" not in changes:
        composed = composed_name({f: getattr(profile, f) for f in ("prefix", "given_name", "family_name")})
        if composed and composed != party.display_name:
            party.display_name = composed
            changed.append("display_name")
    if {"department_id", "owner_user_id"} & set(changed):
        for record in (profile, *profile.addresses, *profile.contact_points):
            record.department_id, record.owner_user_id = party.department_id, party.owner_user_id
    if changed:
        profile.updated_at = xrm.utcnow()
        session.flush()
        actor = actor_of(session)
        if set(changed) & set(PARTY_FIELDS):
            xrm.publish(session, "core.party.updated", party, {"changed": sorted(set(changed) & set(PARTY_FIELDS))},
                        actor)
        xrm.publish(session, f"contacts.{profile.kind}.updated", profile,
                    {"display_name": party.display_name, "changed": sorted(changed)}, actor, related=[party.id])
    return changed


def delete_contact(session: Session, profile: Profile) -> None:
    """Delete the contact and its party (the party's records in every table go with it)."""
    party = profile.party
    actor = actor_of(session)
    payload = {"display_name": party.display_name, "changed": []}
    xrm.publish(session, f"contacts.{profile.kind}.deleted", profile, payload, actor, related=[party.id])
    xrm.publish(session, "core.party.deleted", party, {"kind": party.kind, "display_name": party.display_name},
                actor)
    session.delete(profile)
    session.flush()
    session.delete(party)
    session.flush()


def ensure_profile(session: Session, party: xrm.Party) -> Profile:
    """The party's profile, created blank (with the party's ownership) for a party made elsewhere."""
    profile = session.get(Profile, party.id)
    if profile is None:
        profile = Profile(id=party.id, kind=party.kind, **_ownership(party))
        session.add(profile)
        session.flush()
    return profile


# -- employment ---------------------------------------------------------------------------------------


def current_employer_id(session: Session, profile: Profile) -> int | None:
    """The organization the person works for today, if any (the latest started)."""
    link = _current_employment(session, profile)
    if link is None:
        return None
    return link.to_party_id if link.from_party_id == profile.id else link.from_party_id


def _employment(link: xrm.Relationship, person_id: int) -> bool:
    """Whether ``link`` says the person works for the other end: our ``works_for``, or an
    organization's ``employs`` (the core demo and tenants' own type), read from the person's side."""
    code = link.type.code
    return (code == WORKS_FOR and link.from_party_id == person_id) or (code == EMPLOYS and link.to_party_id == person_id)


def _current(link: xrm.Relationship, today: date) -> bool:
    return (link.valid_from is None or link.valid_from <= today) and (link.valid_to is None or link.valid_to >= today)


def _current_employment(session: Session, profile: Profile) -> xrm.Relationship | None:
    today = xrm.utcnow().date()
    links = session.scalars(select(xrm.Relationship).where(
        or_(xrm.Relationship.from_party_id == profile.id, xrm.Relationship.to_party_id == profile.id))
        .order_by(xrm.Relationship.valid_from.desc(), xrm.Relationship.id.desc()))
    return next((link for link in links if _employment(link, profile.id) and _current(link, today)), None)


def set_employer(session: Session, profile: Profile, organization_id: int | None, since: date | None) -> None:
    """End the person's current employment (yesterday) and start one with ``organization_id`` (``since``)."""
    if profile.kind != "person":
        raise xrm.ValidationError({"organization_id": ["Only a person works for an organization."]})
    organization = session.get(xrm.Party, organization_id) if organization_id is not None else None
    if organization_id is not None and (organization is None or organization.kind != "organization"):
        raise xrm.ValidationError({"organization_id": [f"There is no organization {organization_id} here."]})
    today = xrm.utcnow().date()
    current = _current_employment(session, profile)
    if current is not None:
        last_day = max(today - timedelta(days=1), current.valid_from or date.min)
        xrm.end_relationship(session, current, last_day)
    if organization is not None:
        xrm.sync_relationship_types(session)
        try:
            xrm.relate(session, profile.party, organization, WORKS_FOR, valid_from=since or today)
        except xrm.XrmError as exc:
            raise xrm.ValidationError({"organization_id": [str(exc)]}) from None


# -- addresses and contact points ------------------------------------------------------------------------


def _ownership(record: Profile | xrm.Party) -> dict[str, int | None]:
    """The owner, team and department a contact detail copies from its party or profile."""
    return {"owner_user_id": record.owner_user_id, "owner_team_id": record.owner_team_id,
            "department_id": record.department_id}


def _add_point(session: Session, profile: Profile, kind: str, value: str, **fields: Any) -> ContactPoint:
    point = ContactPoint(party_id=profile.id, kind=kind, value=value, **fields, **_ownership(profile))
    profile.contact_points.append(point)
    return point


def add_contact_point(session: Session, profile: Profile, data: Mapping[str, Any]) -> ContactPoint:
    """Add an email, phone (normalised to E.164), website or social handle; 409 if the party has it."""
    value = normalise_point(data["kind"], data["value"], data.get("region"), "value")
    if any(p.kind == data["kind"] and p.value == value for p in profile.contact_points):
        raise xrm.Conflict(f"The contact already has the {data['kind']} {value}.")
    primary = data.get("is_primary") or not profile.points(data["kind"])
    if primary:
        for other in profile.points(data["kind"]):
            other.is_primary = False
    point = _add_point(session, profile, data["kind"], value, label=data.get("label", "work"),
                       service=data.get("service", ""), is_primary=primary)
    _touched(session, profile, "contact_points")
    return point


def update_contact_point(session: Session, point: ContactPoint, changes: Mapping[str, Any]) -> ContactPoint:
    """Change a contact point; its value is normalised again for its kind."""
    changes = dict(changes)
    region = changes.pop("region", None)
    kind = changes.get("kind", point.kind)
    if "value" in changes or "kind" in changes:
        changes["value"] = normalise_point(kind, changes.get("value", point.value), region, "value")
    if changes.get("is_primary"):
        for other in point.profile.points(kind):
            other.is_primary = other is point
    for name, value in changes.items():
        setattr(point, name, value)
    _touched(session, point.profile, "contact_points")
    return point


def add_address(session: Session, profile: Profile, data: Mapping[str, Any]) -> Address:
    """Add a postal address; the first one, or one marked primary, becomes the primary address."""
    primary = data.get("is_primary") or not profile.addresses
    if primary:
        for other in profile.addresses:
            other.is_primary = False
    address = Address(party_id=profile.id, **{**data, "is_primary": primary}, **_ownership(profile))
    profile.addresses.append(address)
    _touched(session, profile, "addresses")
    return address


def update_address(session: Session, address: Address, changes: Mapping[str, Any]) -> Address:
    """Change an address; marking it primary unmarks the others."""
    if changes.get("is_primary"):
        for other in address.profile.addresses:
            other.is_primary = other is address
    for name, value in changes.items():
        setattr(address, name, value)
    _touched(session, address.profile, "addresses")
    return address


def remove_detail(session: Session, record: Address | ContactPoint) -> None:
    """Delete an address or contact point of a profile."""
    profile = record.profile
    field = "addresses" if isinstance(record, Address) else "contact_points"
    getattr(profile, field).remove(record)
    _touched(session, profile, field)


def _touched(session: Session, profile: Profile, field: str) -> None:
    """The profile's version (its ETag) moves with its details; publish the change."""
    profile.updated_at = xrm.utcnow()
    session.flush()
    xrm.publish(session, f"contacts.{profile.kind}.updated", profile,
                {"display_name": profile.party.display_name, "changed": [field]}, actor_of(session),
                related=[profile.id])


def find_by_contact_point(session: Session, kind: str, values: Iterable[str]) -> dict[str, int]:
    """Normalised value → party id, for the visible contact points of ``kind`` among ``values``."""
    wanted = list(values)
    if not wanted:
        return {}
    rows = session.execute(select(ContactPoint.value, ContactPoint.party_id)
                           .where(ContactPoint.kind == kind, ContactPoint.value.in_(wanted)))
    return {value: party_id for value, party_id in rows}
