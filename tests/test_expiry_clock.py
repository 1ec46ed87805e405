"""API tokens and shares expire on the platform's clock, so a test moves time instead of waiting."""

from __future__ import annotations

from datetime import timedelta

import pytest
import ui_world

from xrm_core import clock, migrate
from xrm_core.app import create_app
from xrm_core.graph.models import Party
from xrm_core.identity import admin
from xrm_core.identity.models import GranteeKind
from xrm_core.identity.principal import load_principal
from xrm_core.identity.tokens import create_token
from xrm_core.models import User


@pytest.fixture
def world(make_platform):
    platform = make_platform("notes", ui_world.SHOWCASE)
    migrate.upgrade(platform)
    world = ui_world.build(platform)
    app = create_app(platform=platform)
    app.config["TESTING"] = True
    return platform, world, app


def _token(platform, world, email: str, expires_in: timedelta | None = None) -> dict[str, str]:
    with platform.db.transaction(world.tenant_id) as session:
        user = session.get(User, world.users[email])
        expires_at = clock.now() + expires_in if expires_in is not None else None
        _row, token = create_token(session, user, "script", expires_at=expires_at)
    return {"Authorization": f"Bearer {token}"}


def test_a_token_is_refused_once_the_clock_passes_its_expiry(world):
    platform, world, app = world
    client = app.test_client()
    with clock.frozen():
        auth = _token(platform, world, "sam@acme.test", expires_in=timedelta(hours=1))
        assert client.get("/api/v1/parties?limit=1", headers=auth).status_code == 200
        clock.advance(timedelta(minutes=59))
        assert client.get("/api/v1/parties?limit=1", headers=auth).status_code == 200
        clock.advance(timedelta(minutes=2))
        refused = client.get("/api/v1/parties?limit=1", headers=auth)
        assert refused.status_code == 401
        assert refused.headers["Content-Type"].startswith("application/problem+json")


def test_a_share_closes_the_record_again_once_the_clock_passes_its_expiry(world):
    platform, world, app = world
    client = app.test_client()
    zenith = world.parties["Zenith Industries"]
    with clock.frozen():
        auth = _token(platform, world, "pat@acme.test")  # Support: Zenith belongs to Sales
        assert client.get(f"/api/v1/parties/{zenith}", headers=auth).status_code == 404
        with platform.db.transaction(world.tenant_id) as session:
            owner = load_principal(session, session.get(User, world.users["admin@acme.test"]))
            party = session.get(Party, zenith)
            admin.share(session, owner, party, GranteeKind.USER, world.users["pat@acme.test"], ["read"],
                        expires_at=clock.now() + timedelta(days=1))
        assert client.get(f"/api/v1/parties/{zenith}", headers=auth).get_json()["display_name"] == "Zenith Industries"
        clock.advance(timedelta(days=1, seconds=1))
        assert client.get(f"/api/v1/parties/{zenith}", headers=auth).status_code == 404
        assert client.get("/api/v1/parties?display_name__contains=Zenith", headers=auth).get_json()["items"] == []
