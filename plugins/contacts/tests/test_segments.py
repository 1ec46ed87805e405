"""Segments: definitions compiled to one SQL query, checked against sets computed independently."""

from __future__ import annotations

import csv
import io
import random
import sys
import textwrap
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import xrm_sdk as xrm
from openpyxl import load_workbook
from sqlalchemy import select
from xrm_contacts.segments import compile_definition
from xrm_contacts.segments_actions import ADD_TO_LIST
from xrm_contacts.segments_models import Segment, SegmentMember
from xrm_contacts.segments_service import create_segment

from xrm_core.customfields.service import define_custom_field
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Scope
from xrm_core.identity.tokens import create_token
from xrm_core.models import User

SEGMENTS = "/api/v1/contacts/segments"

#: A plugin that exists only for these tests: two facts about parties, from their identifiers.
FACTS_PLUGIN = '''
import xrm_sdk as xrm
from sqlalchemy import func, select

MANIFEST = xrm.Manifest(name="segfacts", title="Segment facts")


def identifier_count(session):
    return (select(xrm.PartyIdentifier.party_id, func.count().label("value"))
            .group_by(xrm.PartyIdentifier.party_id))


def crm_code(session):
    # Identifiers are unique; the code's first two characters are its region, shared by many.
    return (select(xrm.PartyIdentifier.party_id, func.substr(xrm.PartyIdentifier.value, 1, 2))
            .where(xrm.PartyIdentifier.source == "crm"))


@xrm.hookimpl
def xrm_party_facts():
    return [xrm.PartyFact("segfacts.identifiers", label="Identifiers", type="number", query=identifier_count),
            xrm.PartyFact("segfacts.crm", label="CRM code", type="text", query=crm_code)]
'''


@pytest.fixture
def xrm_plugin_path(tmp_path_factory):
    """The installed plugins plus ``segfacts``, written for this module."""
    site = tmp_path_factory.mktemp("site")
    (site / "xrm_fx_segfacts.py").write_text(textwrap.dedent(FACTS_PLUGIN))
    info = site / "xrm_fx_segfacts-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: xrm-fx-segfacts\nVersion: 0.1.0\n"
                                   "Summary: Facts for the segment tests.\nRequires-Dist: xrm-core>=0.1,<0.2\n")
    (info / "entry_points.txt").write_text("[xrm.plugins]\nsegfacts = xrm_fx_segfacts\n")
    sys.path.insert(0, str(site))
    yield [str(site), *sys.path[1:]]
    sys.path.remove(str(site))
    sys.modules.pop("xrm_fx_segfacts", None)


@dataclass
class Known:
    """What the test knows about one party, to compute the expected members in Python."""

    id: int
    kind: str
    tags: list[str]
    department: str | None
    owner: int | None
    tier: str | None
    size: int | None
    customer: bool
    identifiers: dict[str, str] = field(default_factory=dict)
    employer: int | None = None


@dataclass
class World:
    parties: list[Known]
    departments: dict[str, int]
    user_id: int

    def ids(self, keep) -> set[int]:
        return {p.id for p in self.parties if keep(p)}

    def by_id(self, party_id: int) -> Known:
        return next(p for p in self.parties if p.id == party_id)


@pytest.fixture
def world(xrm_platform, xrm_tenant) -> World:
    """Forty parties with random tags, departments, owners, custom fields, roles, identifiers, employers."""
    rng = random.Random(9)
    with xrm_platform.db.transaction(xrm_tenant.id) as session:
        sales = admin.create_department(session, "Sales")
        departments = {"sales": sales.id, "north": admin.create_department(session, "North", sales).id,
                       "south": admin.create_department(session, "South", sales).id,
                       "hr": admin.create_department(session, "HR").id}
        user = User(email="owner@test.example", display_name="Owner", password_hash="")
        session.add(user)
        session.flush()
        define_custom_field(session, "core.party", "tier", "Tier", "choice", choices=["gold", "silver"])
        define_custom_field(session, "core.party", "size", "Size", "number")
        xrm.sync_relationship_types(session)
        today = xrm.utcnow().date()
        known: list[Known] = []
        for n in range(40):
            kind = "organization" if n % 4 == 0 else "person"
            department = rng.choice([None, "north", "south", "hr"])
            owner = user.id if rng.random() < 0.3 else None
            tier = rng.choice([None, "gold", "silver"])
            size = rng.choice([None, 5, 50, 500])
            custom = {k: v for k, v in (("tier", tier), ("size", str(size) if size else None)) if v is not None}
            tags = sorted(rng.sample(["vip", "newsletter", "b2b"], rng.randint(0, 2)))
            identifiers = {}
            if rng.random() < 0.5:
                identifiers["crm"] = f"A{n % 3}-{n}"
            if rng.random() < 0.4:
                identifiers["vat"] = f"VAT{n}"
            party = xrm.create_party(session, kind, f"Party {n}", tags, identifiers, owner_user_id=owner,
                                     department_id=departments[department] if department else None, custom=custom)
            customer = rng.random() < 0.4
            if customer:
                xrm.add_party_role(session, party, "customer")
            else:  # a customer once: an ended role does not count
                xrm.add_party_role(session, party, "customer", today - timedelta(days=400), today - timedelta(days=30))
            known.append(Known(party.id, kind, tags, department, owner, tier, size, customer, identifiers))
        organizations = [p for p in known if p.kind == "organization"]
        for person in known:
            if person.kind == "person" and rng.random() < 0.6:
                employer = rng.choice(organizations)
                xrm.relate(session, session.get(xrm.Party, person.id), session.get(xrm.Party, employer.id),
                           "works_for")
                person.employer = employer.id
        user_id = user.id
    return World(known, departments, user_id)


