"""The core's import target ``core.party``: parties with identifiers, owner, department, custom fields.

Identifiers are fields ``identifier.<source>`` (``identifier.email``, ``identifier.vat``…) and the
natural keys imports match on. Owners are named by e-mail, departments by name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any, ClassVar

import marshmallow as ma
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from ..errors import Conflict, NotFound
from ..graph import service
from ..graph.models import Party, PartyIdentifier
from ..identity.models import Department
from ..identity.scoping import principal_of
from ..models import User
from .bulk import BulkInsert
from .mapping import GOOGLE_CONTACTS, OUTLOOK_CONTACTS
from .targets import HIDDEN_MATCH, ImportField, ImportTarget, as_stored

IDENTIFIER = "identifier."
#: Rows per ``IN (…)`` list when looking records up.
LOOKUP_CHUNK = 500
#: Values per ``IN (…)`` list when matching a chunk of an import on its key: one statement for a
#: chunk of the default size (each statement's own cost was most of the lookup's).
MATCH_CHUNK = 5000
#: New identifiers, inserted in bulk (values in the table's column order).
IDENTIFIERS = BulkInsert(PartyIdentifier.__table__, ("party_id", "source", "value", "tenant_id"))


class PartySchema(ma.Schema):
    """One mapped row of a ``core.party`` import; ``identifier.<source>`` members become ``identifiers``."""

    class Meta:
        unknown = ma.INCLUDE  # the identifier.<source> family, checked below

    display_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    kind = ma.fields.String(load_default="person", validate=ma.validate.OneOf(service.PARTY_KINDS))
    tags = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1)))
    owner = ma.fields.Email(allow_none=True)
    department = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200))

    @ma.validates_schema(pass_original=True)
    def check_identifiers(self, _data: dict[str, Any], original: dict[str, Any], **_kwargs) -> None:
        errors = {}
        for name, value in original.items():
            if name in self.fields:
                continue
            source = name[len(IDENTIFIER):] if name.startswith(IDENTIFIER) else ""
            if not source or len(source) > 63:
                errors[name] = ["Unknown field."]
            elif value is not None and not (isinstance(value, str) and 0 < len(value.strip()) <= 200):
                errors[name] = ["An identifier is a text of 1 to 200 characters."]
        if errors:
            raise ma.ValidationError(errors)

    @ma.post_load
    def fold_identifiers(self, data: dict[str, Any], **_kwargs) -> dict[str, Any]:
        identifiers = {k[len(IDENTIFIER):]: data.pop(k) for k in list(data) if k.startswith(IDENTIFIER)}
        if identifiers:
            data["identifiers"] = {source: value.strip() if value else None for source, value in identifiers.items()}
        return data

    def load(self, data: Any, *, many: bool | None = None, partial: Any = None, unknown: Any = None) -> Any:
        """marshmallow's ``load``, with a shortcut for the plain rows imports are made of.

        An import loads every row of its file: a row of texts within the fields' limits is checked
        and converted here by the same rules as the declared fields (marshmallow's machinery costs
        more than an import's whole write of the row); any other row, valid or not, goes through
        marshmallow, which also words the errors.
        """
        if many is None and unknown is None and not self.many and self.only is None and not self.exclude:
            loaded = self._plain(data, self.partial if partial is None else partial)
            if loaded is not None:
                return loaded
        return super().load(data, many=many, partial=partial, unknown=unknown)

    @staticmethod
    def _plain(data: Any, partial: Any) -> dict[str, Any] | None:
        """``data`` loaded, if it is a plain row that loads without error; otherwise ``None``."""
        if type(data) is not dict or type(partial) is not bool and partial is not None:
            return None
        loaded: dict[str, Any] = {}
        identifiers: dict[str, str | None] = {}
        for name, value in data.items():
            if name == "display_name":
                if type(value) is not str or not 1 <= len(value) <= 200:
                    return None
            elif name == "kind":
                if value not in service.PARTY_KINDS or type(value) is not str:
                    return None
            elif name == "department":
                if value is not None and (type(value) is not str or len(value) > 200):
                    return None
            elif name == "tags":
                if type(value) is not list or not all(type(tag) is str and tag for tag in value):
                    return None
                value = list(value)
            elif name == "owner":
                if value is not None:  # an e-mail address: marshmallow's check
                    return None
            elif name.startswith(IDENTIFIER) and 0 < len(name) - len(IDENTIFIER) <= 63:
                if value is not None and not (type(value) is str and 0 < len(value.strip()) <= 200):
                    return None
                identifiers[name[len(IDENTIFIER):]] = value.strip() if value else None
                continue
            else:
                return None
            loaded[name] = value
        if not partial:
            if "display_name" not in loaded:
                return None
            loaded.setdefault("kind", "person")
        if identifiers:
            loaded["identifiers"] = identifiers
        return loaded


def _defaulted(rows: list[dict[str, Any]]) -> bool:
    """Whether no row names an owner or a department (the importer's defaults apply: bulk path)."""
    return all(row.get("owner") is None and row.get("department") is None for row in rows)


def _by_source(row: Any) -> str:
    return row[1] or ""


def _person(columns: dict[str, str], email: str, phone: str) -> dict[str, str]:
    """A person preset for ``core.party`` from a vendor layout of canonical person columns."""
    mapping = {"=kind": "person"}
    for column, canonical in columns.items():
        if canonical in ("prefix", "given_name", "family_name"):
            mapping[column] = "display_name"
        elif column == email:
            mapping[column] = "identifier.email"
        elif column == phone:
            mapping[column] = "identifier.phone"
    return mapping


class PartyTarget(ImportTarget):
    name = "core.party"
    label = "Parties"
    permission = "core.party"
    fields = (
        ImportField("display_name", "Name", required=True),
        ImportField("kind", "Kind (person or organization)"),
        ImportField("tags", "Tags", "list"),
        ImportField("owner", "Owner (user e-mail)", "email"),
        ImportField("department", "Department (name)"),
        ImportField("identifier.email", "E-mail (identifier)", "email"),
        ImportField("identifier.phone", "Phone (identifier)", "phone"),
        ImportField("identifier.*", "Identifier in another system"),
    )
    keys = ("identifier.*",)
    schema = PartySchema
    custom_fields_entity = "core.party"
    presets: ClassVar[dict[str, dict[str, str]]] = {
        "google": _person(GOOGLE_CONTACTS, "E-mail 1 - Value", "Phone 1 - Value"),
        "outlook": _person(OUTLOOK_CONTACTS, "E-mail Address", "Business Phone"),
        "vcard": {"=kind": "person", "full_name": "display_name", "emails": "identifier.email",
                  "phones": "identifier.phone"},
    }

    def find(self, session: Session, key: str, values: list[Any]) -> dict[Any, int]:
        source = key[len(IDENTIFIER):]
        found: dict[Any, int] = {}
        for start in range(0, len(values), MATCH_CHUNK):
            chunk = values[start:start + MATCH_CHUNK]
            found.update(session.execute(select(PartyIdentifier.value, PartyIdentifier.party_id).where(
                PartyIdentifier.source == source, PartyIdentifier.value.in_(chunk))).all())
        if principal_of(session) is None or not found:
            return found
        # The identifiers carry no owner: the parties they belong to say who may see the match.
        matched = sorted(set(found.values()))
        visible: set[int] = set()
        for start in range(0, len(matched), MATCH_CHUNK):
            visible.update(session.scalars(select(Party.id).where(Party.id.in_(matched[start:start + MATCH_CHUNK]))))
        return {value: party_id if party_id in visible else HIDDEN_MATCH for value, party_id in found.items()}

    def snapshot(self, session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
        return {row["id"]: {k: v for k, v in row.items() if k != "id"} for row in self._rows(session, ids)}

    def _rows(self, session: Session, ids: list[int] | None) -> Iterator[dict[str, Any]]:
        """The parties as rows, read column by column (no ORM objects: snapshots run per batch)."""
        chunks = [ids[i:i + LOOKUP_CHUNK] for i in range(0, len(ids), LOOKUP_CHUNK)] if ids is not None else [None]
        for chunk in chunks:
            statement = (select(Party.id, Party.display_name, Party.kind, Party.tags, Party.custom, User.email,
                                Department.name)
                         .outerjoin(User, User.id == Party.owner_user_id)
                         .outerjoin(Department, Department.id == Party.department_id).order_by(Party.id))
            if chunk is not None:
                statement = statement.where(Party.id.in_(chunk))
            for page in session.execute(statement.execution_options(yield_per=LOOKUP_CHUNK)).partitions():
                identifiers: dict[int, dict[str, str]] = defaultdict(dict)
                # From the parties, outer-joined: with the identifiers' table first, SQLite (without
                # statistics) reads every identifier of the tenant through its tenant_id index for
                # each page, which made big imports and exports slow down as the tenant grew.
                for party_id, source, value in sorted(session.execute(
                        select(Party.id, PartyIdentifier.source, PartyIdentifier.value)
                        .outerjoin(PartyIdentifier, PartyIdentifier.party_id == Party.id)
                        .where(Party.id.in_([row[0] for row in page]))), key=_by_source):
                    if source is not None:
                        identifiers[party_id][source] = value
                for party_id, display_name, kind, tags, custom, owner, department in page:
                    yield {"id": party_id, "display_name": display_name, "kind": kind, "tags": list(tags or []),
                           "owner": owner, "department": department, "identifiers": identifiers[party_id],
                           "custom": dict(custom or {})}

    def create(self, session: Session, rows: list[dict[str, Any]]) -> list[int]:
        owners, departments = self._references(session, rows)
        principal = principal_of(session)
        if _defaulted(rows):
            # The guard's defaults (the importer owns, in the importer's department) are always within
            # the importer's reach, so the rows can skip the ORM and go in as bulk statements.
            defaults = {"owner_user_id": principal.user_id, "department_id": principal.department_id} if principal else {}
            # a generator: each row's dict is dropped once written (held for the whole chunk, a
            # million of them would cost the garbage collector more than building them)
            ids = service.bulk_create_parties(session, (
                {"kind": row["kind"], "display_name": row["display_name"], "tags": row.get("tags") or (), **defaults}
                for row in rows))
            custom = [{"party_id": i, "custom": row["custom"]} for i, row in zip(ids, rows, strict=True) if row.get("custom")]
            if custom:
                session.execute(update(Party.__table__).where(Party.__table__.c.id == bindparam("party_id"))
                                .values(custom=bindparam("custom")), custom)
            self._add_identifiers(session, ids, rows)
            return ids
        ids = []
        for row in rows:
            party = service.create_party(
                session, row["kind"], row["display_name"], row.get("tags") or [], row.get("identifiers") or {},
                owner_user_id=owners.get(row.get("owner")), department_id=departments.get(row.get("department")),
                custom=row.get("custom"))
            ids.append(party.id)
        return ids

    def created_snapshot(self, session: Session, ids: list[int], rows: list[dict[str, Any]]
                         ) -> dict[int, dict[str, Any]]:
        """What :meth:`snapshot` reads of parties just created in bulk, told from their rows.

        The bulk path stores the rows as :func:`~xrm_core.graph.service.bulk_create_parties` cleans
        them (names and tags trimmed, tags once each), owned by the importer in the importer's
        department, named here as the session sees them (like the snapshot's joins). Rows naming an
        owner or a department went through the ORM: those are read back.
        """
        if not _defaulted(rows):
            return super().created_snapshot(session, ids, rows)
        principal = principal_of(session)
        owner = department = None
        if principal is not None and principal.user_id is not None:
            owner = session.scalar(select(User.email).where(User.id == principal.user_id))
        if principal is not None and principal.department_id is not None:
            department = session.scalar(select(Department.name).where(Department.id == principal.department_id))
        return {party_id: {
            "display_name": row["display_name"].strip(), "kind": row["kind"],
            "tags": list(dict.fromkeys(tag.strip() for tag in tags)) if (tags := row.get("tags")) else [],
            "owner": owner, "department": department,
            "identifiers": {source: value for source, value in identifiers.items() if value}
            if (identifiers := row.get("identifiers")) else {},
            "custom": as_stored({0: row["custom"]})[0] if row.get("custom") else {},
        } for party_id, row in zip(ids, rows, strict=True)}

    def _add_identifiers(self, session: Session, ids: list[int], rows: list[dict[str, Any]]) -> None:
        tenant_id = session.info["tenant_id"]
        wanted = [(party_id, source, value, tenant_id) for party_id, row in zip(ids, rows, strict=True)
                  for source, value in (row.get("identifiers") or {}).items() if value]
        if not wanted:
            return
        try:
            # Inserted first, looked up only on a clash: the unique constraint checks every row
            # anyway, and looking each value up beforehand cost as much as the insert.
            with session.begin_nested():
                IDENTIFIERS.run(session, wanted)
        except IntegrityError:
            by_source: dict[str, list[str]] = defaultdict(list)
            for _party_id, source, value, _tenant_id in wanted:
                by_source[source].append(value)
            for source, values in by_source.items():
                if taken := self.find(session, IDENTIFIER + source, values):
                    value, party_id = next(iter(taken.items()))
                    owner = f"party #{party_id}" if party_id != HIDDEN_MATCH else "a party you may not see"
                    raise Conflict(f"identifier {source}:{value} already belongs to {owner}") from None
            raise  # two rows of the file share the identifier: the engine names them one by one

    def _references(self, session: Session, rows: list[dict[str, Any]]) -> tuple[dict[str, int], dict[str, int]]:
        emails = {row["owner"] for row in rows if row.get("owner")}
        names = {row["department"] for row in rows if row.get("department")}
        owners = dict(session.execute(select(User.email, User.id).where(User.email.in_(emails))).all()) if emails else {}
        departments = (dict(session.execute(select(Department.name, Department.id).where(Department.name.in_(names))).all())
                       if names else {})
        if missing := sorted(emails - owners.keys()):
            raise ma.ValidationError({"owner": [f"no user {missing[0]} in this tenant"]})
        if missing := sorted(names - departments.keys()):
            raise ma.ValidationError({"department": [f"no department {missing[0]!r} in this tenant"]})
        return owners, departments

    def update(self, session: Session, changes: dict[int, dict[str, Any]]) -> None:
        owners, departments = self._references(session, list(changes.values()))
        parties = {p.id: p for p in session.scalars(
            select(Party).where(Party.id.in_(list(changes))).options(selectinload(Party.identifiers)))}
        for party_id, change in changes.items():
            party = parties.get(party_id)
            if party is None:
                raise NotFound(f"party #{party_id} is not visible to you")
            for name in ("display_name", "kind", "tags"):
                if name in change:
                    setattr(party, name, change[name])
            if "owner" in change:
                party.owner_user_id = owners.get(change["owner"])
            if "department" in change:
                party.department_id = departments.get(change["department"])
            if "custom" in change:
                merged = {**(party.custom or {}), **change["custom"]}
                party.custom = {k: v for k, v in merged.items() if v is not None}
            for source, value in (change.get("identifiers") or {}).items():
                held = next((i for i in party.identifiers if i.source == source), None)
                if value is None and held is not None:
                    party.identifiers.remove(held)
                elif held is not None:
                    held.value = value
                elif value is not None:
                    party.identifiers.append(PartyIdentifier(source=source, value=value))
        session.flush()

    def delete(self, session: Session, ids: list[int]) -> None:
        for party in session.scalars(select(Party).where(Party.id.in_(ids))):
            session.delete(party)
        session.flush()

    def export_rows(self, session: Session, ids: list[int] | None = None) -> Iterator[dict[str, Any]]:
        for row in self._rows(session, ids):
            identifiers = row.pop("identifiers")
            row.update({IDENTIFIER + source: value for source, value in identifiers.items()})
            yield row

    def export_columns(self, session: Session) -> list[str]:
        sources = session.scalars(select(PartyIdentifier.source).distinct().order_by(PartyIdentifier.source))
        return ["id", "display_name", "kind", "tags", "owner", "department", *(IDENTIFIER + s for s in sources)]
