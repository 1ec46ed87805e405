"""Security review of the newest routes: no record of another tenant or an unauthorised department is
seen or changed through them (the bar's rule 4).

One world for the module (:mod:`ui_world`, plus the ``cases`` fixture plugin's list): the party
page's linking forms and search, the party 360 API, the plugins' list pages (saved views, export,
bulk actions) and the party merge's move of collaboration are each tried with ids of another
tenant, of another department, of deleted parties, with forms without their CSRF token, a ``back``
pointing elsewhere and names carrying HTML; sign-in's ``next`` and a comment's page (where its
notifications link) with paths that browsers read as another site.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import uuid

import pytest
import ui_world
from plugin_dists import CORE, DISTS, Dist
from sqlalchemy import select
from ui_world import PASSWORD, csrf_token, sign_in
from xrm_fx_cases.plugin import Case

from xrm_core import migrate, tenants
from xrm_core.app import create_app
from xrm_core.config import load_settings
from xrm_core.graph.models import Party, Relationship
from xrm_core.graph.service import create_party, relate
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Department, GranteeKind, Scope, Share
from xrm_core.identity.passwords import hash_password
from xrm_core.identity.principal import load_principal
from xrm_core.identity.scoping import act_as
from xrm_core.models import Tenant, User
from xrm_core.platform import Platform
from xrm_core.plugins.discovery import discover
from xrm_core.ui.models import SavedView

CASES = Dist("xrm-fx-cases", "0.1.0", "cases", "xrm_fx_cases.plugin", (CORE,))
LIST = "/lists/cases.cases"
HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.fixture(scope="module")
def world_platform(tmp_path_factory, module_database_url):
    folder = tmp_path_factory.mktemp("security-review")
    site = folder / "site-packages"
    for dist in (DISTS["notes"], ui_world.SHOWCASE, CASES):
        dist.write(site)
    config = load_settings(environ={}, instance_path=folder / "instance", database_url=module_database_url)
    platform = Platform(config, plugins=discover(path=[str(site)]))
    migrate.upgrade(platform)
    yield platform
    platform.db.dispose()


def _user(session, email: str, name: str, department_id: int | None, *roles) -> User:
    user = User(email=email, display_name=name, department_id=department_id,
                password_hash=hash_password(PASSWORD, email=email))
    session.add(user)
    session.flush()
    for role in roles:
        admin.assign_role(session, user, role)
    return user


@pytest.fixture(scope="module")
def world(world_platform):
    """The UI world, plus: sue may link Sales' parties; sam may share and delete his own parties;
    cases for Sales, Support and Globex; Ed (Sales) reads Sales' cases but exports only his own, and
    reads every party but exports only Sales' ones;
    a Sales party related to Support's secret one; a Sales party with HTML in its name."""
    platform = world_platform
    world = ui_world.build(platform)
    with platform.db.transaction(all_tenants=True) as session:
        for tenant_id in (world.tenant_id, world.other_tenant_id):
            tenants.enable_plugin(platform, session, session.get(Tenant, tenant_id), "cases")
    with platform.db.transaction(world.tenant_id) as session:
        known = set(all_permissions(platform))
        department = {d.name: d.id for d in session.scalars(select(Department))}
        users = {email: session.get(User, user_id) for email, user_id in world.users.items()}
        linker = admin.define_role(session, "Linker", {"core.party.link": Scope.DEPARTMENT}, known)
        admin.assign_role(session, users["sue@acme.test"], linker)
        sharer = admin.define_role(session, "Own sharer", {"core.party.share": Scope.OWN,
                                                           "core.party.delete": Scope.OWN}, known)
        admin.assign_role(session, users["sam@acme.test"], sharer)
        case_staff = admin.define_role(session, "Case staff", {
            f"cases.case.{action}": Scope.DEPARTMENT for action in ("read", "update", "export")}, known)
        for email in ("sam@acme.test", "sue@acme.test", "pat@acme.test"):
            admin.assign_role(session, users[email], case_staff)
        budget = admin.define_role(session, "Case budgets", {"cases.case_budget.read": Scope.TENANT}, known)
        admin.assign_role(session, users["sam@acme.test"], budget)
        own_export = admin.define_role(session, "Narrow exports", {
            "cases.case.read": Scope.DEPARTMENT, "cases.case.export": Scope.OWN,
            "core.party.read": Scope.TENANT, "core.party.export": Scope.DEPARTMENT}, known)
        ed = _user(session, "ed@acme.test", "Ed Export", department["Sales"], own_export)
        world.users["ed@acme.test"] = ed.id
        for title, budget_value, department_id, owner in (
            ("Alpha", 100, department["Sales"], None), ("Bravo", 200, department["Sales"], None),
            ("Ed's own", 300, department["Sales"], ed.id), (HOSTILE, 400, department["Sales"], None),
            ("Support only", 700, department["Support"], None),
        ):
            session.add(Case(title=title, budget=budget_value, department_id=department_id, owner_user_id=owner))
        secret = session.get(Party, world.parties["Support Secret Ltd"])
        supplier = session.get(Party, world.parties["Sales contact 00"])
        relate(session, supplier, secret, "employs")
        relate(session, session.get(Party, world.parties["Zenith Industries"]), secret, "employs")
        hostile = create_party(session, "person", HOSTILE, department_id=department["Sales"])
        world.parties[HOSTILE] = hostile.id
    with platform.db.transaction(world.other_tenant_id) as session:
        session.add(Case(title="Globex case", budget=800))
    with platform.db.session(world.tenant_id, read_only=True) as session:
        world.parties.update({f"case:{c.title}": c.id for c in session.scalars(select(Case))})
    with platform.db.session(world.other_tenant_id, read_only=True) as session:
        world.parties["case:Globex case"] = session.scalar(select(Case.id))
    return world