def _members(session, definition) -> set[int]:
    return set(session.scalars(select(xrm.Party.id).where(compile_definition(session, definition))))


@pytest.mark.xrm_plugins("contacts", "segfacts")
def test_each_kind_of_condition_matches_the_independently_computed_set(xrm_session, world):
    w = world
    customers = w.ids(lambda p: p.customer)
    cases = [
        ({"field": "kind", "op": "eq", "value": "organization"}, w.ids(lambda p: p.kind == "organization")),
        ({"field": "kind", "op": "in", "value": ["person"]}, w.ids(lambda p: p.kind == "person")),
        ({"field": "name", "op": "starts_with", "value": "party 1"},
         w.ids(lambda p: str(w.parties.index(p)).startswith("1"))),
        ({"field": "tags", "op": "has", "value": "vip"}, w.ids(lambda p: "vip" in p.tags)),
        ({"field": "tags", "op": "has_none", "value": ["vip", "b2b"]},
         w.ids(lambda p: not {"vip", "b2b"} & set(p.tags))),
        ({"field": "owner", "op": "eq", "value": w.user_id}, w.ids(lambda p: p.owner == w.user_id)),
        ({"field": "owner", "op": "isnull", "value": True}, w.ids(lambda p: p.owner is None)),
        ({"field": "department", "op": "eq", "value": w.departments["north"]}, w.ids(lambda p: p.department == "north")),
        ({"field": "department", "op": "within", "value": w.departments["sales"]},
         w.ids(lambda p: p.department in ("north", "south"))),
        ({"field": "custom.tier", "op": "eq", "value": "gold"}, w.ids(lambda p: p.tier == "gold")),
        ({"field": "custom.size", "op": "gte", "value": 50}, w.ids(lambda p: (p.size or 0) >= 50)),
        ({"field": "custom.size", "op": "isnull", "value": True}, w.ids(lambda p: p.size is None)),
        ({"role": "customer"}, customers),
        ({"relationship": "works_for", "direction": "out"}, w.ids(lambda p: p.employer is not None)),
        ({"relationship": "works_for", "direction": "in"},
         {p.employer for p in w.parties if p.employer is not None}),
        ({"relationship": "works_for", "to_role": "customer"},
         w.ids(lambda p: p.employer in customers)
         | {p.employer for p in w.parties if p.employer is not None and p.customer}),
        ({"fact": "segfacts.identifiers", "op": "gte", "value": 2}, w.ids(lambda p: len(p.identifiers) >= 2)),
        ({"fact": "segfacts.identifiers", "op": "isnull", "value": True}, w.ids(lambda p: not p.identifiers)),
        ({"fact": "segfacts.crm", "op": "eq", "value": "A1"}, w.ids(lambda p: p.identifiers.get("crm", "")[:2] == "A1")),
        ({"fact": "segfacts.crm", "op": "ne", "value": "A1"}, w.ids(lambda p: p.identifiers.get("crm", "")[:2] != "A1")),
        ({"all": [{"field": "kind", "op": "eq", "value": "person"},
                  {"any": [{"field": "tags", "op": "has", "value": "newsletter"}, {"role": "customer"}]},
                  {"not": {"field": "department", "op": "eq", "value": w.departments["hr"]}}]},
         w.ids(lambda p: p.kind == "person" and ("newsletter" in p.tags or p.customer) and p.department != "hr")),
    ]
    for definition, expected in cases:
        assert expected, f"the random world should give each case members: {definition}"
        assert _members(xrm_session, definition) == expected, definition


