"""``/api/v1/parties``: every API convention, custom fields in lists, tenants and departments.

Two tenants (acme, globex); in acme, two departments (sales, support) with a sales clerk who may
read every party but change only those of her department, and a support reader who sees only
his department's. Every refused request must leave the database as it was.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from xrm_sdk.testing import administrator_headers

from xrm_core import migrate, tenants
from xrm_core.db import utcnow
from xrm_core.events.models import OutboxEvent
from xrm_core.graph.models import Party, PartyIdentifier, PartyRoleAssignment
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Scope
from xrm_core.identity.tokens import create_token
from xrm_core.models import User
from xrm_core.problems import PROBLEM_JSON

PARTIES = "/api/v1/parties"
FIELDS = "/api/v1/custom-fields"


@pytest.fixture
def world(make_platform):
    """Tenants acme and globex; acme's departments sales and support with a user each."""
    platform = make_platform()
    migrate.upgrade(platform)
    ids: dict[str, int] = {}
    headers: dict[str, dict[str, str]] = {}
    with platform.db.transaction(all_tenants=True) as session:
        ids["acme"] = tenants.create_tenant(session, "acme", "ACME").id
        ids["globex"] = tenants.create_tenant(session, "globex", "Globex").id
    headers["acme"] = administrator_headers(platform, ids["acme"])
    headers["globex"] = administrator_headers(platform, ids["globex"])
    with platform.db.transaction(ids["acme"]) as session:
        known = set(all_permissions(platform))
        for name in ("sales", "support"):
            ids[name] = admin.create_department(session, name).id
        clerk_role = admin.define_role(session, "clerk", {
            "core.party.read": Scope.TENANT, "core.party.create": Scope.DEPARTMENT,
            "core.party.update": Scope.DEPARTMENT, "core.party.delete": Scope.DEPARTMENT}, known)
        reader_role = admin.define_role(session, "reader", {"core.party.read": Scope.DEPARTMENT}, known)
        for name, department, role in (("clerk", "sales", clerk_role), ("reader", "support", reader_role)):
            user = User(email=f"{name}@acme.test", display_name=name, password_hash="", department_id=ids[department])
            session.add(user)
            session.flush()
            admin.assign_role(session, user, role)
            ids[name] = user.id
            headers[name] = {"Authorization": f"Bearer {create_token(session, user, 'tests')[1]}"}
    return platform, ids, headers


@pytest.fixture
def client(world):
    from xrm_core.app import create_app

    app = create_app(platform=world[0])
    app.config["TESTING"] = True
    return app.test_client()


@pytest.fixture
def h(world):
    return world[2]


def stored(platform) -> list[tuple]:
    """Every party, identifier and role of every tenant, to show a refused request changed nothing."""
    with platform.db.session(all_tenants=True) as session:
        parties = session.execute(select(Party.tenant_id, Party.id, Party.kind, Party.display_name, Party.tags,
                                         Party.custom, Party.department_id, Party.version).order_by(Party.id)).all()
        identifiers = session.execute(select(PartyIdentifier.party_id, PartyIdentifier.source,
                                             PartyIdentifier.value).order_by(PartyIdentifier.id)).all()
    return [tuple(row) for row in parties] + [tuple(row) for row in identifiers]


def events(platform, type_: str) -> list[OutboxEvent]:
    with platform.db.session(all_tenants=True) as session:
        return list(session.scalars(select(OutboxEvent).where(OutboxEvent.type == type_).order_by(OutboxEvent.id)))


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    assert "Traceback" not in response.get_data(as_text=True)
    return response.get_json(force=True)


