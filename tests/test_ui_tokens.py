"""Personal API tokens in the web UI: a user's own page, and the admin console's section for everyone's."""

from __future__ import annotations

import re
from datetime import timedelta

import ui_world_fixtures
from sqlalchemy import func, select
from ui_world import csrf_token, sign_in

from xrm_core import clock
from xrm_core.identity.models import ApiToken
from xrm_core.models import AuditEntry

app = ui_world_fixtures.world_app  # the world's app (conftest's ``app`` serves another platform)


def signed_in(app, email):
    client = app.test_client()
    sign_in(client, email)
    return client


def create(client, **form):
    token = csrf_token(client.get("/account/tokens").get_data(as_text=True))
    return client.post("/account/tokens", data={"csrf_token": token, **form})


def token_text(page: str) -> str:
    return re.search(r'id="new-token-text"[^>]* value="(xrm_[^"]+)"', page).group(1)


def token_count(platform, tenant_id) -> int:
    with platform.db.session(tenant_id) as session:
        return session.scalar(select(func.count()).select_from(ApiToken))


def test_a_user_creates_a_limited_token_sees_it_once_and_revokes_it(app, world_platform, world):
    client = signed_in(app, "sam@acme.test")
    page = client.get("/parties").get_data(as_text=True)
    assert 'href="/account/tokens"' in page
    empty = client.get("/account/tokens").get_data(as_text=True)
    assert "You have no API token." in empty
    # Only what Sam holds is offered: the party rights of the Staff role, no administration right.
    assert 'value="core.party.read"' in empty and 'value="core.user.read"' not in empty

    created = create(client, name="nightly export", permissions=["core.party.read"])
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    text = token_text(created.get_data(as_text=True))
    listed = client.get("/account/tokens").get_data(as_text=True)
    assert "nightly export" in listed and text not in listed and "core.party.read" in listed
    with world_platform.db.session(world.tenant_id) as session:
        row = session.scalar(select(ApiToken))
        assert row.permissions == ["core.party.read"] and text not in row.token_hash

    api = app.test_client()
    auth = {"Authorization": f"Bearer {text}"}
    assert api.get("/api/v1/parties?limit=1", headers=auth).status_code == 200
    # The token carries read only: creating a party, which Sam himself may do, is refused to it.
    assert api.post("/api/v1/parties", json={"kind": "person", "display_name": "Via token"},
                    headers=auth).status_code == 403
    # Nor can it mint a wider one: "all permissions" asked through it means all the token holds.
    assert api.post("/account/tokens", data={"name": "wider?"}, headers=auth).status_code == 201
    with world_platform.db.session(world.tenant_id) as session:
        assert session.scalar(select(ApiToken.permissions).where(ApiToken.name == "wider?")) == ["core.party.read"]

    revoke = client.post(f"/account/tokens/{row.id}/revoke", data={"csrf_token": csrf_token(listed)})
    assert revoke.status_code == 302
    assert api.get("/api/v1/parties?limit=1", headers=auth).status_code == 401
    assert "Revoked" in client.get("/account/tokens").get_data(as_text=True)
    with world_platform.db.session(world.tenant_id) as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.target == f"core.token#{row.id}")).all()
    assert {"token.created", "token.revoked"} <= set(actions)

    # Someone else's token is none of Sue's business: a 404, and it stays as it is.
    sue = signed_in(app, "sue@acme.test")
    sue_page = sue.get("/account/tokens").get_data(as_text=True)
    assert "nightly export" not in sue_page
    assert sue.post(f"/account/tokens/{row.id}/revoke", data={"csrf_token": csrf_token(sue_page)}).status_code == 404


BAD_FORMS = [
    ({"name": "", "permissions": ["core.party.read"]}, "Give the token a name"),
    ({"name": "too wide", "permissions": ["core.user.read"]}, "You do not hold: core.user.read."),
    ({"name": "past", "expires_on": "2001-01-01"}, "Choose today or a later date."),
    ({"name": "garbled", "expires_on": "next week"}, "Enter a date such as"),
]


def test_bad_input_is_explained_and_creates_nothing_and_an_expiry_date_ends_the_token(app, world_platform, world):
    client = signed_in(app, "sam@acme.test")
    for form, message in BAD_FORMS:
        refused = create(client, **form)
        assert refused.status_code == 400, form
        assert message in refused.get_data(as_text=True)
    assert token_count(world_platform, world.tenant_id) == 0

    with clock.frozen() as now:
        day = now.date() + timedelta(days=2)
        text = token_text(create(client, name="short", expires_on=day.isoformat()).get_data(as_text=True))
        auth = {"Authorization": f"Bearer {text}"}
        assert app.test_client().get("/api/v1/parties?limit=1", headers=auth).status_code == 200
        clock.advance(timedelta(days=3, seconds=1))  # past the end of that day in UTC, the tenant's zone
        assert app.test_client().get("/api/v1/parties?limit=1", headers=auth).status_code == 401
        assert "Expired" in client.get("/account/tokens").get_data(as_text=True)


def test_the_admin_console_lists_everyones_tokens_and_revokes_them(app, world_platform, world):
    sam = signed_in(app, "sam@acme.test")
    text = token_text(create(sam, name="sam-script").get_data(as_text=True))
    assert sam.get("/admin/tokens").status_code == 403

    admin = signed_in(app, "admin@acme.test")
    assert 'href="/admin/tokens"' in admin.get("/admin").get_data(as_text=True)
    page = admin.get("/admin/tokens").get_data(as_text=True)
    assert "sam@acme.test" in page and "sam-script" in page and text not in page
    assert "sam-script" not in admin.get("/admin/tokens?user=sue").get_data(as_text=True)
    token_id = int(re.search(r'data-token-id="(\d+)"', page).group(1))
    assert admin.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(page)}).status_code == 302
    assert app.test_client().get("/api/v1/parties?limit=1",
                                 headers={"Authorization": f"Bearer {text}"}).status_code == 401
    assert "data-token-id" not in admin.get("/admin/tokens").get_data(as_text=True)  # revoked ones are hidden
    with_revoked = admin.get("/admin/tokens?revoked=1").get_data(as_text=True)
    assert "sam-script" in with_revoked and "Revoked" in with_revoked
    # Another tenant's administrator sees none of it.
    globex = app.test_client()
    sign_in(globex, "admin@globex.test", "globex")
    assert "sam-script" not in globex.get("/admin/tokens?revoked=1").get_data(as_text=True)
