"""The admin console's users, roles, departments and teams: the API's services and checks, in forms."""

from __future__ import annotations

import re

import ui_world
import ui_world_fixtures
from sqlalchemy import select
from ui_world import csrf_token, sign_in

from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Department, Role, Scope, Team, TeamMember, UserRole
from xrm_core.models import AuditEntry, User
from xrm_core.ui.models import UserPreference

app = ui_world_fixtures.world_app  # the world's app (conftest's ``app`` serves another platform)


def signed_in(app, email, tenant="acme"):
    client = app.test_client()
    sign_in(client, email, tenant)
    return client


def form_of(client, url):
    """The page's CSRF token and the version its form carries."""
    page = client.get(url).get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page)
    return csrf_token(page), version.group(1) if version else None


def post(client, url, data, page=None):
    token, _version = form_of(client, page or url)
    return client.post(url, data={"csrf_token": token, **data})


def query(platform, tenant_id, statement):
    with platform.db.session(tenant_id, read_only=True) as session:
        return session.execute(statement).all()


def test_staff_are_refused_and_another_tenants_admin_sees_none_of_acme(app, world_platform, world):
    staff = signed_in(app, "sam@acme.test")
    for url in ("/admin/users", "/admin/users/new", "/admin/roles", "/admin/departments", "/admin/teams",
                f"/admin/users/{world.users['sue@acme.test']}"):
        assert staff.get(url).status_code == 403, url
    token = csrf_token(staff.get("/parties").get_data(as_text=True))
    assert staff.post(f"/admin/users/{world.users['sue@acme.test']}/deactivate",
                      data={"csrf_token": token}).status_code == 403
    assert query(world_platform, world.tenant_id, select(User.active).where(User.email == "sue@acme.test")) == [(True,)]

    globex = signed_in(app, "admin@globex.test", "globex")
    listing = globex.get("/admin/users").get_data(as_text=True)
    assert "admin@globex.test" in listing and "acme.test" not in listing
    sales_id = query(world_platform, world.tenant_id, select(Department.id).where(Department.name == "Sales"))[0][0]
    assert globex.get(f"/admin/users/{world.users['sam@acme.test']}").status_code == 404
    assert globex.get(f"/admin/departments/{sales_id}").status_code == 404
    assert "Sales" not in globex.get("/admin/departments").get_data(as_text=True)


def test_creating_a_user_shows_errors_on_their_fields_then_creates_them(app, world_platform, world):
    client = signed_in(app, "admin@acme.test")
    staff_role, support = (query(world_platform, world.tenant_id, select(Role.id).where(Role.name == "Staff"))[0][0],
                           query(world_platform, world.tenant_id,
                                 select(Department.id).where(Department.name == "Support"))[0][0])
    bad = post(client, "/admin/users/new", {"email": "not-an-address", "password": "short",
                                            "display_name": "Nia New", "locale": "xx"})
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert 'id="email-error">Enter an e-mail address' in page and 'id="locale-error">' in page
    assert 'value="not-an-address"' in page and 'value="short"' not in page
    weak = post(client, "/admin/users/new", {"email": "nia@acme.test", "password": "short", "display_name": "Nia"})
    assert weak.status_code == 422 and 'id="password-error">' in weak.get_data(as_text=True)
    assert query(world_platform, world.tenant_id, select(User.id).where(User.email == "nia@acme.test")) == []

    made = post(client, "/admin/users/new", {"email": "Nia@acme.test", "password": ui_world.PASSWORD,
                                             "display_name": "Nia New", "department_id": str(support),
                                             "role_ids": str(staff_role), "locale": "fr"})
    assert made.status_code == 302
    (user,) = query(world_platform, world.tenant_id, select(User).where(User.email == "nia@acme.test"))[0]
    assert user.department_id == support and user.display_name == "Nia New"
    assert query(world_platform, world.tenant_id, select(UserRole.role_id).where(UserRole.user_id == user.id)) == \
        [(staff_role,)]
    assert query(world_platform, world.tenant_id,
                 select(UserPreference.locale).where(UserPreference.user_id == user.id)) == [("fr",)]
    actors = query(world_platform, world.tenant_id, select(AuditEntry.actor).where(AuditEntry.action == "user.created",
                                                                                  AuditEntry.target == user.email))
    assert actors == [(f"user:{world.users['admin@acme.test']}",)]
    listing = client.get("/admin/users").get_data(as_text=True)
    row = re.search(rf'<tr data-user-id="{user.id}">(.*?)</tr>', listing, re.DOTALL).group(1)
    assert "nia@acme.test" in row and "Support" in row and "Staff" in row and "Active" in row
    duplicate = post(client, "/admin/users/new", {"email": "nia@acme.test", "password": ui_world.PASSWORD})
    assert duplicate.status_code == 422 and "There is already a user with this e-mail address." in \
        duplicate.get_data(as_text=True)