def define(client, headers, code, type_, **extra) -> dict:
    response = client.post(FIELDS, json={"entity": "core.party", "code": code, "label": code.title(),
                                         "type": type_, **extra}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def create(client, headers, name="Ada", kind="person", **data) -> dict:
    response = client.post(PARTIES, json={"kind": kind, "display_name": name, **data}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def names(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["display_name"] for item in response.get_json()["items"]]


# -- create, read, change, delete ----------------------------------------------------------------


def test_create_answers_201_with_location_etag_identifiers_custom_values_and_an_event(world, client, h):
    platform = world[0]
    define(client, h["acme"], "size", "number")
    response = client.post(PARTIES, json={
        "kind": "organization", "display_name": " Initech ", "tags": ["vip", "vip", "eu"],
        "identifiers": [{"source": "vat", "value": "FR123"}], "custom": {"size": 12.50}}, headers=h["acme"])

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"] == f"{PARTIES}/{body['id']}"
    assert response.headers["ETag"] == body["etag"]
    assert (body["display_name"], body["tags"], body["custom"]) == ("Initech", ["vip", "eu"], {"size": "12.5"})
    assert body["identifiers"] == [{"source": "vat", "value": "FR123"}] and body["roles"] == []
    assert body["version"] == 1 and body["owner_user_id"] is not None
    assert client.get(response.headers["Location"], headers=h["acme"]).get_json() == body
    [event] = events(platform, "core.party.created")
    assert event.subject_id == str(body["id"]) and event.payload["display_name"] == "Initech"


def test_get_honours_if_none_match_and_sparse_fields(client, h):
    party = create(client, h["acme"])
    url = f"{PARTIES}/{party['id']}"

    assert client.get(url, headers={**h["acme"], "If-None-Match": party["etag"]}).status_code == 304
    assert set(client.get(f"{url}?fields=display_name", headers=h["acme"]).get_json()) == {"id", "etag", "display_name"}
    body = assert_problem(client.get(f"{url}?fields=nope", headers=h["acme"]), 422)
    assert "fields" in body["errors"]


def test_patch_needs_the_current_etag_and_publishes_what_changed(world, client, h):
    platform = world[0]
    define(client, h["acme"], "size", "number")
    define(client, h["acme"], "color", "text")
    party = create(client, h["acme"], custom={"size": 3, "color": "red"})
    url = f"{PARTIES}/{party['id']}"
    before = stored(platform)

    assert_problem(client.patch(url, json={"display_name": "Bea"}, headers=h["acme"]), 428)
    assert_problem(client.patch(url, json={"display_name": "Bea"},
                                headers={**h["acme"], "If-Match": '"stale"'}), 412)
    assert stored(platform) == before

    response = client.patch(url, json={"display_name": "Bea", "custom": {"size": "4.0", "color": None}},
                            headers={**h["acme"], "If-Match": party["etag"]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["display_name"], body["custom"], body["version"]) == ("Bea", {"size": "4"}, 2)
    assert response.headers["ETag"] == body["etag"] != party["etag"]
    # The old ETag is stale now.
    assert_problem(client.patch(url, json={"tags": ["x"]}, headers={**h["acme"], "If-Match": party["etag"]}), 412)
    [event] = events(platform, "core.party.updated")
    assert event.payload["changed"] == ["custom", "display_name"]


def test_patch_replaces_identifiers_and_moves_the_version(client, h):
    party = create(client, h["acme"], identifiers=[{"source": "vat", "value": "1"}])
    response = client.patch(f"{PARTIES}/{party['id']}", json={"identifiers": [{"source": "erp", "value": "7"}]},
                            headers={**h["acme"], "If-Match": party["etag"]})

    assert response.status_code == 200
    assert response.get_json()["identifiers"] == [{"source": "erp", "value": "7"}]
    assert response.get_json()["version"] == 2


def test_delete_needs_if_match_and_publishes_the_deletion(world, client, h):
    platform = world[0]
    party = create(client, h["acme"])
    url = f"{PARTIES}/{party['id']}"

    assert_problem(client.delete(url, headers=h["acme"]), 428)
    assert_problem(client.delete(url, headers={**h["acme"], "If-Match": '"nope"'}), 412)
    assert client.delete(url, headers={**h["acme"], "If-Match": party["etag"]}).status_code == 204
    assert_problem(client.get(url, headers=h["acme"]), 404)
    [event] = events(platform, "core.party.deleted")
    assert event.subject_id == str(party["id"])


# -- bad input: a clear 4xx, nothing changed ----------------------------------------------------------


INVALID_PARTIES = [
    ({"kind": "robot", "display_name": "R2"}, "kind"),
    ({"kind": "person"}, "display_name"),
    ({"kind": "person", "display_name": "A", "colour": "red"}, "colour"),
    ({"kind": "person", "display_name": "A", "id": 5}, "id"),
    ({"kind": "person", "display_name": "A", "version": 5}, "version"),
    ({"kind": "person", "display_name": "A", "owner_user_id": 1}, "owner_user_id"),
    ({"kind": "person", "display_name": 7}, "display_name"),
    ({"kind": "person", "display_name": "A", "tags": "vip"}, "tags"),
    ({"kind": "person", "display_name": "A", "custom": {"nope": 1}}, "custom.nope"),
    ({"kind": "person", "display_name": "A", "custom": {"size": "big"}}, "custom.size"),
    ({"kind": "person", "display_name": "A", "custom": {"size": 0}}, "custom.size"),
    ({"kind": "person", "display_name": "A", "custom": {"size": True}}, "custom.size"),
    ({"kind": "person", "display_name": "A", "custom": {"tier": "platinum"}}, "custom.tier"),
    ({"kind": "person", "display_name": "A", "custom": {"since": "2024-13-01"}}, "custom.since"),
    ({"kind": "person", "display_name": "A", "custom": {"code": "ab"}}, "custom.code"),
    ({"kind": "person", "display_name": "A", "custom": {"langs": ["fr", "xx"]}}, "custom.langs"),
    ({"kind": "person", "display_name": "A", "custom": {"agent": "12"}}, "custom.agent"),
    ({"kind": "person", "display_name": "A", "custom": "size=3"}, "custom"),
    ({"kind": "person", "display_name": "A", "department_id": 999999}, "department_id"),
    ({"kind": "person", "display_name": "A", "identifiers": [{"source": "vat"}]}, "identifiers.0.value"),
]


def test_invalid_input_is_a_422_naming_the_field_and_changes_nothing(world, client, h):
    define(client, h["acme"], "size", "number", validation={"min": 1})
    define(client, h["acme"], "tier", "choice", choices=["gold", "silver"])
    define(client, h["acme"], "since", "date")
    define(client, h["acme"], "code", "text", validation={"regex": "[A-Z]+", "max_length": 5})
    define(client, h["acme"], "langs", "multi_choice", choices=["fr", "en"])
    define(client, h["acme"], "agent", "party_ref")
    party = create(client, h["acme"], "Before")
    before = stored(world[0])

    for payload, field in INVALID_PARTIES:
        body = assert_problem(client.post(PARTIES, json=payload, headers=h["acme"]), 422)
        assert field in body["errors"], (payload, body)
        changes = {k: v for k, v in payload.items() if k not in ("kind", "display_name") or field == k}
        if field not in ("id", "version", "owner_user_id", "display_name") and changes:
            body = assert_problem(client.patch(f"{PARTIES}/{party['id']}", json=changes,
                                               headers={**h["acme"], "If-Match": party["etag"]}), 422)
            assert field in body["errors"], (changes, body)
    assert stored(world[0]) == before


def test_required_custom_fields_are_reported_all_at_once(world, client, h):
    define(client, h["acme"], "size", "number", required=True)
    define(client, h["acme"], "tier", "choice", choices=["gold"], required=True)

    body = assert_problem(client.post(PARTIES, json={"kind": "person", "display_name": "A",
                                                     "custom": {"nope": 1}}, headers=h["acme"]), 422)

    assert body["errors"] == {"custom.nope": ["Unknown custom field."],
                              "custom.size": ["Missing data for required field."],
                              "custom.tier": ["Missing data for required field."]}
    assert stored(world[0]) == []


def test_a_party_ref_must_name_a_party_the_caller_can_see(world, client, h):
    define(client, h["acme"], "agent", "party_ref")
    define(client, h["globex"], "agent", "party_ref")
    mine = create(client, h["acme"], "Mine")
    theirs = create(client, h["globex"], "Theirs")
    hidden = create(client, h["acme"], "Hidden, in support", department_id=world[1]["support"])

    assert create(client, h["acme"], "Ok", custom={"agent": mine["id"]})["custom"] == {"agent": mine["id"]}
    for target in (theirs["id"], 987654):
        body = assert_problem(client.post(PARTIES, json={"kind": "person", "display_name": "X",
                                                         "custom": {"agent": target}}, headers=h["acme"]), 422)
        assert body["errors"] == {"custom.agent": [f"There is no party {target} here."]}
    # The clerk sees every acme party (tenant-wide read) but the reader only support's.
    assert create(client, h["clerk"], "By clerk", custom={"agent": hidden["id"]})["custom"]["agent"] == hidden["id"]


def test_an_identifier_taken_by_another_party_is_a_409_even_when_not_visible(world, client, h):
    create(client, h["acme"], "Hidden", department_id=world[1]["support"], identifiers=[{"source": "vat", "value": "1"}])
    before = stored(world[0])

    body = assert_problem(client.post(PARTIES, json={"kind": "person", "display_name": "Dup",
                                                     "identifiers": [{"source": "vat", "value": "1"}]},
                                      headers=h["clerk"]), 409)

    assert "vat:1" in body["detail"] and "Hidden" not in body["detail"]
    assert stored(world[0]) == before


def test_malformed_bodies_are_400_or_415(client, h):
    assert_problem(client.post(PARTIES, data="{", content_type="application/json", headers=h["acme"]), 400)
    assert_problem(client.post(PARTIES, data="kind=person", headers=h["acme"]), 415)


# -- tenants and departments ----------------------------------------------------------------------------


def test_another_tenants_party_is_404_for_every_method(world, client, h):
    theirs = create(client, h["globex"], "Theirs", identifiers=[{"source": "vat", "value": "9"}])
    url = f"{PARTIES}/{theirs['id']}"
    before = stored(world[0])
    matching = {**h["acme"], "If-Match": theirs["etag"]}

    assert_problem(client.get(url, headers=h["acme"]), 404)
    assert_problem(client.patch(url, json={"display_name": "Mine"}, headers=matching), 404)
    assert_problem(client.delete(url, headers=matching), 404)
    assert_problem(client.get(f"{url}/identifiers", headers=h["acme"]), 404)
    assert_problem(client.post(f"{url}/identifiers", json={"source": "a", "value": "b"}, headers=h["acme"]), 404)
    bulk = client.patch(f"{PARTIES}/bulk", json={"items": [{"id": theirs["id"], "etag": theirs["etag"],
                                                            "changes": {"display_name": "Mine"}}]}, headers=h["acme"])
    assert bulk.get_json()["items"][0]["status"] == 404
    assert names(client.get(f"{PARTIES}?identifier=vat:9", headers=h["acme"])) == []
    assert stored(world[0]) == before


def test_department_scoping_hides_and_forbids(world, client, h):
    ids = world[1]
    sales = create(client, h["acme"], "Sales party", department_id=ids["sales"])
    support = create(client, h["acme"], "Support party", department_id=ids["support"])
    before = stored(world[0])

    # The reader sees only support's party; sales' is not found, not forbidden.
    assert names(client.get(PARTIES, headers=h["reader"])) == ["Support party"]
    assert_problem(client.get(f"{PARTIES}/{sales['id']}", headers=h["reader"]), 404)
    # Visible but not changeable: 403, for the reader (no update at all) and the clerk (other department).
    assert_problem(client.patch(f"{PARTIES}/{support['id']}", json={"display_name": "X"},
                                headers={**h["reader"], "If-Match": support["etag"]}), 403)
    assert_problem(client.patch(f"{PARTIES}/{support['id']}", json={"display_name": "X"},
                                headers={**h["clerk"], "If-Match": support["etag"]}), 403)
    assert_problem(client.delete(f"{PARTIES}/{support['id']}", headers={**h["clerk"], "If-Match": support["etag"]}),
                   403)
    assert_problem(client.post(f"{PARTIES}/{support['id']}/identifiers", json={"source": "a", "value": "b"},
                               headers=h["clerk"]), 403)
    assert_problem(client.post(PARTIES, json={"kind": "person", "display_name": "R"}, headers=h["reader"]), 403)
    # Creating at department scope files the party in one's own department only (owning it is not enough),
    # and re-filing one's party under another department is refused the same way.
    assert "department" in assert_problem(client.post(PARTIES, json={
        "kind": "person", "display_name": "Planted", "department_id": ids["support"]}, headers=h["clerk"]), 403)["detail"]
    assert_problem(client.patch(f"{PARTIES}/{sales['id']}", json={"department_id": ids["support"]},
                                headers={**h["clerk"], "If-Match": sales["etag"]}), 403)
    assert stored(world[0]) == before
    # Within reach, the clerk works normally.
    response = client.patch(f"{PARTIES}/{sales['id']}", json={"display_name": "Sales party 2"},
                            headers={**h["clerk"], "If-Match": sales["etag"]})
    assert response.status_code == 200


# -- lists ----------------------------------------------------------------------------------------------


def test_list_filters_on_kind_name_tags_roles_identifiers_and_dates(world, client, h):
    platform, ids = world[0], world[1]
    create(client, h["acme"], "Ada Lovelace", tags=["vip"], identifiers=[{"source": "erp", "value": "A1"}])
    org = create(client, h["acme"], "Analytical Engines", kind="organization", tags=["eu", "vip"])
    create(client, h["acme"], "Charles Babbage", tags=["eu"])
    today = utcnow().date()
    with platform.db.transaction(ids["acme"]) as session:
        session.add(PartyRoleAssignment(party_id=org["id"], role="customer", valid_from=today - timedelta(days=3)))
        session.add(PartyRoleAssignment(party_id=org["id"], role="supplier", valid_to=today - timedelta(days=1)))

    get = lambda query: names(client.get(f"{PARTIES}?{query}", headers=h["acme"]))
    assert get("kind=organization") == ["Analytical Engines"]
    assert get("kind__in=person,organization&sort=-display_name") == [
        "Charles Babbage", "Analytical Engines", "Ada Lovelace"]
    assert get("display_name__contains=LOVE") == ["Ada Lovelace"]
    assert get("tag=vip") == ["Ada Lovelace", "Analytical Engines"]
    assert get("tag=vip&tag=eu") in (["Analytical Engines"], ["Ada Lovelace", "Analytical Engines"])
    assert get("role=customer") == ["Analytical Engines"]
    assert get("role=supplier") == []  # ended yesterday
    assert get("identifier=erp:A1") == ["Ada Lovelace"]
    assert get("identifier=erp:nope") == []
    assert get(f"department_id={ids['support']}") == []
    create(client, h["clerk"], "Clerk's own")
    assert get(f"owner_user_id={ids['clerk']}") == ["Clerk's own"]
    assert get(f"department_id={ids['sales']}&owner_user_id__isnull=false") == ["Clerk's own"]
    assert len(get(f"created_at__gte={(utcnow() - timedelta(minutes=5)).isoformat().replace('+', '%2B')}")) == 4
    assert get(f"created_at__lt={(utcnow() - timedelta(days=1)).date().isoformat()}") == []


BAD_LIST_PARAMETERS = [
    ("colour=red", "colour"),
    ("kind__gt=a", "kind__gt"),
    ("sort=colour", "sort"),
    ("sort=custom.nope", "sort"),
    ("sort=custom.langs", "sort"),
    ("custom.nope=1", "custom.nope"),
    ("custom.size=big", "custom.size"),
    ("custom.size__contains=1", "custom.size"),
    ("custom.since__gte=yesterday", "custom.since__gte"),
    ("custom.vip=maybe", "custom.vip"),
    ("custom=1", "custom"),
    ("identifier=novalue", "identifier"),
    ("limit=0", "limit"),
    ("limit=1000", "limit"),
]


def test_bad_list_parameters_are_422_naming_them(client, h):
    define(client, h["acme"], "size", "number")
    define(client, h["acme"], "since", "date")
    define(client, h["acme"], "vip", "boolean")
    define(client, h["acme"], "langs", "multi_choice", choices=["fr"])

    for query, parameter in BAD_LIST_PARAMETERS:
        body = assert_problem(client.get(f"{PARTIES}?{query}", headers=h["acme"]), 422)
        assert any(key.startswith(parameter) for key in body["errors"]), (query, body)


def test_a_garbage_cursor_is_a_400_naming_it(client, h):
    body = assert_problem(client.get(f"{PARTIES}?cursor=garbage", headers=h["acme"]), 400)
    assert "cursor" in body["errors"]


def test_custom_fields_filter_and_sort_by_their_type(client, h):
    define(client, h["acme"], "size", "number")
    define(client, h["acme"], "since", "date")
    define(client, h["acme"], "vip", "boolean")
    define(client, h["acme"], "tier", "choice", choices=["gold", "silver"])
    define(client, h["acme"], "langs", "multi_choice", choices=["fr", "en", "de"])
    create(client, h["acme"], "Nine", custom={"size": 9, "since": "2024-02-01", "vip": True, "tier": "gold",
                                              "langs": ["fr"]})
    create(client, h["acme"], "Ten", custom={"size": "10", "since": "2023-12-31", "vip": False, "langs": ["fr", "en"]})
    create(client, h["acme"], "Two and a half", custom={"size": 2.5, "tier": "silver"})
    create(client, h["acme"], "Nothing")

    get = lambda query: names(client.get(f"{PARTIES}?{query}", headers=h["acme"]))
    # Numbers compare as numbers (as text, "10" < "9" and "2.5" > "10").
    assert get("custom.size__gte=3") == ["Nine", "Ten"]
    assert get("custom.size__lt=9.5&sort=custom.size") == ["Two and a half", "Nine"]
    assert get("sort=-custom.size") == ["Ten", "Nine", "Two and a half", "Nothing"]
    assert get("sort=custom.size") == ["Two and a half", "Nine", "Ten", "Nothing"]
    assert get("custom.size__in=10,2.5") == ["Ten", "Two and a half"]
    assert get("custom.size__isnull=true") == ["Nothing"]
    # Dates compare as dates.
    assert get("custom.since__gt=2024-01-01") == ["Nine"]
    assert get("sort=custom.since") == ["Ten", "Nine", "Two and a half", "Nothing"]  # empty last, then by id
    assert get("custom.vip=true") == ["Nine"]
    assert get("custom.vip=false") == ["Ten"]
    assert get("custom.vip__ne=true") == ["Nothing", "Ten", "Two and a half"]
    assert get("custom.tier__in=gold,silver&sort=-custom.tier") == ["Two and a half", "Nine"]
    assert get("custom.langs=en") == ["Ten"]
    assert get("custom.langs=fr") == ["Nine", "Ten"]
    assert get("custom.langs__isnull=false") == ["Nine", "Ten"]


def test_pages_sorted_on_a_custom_field_walk_every_party_once(client, h):
    define(client, h["acme"], "size", "number")
    expected = []
    for number in range(11):
        value = None if number % 4 == 0 else number % 5
        create(client, h["acme"], f"P{number:02}", custom={} if value is None else {"size": value})
        expected.append((value, number))

    seen, url = [], f"{PARTIES}?sort=-custom.size&limit=3&fields=display_name,custom"
    while url:
        response = client.get(url, headers=h["acme"])
        assert response.status_code == 200
        seen += [item["display_name"] for item in response.get_json()["items"]]
        link = response.headers.get("Link")
        url = link[link.index("<") + 1:link.index(">")] if link else None

    # Descending by size, empty sizes last, ties by id (the same direction).
    order = sorted(expected, key=lambda e: (e[0] is None, -(e[0] or 0), -e[1]))
    assert seen == [f"P{number:02}" for _, number in order]


def test_lists_only_show_the_callers_tenant(client, h):
    create(client, h["acme"], "Mine")
    create(client, h["globex"], "Theirs")
    assert names(client.get(PARTIES, headers=h["acme"])) == ["Mine"]
    assert names(client.get(PARTIES, headers=h["globex"])) == ["Theirs"]


# -- bulk and identifiers ---------------------------------------------------------------------------------


def test_bulk_create_and_update_report_each_item(world, client, h):
    define(client, h["acme"], "size", "number")
    response = client.post(f"{PARTIES}/bulk", json={"items": [
        {"kind": "person", "display_name": "Good", "custom": {"size": 1}},
        {"kind": "person", "display_name": "Bad", "custom": {"size": "x"}},
        {"kind": "robot", "display_name": "Worse"},
    ]}, headers=h["acme"])

    assert response.status_code == 200
    body = response.get_json()
    assert [item["status"] for item in body["items"]] == [201, 422, 422]
    assert body["items"][1]["problem"]["errors"] == {"custom.size": ["Not a valid number."]}
    good = body["items"][0]["record"]
    assert [p[3] for p in stored(world[0])] == ["Good"]

    response = client.patch(f"{PARTIES}/bulk", json={"items": [
        {"id": good["id"], "etag": good["etag"], "changes": {"custom": {"size": 2}}},
        {"id": good["id"], "etag": good["etag"], "changes": {"display_name": "Stale"}},
        {"id": good["id"], "changes": {"display_name": "No etag"}},
    ]}, headers=h["acme"])
    assert [item["status"] for item in response.get_json()["items"]] == [200, 412, 428]
    assert response.get_json()["items"][0]["record"]["custom"] == {"size": "2"}


def test_identifiers_sub_resource(world, client, h):
    party = create(client, h["acme"])
    other = create(client, h["acme"], "Other", identifiers=[{"source": "vat", "value": "X"}])
    url = f"{PARTIES}/{party['id']}/identifiers"

    response = client.post(url, json={"source": "erp", "value": "42"}, headers=h["acme"])
    assert response.status_code == 201
    identifier = response.get_json()
    assert response.headers["Location"] == f"{url}/{identifier['id']}"
    assert client.get(url, headers=h["acme"]).get_json() == [identifier]
    assert_problem(client.post(url, json={"source": "vat", "value": "X"}, headers=h["acme"]), 409)
    assert_problem(client.post(url, json={"source": "erp", "value": "42"}, headers=h["acme"]), 409)
    assert_problem(client.post(url, json={"source": "erp"}, headers=h["acme"]), 422)
    assert names(client.get(f"{PARTIES}?identifier=erp:42", headers=h["acme"])) == ["Ada"]
    assert client.get(f"{PARTIES}/{party['id']}", headers=h["acme"]).get_json()["version"] == 2

    assert_problem(client.delete(f"{PARTIES}/{other['id']}/identifiers/{identifier['id']}", headers=h["acme"]), 404)
    assert client.delete(f"{url}/{identifier['id']}", headers=h["acme"]).status_code == 204
    assert client.get(url, headers=h["acme"]).get_json() == []
    assert [e.payload["changed"] for e in events(world[0], "core.party.updated")] == [["identifiers"], ["identifiers"]]