@pytest.fixture(scope="module")
def app(world_platform, world):
    app = create_app(platform=world_platform)
    app.config["TESTING"] = True
    return app


def client_of(app):
    """A test client from an address of its own: sign-in is throttled per address and account, and the
    module signs the same users in many times within a minute."""
    client = app.test_client()
    number = next(CLIENTS)
    client.environ_base["REMOTE_ADDR"] = f"10.0.{number // 250}.{number % 250 + 1}"
    return client


CLIENTS = itertools.count()


def signed_in(app, email, tenant="acme"):
    """``email``'s client, signed in once for the module (signing in hashes the password: slow)."""
    key = (id(app), email)
    if key not in SIGNED_IN:
        SIGNED_IN[key] = client_of(app)
        sign_in(SIGNED_IN[key], email, tenant)
    return SIGNED_IN[key]


SIGNED_IN: dict = {}


def html_of(response) -> str:
    return response.get_data(as_text=True)


# -- the party page: linking and its search ----------------------------------------------------------


def test_linking_forms_never_reach_nor_name_parties_outside_the_users_reach(app, world_platform, world):
    sue = signed_in(app, "sue@acme.test")
    zenith, secret, globex = (world.parties[name] for name in
                              ("Zenith Industries", "Support Secret Ltd", "Globex Partner"))
    token = csrf_token(html_of(sue.get(f"/parties/{zenith}")))
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        before = session.scalar(select(Relationship.id).order_by(Relationship.id.desc()).limit(1))

    # Another department's, another tenant's, a missing party: all "not found", none named.
    for other in (secret, globex, 999_999):
        refused = sue.post(f"/parties/{zenith}/relationships",
                           data={"csrf_token": token, "type": "employs:out", "other_party_id": str(other)})
        assert refused.status_code == 404, other
        assert "Support Secret" not in html_of(refused) and "Globex Partner" not in html_of(refused)
    # A form refused for another field shows the chosen party again: never a hidden one.
    shown_again = sue.post(f"/parties/{zenith}/relationships",
                           data={"csrf_token": token, "type": "nonsense", "other_party_id": str(secret)})
    assert shown_again.status_code == 422
    assert "Support Secret" not in html_of(shown_again)
    # The party page itself leaves out the relationship to a party she may not see.
    assert "Support Secret" not in html_of(sue.get(f"/parties/{zenith}"))
    # The search suggests only parties she may read.
    for query in ("Secret", "Globex"):
        found = sue.get(f"/parties/{zenith}/link-candidates?link_q={query}&type=employs:out")
        assert found.status_code == 200 and query not in html_of(found).replace(f"link_q={query}", "")
        assert f'value="{secret}"' not in html_of(found) and f'value="{globex}"' not in html_of(found)
    assert "Sales contact 01" in html_of(sue.get(f"/parties/{zenith}/link-candidates?link_q=contact"))
    # Starting from a hidden party: as if it did not exist.
    for path in (f"/parties/{secret}/link-candidates?link_q=a", f"/parties/{globex}/link-candidates?link_q=a"):
        assert sue.get(path).status_code == 404
    for party in (secret, globex):
        assert sue.post(f"/parties/{party}/relationships", data={
            "csrf_token": token, "type": "employs:out", "other_party_id": str(zenith)}).status_code == 404
        assert sue.post(f"/parties/{party}/roles", data={"csrf_token": token, "role": "customer"}).status_code == 404
    # Ending the relationship to a hidden party, from the visible end: not found, unchanged.
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        hidden_link = session.scalar(select(Relationship).where(
            Relationship.from_party_id == world.parties["Sales contact 00"], Relationship.to_party_id == secret))
        link_id, link_version = hidden_link.id, hidden_link.version
    ended = sue.post(f"/parties/{world.parties['Sales contact 00']}/relationships/{link_id}/end",
                     data={"csrf_token": token, "on": "2030-01-01", "version": str(link_version)})
    assert ended.status_code == 404 and "Support Secret" not in html_of(ended)
    # Without the CSRF token, nothing is linked even to a visible party.
    forged = sue.post(f"/parties/{zenith}/relationships",
                      data={"type": "employs:out", "other_party_id": str(world.parties["Sales contact 02"])})
    assert forged.status_code == 400
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        assert session.scalar(select(Relationship.id).order_by(Relationship.id.desc()).limit(1)) == before
        assert session.get(Relationship, link_id).valid_to is None


