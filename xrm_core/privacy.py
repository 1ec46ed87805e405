"""A person's data rights across the platform: the access archive and the erasure.

Export gathers what the core and every enabled plugin hold about one party (plugins answer the
``xrm_personal_data`` hook) into a zip of one JSON file per source, for a data-access request.
Erasure asks every enabled plugin to erase or anonymise its records (``xrm_erase_personal_data``),
then anonymises the party itself: its name, tags, custom values and identifiers go, the party and
its relationships stay so the business records that must be kept still add up. Both are audited.

Both take the caller's tenant-scoped session (permission-scoped for a user), so a party the
caller may not see is not found, and plugins only return or erase what the caller may reach.
Nothing is committed here. A plugin that fails stops the whole operation, naming the plugin: an
archive is never silently incomplete and an erasure never half-done.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from .audit import record
from .db import utcnow
from .errors import Conflict, NotFound
from .events import publish
from .graph.models import Party, PartyIdentifier, PartyRoleAssignment, Relationship
from .identity.scoping import PermissionDenied, can, principal_of
from .models import Tenant

if TYPE_CHECKING:
    from .platform import Platform

EXPORT_HOOK = "xrm_personal_data"
ERASE_HOOK = "xrm_erase_personal_data"


def personal_data_archive(session: Session, platform: Platform, party_id: int, actor: str) -> bytes:
    """The zip archive of everything held about the party: ``core.json``, then ``<plugin>.json`` each.

    Needs ``core.party.export`` on the party when the session acts for a user.

    :raises NotFound: no such party visible through ``session``.
    :raises PermissionDenied: visible, but the caller may not export it.
    :raises Conflict: a plugin failed to answer (named).
    """
    party = _party(session, party_id, "export")
    files: dict[str, Any] = {"core.json": _core_data(session, party)}
    for plugin in _implementers(session, platform, EXPORT_HOOK):
        try:
            data = platform.host.call_plugin(plugin, EXPORT_HOOK, tenant=_tenant(session), session=session,
                                             party_id=party.id)
        except Exception as exc:
            raise Conflict(f"plugin {plugin} could not export its data about party #{party.id}: {exc}") from exc
        if data:
            files[f"{plugin}.json"] = data
    manifest = {"party_id": party.id, "exported_at": utcnow().isoformat(), "exported_by": actor,
                "files": sorted(files)}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", _json(manifest))
        for name, data in files.items():
            archive.writestr(name, _json(data))
    record(session, actor, "party.personal_data_exported", f"core.party:{party.id}", files=sorted(files))
    return buffer.getvalue()


def erase_personal_data(session: Session, platform: Platform, party_id: int, actor: str) -> dict[str, Any]:
    """Erase the party's personal data in every enabled plugin, then anonymise the party.

    Needs ``core.party.delete`` on the party when the session acts for a user.

    :returns: ``{"party_id", "plugins"}``: the plugins that erased their records.
    :raises NotFound: no such party visible through ``session``.
    :raises PermissionDenied: visible, but the caller may not erase it.
    :raises Conflict: a plugin failed to erase (named); the caller rolls everything back.
    """
    party = _party(session, party_id, "delete")
    erased = []
    for plugin in _implementers(session, platform, ERASE_HOOK):
        try:
            with session.begin_nested():
                platform.host.call_plugin(plugin, ERASE_HOOK, tenant=_tenant(session), session=session,
                                          party_id=party.id)
        except Exception as exc:
            raise Conflict(f"plugin {plugin} could not erase its data about party #{party.id}: {exc}") from exc
        erased.append(plugin)
    party.display_name = f"Erased {party.kind} #{party.id}"
    party.tags = []
    party.custom = {}
    party.updated_at = utcnow()
    session.execute(delete(PartyIdentifier).where(PartyIdentifier.party_id == party.id))
    for relationship in session.scalars(select(Relationship).where(
            or_(Relationship.from_party_id == party.id, Relationship.to_party_id == party.id))):
        relationship.notes, relationship.attributes = None, {}
    session.flush()
    report = {"party_id": party.id, "plugins": erased}
    record(session, actor, "party.personal_data_erased", f"core.party:{party.id}", plugins=erased)
    publish(session, "core.party.updated", party, {"changed": ["custom", "display_name", "identifiers", "tags"]},
            actor)
    return report


def _party(session: Session, party_id: int, action: str) -> Party:
    party = session.get(Party, party_id)
    if party is None:
        raise NotFound(f"There is no party {party_id} here.")
    principal = principal_of(session)
    if principal is not None and not can(session, principal, action, party):
        raise PermissionDenied(f"{principal.name} may not {action} party #{party.id}")
    return party


def _tenant(session: Session) -> Tenant:
    return session.get(Tenant, session.info["tenant_id"])


def _implementers(session: Session, platform: Platform, hook: str) -> list[str]:
    """The enabled plugins implementing ``hook``, in dependency order."""
    implementers = {impl.plugin_name for impl in getattr(platform.host.pm.hook, hook).get_hookimpls()}
    return [plugin for plugin in platform.enabled_plugins(session) if plugin in implementers]


def _core_data(session: Session, party: Party) -> dict[str, Any]:
    """The party as the core holds it: fields, identifiers, roles and relationships."""
    roles = session.scalars(select(PartyRoleAssignment).where(PartyRoleAssignment.party_id == party.id))
    links = session.scalars(select(Relationship).where(
        or_(Relationship.from_party_id == party.id, Relationship.to_party_id == party.id)).order_by(Relationship.id))
    return {
        "party": {"id": party.id, "kind": party.kind, "display_name": party.display_name, "tags": party.tags,
                  "custom": party.custom, "created_at": party.created_at, "updated_at": party.updated_at},
        "identifiers": [{"source": i.source, "value": i.value} for i in party.identifiers],
        "roles": [{"role": r.role, "valid_from": r.valid_from, "valid_to": r.valid_to} for r in roles],
        "relationships": [{"type": link.type.code, "from_party_id": link.from_party_id,
                           "to_party_id": link.to_party_id, "valid_from": link.valid_from,
                           "valid_to": link.valid_to, "notes": link.notes} for link in links],
    }


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True, default=_iso)


def _iso(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")