def test_a_segment_can_include_another_and_a_static_list(xrm_session, world):
    static = create_segment(xrm_session, "Hand-picked", "static")
    picked = [p.id for p in world.parties[:5]]
    xrm_session.add_all(SegmentMember(segment_id=static.id, party_id=pid) for pid in picked)
    vip = create_segment(xrm_session, "VIPs", "dynamic", {"field": "tags", "op": "has", "value": "vip"})
    either = {"any": [{"segment": static.id}, {"segment": vip.id}]}
    assert _members(xrm_session, either) == set(picked) | world.ids(lambda p: "vip" in p.tags)
    with pytest.raises(xrm.ValidationError) as refused:
        compile_definition(xrm_session, {"segment": vip.id}, (vip.id,))
    assert "includes itself" in str(refused.value.messages["definition.segment"])


def test_mistakes_are_422_naming_their_path(xrm_client):
    bad = {"all": [{"field": "kind", "op": "like", "value": "x"}, {"field": "colour", "op": "eq", "value": 1},
                   {"any": [{"fact": "sales.nothing", "op": "gte", "value": 1}, {"role": ""}]},
                   {"field": "custom.nope", "op": "eq", "value": 1}, {"relationship": "loves"}, {"wat": 1}]}
    response = xrm_client.post(f"{SEGMENTS}/count", json={"definition": bad})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    assert set(errors) == {"definition.all.0.op", "definition.all.1.field", "definition.all.2.any.0.fact",
                           "definition.all.2.any.1.role", "definition.all.3.field", "definition.all.4.relationship",
                           "definition.all.5"}
    assert "Unknown operator 'like'" in errors["definition.all.0.op"][0]
    assert "Unknown fact 'sales.nothing'" in errors["definition.all.2.any.0.fact"][0]
    created = xrm_client.post(SEGMENTS, json={"name": "Broken", "kind": "dynamic", "definition": bad})
    assert created.status_code == 422
    assert xrm_client.get(SEGMENTS).get_json()["items"] == []


def test_live_count_and_static_lists_over_the_api(xrm_client, world, xrm_session):
    persons = {"field": "kind", "op": "eq", "value": "person"}
    counted = xrm_client.post(f"{SEGMENTS}/count", json={"definition": persons})
    assert counted.get_json() == {"count": len(world.ids(lambda p: p.kind == "person"))}

    dynamic = xrm_client.post(SEGMENTS, json={"name": "People", "kind": "dynamic", "definition": persons})
    assert dynamic.status_code == 201, dynamic.get_json()
    segment = dynamic.get_json()
    assert xrm_client.post(SEGMENTS, json={"name": "People", "kind": "static"}).status_code == 409
    assert xrm_client.post(f"{SEGMENTS}/{segment['id']}/members", json={"party_ids": [1]}).status_code == 409

    listed = xrm_client.post(SEGMENTS, json={"name": "Call back", "kind": "static"}).get_json()
    members = f"{SEGMENTS}/{listed['id']}/members"
    first, second = world.parties[0].id, world.parties[1].id
    assert xrm_client.post(members, json={"party_ids": [first, second, first]}).get_json() == {"changed": 2}
    assert xrm_client.post(members, json={"party_ids": [first]}).get_json() == {"changed": 0}
    missing = xrm_client.post(members, json={"party_ids": [first, 999_999]})
    assert missing.status_code == 422 and "999999" in str(missing.get_json()["errors"]["party_ids"])
    assert xrm_client.get(f"{SEGMENTS}/{listed['id']}/count").get_json() == {"count": 2}
    assert xrm_client.delete(members, json={"party_ids": [second]}).get_json() == {"changed": 1}
    assert [m["id"] for m in xrm_client.get(members).get_json()] == [first]

    snap = xrm_client.post(f"{SEGMENTS}/{segment['id']}/snapshot", json={"name": "People today"})
    assert snap.status_code == 201, snap.get_json()
    frozen = {m["id"] for m in xrm_client.get(f"{SEGMENTS}/{snap.get_json()['id']}/members").get_json()}
    assert frozen == world.ids(lambda p: p.kind == "person")

    patched = xrm_client.patch(f"{SEGMENTS}/{segment['id']}", json={"definition": {"role": "customer"}},
                               headers={"If-Match": segment["etag"]})
    assert patched.status_code == 200, patched.get_json()
    assert xrm_client.get(f"{SEGMENTS}/{segment['id']}/count").get_json() == {
        "count": len(world.ids(lambda p: p.customer))}