def test_names_carrying_html_are_shown_as_text(app, world):
    sue = signed_in(app, "sue@acme.test")
    zenith = world.parties["Zenith Industries"]
    for path in (f"/parties/{zenith}/link-candidates?link_q=onerror", f"/parties/{world.parties[HOSTILE]}",
                 "/parties?q=onerror", LIST):
        page = html_of(sue.get(path))
        assert HOSTILE not in page, path
        assert "&lt;img src=x onerror=" in page, path


# -- the party 360 API (prepared statements) ------------------------------------------------------------


def test_party_360_api_answers_within_the_tenant_and_the_users_reach(app, world):
    sue = signed_in(app, "sue@acme.test")
    zenith, secret, globex = (world.parties[name] for name in
                              ("Zenith Industries", "Support Secret Ltd", "Globex Partner"))
    view = sue.get(f"/api/v1/parties/{zenith}/360")
    assert view.status_code == 200
    others = [link["party"]["display_name"] for link in view.get_json()["relationships"]]
    assert "Alice Martin" in others and "Support Secret Ltd" not in others
    for party in (secret, globex, 999_999):
        refused = sue.get(f"/api/v1/parties/{party}/360")
        assert refused.status_code == 404 and "Secret" not in html_of(refused)
    globex_admin = signed_in(app, "admin@globex.test", "globex")
    assert globex_admin.get(f"/api/v1/parties/{zenith}/360").status_code == 404
    assert globex_admin.get(f"/api/v1/parties/{globex}/360").status_code == 200


# -- the plugins' list pages --------------------------------------------------------------------------


def titles(html: str) -> list[str]:
    return re.findall(r'<td data-column="title"><a href="/cases/\d+">([^<]+)</a>', html)


def exported_titles(response) -> list[str]:
    assert response.status_code == 200, html_of(response)
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    column = rows[0].index("Title")
    return sorted(row[column] for row in rows[1:])


