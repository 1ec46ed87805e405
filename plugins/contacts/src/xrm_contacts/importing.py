"""The import target ``contacts.person``: people with their emails, phones, websites, addresses and employer.

Its field names are the vCard reader's canonical keys (``full_name``, ``given_name``, ``emails``…),
so a vCard file imports without a mapping and people export to vCard through the core engine
(``xrm export contacts.person --format vcard``). Imports match people on a natural key: ``email``
or ``phone`` (any of the person's contact points) or ``external_id`` (the party identifier of
source ``external``). Rows go through the same service as the API and pages, so phones are
checked and stored in E.164 and every creation publishes its events.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import marshmallow as ma
import xrm_sdk as xrm
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from . import people
from .profiles import Profile

#: The party identifier source that ``external_id`` stands for.
EXTERNAL = "external"
LOOKUP_CHUNK = 500
CANONICAL = ("full_name", "given_name", "family_name", "prefix", "organization", "job_title", "emails", "phones",
             "urls", "addresses", "birthday", "note")


class AddressRowSchema(ma.Schema):
    street = ma.fields.String(load_default="")
    city = ma.fields.String(load_default="", validate=ma.validate.Length(max=100))
    region = ma.fields.String(load_default="", validate=ma.validate.Length(max=100))
    postal_code = ma.fields.String(load_default="", validate=ma.validate.Length(max=20))
    country = ma.fields.String(load_default="", validate=ma.validate.Length(max=2))
    type = ma.fields.String(load_default="")


class PersonRowSchema(ma.Schema):
    """One mapped row of a ``contacts.person`` import (vCard's canonical keys, plus keys and tags)."""

    full_name = ma.fields.String(validate=ma.validate.Length(max=200))
    given_name = ma.fields.String(validate=ma.validate.Length(max=100))
    family_name = ma.fields.String(validate=ma.validate.Length(max=100))
    prefix = ma.fields.String(validate=ma.validate.Length(max=40))
    organization = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200))
    job_title = ma.fields.String(validate=ma.validate.Length(max=200))
    emails = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=320)))
    phones = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=40)))
    urls = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=320)))
    addresses = ma.fields.List(ma.fields.Nested(AddressRowSchema))
    birthday = ma.fields.Date(allow_none=True)
    note = ma.fields.String(validate=ma.validate.Length(max=10_000))
    email = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=320))
    phone = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=40))
    external_id = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200))
    tags = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=100)))
    custom = ma.fields.Dict()

    @ma.validates_schema
    def _named(self, data: dict[str, Any], partial: Any = None, **_kwargs: Any) -> None:
        if not partial and not (data.get("full_name") or data.get("given_name") or data.get("family_name")):
            raise ma.ValidationError("Give a full name, a given name or a family name.", "full_name")


def _points(row: dict[str, Any], kind: str) -> list[str] | None:
    """The row's values of a contact point kind (its list and its single key field), or None if absent."""
    many, one = {"email": ("emails", "email"), "phone": ("phones", "phone"), "website": ("urls", None)}[kind]
    if many not in row and (one is None or one not in row):
        return None
    values = list(row.get(many) or [])
    if one and row.get(one):
        values.insert(0, row[one])
    return values