def test_export_writes_csv_and_xlsx_without_formulas(xrm_client, world, xrm_session):
    party = xrm_session.get(xrm.Party, world.parties[3].id)
    party.display_name = "=HYPERLINK(\"http://evil\")"
    xrm_session.commit()
    listed = xrm_client.post(SEGMENTS, json={"name": "Export me", "kind": "static"}).get_json()
    xrm_client.post(f"{SEGMENTS}/{listed['id']}/members", json={"party_ids": [world.parties[3].id,
                                                                               world.parties[4].id]})
    response = xrm_client.get(f"{SEGMENTS}/{listed['id']}/export", query_string={"format": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["id", "kind", "display_name"]
    assert sorted(row[2] for row in rows[1:]) == sorted(["'=HYPERLINK(\"http://evil\")", "Party 4"])
    xlsx = xrm_client.get(f"{SEGMENTS}/{listed['id']}/export", query_string={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == rows[0] and len(values) == 3
    assert xrm_client.get(f"{SEGMENTS}/{listed['id']}/export", query_string={"format": "pdf"}).status_code == 422


def _department_user(xrm_platform, xrm_app, xrm_tenant, department_id, permissions):
    with xrm_platform.db.transaction(xrm_tenant.id) as session:
        role = admin.define_role(session, f"role-{department_id}", {p: Scope.DEPARTMENT for p in permissions},
                                 set(all_permissions(xrm_platform)))
        user = User(email=f"u{department_id}@test.example", display_name="Rep", password_hash="",
                    department_id=department_id)
        session.add(user)
        session.flush()
        admin.assign_role(session, user, role)
        token = create_token(session, user, "tests")[1]
    client = xrm_app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def test_counts_and_members_follow_the_department_scope(xrm_platform, xrm_app, xrm_tenant, xrm_client, world):
    north = _department_user(xrm_platform, xrm_app, xrm_tenant, world.departments["north"],
                             ("core.party.read", "contacts.segment.read", "contacts.segment.create",
                              "contacts.segment.export"))
    everyone = {"field": "kind", "op": "in", "value": ["person", "organization"]}
    assert north.post(f"{SEGMENTS}/count", json={"definition": everyone}).get_json() == {
        "count": len(world.ids(lambda p: p.department == "north"))}
    customers = {"role": "customer"}
    assert north.post(f"{SEGMENTS}/count", json={"definition": customers}).get_json() == {
        "count": len(world.ids(lambda p: p.department == "north" and p.customer))}
    # The admin's segment is not the rep's to see; the rep's own is, with only their parties in it.
    admins = xrm_client.post(SEGMENTS, json={"name": "All", "kind": "dynamic", "definition": everyone}).get_json()
    assert north.get(f"{SEGMENTS}/{admins['id']}").status_code == 404
    own = north.post(SEGMENTS, json={"name": "Mine", "kind": "dynamic", "definition": everyone})
    assert own.status_code == 201, own.get_json()
    exported = north.get(f"{SEGMENTS}/{own.get_json()['id']}/export")
    ids = {int(row[0]) for row in list(csv.reader(io.StringIO(exported.get_data(as_text=True))))[1:]}
    assert ids == world.ids(lambda p: p.department == "north")
    reader = _department_user(xrm_platform, xrm_app, xrm_tenant, world.departments["south"],
                              ("core.party.read", "contacts.segment.read"))
    assert reader.post(SEGMENTS, json={"name": "Nope", "kind": "static"}).status_code == 403


def test_the_workflow_action_adds_the_subject_to_a_list(xrm_session, world):
    target = create_segment(xrm_session, "From workflows", "static")
    party_id = world.parties[2].id
    output = ADD_TO_LIST.run(params={"list_id": target.id, "party": None}, session=xrm_session,
                             subject={"kind": "person", "id": party_id})
    assert output == {"list_id": target.id, "party_id": party_id, "added": True}
    again = ADD_TO_LIST.run(params={"list_id": target.id, "party": party_id}, session=xrm_session, subject=None)
    assert again["added"] is False
    assert xrm_session.scalars(select(SegmentMember.party_id).where(SegmentMember.segment_id == target.id)).all() == [
        party_id]
    with pytest.raises(xrm.NotFound):
        ADD_TO_LIST.run(params={"list_id": 999_999, "party": party_id}, session=xrm_session, subject=None)
    assert xrm_session.get(Segment, target.id).kind == "static"
