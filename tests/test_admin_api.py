"""Tenant administration over real HTTP: users, departments, teams, roles, shares and API tokens.

Every bad input is a problem document naming the field, and changes nothing; another tenant's ids
are 404 on every endpoint; rights change on the next request; tokens are shown once and stored hashed.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from xrm_sdk.testing import administrator_headers

from xrm_core import migrate, tenants
from xrm_core.graph import service
from xrm_core.graph.models import Party
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import ApiToken, Department, Role, Scope, Share, Team, TeamMember, UserRole
from xrm_core.identity.passwords import verify_password
from xrm_core.identity.principal import load_principal
from xrm_core.identity.scoping import act_as
from xrm_core.identity.tokens import create_token
from xrm_core.models import AuditEntry, User
from xrm_core.problems import PROBLEM_JSON

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def platform(make_platform):
    platform = make_platform()
    migrate.upgrade(platform)
    for slug in ("acme", "globex"):
        with platform.db.transaction(all_tenants=True) as session:
            tenants.create_tenant(session, slug, slug.title())
    return platform


def matching(client, url: str, headers: dict[str, str]) -> dict[str, str]:
    """``headers`` plus ``If-Match`` with the current ETag of the record at ``url`` (as a client that read it)."""
    etag = client.get(url, headers=headers).headers["ETag"]
    return {**headers, "If-Match": etag}


def edit(client, url: str, changes: dict, headers: dict[str, str]):
    """PATCH the record at ``url`` as a client holding its current version."""
    return client.patch(url, json=changes, headers=matching(client, url, headers))


def remove(client, url: str, headers: dict[str, str]):
    """DELETE the record at ``url`` as a client holding its current version."""
    return client.delete(url, headers=matching(client, url, headers))


def tenant_id(platform, slug: str) -> int:
    with platform.db.session(all_tenants=True) as session:
        return tenants.get_tenant(session, slug).id


@pytest.fixture
def acme(platform):
    return tenant_id(platform, "acme")


@pytest.fixture
def globex(platform):
    return tenant_id(platform, "globex")


@pytest.fixture
def boss(platform, acme):
    """Headers of an administrator of acme (every permission, tenant-wide)."""
    return administrator_headers(platform, acme)


def member(platform, tenant: int, email: str, grants: dict[str, Scope] | None = None,
           permissions: list[str] | None = None) -> tuple[int, dict[str, str]]:
    """A user holding ``grants`` (through a role of their own), and headers with a token of theirs."""
    with platform.db.transaction(tenant) as session:
        user = User(email=email, display_name=email.split("@")[0], password_hash="-")
        session.add(user)
        session.flush()
        if grants:
            role = admin.define_role(session, f"role of {email}", grants, set(all_permissions(platform)))
            admin.assign_role(session, user, role)
        _, token = create_token(session, user, "tests", permissions)
        return user.id, {"Authorization": f"Bearer {token}"}


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    body = response.get_json(force=True)
    assert body["status"] == status and "Traceback" not in response.get_data(as_text=True)
    return body


def assert_invalid(response, field: str, fragment: str = "") -> None:
    body = assert_problem(response, 422)
    assert field in body["errors"], body
    assert fragment in " ".join(body["errors"][field]), body


def snapshot(platform) -> list:
    """Every identity row of every tenant: a refused request must leave it as it was."""
    with platform.db.session(all_tenants=True) as session:
        rows = []
        for model in (User, Department, Team, TeamMember, Role, UserRole, Share, ApiToken):
            rows += [tuple(sorted((k, str(v)) for k, v in vars(o).items() if not k.startswith("_") and k != "last_used_at"))
                     for o in session.scalars(select(model).order_by(model.id))]
        return rows


# -- users --------------------------------------------------------------------------------------


def test_an_administrator_creates_a_user_with_a_first_password(platform, client, boss, acme):
    response = client.post("/api/v1/users", json={"email": "Ann@Acme.test", "display_name": "Ann",
                                                 "password": PASSWORD, "locale": "fr"}, headers=boss)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/users/{body['id']}")
    assert body["email"] == "ann@acme.test" and body["active"] is True and body["locale"] == "fr"
    assert "password" not in body and "password_hash" not in body
    with platform.db.session(acme) as session:
        assert verify_password(session.get(User, body["id"]).password_hash, PASSWORD)
    assert client.get(f"/api/v1/users/{body['id']}", headers=boss).get_json()["display_name"] == "Ann"


@pytest.mark.parametrize(("body", "field", "fragment"), [
    ({"email": "ann@acme.test", "password": "short"}, "password", "at least 12"),
    ({"email": "ann@acme.test", "password": "password1234"}, "password", "common"),
    ({"email": "not-an-address", "password": PASSWORD}, "email", ""),
    ({"password": PASSWORD}, "email", "required"),
    ({"email": "ann@acme.test"}, "password", "required"),
    ({"email": "ann@acme.test", "password": PASSWORD, "department_id": 999}, "department_id", "no department"),
    ({"email": "ann@acme.test", "password": PASSWORD, "locale": "tlh"}, "locale", ""),
    ({"email": "ann@acme.test", "password": PASSWORD, "is_admin": True}, "is_admin", "Unknown field"),
    ({"email": "ann@acme.test", "password": PASSWORD, "id": 5}, "id", "Read-only"),
])
def test_bad_user_input_is_a_422_naming_the_field_and_changes_nothing(platform, client, boss, body, field, fragment):
    before = snapshot(platform)
    assert_invalid(client.post("/api/v1/users", json=body, headers=boss), field, fragment)
    assert snapshot(platform) == before


def test_a_duplicate_email_is_a_conflict(client, boss):
    data = {"email": "ann@acme.test", "password": PASSWORD}
    assert client.post("/api/v1/users", json=data, headers=boss).status_code == 201
    assert "already exists" in assert_problem(client.post("/api/v1/users", json=data, headers=boss), 409)["detail"]


def test_users_are_listed_filtered_and_paged(platform, client, boss, acme):
    for name in ("carl", "bea", "dora"):
        member(platform, acme, f"{name}@acme.test")
    first = client.get("/api/v1/users?email__contains=acme.test&limit=2", headers=boss)
    assert [u["email"] for u in first.get_json()["items"]] == ["bea@acme.test", "carl@acme.test"]
    rest = client.get(first.get_json()["next_cursor"] and
                      f"/api/v1/users?email__contains=acme.test&limit=2&cursor={first.get_json()['next_cursor']}",
                      headers=boss)
    assert [u["email"] for u in rest.get_json()["items"]] == ["dora@acme.test"]
    assert_invalid(client.get("/api/v1/users?emial=x", headers=boss), "emial", "Unknown field")


def test_updating_a_user_sets_department_name_and_locale_and_is_audited(platform, client, boss, acme):
    user_id, _ = member(platform, acme, "eve@acme.test")
    sales = client.post("/api/v1/departments", json={"name": "Sales"}, headers=boss).get_json()
    response = edit(client, f"/api/v1/users/{user_id}", {
        "department_id": sales["id"], "display_name": "Eve Q", "locale": "es"}, boss)
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["department_id"], response.get_json()["display_name"],
            response.get_json()["locale"]) == (sales["id"], "Eve Q", "es")
    with platform.db.session(acme) as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.target == f"core.user#{user_id}", AuditEntry.action == "core.user.updated")).one()
    assert entry.changes == {"department_id": [None, sales["id"]], "display_name": ["eve", "Eve Q"]}
    assert entry.ip == "127.0.0.1" and entry.request_id == response.headers["X-Request-ID"]
    assert entry.actor.startswith("user:") and entry.user_id == int(entry.actor[5:])
    assert_invalid(edit(client, f"/api/v1/users/{user_id}", {"email": "x@y.z"}, boss), "email")
    assert_invalid(edit(client, f"/api/v1/users/{user_id}", {"department_id": 12345}, boss),
                   "department_id")


def test_deactivation_stops_the_users_tokens_at_the_next_request(platform, client, boss, acme):
    user_id, headers = member(platform, acme, "fay@acme.test", {"core.user.read": Scope.TENANT})
    assert client.get("/api/v1/users", headers=headers).status_code == 200
    assert client.post(f"/api/v1/users/{user_id}/deactivate", headers=boss).get_json()["active"] is False
    assert_problem(client.get("/api/v1/users", headers=headers), 401)
    assert client.post(f"/api/v1/users/{user_id}/reactivate", headers=boss).get_json()["active"] is True
    assert client.get("/api/v1/users", headers=headers).status_code == 200


def test_an_administrator_cannot_deactivate_themselves(client, boss):
    me = client.get("/api/v1/tokens", headers=boss).get_json()["items"][0]["user_id"]
    assert "yourself" in assert_problem(client.post(f"/api/v1/users/{me}/deactivate", headers=boss), 409)["detail"]


# -- roles --------------------------------------------------------------------------------------


def test_a_role_given_and_taken_back_changes_rights_on_the_next_request(platform, client, boss, acme):
    user_id, headers = member(platform, acme, "gus@acme.test")
    assert_problem(client.get("/api/v1/users", headers=headers), 403)
    role = client.post("/api/v1/roles", json={"name": "Directory", "description": "reads users",
                                              "grants": ["core.user.read@tenant"]}, headers=boss)
    assert role.status_code == 201, role.get_json()
    role_id = role.get_json()["id"]
    assert role.get_json()["grants"] == ["core.user.read@tenant"]
    assert client.put(f"/api/v1/users/{user_id}/roles/{role_id}", headers=boss).status_code == 204
    assert client.get(f"/api/v1/users/{user_id}", headers=boss).get_json()["roles"] == ["Directory"]
    assert client.get("/api/v1/users", headers=headers).status_code == 200
    # Redefining the role narrows it: an administration right below tenant scope gives nothing.
    changed = edit(client, f"/api/v1/roles/{role_id}", {"grants": ["core.user.read@department"]}, boss)
    assert changed.get_json()["grants"] == ["core.user.read@department"]
    assert_problem(client.get("/api/v1/users", headers=headers), 403)
    edit(client, f"/api/v1/roles/{role_id}", {"grants": ["core.user.read@tenant"]}, boss)
    assert client.delete(f"/api/v1/users/{user_id}/roles/{role_id}", headers=boss).status_code == 204
    assert_problem(client.get("/api/v1/users", headers=headers), 403)


@pytest.mark.parametrize(("grants", "fragment"), [
    (["core.party.fly@tenant"], "Unknown permission 'core.party.fly'"),
    (["core.party.read@galaxy"], "scope among own, department, subtree, tenant"),
    (["core.party.read"], "permission@scope"),
    (["core.party.read@own", "core.party.read@tenant"], "twice"),
    ("core.party.read@own", "A list of"),
    (["core.party.read@related"], "names the relationship types it follows"),
    (["core.party.read@related:nope"], "unknown relationship type(s) nope"),
    (["core.party.read@related:referred/sideways"], "direction 'sideways' is not one of"),
    (["core.party.read@tenant:referred"], "only a 'related' scope takes relationship types"),
])
def test_bad_grants_are_a_422_naming_the_problem(platform, client, boss, acme, grants, fragment):
    with platform.db.transaction(acme) as session:
        service.define_relationship_type(session, "referred", "referred", "was referred by")
    before = snapshot(platform)
    assert_invalid(client.post("/api/v1/roles", json={"name": "x", "grants": grants}, headers=boss), "grants", fragment)
    assert snapshot(platform) == before


def test_nobody_hands_out_more_than_they_hold(platform, client, acme):
    hal, headers = member(platform, acme, "hal@acme.test", {
        "core.role.create": Scope.TENANT, "core.role.read": Scope.TENANT, "core.user.update": Scope.TENANT,
        "core.party.read": Scope.DEPARTMENT})
    body = assert_problem(client.post("/api/v1/roles", json={
        "name": "wide", "grants": ["core.party.read@tenant"]}, headers=headers), 403)
    assert "core.party.read" in body["detail"]
    # "related" reaches sideways, outside the department: a department grant does not cover it.
    with platform.db.transaction(acme) as session:
        service.define_relationship_type(session, "referred", "referred", "was referred by")
    assert_problem(client.post("/api/v1/roles", json={
        "name": "sideways", "grants": ["core.party.read@related:referred"]}, headers=headers), 403)
    assert client.post("/api/v1/roles", json={"name": "narrow", "grants": ["core.party.read@own"]},
                       headers=headers).status_code == 201
    with platform.db.transaction(acme) as session:
        wide_id = admin.define_role(session, "wide", {"core.party.delete": Scope.TENANT}, {"core.party.delete"}).id
    assert "core.party.delete" in assert_problem(
        client.put(f"/api/v1/users/{hal}/roles/{wide_id}", headers=headers), 403)["detail"]
    with platform.db.session(acme) as session:
        assert session.scalar(select(UserRole).where(UserRole.role_id == wide_id)) is None


def test_duplicate_role_names_conflict_and_permissions_are_listed(client, boss):
    assert client.post("/api/v1/roles", json={"name": "A", "grants": []}, headers=boss).status_code == 201
    assert_problem(client.post("/api/v1/roles", json={"name": "A", "grants": []}, headers=boss), 409)
    names = {p["name"] for p in client.get("/api/v1/permissions", headers=boss).get_json()["items"]}
    assert {"core.user.read", "core.team.update", "core.audit.read", "core.audit.export"} <= names


# -- departments and teams ----------------------------------------------------------------------


def test_departments_form_a_tree_that_refuses_cycles_and_deleting_non_empty_nodes(platform, client, boss, acme):
    def create(name, parent=None):
        response = client.post("/api/v1/departments", json={"name": name, "parent_id": parent}, headers=boss)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    hq = create("HQ")
    sales = create("Sales", hq["id"])
    north = create("North", sales["id"])
    assert north["path"] == f"/{hq['id']}/{sales['id']}/{north['id']}/"
    europe = create("Europe")
    def url(department):
        return f"/api/v1/departments/{department['id']}"

    def fresh(record_url):
        return matching(client, record_url, boss)

    moved = client.patch(url(sales), json={"parent_id": europe["id"], "name": "Ventes"}, headers=fresh(url(sales)))
    assert (moved.get_json()["path"], moved.get_json()["name"]) == (f"/{europe['id']}/{sales['id']}/", "Ventes")
    assert client.get(url(north), headers=boss).get_json()["path"] == f"/{europe['id']}/{sales['id']}/{north['id']}/"
    below_itself = client.patch(url(europe), json={"parent_id": north["id"]}, headers=fresh(url(europe)))
    assert "below itself" in assert_problem(below_itself, 409)["detail"]
    assert_invalid(client.patch(url(europe), json={"parent_id": 999}, headers=fresh(url(europe))), "parent_id")
    assert "sub-departments" in assert_problem(client.delete(url(sales), headers=fresh(url(sales))), 409)["detail"]
    user_id, _ = member(platform, acme, "ida@acme.test")
    user_url = f"/api/v1/users/{user_id}"
    client.patch(user_url, json={"department_id": north["id"]}, headers=fresh(user_url))
    assert "has users" in assert_problem(client.delete(url(north), headers=fresh(url(north))), 409)["detail"]
    client.patch(user_url, json={"department_id": None}, headers=fresh(user_url))
    assert client.delete(url(north), headers=fresh(url(north))).status_code == 204
    listed = client.get("/api/v1/departments", headers=boss).get_json()["items"]
    assert [d["name"] for d in listed] == ["HQ", "Europe", "Ventes"]  # by path: parents first
    assert_problem(client.post("/api/v1/departments", json={"name": "HQ"}, headers=boss), 409)


def test_administration_records_are_versioned_and_written_only_at_the_version_read(platform, client, boss, acme):
    user_id, _ = member(platform, acme, "kim@acme.test")
    user_url = f"/api/v1/users/{user_id}"
    role = client.post("/api/v1/roles", json={"name": "Readers", "grants": ["core.party.read@own"]}, headers=boss)
    assert role.status_code == 201 and role.headers["ETag"] == role.get_json()["etag"]
    role_url = role.headers["Location"]
    team = client.post("/api/v1/teams", json={"name": "Night shift"}, headers=boss).get_json()
    team_url = f"/api/v1/teams/{team['id']}"
    read = {url: client.get(url, headers=boss).headers["ETag"] for url in (user_url, role_url, team_url)}

    assert_problem(client.patch(user_url, json={"display_name": "Kim"}, headers=boss), 428)
    # What the representations list (a user's roles and teams, a team's members, a role's grants)
    # moves the version: a client holding the old ETag is refused, nothing is written.
    assert client.put(f"{user_url}/roles/{role.get_json()['id']}", headers=boss).status_code == 204
    assert client.put(f"{team_url}/members/{user_id}", headers=boss).status_code == 204
    assert client.get(user_url, headers=boss).headers["ETag"] != read[user_url]
    assert client.get(team_url, headers=boss).headers["ETag"] != read[team_url]
    assert edit(client, role_url, {"grants": ["core.party.read@department"]}, boss).status_code == 200
    for url, changes in ((user_url, {"display_name": "Stale"}), (team_url, {"name": "Stale"}),
                         (role_url, {"description": "Stale"})):
        assert_problem(client.patch(url, json=changes, headers={**boss, "If-Match": read[url]}), 412)
    assert_problem(client.delete(team_url, headers={**boss, "If-Match": read[team_url]}), 412)
    assert client.get(user_url, headers=boss).get_json()["display_name"] == "kim"
    assert client.get(team_url, headers=boss).get_json()["name"] == "Night shift"
    current = client.get(user_url, headers=boss)
    assert client.get(user_url, headers={**boss, "If-None-Match": current.headers["ETag"]}).status_code == 304


def test_team_membership_is_managed_and_shown(platform, client, boss, acme):
    user_id, _ = member(platform, acme, "jo@acme.test")
    team = client.post("/api/v1/teams", json={"name": "Key accounts"}, headers=boss).get_json()
    assert client.put(f"/api/v1/teams/{team['id']}/members/{user_id}", headers=boss).status_code == 204
    assert client.put(f"/api/v1/teams/{team['id']}/members/{user_id}", headers=boss).status_code == 204
    assert client.get(f"/api/v1/teams/{team['id']}", headers=boss).get_json()["member_ids"] == [user_id]
    assert client.get(f"/api/v1/users/{user_id}", headers=boss).get_json()["team_ids"] == [team["id"]]
    renamed = edit(client, f"/api/v1/teams/{team['id']}", {"name": "Big accounts"}, boss)
    assert renamed.get_json()["name"] == "Big accounts"
    assert client.delete(f"/api/v1/teams/{team['id']}/members/{user_id}", headers=boss).status_code == 204
    assert client.get(f"/api/v1/teams/{team['id']}", headers=boss).get_json()["member_ids"] == []
    assert remove(client, f"/api/v1/teams/{team['id']}", boss).status_code == 204
    assert_problem(client.get(f"/api/v1/teams/{team['id']}", headers=boss), 404)
    assert_invalid(client.post("/api/v1/teams", json={"name": ""}, headers=boss), "name")


# -- shares -------------------------------------------------------------------------------------


def test_a_share_opens_a_record_until_withdrawn_and_never_beyond_the_grantees_roles(platform, client, acme):
    owner_id, owner = member(platform, acme, "kim@acme.test", {
        "core.party.read": Scope.OWN, "core.party.share": Scope.OWN})
    reader_id, _ = member(platform, acme, "lea@acme.test", {"core.party.read": Scope.OWN})
    nobody_id, _ = member(platform, acme, "max@acme.test")
    with platform.db.transaction(acme) as session:
        party = Party(kind="person", display_name="Bob", tags=[], owner_user_id=owner_id)
        session.add(party)
        session.flush()
        party_id = party.id

    def visible_to(user_id: int) -> bool:
        with platform.db.session(acme) as session:
            act_as(session, load_principal(session, session.get(User, user_id)))
            return session.get(Party, party_id) is not None

    assert not visible_to(reader_id)
    data = {"resource": "core.party", "record_id": party_id, "grantee_kind": "user", "grantee_id": reader_id,
            "actions": ["read"]}
    assert_invalid(client.post("/api/v1/shares", json={**data, "grantee_id": nobody_id}, headers=owner),
                   "actions", "cannot go beyond")
    assert_invalid(client.post("/api/v1/shares", json={**data, "expires_at": "2000-01-01T00:00:00Z"}, headers=owner),
                   "expires_at", "future")
    assert_invalid(client.post("/api/v1/shares", json={**data, "resource": "core.nothing"}, headers=owner), "resource")
    assert_invalid(client.post("/api/v1/shares", json={**data, "actions": ["fly"]}, headers=owner), "actions.0")
    assert_invalid(client.post("/api/v1/shares", json={**data, "grantee_id": 9999}, headers=owner), "grantee_id")
    created = client.post("/api/v1/shares", json=data, headers=owner)
    assert created.status_code == 201, created.get_json()
    [share] = created.get_json()["items"]
    assert (share["action"], share["grantee_id"]) == ("read", reader_id)
    assert visible_to(reader_id)
    assert_problem(client.post("/api/v1/shares", json=data, headers=owner), 409)
    listed = client.get(f"/api/v1/shares?resource=core.party&record_id={party_id}", headers=owner).get_json()
    assert [s["id"] for s in listed["items"]] == [share["id"]]
    _, stranger = member(platform, acme, "ned@acme.test", {"core.party.read": Scope.TENANT})
    assert_problem(client.delete(f"/api/v1/shares/{share['id']}", headers=stranger), 403)
    assert client.delete(f"/api/v1/shares/{share['id']}", headers=owner).status_code == 204
    assert not visible_to(reader_id)


# -- tokens -------------------------------------------------------------------------------------


def test_a_token_is_shown_once_stored_hashed_and_works_until_revoked(platform, client, acme):
    _, headers = member(platform, acme, "oli@acme.test", {"core.user.read": Scope.TENANT})
    created = client.post("/api/v1/tokens", json={"name": "laptop"}, headers=headers)
    assert created.status_code == 201, created.get_json()
    token, token_id = created.get_json()["token"], created.get_json()["id"]
    assert token.startswith("xrm_")
    with platform.db.session(acme) as session:
        row = session.get(ApiToken, token_id)
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert "token" not in client.get(f"/api/v1/tokens/{token_id}", headers=headers).get_json()
    assert all("token" not in t for t in client.get("/api/v1/tokens", headers=headers).get_json()["items"])
    assert token not in client.get("/api/v1/tokens", headers=headers).get_data(as_text=True)
    mine = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/users", headers=mine).status_code == 200
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=headers).status_code == 204
    assert_problem(client.get("/api/v1/users", headers=mine), 401)
    assert client.get(f"/api/v1/tokens/{token_id}", headers=headers).get_json()["revoked_at"] is not None


def test_token_expiry_is_honoured(platform, client, acme):
    _, headers = member(platform, acme, "pia@acme.test", {"core.user.read": Scope.TENANT})
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    created = client.post("/api/v1/tokens", json={"name": "short", "expires_at": soon}, headers=headers).get_json()
    mine = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/v1/users", headers=mine).status_code == 200
    with platform.db.transaction(acme) as session:
        session.execute(update(ApiToken).where(ApiToken.id == created["id"])
                        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert_problem(client.get("/api/v1/users", headers=mine), 401)
    assert_invalid(client.post("/api/v1/tokens", json={"name": "past", "expires_at": "2001-01-01T00:00:00"},
                               headers=headers), "expires_at", "future")


def test_a_token_carries_only_permissions_its_user_holds_and_a_limited_one_cannot_mint_a_wider(platform, client, acme):
    _, headers = member(platform, acme, "quinn@acme.test", {
        "core.user.read": Scope.TENANT, "core.role.read": Scope.TENANT})
    assert_invalid(client.post("/api/v1/tokens", json={"name": "x", "permissions": ["core.user.delete"]},
                               headers=headers), "permissions", "core.user.delete")
    limited = client.post("/api/v1/tokens", json={"name": "roles only", "permissions": ["core.role.read"]},
                          headers=headers).get_json()
    narrow = {"Authorization": f"Bearer {limited['token']}"}
    assert client.get("/api/v1/roles", headers=narrow).status_code == 200
    assert_problem(client.get("/api/v1/users", headers=narrow), 403)
    assert_invalid(client.post("/api/v1/tokens", json={"name": "y", "permissions": ["core.user.read"]},
                               headers=narrow), "permissions", "core.user.read")
    minted = client.post("/api/v1/tokens", json={"name": "z"}, headers=narrow).get_json()
    assert minted["permissions"] == ["core.role.read"]
    assert_problem(client.get("/api/v1/users", headers={"Authorization": f"Bearer {minted['token']}"}), 403)


def test_tokens_of_others_are_hidden_from_users_and_managed_by_administrators(platform, client, boss, acme):
    rex_id, rex = member(platform, acme, "rex@acme.test")
    sam_id, sam = member(platform, acme, "sam@acme.test")
    rex_token = client.post("/api/v1/tokens", json={"name": "rex"}, headers=rex).get_json()["id"]
    assert_problem(client.get(f"/api/v1/tokens/{rex_token}", headers=sam), 404)
    assert_problem(client.delete(f"/api/v1/tokens/{rex_token}", headers=sam), 404)
    assert_problem(client.get(f"/api/v1/tokens?user_id={rex_id}", headers=sam), 403)
    assert_problem(client.post("/api/v1/tokens", json={"name": "for rex", "user_id": rex_id}, headers=sam), 403)
    assert rex_token in [t["id"] for t in client.get(f"/api/v1/tokens?user_id={rex_id}", headers=boss).get_json()["items"]]
    made = client.post("/api/v1/tokens", json={"name": "for sam", "user_id": sam_id}, headers=boss)
    assert made.status_code == 201 and made.get_json()["user_id"] == sam_id
    assert client.delete(f"/api/v1/tokens/{rex_token}", headers=boss).status_code == 204
    assert {t["name"] for t in client.get("/api/v1/tokens", headers=sam).get_json()["items"]} == {"tests", "for sam"}


# -- tenant boundary and permissions ------------------------------------------------------------


@pytest.fixture
def globex_ids(platform, globex):
    """One of everything in globex: acme's administrator must find none of it."""
    with platform.db.transaction(globex) as session:
        user = User(email="spy@globex.test", display_name="Spy", password_hash="-")
        department = admin.create_department(session, "Globex HQ")
        team = admin.create_team(session, "Globex team")
        role = admin.define_role(session, "Globex role", {"core.party.read": Scope.OWN}, {"core.party.read"})
        session.add(user)
        session.flush()
        party = Party(kind="person", display_name="Secret", tags=[], owner_user_id=user.id)
        session.add(party)
        session.flush()
        share = Share(resource="core.party", record_id=party.id, action="read", grantee_kind="user",
                      grantee_id=user.id)
        session.add(share)
        token, _ = create_token(session, user, "globex")
        session.flush()
        return {"user": user.id, "department": department.id, "team": team.id, "role": role.id,
                "party": party.id, "share": share.id, "token": token.id}