class PersonTarget(xrm.ImportTarget):
    name = "contacts.person"
    label = "People (contacts)"
    permission = "contacts.person"
    fields = (
        xrm.ImportField("full_name", "Full name"),
        xrm.ImportField("given_name", "Given name"),
        xrm.ImportField("family_name", "Family name"),
        xrm.ImportField("prefix", "Prefix"),
        xrm.ImportField("organization", "Organization (name)"),
        xrm.ImportField("job_title", "Job title"),
        xrm.ImportField("emails", "Emails", "list"),
        xrm.ImportField("phones", "Phones", "list"),
        xrm.ImportField("urls", "Websites", "list"),
        xrm.ImportField("addresses", "Addresses", "json"),
        xrm.ImportField("birthday", "Birthday", "date"),
        xrm.ImportField("note", "Notes", "text"),
        xrm.ImportField("email", "Email (key)", "email"),
        xrm.ImportField("phone", "Phone (key)", "phone"),
        xrm.ImportField("external_id", "Id in the old system (key)"),
        xrm.ImportField("tags", "Tags", "list"),
    )
    keys = ("email", "phone", "external_id")
    schema = PersonRowSchema
    custom_fields_entity = "core.party"
    presets: ClassVar[dict[str, dict[str, str]]] = {
        "vcard": {key: key for key in CANONICAL},
        "google": {"Given Name": "given_name", "Family Name": "family_name", "Name Prefix": "prefix",
                   "Organization 1 - Name": "organization", "Organization 1 - Title": "job_title",
                   "E-mail 1 - Value": "email", "E-mail 2 - Value": "emails", "Phone 1 - Value": "phones",
                   "Phone 2 - Value": "phones", "Website 1 - Value": "urls", "Birthday": "birthday", "Notes": "note"},
        "outlook": {"Title": "prefix", "First Name": "given_name", "Last Name": "family_name",
                    "Company": "organization", "Job Title": "job_title", "E-mail Address": "email",
                    "E-mail 2 Address": "emails", "Business Phone": "phones", "Mobile Phone": "phones",
                    "Home Phone": "phones", "Web Page": "urls", "Birthday": "birthday", "Notes": "note"},
    }

    # -- matching -----------------------------------------------------------------------------------

    def find(self, session: Session, key: str, values: list[Any]) -> dict[Any, int]:
        found: dict[Any, int] = {}
        for start in range(0, len(values), LOOKUP_CHUNK):
            chunk = values[start:start + LOOKUP_CHUNK]
            if key == "external_id":
                rows = session.execute(select(xrm.PartyIdentifier.value, xrm.PartyIdentifier.party_id).where(
                    xrm.PartyIdentifier.source == EXTERNAL, xrm.PartyIdentifier.value.in_(chunk)))
                found.update({value: party_id for value, party_id in rows})
                continue
            kind = "email" if key == "email" else "phone"
            stored = {str(v).strip().lower() if kind == "email" else str(v): v for v in chunk}
            for value, party_id in people.find_by_contact_point(session, kind, list(stored)).items():
                found[stored[value]] = party_id
        return found

    # -- reading --------------------------------------------------------------------------------------

    def _profiles(self, session: Session, ids: list[int] | None) -> Iterator[Profile]:
        chunks = [ids[i:i + LOOKUP_CHUNK] for i in range(0, len(ids), LOOKUP_CHUNK)] if ids is not None else [None]
        for chunk in chunks:
            statement = (select(Profile).where(Profile.kind == "person")
                         .options(selectinload(Profile.contact_points), selectinload(Profile.addresses))
                         .order_by(Profile.id))
            if chunk is not None:
                statement = statement.where(Profile.id.in_(chunk))
            yield from session.scalars(statement)

    def _row(self, session: Session, profile: Profile) -> dict[str, Any]:
        employer_id = people.current_employer_id(session, profile)
        employer = session.get(xrm.Party, employer_id) if employer_id else None
        external = next((i.value for i in profile.party.identifiers if i.source == EXTERNAL), None)
        return {
            "full_name": profile.party.display_name, "given_name": profile.given_name,
            "family_name": profile.family_name, "prefix": profile.prefix,
            "organization": employer.display_name if employer else None, "job_title": profile.job_title,
            "emails": [p.value for p in profile.points("email")], "phones": [p.value for p in profile.points("phone")],
            "urls": [p.value for p in profile.points("website")],
            "addresses": [{"street": a.street, "city": a.city, "region": a.region, "postal_code": a.postal_code,
                           "country": a.country, "type": a.kind} for a in profile.addresses],
            "birthday": profile.birthday.isoformat() if profile.birthday else None, "note": profile.notes,
            "external_id": external, "tags": list(profile.party.tags or []),
            "custom": dict(profile.party.custom or {}),
        }

    def snapshot(self, session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
        return {profile.id: self._row(session, profile) for profile in self._profiles(session, ids)}

    def export_rows(self, session: Session, ids: list[int] | None = None) -> Iterator[dict[str, Any]]:
        for profile in self._profiles(session, ids):
            yield self._row(session, profile)

    def export_columns(self, session: Session) -> list[str]:
        # Addresses are structured: they travel in vCard and JSON lines, not in a spreadsheet cell.
        return [c for c in CANONICAL if c != "addresses"] + ["external_id", "tags"]

    # -- writing ----------------------------------------------------------------------------------------

    def create(self, session: Session, rows: list[dict[str, Any]]) -> list[int]:
        ids = []
        for row in rows:
            data = {
                "display_name": row.get("full_name") or "", "given_name": row.get("given_name") or "",
                "family_name": row.get("family_name") or "", "prefix": row.get("prefix") or "",
                "job_title": row.get("job_title") or "", "birthday": row.get("birthday"),
                "notes": row.get("note") or "", "tags": row.get("tags") or [], "custom": row.get("custom") or {},
                "emails": _points(row, "email") or [], "phones": _points(row, "phone") or [],
                "organization_id": self._organization(session, row.get("organization")),
            }
            if row.get("external_id"):
                data["identifiers"] = {EXTERNAL: row["external_id"]}
            profile = people.create_contact(session, "person", data)
            self._replace_points(session, profile, "website", row.get("urls") or [])
            for address in row.get("addresses") or []:
                people.add_address(session, profile, _address(address))
            ids.append(profile.id)
        return ids

    def update(self, session: Session, changes: dict[int, dict[str, Any]]) -> None:
        profiles = {p.id: p for p in self._profiles(session, list(changes))}
        for party_id, change in changes.items():
            profile = profiles.get(party_id)
            if profile is None:
                raise xrm.NotFound(f"person #{party_id} is not visible to you")
            fields: dict[str, Any] = {}
            for source, target in (("full_name", "display_name"), ("given_name", "given_name"),
                                   ("family_name", "family_name"), ("prefix", "prefix"),
                                   ("job_title", "job_title"), ("birthday", "birthday"), ("note", "notes"),
                                   ("tags", "tags")):
                if source in change:
                    fields[target] = change[source] if change[source] is not None or target == "birthday" else ""
            if isinstance(fields.get("birthday"), str):
                fields["birthday"] = ma.fields.Date().deserialize(fields["birthday"])
            if "custom" in change:
                fields["custom"] = change["custom"]
            if "organization" in change:
                fields["organization_id"] = self._organization(session, change["organization"])
            people.update_contact(session, profile, fields)
            for kind in ("email", "phone", "website"):
                values = _points(change, kind)
                if values is not None:
                    self._replace_points(session, profile, kind, values, exact="emails" in change
                                         or "phones" in change or "urls" in change)
            if "addresses" in change:
                for address in list(profile.addresses):
                    people.remove_detail(session, address)
                for address in change["addresses"] or []:
                    people.add_address(session, profile, _address(address))
            if "external_id" in change:
                self._set_external_id(session, profile, change["external_id"])
        session.flush()

    def delete(self, session: Session, ids: list[int]) -> None:
        for profile in list(self._profiles(session, ids)):
            people.delete_contact(session, profile)

    # -- helpers -------------------------------------------------------------------------------------------

    def _organization(self, session: Session, name: str | None) -> int | None:
        """The visible organization of that name, created when there is none."""
        if not name or not name.strip():
            return None
        found = session.scalar(select(xrm.Party.id).where(xrm.Party.kind == "organization",
                                                          xrm.Party.display_name == name.strip()).limit(1))
        if found is not None:
            return found
        return people.create_contact(session, "organization", {"display_name": name.strip()}).id

    def _replace_points(self, session: Session, profile: Profile, kind: str, values: list[str],
                        exact: bool = False) -> None:
        """Add the values the profile lacks; with ``exact``, also remove those not in ``values``."""
        wanted = [people.normalise_point(kind, v, None, {"email": "emails", "phone": "phones"}.get(kind, "urls"))
                  for v in values if v and str(v).strip()]
        held = {p.value: p for p in profile.points(kind)}
        for value in dict.fromkeys(wanted):
            if value not in held:
                people.add_contact_point(session, profile, {"kind": kind, "value": value})
        if exact:
            for value, point in held.items():
                if value not in wanted:
                    people.remove_detail(session, point)

    def _set_external_id(self, session: Session, profile: Profile, value: str | None) -> None:
        held = next((i for i in profile.party.identifiers if i.source == EXTERNAL), None)
        if held is not None and value is None:
            profile.party.identifiers.remove(held)
        elif held is not None:
            held.value = value
        elif value:
            profile.party.identifiers.append(xrm.PartyIdentifier(source=EXTERNAL, value=value))


def _address(row: dict[str, Any]) -> dict[str, Any]:
    kind = row.get("type") or "other"
    country = (row.get("country") or "").strip()
    return {"kind": kind if kind in ("home", "work", "billing", "shipping") else "other",
            "street": row.get("street") or "", "postal_code": row.get("postal_code") or "",
            "city": row.get("city") or "", "region": row.get("region") or "",
            "country": country.upper() if len(country) == 2 else ""}


TARGETS = [PersonTarget()]