def test_stale_user_and_role_forms_are_refused_and_change_nothing(app, world_platform, world):
    client = signed_in(app, "admin@acme.test")
    sam = world.users["sam@acme.test"]
    url = f"/admin/users/{sam}"
    token, version = form_of(client, url)
    saved = client.post(url, data={"csrf_token": token, "version": version, "display_name": "Samuel Seller",
                                   "department_id": "", "locale": ""})
    assert saved.status_code == 302
    assert query(world_platform, world.tenant_id, select(User.display_name, User.department_id)
                 .where(User.id == sam)) == [("Samuel Seller", None)]
    assert query(world_platform, world.tenant_id, select(UserRole.id).where(UserRole.user_id == sam)) == []

    stale = client.post(url, data={"csrf_token": token, "version": version, "display_name": "Old Form"})
    assert stale.status_code == 409
    assert "Someone else changed this record after you opened the form" in stale.get_data(as_text=True)
    assert query(world_platform, world.tenant_id, select(User.display_name).where(User.id == sam)) == \
        [("Samuel Seller",)]

    deactivated = post(client, f"/admin/users/{sam}/deactivate", {}, page=url)
    assert deactivated.status_code == 302
    assert query(world_platform, world.tenant_id, select(User.active).where(User.id == sam)) == [(False,)]
    itself = post(client, f"/admin/users/{world.users['admin@acme.test']}/deactivate", {}, page=url)
    assert itself.status_code == 302
    assert "You cannot deactivate yourself" in client.get(itself.location).get_data(as_text=True)
    assert post(client, f"/admin/users/{sam}/reactivate", {}, page=url).status_code == 302
    assert query(world_platform, world.tenant_id, select(User.active).where(User.id == sam)) == [(True,)]

    # A role's grants table round-trips, and a stale role form is refused the same way.
    made = post(client, "/admin/roles/new", {"name": "Auditors", "grant.core.audit.read": "tenant",
                                             "grant.core.party.read": "subtree"})
    assert made.status_code == 302
    (role_id,) = query(world_platform, world.tenant_id, select(Role.id).where(Role.name == "Auditors"))[0]
    url = f"/admin/roles/{role_id}"
    token, version = form_of(client, url)
    changed = client.post(url, data={"csrf_token": token, "version": version, "name": "Auditors",
                                     "grant.core.audit.read": "tenant"})
    assert changed.status_code == 302
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        assert {p: str(g) for p, g in admin.grants_of(session, session.get(Role, role_id)).items()} == \
            {"core.audit.read": "tenant"}
    stale = client.post(url, data={"csrf_token": token, "version": version, "name": "Renamed"})
    assert stale.status_code == 409
    assert query(world_platform, world.tenant_id, select(Role.name).where(Role.id == role_id)) == [("Auditors",)]




def test_nobody_hands_out_more_than_they_hold(app, world_platform, world):
    with world_platform.db.transaction(world.tenant_id) as session:
        delegate = admin.define_role(session, "Delegate", {
            "core.role.read": Scope.TENANT, "core.role.create": Scope.TENANT, "core.role.update": Scope.TENANT,
            "core.user.read": Scope.TENANT, "core.user.update": Scope.TENANT, "core.party.read": Scope.DEPARTMENT,
        }, set(all_permissions(world_platform)))
        admin.assign_role(session, session.get(User, world.users["sue@acme.test"]), delegate)
        wide_id = admin.define_role(session, "Everything", {"core.party.read": Scope.TENANT},
                                    set(all_permissions(world_platform))).id
    client = signed_in(app, "sue@acme.test")
    form = client.get("/admin/roles/new").get_data(as_text=True)
    assert 'name="grant.core.party.read"' in form and '<option value="subtree"' in form

    beyond = post(client, "/admin/roles/new", {"name": "Readers", "grant.core.party.read": "tenant"})
    assert beyond.status_code == 403
    assert "You cannot grant more than you hold" in beyond.get_data(as_text=True)
    assert 'id="grants-error"' in beyond.get_data(as_text=True)
    assert query(world_platform, world.tenant_id, select(Role.id).where(Role.name == "Readers")) == []
    unknown = post(client, "/admin/roles/new", {"name": "Readers", "grant.core.nothing.read": "tenant"})
    assert unknown.status_code == 422 and "unknown permission" in unknown.get_data(as_text=True)

    within = post(client, "/admin/roles/new", {"name": "Readers", "description": "Read their department",
                                              "grant.core.party.read": "department"})
    assert within.status_code == 302
    (role_id,) = query(world_platform, world.tenant_id, select(Role.id).where(Role.name == "Readers"))[0]
    edit = client.get(f"/admin/roles/{role_id}").get_data(as_text=True)
    assert re.search(r'name="grant.core.party.read">.*?<option value="department" selected>', edit, re.DOTALL)

    # Giving a user a role beyond one's own grants is refused the same way; roles already held are not re-checked.
    pat = world.users["pat@acme.test"]
    staff_role = query(world_platform, world.tenant_id, select(Role.id).where(Role.name == "Staff"))[0][0]
    token, version = form_of(client, f"/admin/users/{pat}")
    refused = client.post(f"/admin/users/{pat}", data={"csrf_token": token, "version": version, "display_name": "Pat",
                                                       "role_ids": [str(staff_role), str(wide_id)]})
    assert refused.status_code == 403
    assert 'id="role_ids-error">You cannot give the role Everything' in refused.get_data(as_text=True)
    assert "the role Staff" not in refused.get_data(as_text=True)
    assert query(world_platform, world.tenant_id, select(UserRole.role_id).where(UserRole.user_id == pat)) == \
        [(staff_role,)]
    given = client.post(f"/admin/users/{pat}", data={"csrf_token": token, "version": version, "display_name": "Pat",
                                                     "role_ids": [str(staff_role), str(role_id)]})
    assert given.status_code == 302
    assert sorted(query(world_platform, world.tenant_id, select(UserRole.role_id).where(UserRole.user_id == pat))) \
        == sorted([(staff_role,), (role_id,)])