IDOR_REQUESTS = [
    ("get", "/api/v1/users/{user}", None),
    ("patch", "/api/v1/users/{user}", {"display_name": "x"}),
    ("post", "/api/v1/users/{user}/deactivate", None),
    ("post", "/api/v1/users/{user}/reactivate", None),
    ("put", "/api/v1/users/{user}/roles/{role}", None),
    ("delete", "/api/v1/users/{user}/roles/{role}", None),
    ("get", "/api/v1/departments/{department}", None),
    ("patch", "/api/v1/departments/{department}", {"name": "x"}),
    ("delete", "/api/v1/departments/{department}", None),
    ("get", "/api/v1/teams/{team}", None),
    ("patch", "/api/v1/teams/{team}", {"name": "x"}),
    ("delete", "/api/v1/teams/{team}", None),
    ("put", "/api/v1/teams/{team}/members/{user}", None),
    ("delete", "/api/v1/teams/{team}/members/{user}", None),
    ("get", "/api/v1/roles/{role}", None),
    ("patch", "/api/v1/roles/{role}", {"description": "x"}),
    ("delete", "/api/v1/roles/{role}", None),
    ("get", "/api/v1/shares?resource=core.party&record_id={party}", None),
    ("delete", "/api/v1/shares/{share}", None),
    ("get", "/api/v1/tokens/{token}", None),
    ("delete", "/api/v1/tokens/{token}", None),
]