def test_list_export_holds_only_what_the_user_may_export_and_read(app, world):
    ed, sue = signed_in(app, "ed@acme.test"), signed_in(app, "sue@acme.test")
    # Ed reads every Sales case but may export only his own.
    assert len(titles(html_of(ed.get(LIST)))) == 4
    assert exported_titles(ed.get(f"{LIST}/export.csv")) == ["Ed's own"]
    # The same for the party list: he reads every party of the tenant, exports Sales' only.
    assert "Support Secret Ltd" in html_of(ed.get("/parties?q=Secret"))
    rows = list(csv.reader(io.StringIO(ed.get("/parties/export.csv").get_data().decode("utf-8-sig"))))
    names = {row[rows[0].index("Name")] for row in rows[1:]}
    assert "Zenith Industries" in names and "Support Secret Ltd" not in names and "Globex Partner" not in names
    # A filter on a field Sue may not read is no filter for her: it cannot tell her budgets.
    everything = exported_titles(sue.get(f"{LIST}/export.csv"))
    assert "Support only" not in everything and "Globex case" not in everything
    assert exported_titles(sue.get(f"{LIST}/export.csv?budget__gte=250")) == everything
    assert titles(html_of(sue.get(f"{LIST}?budget__gte=250"))) == titles(html_of(sue.get(LIST)))
    assert sue.get(f"{LIST}/export.csv?columns=title,budget").status_code == 400


def test_bulk_actions_change_only_records_in_reach_and_link_back_only_to_the_list(app, world_platform, world):
    sam = signed_in(app, "sam@acme.test")
    token = csrf_token(html_of(sam.get(LIST)))
    chosen = [world.parties["case:Alpha"], world.parties["case:Support only"], world.parties["case:Globex case"]]
    # Without the CSRF token: refused, nothing closed.
    assert sam.post(f"{LIST}/bulk", data={"action": "close", "ids": chosen}).status_code == 400
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        assert session.get(Case, chosen[0]).status == "open"
    result = sam.post(f"{LIST}/bulk", data={"csrf_token": token, "action": "close", "ids": chosen,
                                            "back": "//evil.example/lists/cases.cases"})
    page = html_of(result)
    assert result.status_code == 200 and "1 done, 2 refused." in page
    assert "Support only" not in page and "Globex case" not in page
    assert 'href="/lists/cases.cases"' in page and "evil.example" not in page
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        status = {c.id: c.status for c in session.scalars(select(Case))}
    with world_platform.db.session(world.other_tenant_id, read_only=True) as session:
        status.update({c.id: c.status for c in session.scalars(select(Case))})
    assert [status[case_id] for case_id in chosen] == ["closed", "open", "open"]
    for back, shown in (("https://evil.example/", "/lists/cases.cases"), ("javascript:alert(1)", "/lists/cases.cases"),
                        ("/lists/cases.cases?status=open", "/lists/cases.cases?status=open")):
        page = html_of(sam.post(f"{LIST}/bulk", data={"csrf_token": token, "action": "close", "back": back,
                                                      "ids": [world.parties["case:Alpha"]]}))
        assert re.search(r'href="([^"]*)">Back to the list', page).group(1).replace("&amp;", "&") == shown
    # A hostile title is written as text in the bulk result too.
    page = html_of(sam.post(f"{LIST}/bulk", data={"csrf_token": token, "action": "close",
                                                  "ids": [world.parties[f"case:{HOSTILE}"]]}))
    assert "1 done, 0 refused." in page and HOSTILE not in page and "&lt;img src=x" in page


