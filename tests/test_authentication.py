"""Signing in as a person would: real HTTP requests through the Flask test client."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from xrm_core import migrate, tenants
from xrm_core.app import create_app
from xrm_core.identity.bootstrap import ensure_administrator
from xrm_core.identity.tokens import create_token
from xrm_core.models import AuditEntry, User

PASSWORD = "a long and quiet passphrase"


@pytest.fixture
def site(make_platform):
    """Tenant acme with the notes plugin and one administrator, and a test client."""
    platform = make_platform("notes")
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME")
        tenants.enable_plugin(platform, session, acme, "notes")
    with platform.db.transaction(acme.id) as session:
        ensure_administrator(session, platform, "ann@acme.test", PASSWORD, "Ann")
    app = create_app(platform=platform)
    app.config["TESTING"] = True
    return platform, acme.id, app


def csrf_token(client, path="/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def sign_in(client, password=PASSWORD, email="ann@acme.test", tenant="acme"):
    return client.post("/login", data={"csrf_token": csrf_token(client), "tenant": tenant, "email": email,
                                       "password": password})


def audit_actions(platform, tenant_id):
    with platform.db.session(tenant_id) as session:
        return [a.action for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_signing_in_starts_a_new_session_and_opens_the_tenant(site):
    platform, acme, app = site
    client = app.test_client()
    assert client.get("/notes/").status_code == 404
    csrf_token(client)
    anonymous_cookie = client.get_cookie("session").value

    response = sign_in(client)

    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get_cookie("session").value != anonymous_cookie
    assert client.get("/notes/").get_json() == {"notes": ["Welcome"]}
    assert "Signed in as Ann" in client.get("/").get_data(as_text=True)
    assert audit_actions(platform, acme)[-1] == "auth.login"


@pytest.mark.parametrize(("email", "password", "tenant"), [
    ("ann@acme.test", "wrong passphrase here", "acme"),
    ("nobody@acme.test", PASSWORD, "acme"),
    ("ann@acme.test", PASSWORD, "globex"),
])
def test_a_failed_sign_in_says_nothing_about_what_was_wrong(site, email, password, tenant):
    platform, acme, app = site
    client = app.test_client()
    response = sign_in(client, password=password, email=email, tenant=tenant)
    assert response.status_code == 401
    assert "Wrong organisation, e-mail or password." in response.get_data(as_text=True)
    assert client.get("/notes/").status_code == 404
    if tenant == "acme":
        assert audit_actions(platform, acme)[-1] == "auth.login_failed"


def test_a_form_without_its_csrf_token_is_refused(site):
    _, _, app = site
    client = app.test_client()
    response = client.post("/login", data={"tenant": "acme", "email": "ann@acme.test", "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/notes/").status_code == 404


def test_repeated_failures_are_throttled_with_retry_after(site):
    _, _, app = site
    client = app.test_client()
    statuses = [sign_in(client, password="not the passphrase").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    throttled = sign_in(client)  # even the right password waits
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    other_account = sign_in(app.test_client(), email="bob@acme.test")
    assert other_account.status_code == 401  # the limit is per account, not for everyone


def test_signing_out_everywhere_ends_every_session(site):
    _, _, app = site
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop)
    sign_in(phone)
    assert phone.get("/notes/").status_code == 200

    response = laptop.post("/logout-everywhere", data={"csrf_token": csrf_token(laptop, "/")})

    assert response.status_code == 302
    assert phone.get("/notes/").status_code == 404
    assert laptop.get("/notes/").status_code == 404


def test_changing_the_password_keeps_this_session_and_ends_the_others(site):
    platform, acme, app = site
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here)
    sign_in(elsewhere)
    token = csrf_token(here, "/account/password")

    weak = here.post("/account/password", data={"csrf_token": token, "current": PASSWORD, "new": "short"})
    assert weak.status_code == 400 and "at least 12 characters" in weak.get_data(as_text=True)
    changed = here.post("/account/password", data={"csrf_token": token, "current": PASSWORD,
                                                   "new": "another quiet passphrase"})

    assert changed.status_code == 302
    assert here.get("/notes/").status_code == 200
    assert elsewhere.get("/notes/").status_code == 404
    assert sign_in(app.test_client(), password="another quiet passphrase").status_code == 302
    assert "auth.password_changed" in audit_actions(platform, acme)


def test_a_bearer_token_works_without_cookies_or_csrf_and_stops_when_revoked(site):
    platform, acme, app = site
    with platform.db.transaction(acme) as session:
        row, token = create_token(session, session.scalar(select(User)), "script")
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/notes/", headers=auth).get_json() == {"notes": ["Welcome"]}
    assert client.get("/api/v1/plugins", headers=auth).status_code == 200
    with platform.db.transaction(acme) as session:
        session.get(type(row), row.id).revoked_at = row.created_at
    assert client.get("/notes/", headers=auth).status_code == 404


def test_a_deactivated_user_loses_their_session_at_once(site):
    platform, acme, app = site
    client = app.test_client()
    sign_in(client)
    with platform.db.transaction(acme) as session:
        user = session.scalar(select(User))
        user.active = False
    assert client.get("/notes/").status_code == 404