def test_another_tenants_ids_are_not_found_on_every_endpoint(platform, client, boss, globex_ids):
    before = snapshot(platform)
    for method, url, body in IDOR_REQUESTS:
        kwargs = {"json": body} if body is not None else {}
        # "If-Match: *" gets writes past the precondition check: the id must be refused, not the header.
        response = getattr(client, method)(url.format(**globex_ids), headers={**boss, "If-Match": "*"}, **kwargs)
        assert response.status_code == 404, f"{method} {url}: {response.status_code}"
        assert_problem(response, 404)
    assert snapshot(platform) == before


def test_another_tenants_ids_in_a_body_are_invalid(platform, client, boss, globex_ids):
    acme_user = client.post("/api/v1/users", json={"email": "t@acme.test", "password": PASSWORD}, headers=boss)
    acme_user_id = acme_user.get_json()["id"]
    assert_invalid(client.patch(f"/api/v1/users/{acme_user_id}", json={"department_id": globex_ids["department"]},
                                headers=matching(client, f"/api/v1/users/{acme_user_id}", boss)), "department_id")
    assert_invalid(client.post("/api/v1/departments", json={"name": "x", "parent_id": globex_ids["department"]},
                               headers=boss), "parent_id")
    assert_invalid(client.post("/api/v1/tokens", json={"name": "x", "user_id": globex_ids["user"]}, headers=boss),
                   "user_id")
    assert_problem(client.post("/api/v1/shares", json={
        "resource": "core.party", "record_id": globex_ids["party"], "grantee_kind": "user",
        "grantee_id": acme_user_id, "actions": ["read"]}, headers=boss), 404)
    listed = client.get(f"/api/v1/tokens?user_id={globex_ids['user']}", headers=boss).get_json()
    assert listed["items"] == []


