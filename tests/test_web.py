"""The web application: per-tenant plugin routes, navigation, API problems and the circuit breaker."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from xrm_fx_notes.plugin import Note
from xrm_sdk.testing import administrator_headers

from xrm_core import __version__, migrate, tenants
from xrm_core.api.dataio import MAX_UPLOAD_BYTES
from xrm_core.app import MAX_REQUEST_BYTES, create_app
from xrm_core.identity.bootstrap import ensure_administrator
from xrm_core.models import AuditEntry, TenantPlugin, TenantStatus
from xrm_core.problems import PROBLEM_JSON

#: Slug -> headers authenticating as an administrator of that tenant (filled by create_tenant).
CREDENTIALS: dict[str, dict[str, str]] = {}


def create_tenant(platform, slug: str, *plugins: str) -> int:
    with platform.db.transaction(all_tenants=True) as session:
        tenant = tenants.create_tenant(session, slug, slug.title())
        for plugin in plugins:
            tenants.enable_plugin(platform, session, tenant, plugin)
        tenant_id = tenant.id
    CREDENTIALS[slug] = administrator_headers(platform, tenant_id)
    return tenant_id


def enable(platform, slug: str, plugin: str) -> None:
    with platform.db.transaction(all_tenants=True) as session:
        tenants.enable_plugin(platform, session, tenants.get_tenant(session, slug), plugin)


def disable(platform, slug: str, plugin: str) -> None:
    with platform.db.transaction(all_tenants=True) as session:
        tenants.disable_plugin(platform, session, tenants.get_tenant(session, slug), plugin)


def sign_in(platform, client, slug: str) -> None:
    """Sign in through the login form, CSRF token included, as a new administrator of ``slug``."""
    with platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.get_tenant(session, slug).id
    with platform.db.transaction(tenant_id) as session:
        ensure_administrator(session, platform, "browser@acme.test", "a long passphrase for signing in")
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = client.post("/login", data={"csrf_token": token, "tenant": slug, "email": "browser@acme.test",
                                           "password": "a long passphrase for signing in"})
    assert response.status_code == 302, response.get_data(as_text=True)


def as_tenant(slug: str) -> dict[str, str]:
    """Act as an administrator of ``slug`` (an unknown tenant gets a token that matches nothing)."""
    return CREDENTIALS.get(slug, {"Authorization": "Bearer xrm_unknown"})


def nav_links(html: str) -> list[str]:
    """The hrefs of the main navigation of a rendered page."""
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.DOTALL)
    assert nav, "the page has no main navigation"
    return re.findall(r'href="([^"]*)"', nav.group(1))


def assert_problem(response, status: int, title: str) -> dict:
    assert response.status_code == status
    assert response.mimetype == PROBLEM_JSON
    body = response.get_json(force=True)
    assert body["type"] == "about:blank"
    assert body["title"] == title
    assert body["status"] == status
    return body


# -- plugin routes per tenant --------------------------------------------------------------------


def test_plugin_routes_answer_only_where_the_plugin_is_enabled(platform, client):
    create_tenant(platform, "acme", "notes", "tasks")
    create_tenant(platform, "globex", "notes")
    create_tenant(platform, "initech")

    assert client.get("/notes/", headers=as_tenant("acme")).status_code == 200
    assert client.get("/api/tasks/count", headers=as_tenant("acme")).status_code == 200
    assert client.get("/notes/", headers=as_tenant("globex")).status_code == 200
    assert client.get("/api/tasks/count", headers=as_tenant("globex")).status_code == 404
    assert client.get("/notes/", headers=as_tenant("initech")).status_code == 404
    assert client.get("/api/tasks/count", headers=as_tenant("initech")).status_code == 404


def test_enabling_and_disabling_takes_effect_on_the_next_request_without_rebuilding_the_app(platform, client):
    create_tenant(platform, "acme")
    assert client.get("/notes/", headers=as_tenant("acme")).status_code == 404

    enable(platform, "acme", "tasks")  # brings notes along
    assert client.get("/notes/", headers=as_tenant("acme")).status_code == 200
    assert client.get("/api/tasks/count", headers=as_tenant("acme")).get_json() == {"count": 0}

    disable(platform, "acme", "tasks")
    assert client.get("/api/tasks/count", headers=as_tenant("acme")).status_code == 404
    assert client.get("/notes/", headers=as_tenant("acme")).status_code == 200

    disable(platform, "acme", "notes")
    assert client.get("/notes/", headers=as_tenant("acme")).status_code == 404

    enable(platform, "acme", "notes")
    assert client.get("/notes/", headers=as_tenant("acme")).status_code == 200


def test_plugin_routes_are_not_found_without_a_tenant(platform, client):
    create_tenant(platform, "acme", "notes", "tasks")

    assert client.get("/notes/").status_code == 404
    assert_problem(client.get("/api/tasks/count"), 404, "Not Found")


def test_an_unknown_tenant_is_treated_as_no_tenant(platform, client):
    create_tenant(platform, "acme", "notes")

    assert client.get("/notes/", headers=as_tenant("nobody")).status_code == 404


def test_a_suspended_tenant_is_treated_as_no_tenant(platform, client):
    create_tenant(platform, "acme", "notes", "tasks")
    with platform.db.transaction(all_tenants=True) as session:
        tenants.set_status(session, tenants.get_tenant(session, "acme"), TenantStatus.SUSPENDED)

    assert client.get("/notes/", headers=as_tenant("acme")).status_code == 404
    assert client.get("/api/tasks/count", headers=as_tenant("acme")).status_code == 404
    plugins = client.get("/api/plugins", headers=as_tenant("acme")).get_json()["plugins"]
    assert not any(p["enabled"] for p in plugins)
    assert nav_links(client.get("/", headers=as_tenant("acme")).get_data(as_text=True)) == []

    with platform.db.transaction(all_tenants=True) as session:
        tenants.set_status(session, tenants.get_tenant(session, "acme"), TenantStatus.ACTIVE)
    assert client.get("/notes/", headers=as_tenant("acme")).status_code == 200


def test_a_request_only_sees_its_own_tenants_data(platform, client):
    acme = create_tenant(platform, "acme", "notes")
    globex = create_tenant(platform, "globex", "notes")
    with platform.db.transaction(acme) as session:
        session.add(Note(text="acme secret"))
    with platform.db.transaction(globex) as session:
        session.add(Note(text="globex secret"))

    assert client.get("/notes/", headers=as_tenant("acme")).get_json() == {"notes": ["Welcome", "acme secret"]}
    assert client.get("/notes/", headers=as_tenant("globex")).get_json() == {"notes": ["Welcome", "globex secret"]}


def test_a_browser_signed_in_to_a_tenant_works_in_that_tenant(platform, client):
    create_tenant(platform, "acme", "notes")
    assert client.get("/notes/").status_code == 404

    sign_in(platform, client, "acme")

    assert client.get("/notes/").get_json() == {"notes": ["Welcome"]}


# -- home page and navigation --------------------------------------------------------------------


def test_navigation_shows_only_the_enabled_plugins(platform, client):
    create_tenant(platform, "acme", "notes")
    create_tenant(platform, "globex", "notes", "tasks")

    assert nav_links(client.get("/", headers=as_tenant("acme")).get_data(as_text=True)) == ["/notes/"]
    assert nav_links(client.get("/", headers=as_tenant("globex")).get_data(as_text=True)) == [
        "/notes/", "/api/tasks/count"
    ]
    assert nav_links(client.get("/").get_data(as_text=True)) == []


def test_the_home_page_never_names_tenants_to_anonymous_visitors(platform, client):
    create_tenant(platform, "acme")

    html = client.get("/").get_data(as_text=True)

    assert 'href="/login"' in html
    assert "Acme" not in html and "acme" not in html


# -- API -----------------------------------------------------------------------------------------


def test_health_reports_ok_and_the_version(client):
    response = client.get("/api/health")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "version": __version__}


def test_api_plugins_lists_versions_and_whether_each_is_enabled_for_the_tenant(platform, client):
    create_tenant(platform, "acme", "notes")

    listed = {p["name"]: p for p in client.get("/api/plugins", headers=as_tenant("acme")).get_json()["plugins"]}

    assert list(listed) == ["notes", "tasks"]
    assert listed["notes"]["version"] == "0.1.0" and listed["notes"]["enabled"] is True
    assert listed["tasks"]["requires"] == ["notes"] and listed["tasks"]["enabled"] is False
    anonymous = client.get("/api/plugins").get_json()["plugins"]
    assert [p["enabled"] for p in anonymous] == [False, False]


def test_api_plugins_reports_refused_plugins_with_the_reason(make_platform):
    platform = make_platform("tasks")  # its requirement, notes, is not installed (and nothing is migrated)
    client = create_app(platform=platform).test_client()

    body = client.get("/api/plugins").get_json()

    assert body["plugins"] == []
    assert "tasks" in body["refused"] and "notes" in body["refused"]["tasks"]


def test_unknown_api_path_is_a_problem_document(client):
    body = assert_problem(client.get("/api/nope"), 404, "Not Found")

    assert body["detail"]


def test_wrong_method_on_the_api_is_a_problem_document(client):
    assert_problem(client.post("/api/health"), 405, "Method Not Allowed")


def test_unknown_page_is_an_html_error_unless_json_is_asked_for(client):
    page = client.get("/nowhere")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "404 Not Found" in page.get_data(as_text=True)

    assert_problem(client.get("/nowhere", headers={"Accept": "application/json"}), 404, "Not Found")


@pytest.fixture
def exploding_app(platform):
    """The application with a route that fails unexpectedly, as a bug in a view would."""
    app = create_app(platform=platform)
    app.config["TESTING"] = True

    def explode():
        raise RuntimeError("database password is hunter2")

    app.add_url_rule("/api/explode", "explode_api", explode)
    app.add_url_rule("/explode", "explode_page", explode)
    return app


def test_an_unexpected_error_is_a_500_problem_without_internals(exploding_app, caplog):
    response = exploding_app.test_client().get("/api/explode")

    body = assert_problem(response, 500, "Internal Server Error")
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "hunter2" not in text and "RuntimeError" not in text
    assert body["detail"] == "The server could not complete the request; the error was logged."
    assert "hunter2" in caplog.text  # logged for the operator instead


def test_an_unexpected_error_on_a_page_is_an_html_500_without_internals(exploding_app):
    response = exploding_app.test_client().get("/explode")

    assert response.status_code == 500 and response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "hunter2" not in text


# -- circuit breaker -----------------------------------------------------------------------------


@pytest.fixture
def flaky_platform(make_platform):
    platform = make_platform("notes", "tasks", "flaky", plugin_failure_threshold=2)
    migrate.upgrade(platform)
    return platform


def flaky_state(platform, tenant_id: int) -> TenantPlugin:
    with platform.db.session(tenant_id) as session:
        return session.scalar(select(TenantPlugin).where(TenantPlugin.plugin == "flaky"))


def disabled_audit(platform, tenant_id: int) -> list[AuditEntry]:
    with platform.db.session(tenant_id) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == "plugin.disabled")))


def test_a_failing_plugin_does_not_break_the_page_nor_the_other_plugins(flaky_platform):
    create_tenant(flaky_platform, "acme", "notes", "tasks", "flaky")
    client = create_app(platform=flaky_platform).test_client()

    response = client.get("/", headers=as_tenant("acme"))

    assert response.status_code == 200
    assert nav_links(response.get_data(as_text=True)) == ["/notes/", "/api/tasks/count"]


def test_a_plugin_failing_repeatedly_is_disabled_for_that_tenant_only(flaky_platform):
    acme = create_tenant(flaky_platform, "acme", "notes", "flaky")
    globex = create_tenant(flaky_platform, "globex", "notes", "flaky")
    client = create_app(platform=flaky_platform).test_client()

    assert client.get("/", headers=as_tenant("acme")).status_code == 200
    assert flaky_state(flaky_platform, acme).enabled is True  # one failure: below the threshold

    response = client.get("/", headers=as_tenant("acme"))

    assert response.status_code == 200
    assert nav_links(response.get_data(as_text=True)) == ["/notes/"]
    state = flaky_state(flaky_platform, acme)
    assert state.enabled is False
    assert state.disabled_reason == "disabled after 2 consecutive failures"
    [entry] = disabled_audit(flaky_platform, acme)
    assert (entry.actor, entry.target, entry.details) == ("platform", "flaky", {"reason": state.disabled_reason})
    assert flaky_state(flaky_platform, globex).enabled is True
    assert disabled_audit(flaky_platform, globex) == []
    plugins = {p["name"]: p["enabled"] for p in client.get("/api/plugins", headers=as_tenant("acme")).get_json()["plugins"]}
    assert plugins == {"notes": True, "tasks": False, "flaky": False}


def test_failures_are_counted_per_tenant(flaky_platform):
    acme = create_tenant(flaky_platform, "acme", "notes", "flaky")
    globex = create_tenant(flaky_platform, "globex", "notes", "flaky")
    client = create_app(platform=flaky_platform).test_client()

    client.get("/", headers=as_tenant("acme"))
    client.get("/", headers=as_tenant("globex"))

    assert flaky_state(flaky_platform, acme).enabled is True
    assert flaky_state(flaky_platform, globex).enabled is True

    client.get("/", headers=as_tenant("acme"))

    assert flaky_state(flaky_platform, acme).enabled is False
    assert flaky_state(flaky_platform, globex).enabled is True



def test_a_body_over_the_request_limit_is_refused_with_413_before_it_is_read(app, client):
    assert app.config["MAX_CONTENT_LENGTH"] == MAX_REQUEST_BYTES > MAX_UPLOAD_BYTES  # an API import still fits
    app.config["MAX_CONTENT_LENGTH"] = 1000
    page = client.post("/login", data={"email": "x" * 5000})
    assert page.status_code == 413 and b"<html" in page.data.lower()
    api = client.post("/login", data={"email": "x" * 5000}, headers={"Accept": "application/json"})
    assert api.status_code == 413 and api.content_type == PROBLEM_JSON
    assert api.get_json()["title"] == "Request Entity Too Large"