def test_saved_views_are_seen_and_deleted_only_by_whom_they_are_for(app, world_platform, world):
    sam, sue, pat = (signed_in(app, f"{name}@acme.test") for name in ("sam", "sue", "pat"))
    globex_admin = signed_in(app, "admin@globex.test", "globex")
    token = csrf_token(html_of(sam.get(LIST)))
    for name, scope in (("Sam only", "me"), ("Sales view", "department")):
        assert sam.post("/views/cases.cases", data={"csrf_token": token, "name": name, "scope": scope,
                                                    "status": "open"}).status_code == 302
    # Saving for the whole organisation is for administrators; a view is saved only with its token.
    sam.post("/views/cases.cases", data={"csrf_token": token, "name": "Everyone", "scope": "tenant"})
    sam.post("/views/cases.cases", data={"name": "Forged", "scope": "me"})
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        views = {v.name: v.id for v in session.scalars(select(SavedView))}
    assert set(views) == {"Sam only", "Sales view"}
    sues = html_of(sue.get(LIST))
    assert "Sales view" in sues and "Sam only" not in sues
    assert "Sales view" not in html_of(pat.get(LIST)) and "Sam only" not in html_of(pat.get(LIST))
    sue_token, pat_token = csrf_token(sues), csrf_token(html_of(pat.get(LIST)))
    globex_token = csrf_token(html_of(globex_admin.get(LIST)))
    assert sue.post(f"/views/{views['Sam only']}/delete", data={"csrf_token": sue_token}).status_code == 404
    assert sue.post(f"/views/{views['Sales view']}/delete", data={"csrf_token": sue_token}).status_code == 403
    assert pat.post(f"/views/{views['Sales view']}/delete", data={"csrf_token": pat_token}).status_code == 404
    assert globex_admin.post(f"/views/{views['Sales view']}/delete",
                             data={"csrf_token": globex_token}).status_code == 404
    assert sam.post(f"/views/{views['Sales view']}/delete", data={}).status_code == 400
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        assert set(session.scalars(select(SavedView.name))) == {"Sam only", "Sales view"}


# -- merging parties: what moves with the loser --------------------------------------------------------


def test_a_merge_does_not_open_the_survivor_to_the_losers_grantees(app, world_platform, world):
    """Sam may share only his own parties. Sharing his own duplicate with Pat (Support), then merging
    it into a Sales party he may update but not share, must not share that party with Pat."""
    survivor_id = world.parties["Sales contact 05"]
    with world_platform.db.transaction(world.tenant_id) as session:
        sam = load_principal(session, session.get(User, world.users["sam@acme.test"]))
        act_as(session, sam)
        duplicate = create_party(session, "person", "Sales contact 05 (duplicate)",
                                 owner_user_id=world.users["sam@acme.test"])
        admin.share(session, sam, duplicate, GranteeKind.USER, world.users["pat@acme.test"], ["read"])
        loser_id = duplicate.id
    pat = signed_in(app, "pat@acme.test")
    assert pat.get(f"/parties/{loser_id}").status_code == 200  # the share Sam could give
    assert pat.get(f"/parties/{survivor_id}").status_code == 404

    sam_client = signed_in(app, "sam@acme.test")
    token = csrf_token(html_of(sam_client.get(f"/parties/{survivor_id}")))
    merged = sam_client.post(f"/api/v1/parties/{survivor_id}/merge", json={"loser_id": loser_id},
                             headers={"X-CSRFToken": token})
    assert merged.status_code == 200, html_of(merged)
    assert pat.get(f"/parties/{survivor_id}").status_code == 404
    assert pat.get(f"/api/v1/parties/{survivor_id}/360").status_code == 404
    assert pat.get(f"/parties/{loser_id}").status_code == 404  # merged away
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        assert not session.scalars(select(Share).where(Share.record_id.in_([survivor_id, loser_id]))).all()


def test_a_merge_by_who_may_share_the_survivor_keeps_the_losers_shares(app, world_platform, world):
    """Moving shares is right when the merging user could have shared the survivor themselves."""
    with world_platform.db.transaction(world.tenant_id) as session:
        sam = load_principal(session, session.get(User, world.users["sam@acme.test"]))
        act_as(session, sam)
        survivor = create_party(session, "person", "Sam's own customer", owner_user_id=sam.user_id)
        duplicate = create_party(session, "person", "Sam's own customer (twice)", owner_user_id=sam.user_id)
        admin.share(session, sam, duplicate, GranteeKind.USER, world.users["pat@acme.test"], ["read"])
        survivor_id, loser_id = survivor.id, duplicate.id
    sam_client = signed_in(app, "sam@acme.test")
    token = csrf_token(html_of(sam_client.get(f"/parties/{survivor_id}")))
    merged = sam_client.post(f"/api/v1/parties/{survivor_id}/merge", json={"loser_id": loser_id},
                             headers={"X-CSRFToken": token})
    assert merged.status_code == 200, html_of(merged)
    assert signed_in(app, "pat@acme.test").get(f"/parties/{survivor_id}").status_code == 200


# -- ways back: sign-in's ``next``, a comment's page --------------------------------------------------