ADMIN_REQUESTS = [
    ("get", "/api/v1/users"), ("post", "/api/v1/users"), ("get", "/api/v1/departments"),
    ("post", "/api/v1/departments"), ("get", "/api/v1/teams"), ("post", "/api/v1/teams"),
    ("get", "/api/v1/roles"), ("post", "/api/v1/roles"), ("get", "/api/v1/permissions"),
    ("get", "/api/v1/audit"), ("get", "/api/v1/audit/export"),
]


def test_administration_needs_its_permission_and_every_refusal_is_audited(platform, client, acme):
    user_id, headers = member(platform, acme, "uma@acme.test", {"core.party.read": Scope.TENANT})
    before = snapshot(platform)
    for method, url in ADMIN_REQUESTS:
        kwargs = {"json": {k: v for k, v in BODY.items() if k in _fields_of(url)}} if method == "post" else {}
        response = getattr(client, method)(url, headers=headers, **kwargs)
        assert response.status_code == 403, f"{method} {url}: {response.status_code}"
        assert_problem(response, 403)
    assert snapshot(platform) == before
    with platform.db.session(acme) as session:
        denials = session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.denied")
                                  .order_by(AuditEntry.id)).all()
    assert [d.target for d in denials] == [f"{method.upper()} {url}" for method, url in ADMIN_REQUESTS]
    assert {(d.actor, d.user_id) for d in denials} == {(f"user:{user_id}", user_id)}
    assert all("does not hold" in d.details["detail"] for d in denials)


