"""The party list's columns (custom fields included, kept in saved views) and its bulk actions."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

import pytest
import ui_world
import ui_world_fixtures
from sqlalchemy import select
from ui_world import csrf_token, sign_in

from xrm_core import migrate
from xrm_core.customfields.service import define_custom_field
from xrm_core.events import get_bus, load_event_settings
from xrm_core.events.models import OutboxEvent
from xrm_core.graph.models import Party
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Department, Scope
from xrm_core.models import User
from xrm_core.ui.models import SavedView


@pytest.fixture
def world_platform(make_platform):
    platform = make_platform("notes", ui_world.SHOWCASE)
    migrate.upgrade(platform)
    bus = get_bus(platform, load_event_settings(environ={}))
    yield platform
    bus.stop()


app = ui_world_fixtures.world_app  # the world's app (conftest's ``app`` serves another platform)


def signed_in(app, email):
    client = app.test_client()
    sign_in(client, email)
    client.token = csrf_token(client.get("/parties").get_data(as_text=True))
    return client


def snapshot(platform, tenant_id):
    """Every party of the tenant: id -> (name, tags, owner, department)."""
    with platform.db.session(tenant_id, read_only=True) as session:
        return {p.id: (p.display_name, list(p.tags or []), p.owner_user_id, p.department_id)
                for p in session.scalars(select(Party))}


def bulk(client, action, ids, **fields):
    return client.post("/parties/bulk", data={"csrf_token": client.token, "action": action, "ids": ids, **fields})


def refused_rows(html):
    return re.findall(r'<tr class="refused"><td>([^<]+)</td><td>([^<]+)</td></tr>', html)


def summary(html):
    return re.search(r'<h2 id="bulk-summary" role="status">([^<]+)</h2>', html).group(1)


# -- bulk actions ------------------------------------------------------------------------------------


def test_tagging_changes_the_visible_parties_and_refuses_the_rest_by_name(app, world_platform, world):
    before = snapshot(world_platform, world.tenant_id)
    sam = signed_in(app, "sam@acme.test")
    chosen = [world.parties["Zenith Industries"], world.parties["Alice Martin"], world.parties["Support Secret Ltd"],
              world.parties["Globex Partner"]]

    response = bulk(sam, "tag", chosen, tag="hot")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert summary(html) == "2 done, 2 refused."
    assert refused_rows(html) == [(f"#{world.parties['Support Secret Ltd']}", "there is no such party that you may see"),
                                  (f"#{world.parties['Globex Partner']}", "there is no such party that you may see")]
    assert "Support Secret" not in html  # a refusal reveals nothing of a party out of reach
    after = snapshot(world_platform, world.tenant_id)
    changed = {pid for pid in before if before[pid] != after[pid]}
    assert changed == {world.parties["Zenith Industries"], world.parties["Alice Martin"]}
    assert after[world.parties["Zenith Industries"]][1] == ["vip", "hot"]
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        updated = session.scalars(select(OutboxEvent.subject_id).where(OutboxEvent.type == "core.party.updated")).all()
    assert sorted(updated) == sorted([str(world.parties["Zenith Industries"]), str(world.parties["Alice Martin"])])


def test_actions_the_user_may_not_do_are_refused_per_record_and_change_nothing(app, world_platform, world):
    before = snapshot(world_platform, world.tenant_id)
    sam = signed_in(app, "sam@acme.test")
    ids = [world.parties["Zenith Industries"], world.parties["Alice Martin"]]
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        support = session.scalar(select(Department.id).where(Department.name == "Support"))

    deleted = bulk(sam, "delete", ids).get_data(as_text=True)
    moved = bulk(sam, "department", ids, department=support).get_data(as_text=True)

    assert summary(deleted) == "0 done, 2 refused."
    assert refused_rows(deleted) == [("Zenith Industries", "you may see this party but not delete it"),
                                     ("Alice Martin", "you may see this party but not delete it")]
    assert summary(moved) == "0 done, 2 refused." and "not assign it" in moved
    assert snapshot(world_platform, world.tenant_id) == before


def test_a_move_out_of_the_users_reach_is_refused_by_the_write_rules(app, world_platform, world):
    with world_platform.db.transaction(world.tenant_id) as session:
        role = admin.define_role(session, "Dispatcher", {"core.party.assign": Scope.DEPARTMENT},
                                 set(all_permissions(world_platform)))
        admin.assign_role(session, session.get(User, world.users["sue@acme.test"]), role)
        support = session.scalar(select(Department.id).where(Department.name == "Support"))
    before = snapshot(world_platform, world.tenant_id)

    html = bulk(signed_in(app, "sue@acme.test"), "department", [world.parties["Zenith Industries"]],
                department=support).get_data(as_text=True)

    assert summary(html) == "0 done, 1 refused."
    assert refused_rows(html) == [("Zenith Industries", "the result would be outside what you may manage")]
    assert snapshot(world_platform, world.tenant_id) == before


def test_an_administrator_assigns_and_deletes(app, world_platform, world):
    administrator = signed_in(app, "admin@acme.test")
    zenith, alice = world.parties["Zenith Industries"], world.parties["Alice Martin"]

    assigned = bulk(administrator, "owner", [zenith, world.parties["Support Secret Ltd"]],
                    owner=world.users["pat@acme.test"]).get_data(as_text=True)
    deleted = bulk(administrator, "delete", [alice]).get_data(as_text=True)

    assert summary(assigned) == "2 done, 0 refused." and summary(deleted) == "1 done, 0 refused."
    after = snapshot(world_platform, world.tenant_id)
    assert after[zenith][2] == after[world.parties["Support Secret Ltd"]][2] == world.users["pat@acme.test"]
    assert alice not in after and zenith in after
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        assert session.scalars(select(OutboxEvent.subject_id).where(OutboxEvent.type == "core.party.deleted")
                               ).all() == [str(alice)]


@pytest.mark.parametrize("data, message", [
    ({"action": "explode"}, "Choose an action."),
    ({"action": "tag", "tag": "x"}, "Select at least one party."),
    ({"action": "tag", "tag": " ", "ids": ["1"]}, "Give a tag of 1 to 50 characters."),
    ({"action": "owner", "owner": "999999", "ids": ["1"]}, "no such user or department"),
    ({"action": "tag", "tag": "x", "ids": ["one"]}, "The selection is invalid."),
])
def test_bad_bulk_requests_are_400_with_the_reason(app, world_platform, world, data, message):
    before = snapshot(world_platform, world.tenant_id)
    sam = signed_in(app, "sam@acme.test")
    response = sam.post("/parties/bulk", data={"csrf_token": sam.token, **data})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert snapshot(world_platform, world.tenant_id) == before


def test_bulk_actions_need_the_csrf_token(app, world_platform, world):
    before = snapshot(world_platform, world.tenant_id)
    sam = signed_in(app, "sam@acme.test")
    response = sam.post("/parties/bulk", data={"action": "tag", "tag": "x", "ids": [world.parties["Alice Martin"]]})
    assert response.status_code == 400
    assert snapshot(world_platform, world.tenant_id) == before


# -- columns -------------------------------------------------------------------------------------------


@pytest.fixture
def industry(world_platform, world):
    with world_platform.db.transaction(world.tenant_id) as session:
        define_custom_field(session, "core.party", "industry", "Industry", "text")
        session.get(Party, world.parties["Zenith Industries"]).custom = {"industry": "Steel"}


def header_cells(html):
    return [re.sub(r"<[^>]+>|\s+", " ", cell).strip().split(" ")[0]
            for cell in re.findall(r'<th scope="col">(.*?)</th>', html, re.DOTALL)]


def test_chosen_columns_include_custom_fields_and_travel_with_a_saved_view(app, world, industry):
    sam = signed_in(app, "sam@acme.test")
    page = sam.get("/parties?q=Zenith&columns=kind&columns=cf.industry").get_data(as_text=True)

    assert header_cells(page) == ["Name", "Kind", "Industry", "Select"]
    assert '<td data-column="cf.industry">Steel</td>' in page
    assert 'value="cf.industry" checked' in page

    sam.post("/views/parties", data={"csrf_token": sam.token, "name": "By industry", "scope": "me", "q": "Zenith",
                                     "columns": "kind,cf.industry"})
    with app.extensions["xrm"].db.session(world.tenant_id, read_only=True) as session:
        saved = session.scalar(select(SavedView).where(SavedView.name == "By industry"))
    assert parse_qs(saved.query)["columns"] == ["kind,cf.industry"]
    reopened = sam.get(f"/parties?saved={saved.id}&{saved.query}").get_data(as_text=True)
    assert header_cells(reopened) == ["Name", "Kind", "Industry", "Select"]


def test_unknown_columns_are_reported_not_ignored(app, world, industry):
    sam = signed_in(app, "sam@acme.test")
    assert "Unknown column &#39;salary&#39;" in sam.get("/parties?columns=salary").get_data(as_text=True)
    missing = sam.get("/parties?columns=cf.nope").get_data(as_text=True)
    assert "There is no custom field nope." in missing and header_cells(missing) == ["Name", "Select"]
