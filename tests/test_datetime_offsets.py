"""Every timestamp the API gives carries its UTC offset, as the OpenAPI document's ``date-time`` says,
on SQLite (which stores none) as on PostgreSQL; stored moments are UTC whatever zone they came in."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select

from xrm_core import migrate, tenants
from xrm_core.app import create_app
from xrm_core.dataio.formats import xlsx
from xrm_core.graph.models import Party
from xrm_core.graph.service import create_party
from xrm_core.identity.bootstrap import ensure_administrator
from xrm_core.identity.models import Share
from xrm_core.identity.tokens import create_token


def _timestamps(value) -> list[str]:
    """Every value under a key ending in ``_at`` (or named ``at``), at any depth."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if (key == "at" or key.endswith("_at")) and isinstance(item, str):
                found.append(item)
            else:
                found.extend(_timestamps(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_timestamps(item))
    return found


def test_api_timestamps_have_an_offset_and_stored_moments_are_utc(make_platform):
    platform = make_platform()
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "acme", "ACME").id
    with platform.db.transaction(tenant_id) as session:
        admin_user = ensure_administrator(session, platform, "admin@acme.test", "correct horse battery staple", "Ada")
        token = create_token(session, admin_user, "tests")[1]
        party = create_party(session, "organization", "Zenith")
        # A moment given in another zone is stored as the same moment, in UTC.
        session.add(Share(resource="core.party", record_id=party.id, action="read", grantee_kind="user",
                          grantee_id=admin_user.id, expires_at=datetime(2030, 1, 1, 14, tzinfo=timezone(timedelta(hours=2)))))
    client = create_app(platform=platform).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    seen = []
    for url in ("/api/v1/users", "/api/v1/audit", "/api/v1/parties", f"/api/v1/parties/{party.id}"):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.get_data(as_text=True))
        for text in _timestamps(response.get_json()):
            moment = datetime.fromisoformat(text)
            assert moment.utcoffset() == timedelta(0), (url, text)
            seen.append(url)
    assert {"/api/v1/users", "/api/v1/audit", "/api/v1/parties"} <= set(seen)
    with platform.db.session(tenant_id) as session:
        expires_at = session.scalar(select(Share.expires_at))
        assert expires_at == datetime(2030, 1, 1, 12, tzinfo=UTC) and expires_at.tzinfo is not None
        created_at = session.scalar(select(Party.created_at))
        assert created_at.tzinfo is not None


def test_an_xlsx_export_writes_aware_moments_as_utc():
    """Excel keeps no time zone: an aware moment (as both databases now give) is written as UTC."""
    out = io.BytesIO()
    xlsx.write(out, [{"at": datetime(2030, 1, 1, 14, tzinfo=timezone(timedelta(hours=2)))}], ["at"])
    out.seek(0)
    assert list(xlsx.read(out)) == [{"at": datetime(2030, 1, 1, 12)}]