def test_departments_and_teams(app, world_platform, world):
    client = signed_in(app, "admin@acme.test")
    (sales,) = query(world_platform, world.tenant_id, select(Department.id).where(Department.name == "Sales"))[0]
    assert post(client, "/admin/departments", {"name": "North", "parent_id": str(sales)}).status_code == 302
    (north,) = query(world_platform, world.tenant_id, select(Department.id).where(Department.name == "North"))[0]
    tree = client.get("/admin/departments").get_data(as_text=True)
    assert tree.index(">Sales</a>") < tree.index(">North</a>")
    twice = post(client, "/admin/departments", {"name": "North", "parent_id": str(sales)})
    assert twice.status_code == 422 and "already a department" in twice.get_data(as_text=True)

    token, version = form_of(client, f"/admin/departments/{sales}")
    below_itself = client.post(f"/admin/departments/{sales}", data={"csrf_token": token, "version": version,
                                                                    "name": "Sales", "parent_id": str(north)})
    assert below_itself.status_code == 422 and 'id="parent_id-error"' in below_itself.get_data(as_text=True)
    refused = client.post(f"/admin/departments/{sales}/delete", data={"csrf_token": token, "version": version})
    message = client.get(refused.location).get_data(as_text=True)
    assert "The department was not deleted: department &#39;Sales&#39; has sub-departments" in message
    assert query(world_platform, world.tenant_id, select(Department.id).where(Department.id == sales)) == [(sales,)]

    token, version = form_of(client, f"/admin/departments/{north}")
    assert client.post(f"/admin/departments/{north}", data={"csrf_token": token, "version": version,
                                                             "name": "Nord", "parent_id": ""}).status_code == 302
    assert query(world_platform, world.tenant_id, select(Department.name, Department.parent_id)
                 .where(Department.id == north)) == [("Nord", None)]
    stale = client.post(f"/admin/departments/{north}/delete", data={"csrf_token": token, "version": version})
    assert "Someone else changed this record" in client.get(stale.location).get_data(as_text=True)
    token, version = form_of(client, f"/admin/departments/{north}")
    client.post(f"/admin/departments/{north}/delete", data={"csrf_token": token, "version": version})
    assert query(world_platform, world.tenant_id, select(Department.id).where(Department.id == north)) == []

    assert post(client, "/admin/teams", {"name": ""}).status_code == 422
    created = post(client, "/admin/teams", {"name": "Key accounts"})
    team_url = created.location
    sam, pat = world.users["sam@acme.test"], world.users["pat@acme.test"]
    for data in ({"add": str(sam)}, {"add": str(pat)}, {"remove": str(sam)}):
        assert post(client, f"{team_url}/members", data, page=team_url).status_code == 302
    (team_id,) = query(world_platform, world.tenant_id, select(Team.id).where(Team.name == "Key accounts"))[0]
    assert query(world_platform, world.tenant_id, select(TeamMember.user_id).where(TeamMember.team_id == team_id)) == \
        [(pat,)]
    page = client.get(team_url).get_data(as_text=True)
    assert f'<tr data-user-id="{pat}">' in page and f'<tr data-user-id="{sam}">' not in page
    actions = [row[0] for row in query(world_platform, world.tenant_id, select(AuditEntry.action).where(
        AuditEntry.action.like("team.%")).order_by(AuditEntry.id))]
    assert actions == ["team.created", "team.member_added", "team.member_added", "team.member_removed"]