#: Paths browsers read as another site: tabs and line breaks are dropped from URLs, ``\`` is ``/``.
OFF_SITE = ("/\t/evil.example/", "/\n/evil.example/", "/\\evil.example/", "//evil.example/", "https://evil.example/")


def test_sign_in_sends_back_only_to_a_page_of_the_site(app, world):
    for target in (*OFF_SITE, "/parties?q=a"):
        client = client_of(app)
        token = csrf_token(html_of(client.get("/login")))
        response = client.post("/login", query_string={"next": target}, data={
            "csrf_token": token, "tenant": "acme", "email": "sue@acme.test", "password": PASSWORD})
        assert response.status_code == 302
        location = response.headers["Location"]
        assert "evil.example" not in location, (target, location)
    assert location == "/parties?q=a"


def test_a_comment_cannot_make_notifications_link_off_site(app, world_platform, world):
    from xrm_core.notifications.models import Notification

    sam = signed_in(app, "sam@acme.test")
    zenith = world.parties["Zenith Industries"]
    token = csrf_token(html_of(sam.get(f"/parties/{zenith}")))
    for page in OFF_SITE:
        posted = sam.post(f"/collaboration/core.party/{zenith}/comments", query_string={"page": page},
                          headers={"HX-Request": "true", "X-CSRFToken": token},
                          data={"body": "Look, @sue@acme.test"})
        assert posted.status_code == 200, html_of(posted)
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        notifications = session.scalars(select(Notification).where(
            Notification.user_id == world.users["sue@acme.test"], Notification.kind == "mention")).all()
        urls = {n.id: n.url for n in notifications}
    assert len(urls) == len(OFF_SITE) and set(urls.values()) == {f"/parties/{zenith}"}
    sue = signed_in(app, "sue@acme.test")
    sue_token = csrf_token(html_of(sue.get("/notifications")))
    opened = sue.post(f"/notifications/{min(urls)}/read", data={"csrf_token": sue_token, "open": "1"})
    assert opened.headers["Location"] == f"/parties/{zenith}"


# -- the party timeline: events about other records that name the party ----------------------------


def test_the_timeline_leaves_out_events_about_records_the_user_may_not_read(app, world_platform, world):
    """An event about a Support party (or a Support case) that names a Sales party as related is on
    the Sales party's timeline; Sue (Sales) must not read it there, nor in the API."""
    from xrm_core.graph.history import TimelineEntry

    zenith = world.parties["Zenith Industries"]
    about = {"fx.hidden.noted": ("core_parties", world.parties["Support Secret Ltd"]),
             "fx.hidden_case.noted": ("cases_cases", world.parties["case:Support only"]),
             "fx.visible.noted": ("core_parties", world.parties["Alice Martin"]),
             "fx.visible_case.noted": ("cases_cases", world.parties["case:Bravo"]),
             "fx.gone.noted": ("cases_cases", 999_999)}
    with world_platform.db.transaction(world.tenant_id) as session:
        for event_type, (subject_type, subject_id) in about.items():
            session.add(TimelineEntry(party_id=zenith, event_id=str(uuid.uuid4()), event_type=event_type,
                                      source="fx", actor="user:1", subject_type=subject_type,
                                      subject_id=str(subject_id), payload={"note": f"{event_type} note"}))
    sue = signed_in(app, "sue@acme.test")
    listed = sue.get(f"/api/v1/parties/{zenith}/timeline?limit=100")
    assert listed.status_code == 200
    types = {item["event_type"] for item in listed.get_json()["items"]}
    assert {"fx.visible.noted", "fx.visible_case.noted", "fx.gone.noted"} <= types
    assert not types & {"fx.hidden.noted", "fx.hidden_case.noted"}
    page = html_of(sue.get(f"/parties/{zenith}"))
    assert "fx.visible.noted" in page and "fx.hidden.noted" not in page and "fx.hidden_case.noted" not in page
    # Who may read them still does.
    admin_types = {item["event_type"] for item in signed_in(app, "admin@acme.test").get(
        f"/api/v1/parties/{zenith}/timeline?limit=100").get_json()["items"]}
    assert set(about) <= admin_types
