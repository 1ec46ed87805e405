"""The plugins' generic list pages (``xrm_list_views``), with the ``cases`` fixture plugin.

In ``acme``: sam, sue (Sales) and pat (Support) read, change and export the cases of their
department; only sam may read the protected budget. Globex has a case of its own.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
import ui_world
import ui_world_fixtures
from openpyxl import load_workbook
from plugin_dists import CORE, Dist
from sqlalchemy import select
from ui_world import csrf_token, sign_in
from xrm_fx_cases.plugin import CASES as CASE_LISTING
from xrm_fx_cases.plugin import LIST as CASE_LIST
from xrm_fx_cases.plugin import Case

from xrm_core import migrate, tenants
from xrm_core.contributions import ListAction, ListFilter, ListView
from xrm_core.customfields.service import define_custom_field
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Department, Scope
from xrm_core.models import Tenant, User
from xrm_core.ui.models import SavedView

CASES = Dist("xrm-fx-cases", "0.1.0", "cases", "xrm_fx_cases.plugin", (CORE,))
LIST = "/lists/cases.cases"
SALES_CASES = ("Alpha", "Bravo", "Charlie", "Delta", "Echo")


@pytest.fixture
def world_platform(make_platform):
    platform = make_platform("notes", ui_world.SHOWCASE, CASES)
    migrate.upgrade(platform)
    return platform


@pytest.fixture
def world(world_platform):
    platform = world_platform
    world = ui_world.build(platform)
    with platform.db.transaction(all_tenants=True) as session:
        for tenant_id in (world.tenant_id, world.other_tenant_id):
            tenants.enable_plugin(platform, session, session.get(Tenant, tenant_id), "cases")
    with platform.db.transaction(world.tenant_id) as session:
        known = set(all_permissions(platform))
        grants = {f"cases.case.{action}": Scope.DEPARTMENT for action in ("read", "update", "export")}
        staff = admin.define_role(session, "Case staff", grants, known)
        budget = admin.define_role(session, "Case budgets", {"cases.case_budget.read": Scope.TENANT}, known)
        for email in ("sam@acme.test", "sue@acme.test", "pat@acme.test"):
            admin.assign_role(session, session.get(User, world.users[email]), staff)
        admin.assign_role(session, session.get(User, world.users["sam@acme.test"]), budget)
        define_custom_field(session, "cases.case", "severity", "Severity", "text")
        department = {d.name: d.id for d in session.scalars(select(Department))}
        for number, title in enumerate(SALES_CASES):
            session.add(Case(title=title, budget=100 * (number + 1), department_id=department["Sales"],
                             custom={"severity": "high" if title == "Alpha" else "low"}))
        session.add(Case(title="Foxtrot", status="closed", budget=600, department_id=department["Sales"]))
        session.add(Case(title="Support only", budget=700, department_id=department["Support"]))
    with platform.db.transaction(world.other_tenant_id) as session:
        session.add(Case(title="Globex case", budget=800))
    return world


app = ui_world_fixtures.world_app  # the world's app (conftest's ``app`` serves another platform)


def signed_in(app, email, tenant="acme"):
    client = app.test_client()
    sign_in(client, email, tenant)
    return client


def titles(html):
    """The titles of the listed cases, in order (the first column links to the case)."""
    return re.findall(r'<td data-column="title"><a href="/cases/\d+">([^<]+)</a>', html)


def page(client, query=""):
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def test_hook_xrm_list_views(app, world):
    """The list is scoped, sorted, filtered and paged as the listing says; export too; protected fields left out."""
    sam, sue, pat = (signed_in(app, f"{name}@acme.test") for name in ("sam", "sue", "pat"))
    everything = page(sam)
    assert titles(everything) == ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]
    assert "Support only" not in everything and "Globex case" not in everything
    assert 'href="/help"' in everything  # the plugin's links
    assert titles(page(pat)) == ["Support only"]

    assert titles(page(sam, "sort=-budget")) == ["Foxtrot", "Echo", "Delta", "Charlie", "Bravo", "Alpha"]
    assert titles(page(sam, "status=closed")) == ["Foxtrot"]
    assert titles(page(sam, "status=open&title__contains=LT")) == ["Delta"]

    first = page(sam, "limit=4&sort=-title")
    assert titles(first) == ["Foxtrot", "Echo", "Delta", "Charlie"]
    next_link = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(next_link).query)["sort"] == ["-title"]
    second = sam.get(next_link).get_data(as_text=True)
    assert titles(second) == ["Bravo", "Alpha"] and 'rel="next"' not in second

    # The budget is protected: sam sees the column and may sort on it, sue neither.
    assert '<td data-column="budget">100</td>' in everything
    sues = page(sue)
    assert titles(sues) == titles(everything)
    assert 'data-column="budget"' not in sues and 'value="budget"' not in sues and 'value="-budget"' not in sues
    assert 'name="budget__gte"' in everything and 'name="budget__gte"' not in sues
    assert titles(page(sam, "budget__gte=400")) == ["Delta", "Echo", "Foxtrot"]
    refused = page(sue, "sort=-budget")
    assert 'role="alert"' in refused and titles(refused) == titles(everything)  # the default order instead
    # Custom fields and computed columns are chosen like any column; unknown ones are refused.
    chosen = page(sam, "columns=title&columns=cf.severity&columns=shout")
    assert '<td data-column="cf.severity">high</td>' in chosen and '<td data-column="shout">ALPHA</td>' in chosen
    assert 'data-column="status"' not in chosen
    assert "Unknown column" in page(sam, "columns=cf.nothing")
    assert "Unknown sort" in page(sam, "sort=status")

    # Export: the current view, all its pages, with the columns shown, less the protected ones.
    query = "status=open&sort=-title&columns=title,budget,cf.severity"
    response = sam.get(f"{LIST}/export.csv?{query}&limit=1")  # the whole view, not one page
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0] == ["ID", "Title", "Budget", "Severity"]
    assert [row[1:] for row in rows[1:]] == [["Echo", "500", "low"], ["Delta", "400", "low"],
                                             ["Charlie", "300", "low"], ["Bravo", "200", "low"],
                                             ["Alpha", "100", "high"]]
    assert sue.get(f"{LIST}/export.csv?{query}").status_code == 400  # the budget is unknown to her
    sues = sue.get(f"{LIST}/export.xlsx?status=open&sort=-title")
    assert sues.status_code == 200
    sheet = load_workbook(io.BytesIO(sues.get_data())).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == ["ID", "Title", "Status"]  # the default columns, less the budget
    assert [row[1] for row in values[1:]] == ["Echo", "Delta", "Charlie", "Bravo", "Alpha"]
    assert not any(600 in row or 500 in row for row in values)

    pats = list(csv.reader(io.StringIO(pat.get(f"{LIST}/export.csv").get_data().decode("utf-8-sig"))))
    assert [row[1:] for row in pats] == [["Title", "Status"], ["Support only", "open"]]  # default columns


def test_saved_views_bulk_actions_and_lists_of_disabled_plugins(app, world_platform, world):
    sam, sue, pat = (signed_in(app, f"{name}@acme.test") for name in ("sam", "sue", "pat"))
    token = csrf_token(page(sam))
    saved = sam.post("/views/cases.cases", data={"csrf_token": token, "name": "Closed deals", "scope": "department",
                                                 "status": "closed", "sort": "-budget", "columns": "title,budget"})
    assert saved.status_code == 302
    location = saved.headers["Location"]
    assert location.startswith(LIST + "?saved=")
    assert titles(sam.get(location).get_data(as_text=True)) == ["Foxtrot"]
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        view = session.scalars(select(SavedView)).one()
        assert (view.resource, parse_qs(view.query)) == (
            "cases.cases", {"status": ["closed"], "sort": ["-budget"], "columns": ["title,budget"]})
    assert "Closed deals" in page(sue) and "Closed deals" not in page(pat)
    assert "Closed deals" not in pat.get("/parties").get_data(as_text=True)  # views belong to their list
    # A filter the list refuses is not saved.
    refused = sam.post("/views/cases.cases", data={"csrf_token": token, "name": "Bad", "scope": "me",
                                                   "sort": "status"})
    assert refused.status_code == 302 and "Bad" not in page(sam)

    # Bulk: each selected case checked on its own, with the plugin's rule.
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        ids = {c.title: c.id for c in session.scalars(select(Case))}
    chosen = [ids["Alpha"], ids["Foxtrot"], ids["Support only"]]
    result = sam.post(f"{LIST}/bulk", data={"csrf_token": token, "action": "close", "ids": chosen})
    html = result.get_data(as_text=True)
    assert result.status_code == 200 and "1 done, 2 refused." in html
    assert re.findall(r'<tr class="refused"><td>([^<]+)</td><td>([^<]+)</td></tr>', html) == [
        ("Foxtrot", "Foxtrot is already closed."), (f"#{ids['Support only']}", "there is no such record that you may see")]
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        status = {c.title: c.status for c in session.scalars(select(Case))}
    assert status["Alpha"] == "closed" and status["Support only"] == "open"
    assert sam.post(f"{LIST}/bulk", data={"csrf_token": token, "action": "reopen", "ids": chosen}).status_code == 400

    admin_client = signed_in(app, "admin@acme.test")
    assert admin_client.get(LIST).status_code == 200  # administrators hold every permission
    nobody = signed_in(app, "admin@globex.test", "globex")
    assert titles(page(nobody)) == ["Globex case"]
    with world_platform.db.transaction(all_tenants=True) as session:
        tenants.disable_plugin(world_platform, session, session.get(Tenant, world.tenant_id), "cases")
    for path in (LIST, f"{LIST}/export.csv"):
        assert sam.get(path).status_code == 404
    assert sam.post("/views/cases.cases", data={"csrf_token": token, "name": "Gone", "scope": "me"}).status_code == 404
    assert sam.get("/lists/notes.nothing").status_code == 404


def test_a_list_view_the_core_cannot_serve_is_refused_with_the_reason():
    assert CASE_LIST.check("cases") is None
    assert "must be named 'other.<" in CASE_LIST.check("other")
    refused = {
        "has no listing": ListView("cases.a", columns=CASE_LIST.columns, permission="cases.case.read"),
        "needs columns and a permission": ListView("cases.b", listing=CASE_LISTING, permission="cases.case.read"),
        "filters on 'budget'": replace(CASE_LIST, filters=(ListFilter("budget"),)),
        "filters on 'sort'": replace(CASE_LIST, filters=(ListFilter("sort"),)),
    }
    for reason, view in refused.items():
        assert reason in view.check("cases")
    assert ListAction("close").permission == "update"