BODY = {"name": "x", "email": "v@acme.test", "password": PASSWORD, "grants": []}


def _fields_of(url: str) -> set[str]:
    return {"/api/v1/users": {"email", "password"}, "/api/v1/roles": {"name", "grants"}}.get(url, {"name"})


def test_unauthenticated_requests_are_401(client):
    for url in ("/api/v1/users", "/api/v1/tokens", "/api/v1/audit"):
        assert_problem(client.get(url), 401)


def test_a_related_role_defined_over_the_api_shows_a_partner_the_customers_it_referred(platform, client, boss, acme):
    with platform.db.transaction(acme) as session:
        service.define_relationship_type(session, "referred", "referred", "was referred by")
        firm, ann, carl = (service.create_party(session, kind, name) for kind, name in (
            ("organization", "Partner firm"), ("person", "Ann"), ("person", "Carl")))
        service.relate(session, firm, ann, "referred")
        ids = {"firm": firm.id, "ann": ann.id, "carl": carl.id}
    sam, sam_headers = member(platform, acme, "sam@partner.test")
    role = client.post("/api/v1/roles", json={"name": "Partner staff",
                                              "grants": ["core.party.read@related:referred"]}, headers=boss)
    assert role.status_code == 201, role.get_json()
    assert role.get_json()["grants"] == ["core.party.read@related:referred"]
    assert client.put(f"/api/v1/users/{sam}/roles/{role.get_json()['id']}", headers=boss).status_code in (200, 204)

    def names():
        response = client.get("/api/v1/parties", headers=sam_headers)
        assert response.status_code == 200, response.get_json()
        return sorted(item["display_name"] for item in response.get_json()["items"])

    assert names() == []  # no party to stand for yet: nothing related
    linked = edit(client, f"/api/v1/users/{sam}", {"party_id": ids["firm"]}, boss)
    assert linked.status_code == 200, linked.get_json()
    assert linked.get_json()["party_id"] == ids["firm"]
    assert names() == ["Ann"]
    assert_invalid(edit(client, f"/api/v1/users/{sam}", {"party_id": 987654}, boss), "party_id",
                   "There is no party 987654 here")
