"""The REST API conventions, tested through a plugin written only against xrm_sdk (``workshop``).

Every bad input must be a clear 4xx problem document and leave the database as it was.
"""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from openapi_spec_validator import validate as validate_openapi
from sqlalchemy import select, text
from xrm_fx_api.plugin import Part, Widget
from xrm_sdk.testing import administrator_headers

from xrm_core import migrate, tenants, web
from xrm_core.api import ApiBlueprint
from xrm_core.api.auth import current_principal
from xrm_core.app import create_app
from xrm_core.problems import PROBLEM_JSON

WIDGETS = "/api/v1/workshop/widgets"
BULK = f"{WIDGETS}/bulk"
#: Headers authenticating as an administrator of each tenant; filled by the platform fixture.
ACME: dict[str, str] = {}
GLOBEX: dict[str, str] = {}


@pytest.fixture
def platform(make_platform):
    """A migrated platform with the workshop plugin, enabled for acme and globex."""
    platform = make_platform("workshop")
    migrate.upgrade(platform)
    for slug, headers in (("acme", ACME), ("globex", GLOBEX)):
        with platform.db.transaction(all_tenants=True) as session:
            tenant = tenants.create_tenant(session, slug, slug.title())
            tenants.enable_plugin(platform, session, tenant, "workshop")
            tenant_id = tenant.id
        headers.clear()
        headers.update(administrator_headers(platform, tenant_id))
    return platform


def tenant_id(platform, slug: str) -> int:
    with platform.db.session(all_tenants=True) as session:
        return tenants.get_tenant(session, slug).id


def stored(platform) -> list[tuple]:
    """Every widget and part of every tenant, to show that a refused request changed nothing."""
    with platform.db.session(all_tenants=True) as session:
        widgets = session.execute(select(Widget.tenant_id, Widget.id, Widget.name, Widget.size, Widget.version)
                                  .order_by(Widget.id)).all()
        parts = session.execute(select(Part.widget_id, Part.code, Part.quantity).order_by(Part.id)).all()
    return [tuple(row) for row in widgets] + [tuple(row) for row in parts]


def create(client, headers=ACME, **data) -> dict:
    response = client.post(WIDGETS, json=data, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def assert_problem(response, status: int, title: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    body = response.get_json(force=True)
    assert (body["type"], body["title"], body["status"]) == ("about:blank", title, status)
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def assert_invalid(response, errors: dict) -> dict:
    body = assert_problem(response, 422, "Unprocessable Entity")
    assert body["errors"] == errors
    return body


# -- where the API lives ---------------------------------------------------------------------


def test_plugin_resources_live_under_api_v1_and_the_plugin_name(client):
    assert client.get(WIDGETS, headers=ACME).status_code == 200
    assert_problem(client.get("/api/workshop/widgets", headers=ACME), 404, "Not Found")
    assert client.get("/workshop/widgets", headers=ACME).status_code == 404


def test_core_resources_answer_under_api_v1_and_at_their_unversioned_paths(client):
    assert client.get("/api/v1/health").get_json() == client.get("/api/health").get_json()
    assert client.get("/api/v1/plugins", headers=ACME).get_json() == client.get("/api/plugins", headers=ACME).get_json()
    assert client.get("/api/v1/plugins", headers=ACME).get_json()["plugins"][0]["enabled"] is True


def test_a_plugin_resource_is_not_found_without_a_tenant_or_where_the_plugin_is_disabled(platform, client):
    with platform.db.transaction(all_tenants=True) as session:
        initech = tenants.create_tenant(session, "initech", "Initech").id

    assert_problem(client.get(WIDGETS), 404, "Not Found")
    assert_problem(client.get(WIDGETS, headers=administrator_headers(platform, initech)), 404, "Not Found")


def test_a_tenant_bound_core_resource_is_401_without_a_principal(platform):
    probe = ApiBlueprint("probe", __name__)

    @probe.route("/whoami")
    @probe.response(200)
    def whoami():
        return {"tenant": current_principal().tenant_id}

    app = create_app(platform=platform)
    app.extensions["xrm.api"].register_blueprint(probe, url_prefix="/api/v1/probe")
    client = app.test_client()

    body = assert_problem(client.get("/api/v1/probe/whoami"), 401, "Unauthorized")
    assert "Authorization: Bearer" in body["detail"]
    assert client.get("/api/v1/probe/whoami").headers["WWW-Authenticate"] == 'Bearer realm=xrm'
    assert client.get("/api/v1/probe/whoami", headers=ACME).get_json() == {"tenant": tenant_id(platform, "acme")}
    bad = assert_problem(client.get("/api/v1/probe/whoami", headers={"Authorization": "Bearer xrm_nope"}), 401,
                         "Unauthorized")
    assert bad["detail"] == "The API token is unknown, revoked or expired."


# -- create and read -------------------------------------------------------------------------


def test_create_answers_201_with_location_etag_and_server_owned_fields(client):
    response = client.post(WIDGETS, json={"name": "bolt", "size": 3, "parts": [{"code": "a", "quantity": 2}]},
                           headers=ACME)

    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"] == f"{WIDGETS}/{body['id']}"
    assert response.headers["ETag"] == body["etag"]
    assert body["version"] == 1 and body["name"] == "bolt" and body["parts"] == [{"code": "a", "quantity": 2}]
    fetched = client.get(response.headers["Location"], headers=ACME).get_json()
    assert {k: fetched[k] for k in ("id", "etag", "version", "name", "size", "parts")} == {
        k: body[k] for k in ("id", "etag", "version", "name", "size", "parts")}


def test_get_has_the_record_etag_and_answers_304_while_it_is_unchanged(client):
    widget = create(client, name="bolt")

    response = client.get(f"{WIDGETS}/{widget['id']}", headers=ACME)
    assert response.headers["ETag"] == widget["etag"]

    cached = client.get(f"{WIDGETS}/{widget['id']}", headers={**ACME, "If-None-Match": widget["etag"]})
    assert cached.status_code == 304 and cached.data == b""
    assert cached.headers["ETag"] == widget["etag"]


def test_sparse_fields_return_only_what_was_asked_plus_id_and_etag(client):
    widget = create(client, name="bolt", size=3)

    body = client.get(f"{WIDGETS}/{widget['id']}?fields=name", headers=ACME).get_json()

    assert body == {"id": widget["id"], "etag": widget["etag"], "name": "bolt"}


def test_unknown_sparse_field_or_query_parameter_is_422_naming_it(client):
    widget = create(client, name="bolt")
    url = f"{WIDGETS}/{widget['id']}"

    body = assert_problem(client.get(f"{url}?fields=name,colour", headers=ACME), 422, "Unprocessable Entity")
    assert list(body["errors"]) == ["fields"] and "'colour'" in body["errors"]["fields"][0]
    assert_invalid(client.get(f"{url}?expand=parts", headers=ACME), {"expand": ["Unknown field."]})


# -- bad input: a clear 4xx, nothing changed ------------------------------------------------


def test_an_unknown_field_is_422_naming_it_and_nothing_is_created(platform, client):
    assert_invalid(client.post(WIDGETS, json={"name": "bolt", "colour": "red"}, headers=ACME),
                   {"colour": ["Unknown field."]})
    assert stored(platform) == []


def test_server_owned_fields_are_read_only(platform, client):
    response = client.post(WIDGETS, json={"name": "bolt", "id": 7, "version": 9, "etag": '"x"', "tenant_id": 2},
                           headers=ACME)

    assert_invalid(response, {field: ["Read-only field."] for field in ("id", "version", "etag", "tenant_id")})
    assert stored(platform) == []


def test_wrong_types_are_422_per_field_with_nested_fields_as_paths(platform, client):
    response = client.post(WIDGETS, json={"name": 5, "size": "big", "parts": [
        {"code": "a", "quantity": 1}, {"code": "", "quantity": "many"}, "screw"]}, headers=ACME)

    assert_invalid(response, {
        "name": ["Not a valid string."],
        "size": ["Not a valid integer."],
        "parts.1.code": ["Length must be between 1 and 20."],
        "parts.1.quantity": ["Not a valid integer."],
        "parts.2._schema": ["Invalid input type."],
    })
    assert stored(platform) == []


def test_a_missing_required_field_is_422(platform, client):
    assert_invalid(client.post(WIDGETS, json={"size": 1}, headers=ACME),
                   {"name": ["Missing data for required field."]})
    assert stored(platform) == []


@pytest.mark.parametrize("body", [b'{"name": "bolt"', b"", b"[" * 100_000, b'{"name": "\xff"}'],
                         ids=["truncated", "empty", "nested-too-deep", "not-utf8"])
def test_malformed_json_is_400(platform, client, body):
    response = client.post(WIDGETS, data=body, content_type="application/json", headers=ACME)

    assert assert_problem(response, 400, "Bad Request")["detail"] == "Invalid JSON body."
    assert stored(platform) == []


def test_a_body_that_is_not_an_object_is_422(platform, client):
    assert_invalid(client.post(WIDGETS, json=["bolt"], headers=ACME), {"_schema": ["Invalid input type."]})
    assert stored(platform) == []


def test_a_body_that_is_not_json_is_415(platform, client):
    response = client.post(WIDGETS, data="name=bolt", content_type="application/x-www-form-urlencoded",
                           headers=ACME)

    assert assert_problem(response, 415, "Unsupported Media Type")["detail"] == (
        "Send the request body as application/json.")
    assert stored(platform) == []


def test_a_wrong_method_is_405_listing_the_allowed_ones(client):
    response = client.put(WIDGETS, json={}, headers=ACME)

    assert_problem(response, 405, "Method Not Allowed")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


def test_a_duplicate_is_409_without_database_internals(platform, client):
    create(client, name="bolt")
    before = stored(platform)

    body = assert_problem(client.post(WIDGETS, json={"name": "bolt"}, headers=ACME), 409, "Conflict")

    assert "UNIQUE" not in body["detail"].upper() and "workshop_" not in body["detail"]
    assert stored(platform) == before


# -- ETag and If-Match -------------------------------------------------------------------------


def test_a_change_without_if_match_is_428_and_changes_nothing(platform, client):
    widget = create(client, name="bolt", size=1)
    before = stored(platform)
    url = f"{WIDGETS}/{widget['id']}"

    for response in (client.patch(url, json={"size": 2}, headers=ACME), client.delete(url, headers=ACME)):
        body = assert_problem(response, 428, "Precondition Required")
        assert body["errors"] == {"If-Match": ["Missing data for required field."]}
        assert "If-Match" in body["detail"]
    assert stored(platform) == before


def test_a_change_with_a_stale_etag_is_412_and_changes_nothing(platform, client):
    widget = create(client, name="bolt", size=1)
    url = f"{WIDGETS}/{widget['id']}"
    client.patch(url, json={"size": 2}, headers={**ACME, "If-Match": widget["etag"]})
    before = stored(platform)

    assert_problem(client.patch(url, json={"size": 3}, headers={**ACME, "If-Match": widget["etag"]}),
                   412, "Precondition Failed")
    assert_problem(client.delete(url, headers={**ACME, "If-Match": widget["etag"]}), 412, "Precondition Failed")
    assert stored(platform) == before


def test_a_change_with_the_current_etag_succeeds_and_returns_the_new_one(client):
    widget = create(client, name="bolt", size=1, parts=[{"code": "a", "quantity": 1}])
    url = f"{WIDGETS}/{widget['id']}"

    response = client.patch(url, json={"size": 2, "parts": [{"code": "a", "quantity": 5}]},
                            headers={**ACME, "If-Match": widget["etag"]})

    assert response.status_code == 200
    changed = response.get_json()
    assert changed["version"] == 2 and changed["size"] == 2 and changed["parts"] == [{"code": "a", "quantity": 5}]
    assert response.headers["ETag"] == changed["etag"] != widget["etag"]
    assert client.get(url, headers=ACME).headers["ETag"] == changed["etag"]


def test_an_etag_copied_from_another_record_never_matches(client):
    first, second = create(client, name="bolt"), create(client, name="nut")
    assert first["version"] == second["version"]

    response = client.patch(f"{WIDGETS}/{first['id']}", json={"size": 1}, headers={**ACME, "If-Match": second["etag"]})

    assert_problem(response, 412, "Precondition Failed")


def test_an_invalid_change_is_422_and_changes_nothing(platform, client):
    widget = create(client, name="bolt", size=1)
    before = stored(platform)
    headers = {**ACME, "If-Match": widget["etag"]}
    url = f"{WIDGETS}/{widget['id']}"

    assert_invalid(client.patch(url, json={"size": -1}, headers=headers), {"size": ["Must be greater than or equal to 0."]})
    assert_invalid(client.patch(url, json={"version": 5}, headers=headers), {"version": ["Read-only field."]})
    assert_invalid(client.patch(url, json={"sise": 2}, headers=headers), {"sise": ["Unknown field."]})
    assert stored(platform) == before


def test_delete_with_the_current_etag_removes_the_widget_and_its_parts(platform, client):
    widget = create(client, name="bolt", parts=[{"code": "a", "quantity": 1}])
    url = f"{WIDGETS}/{widget['id']}"

    response = client.delete(url, headers={**ACME, "If-Match": widget["etag"]})

    assert response.status_code == 204 and response.data == b""
    assert_problem(client.get(url, headers=ACME), 404, "Not Found")
    assert stored(platform) == []


def test_a_write_that_lost_a_race_to_another_writer_is_412(platform, app, client):
    """Two writers passed the If-Match check at once: the version column lets only one through."""

    def racing_write(widget_id):
        session = web.db_session()
        mine = session.get(Widget, widget_id)
        # The other writer commits first (on the same connection: no locks to wait for in a test).
        session.execute(text("UPDATE workshop_widgets SET version = version + 1 WHERE id = :id"), {"id": widget_id})
        mine.size = 2
        session.flush()

    app.add_url_rule("/api/v1/race/<int:widget_id>", view_func=racing_write, methods=["POST"])
    widget = create(client, name="bolt", size=1)
    before = stored(platform)

    assert_problem(client.post(f"/api/v1/race/{widget['id']}", headers=ACME), 412, "Precondition Failed")
    assert stored(platform) == before


# -- tenant isolation --------------------------------------------------------------------------


def test_another_tenants_widget_is_not_found_and_never_listed(platform, client):
    theirs = create(client, headers=GLOBEX, name="secret", size=1)
    create(client, name="mine")
    before = stored(platform)
    url = f"{WIDGETS}/{theirs['id']}"
    their_etag = {**ACME, "If-Match": theirs["etag"]}

    assert_problem(client.get(url, headers=ACME), 404, "Not Found")
    assert_problem(client.patch(url, json={"size": 2}, headers=their_etag), 404, "Not Found")
    assert_problem(client.delete(url, headers=their_etag), 404, "Not Found")
    listed = client.get(f"{WIDGETS}?size=1", headers=ACME).get_json()["items"]
    assert listed == []
    assert [w["name"] for w in client.get(WIDGETS, headers=ACME).get_json()["items"]] == ["mine"]
    update = client.patch(BULK, json={"items": [{"id": theirs["id"], "etag": theirs["etag"], "changes": {"size": 2}}]},
                          headers=ACME)
    assert update.get_json()["items"][0]["status"] == 404
    assert stored(platform) == before


# -- lists: keyset pagination, sorting, filtering --------------------------------------------

#: Sizes with ties and gaps (None), names in an order unrelated to creation.
SIZES = [None, 5, 2, 5, None, 1, 2, 5, 3, None, 2]


@pytest.fixture
def many(client) -> list[dict]:
    """23 widgets, created in one bulk request."""
    items = [{"name": f"w{(i * 7) % 23:02d}", "size": SIZES[i % len(SIZES)]} for i in range(23)]
    response = client.post(BULK, json={"items": items}, headers=ACME)
    assert response.get_json()["succeeded"] == 23
    return [item["record"] for item in response.get_json()["items"]]


def expected_order(widgets: list[dict], sort: str) -> list[int]:
    """The documented order, computed in Python: empty values last in both directions, id last."""
    keys = [(part.removeprefix("-"), part.startswith("-")) for part in sort.split(",")]
    keys.append(("id", keys[-1][1]))
    ordered = list(widgets)
    for field, descending in reversed(keys):  # stable sorts, least significant key first
        present = sorted((w for w in ordered if w[field] is not None), key=lambda w: w[field], reverse=descending)
        ordered = present + [w for w in ordered if w[field] is None]
    return [w["id"] for w in ordered]


def walk(client, url: str) -> tuple[list[int], int]:
    """Follow the next links from ``url``; the ids seen and the number of pages."""
    seen, pages = [], 0
    while url:
        response = client.get(url, headers=ACME)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        link = response.headers.get("Link")
        if link is None:
            assert body["next_cursor"] is None
            break
        url = re.fullmatch(r'<([^>]+)>; rel="next"', link).group(1)
        assert f"cursor={body['next_cursor']}" in url
    return seen, pages


@pytest.mark.parametrize("sort", ["size", "-size", "size,-name", "-size,name", "name", "-updated_at", "-id"])
def test_walking_every_page_yields_each_widget_once_in_the_sort_order(client, many, sort):
    seen, pages = walk(client, f"{WIDGETS}?sort={sort}&limit=4")

    assert seen == expected_order(many, sort)
    assert len(set(seen)) == len(many) and pages == 6


def test_the_default_sort_and_limit(client, many):
    body = client.get(WIDGETS, headers=ACME).get_json()

    assert [w["id"] for w in body["items"]] == expected_order(many, "name")[:25]
    assert body["next_cursor"] is None


def test_a_page_appearing_row_does_not_shift_the_next_pages(client, many):
    """Unlike offsets, a cursor resumes after the last row seen, whatever was added before it."""
    first = client.get(f"{WIDGETS}?sort=name&limit=5", headers=ACME)
    create(client, name="a-first")  # sorts before everything already seen

    rest, _ = walk(client, re.fullmatch(r"<([^>]+)>.*", first.headers["Link"]).group(1))

    assert [w["id"] for w in first.get_json()["items"]] + rest == expected_order(many, "name")


def test_filters_and_sort_are_carried_in_the_next_link(client, many):
    seen, _ = walk(client, f"{WIDGETS}?size__gte=2&sort=-size&limit=3&fields=size")

    expected = [w for w in many if w["size"] is not None and w["size"] >= 2]
    assert seen == expected_order(expected, "-size")


@pytest.mark.parametrize(("query", "matches"), [
    ("size=5", lambda w: w["size"] == 5),
    ("size__ne=5", lambda w: w["size"] != 5),  # includes the widgets without a size
    ("size__gt=2", lambda w: w["size"] is not None and w["size"] > 2),
    ("size__lte=2", lambda w: w["size"] is not None and w["size"] <= 2),
    ("size__lt=2&size__gte=1", lambda w: w["size"] == 1),
    ("size__in=1,3", lambda w: w["size"] in (1, 3)),
    ("size__gte=-1", lambda w: w["size"] is not None),  # filters compare: a size may not be -1, but ask
    ("size__isnull=true", lambda w: w["size"] is None),
    ("size__isnull=false", lambda w: w["size"] is not None),
    ("name__contains=W0", lambda w: "w0" in w["name"]),
    ("name__in=w01,w02,nothing", lambda w: w["name"] in ("w01", "w02")),
    ("name__ne=w01", lambda w: w["name"] != "w01"),
], ids=lambda value: value if isinstance(value, str) else "")
def test_filters(client, many, query, matches):
    seen, _ = walk(client, f"{WIDGETS}?{query}&sort=id&limit=100")

    assert seen == [w["id"] for w in many if matches(w)]


def test_contains_matches_wildcards_literally(client, many):
    create(client, name="50%_off")

    assert [w["name"] for w in client.get(f"{WIDGETS}?name__contains=%_", headers=ACME).get_json()["items"]] == [
        "50%_off"]


def test_a_date_filter(client, many):
    middle = sorted(w["updated_at"] for w in many)[10]

    seen, _ = walk(client, f"{WIDGETS}?updated_at__gte={quote(middle)}&sort=id&limit=100")

    assert seen == [w["id"] for w in many if w["updated_at"] >= middle]


def test_sparse_fields_in_a_list(client, many):
    items = client.get(f"{WIDGETS}?fields=size&limit=2", headers=ACME).get_json()["items"]

    assert [set(item) for item in items] == [{"id", "etag", "size"}] * 2


def test_an_unchanged_page_is_304(client, many):
    page = client.get(f"{WIDGETS}?limit=5", headers=ACME)

    cached = client.get(f"{WIDGETS}?limit=5", headers={**ACME, "If-None-Match": page.headers["ETag"]})
    assert cached.status_code == 304

    first = page.get_json()["items"][0]
    client.patch(f"{WIDGETS}/{first['id']}", json={"size": 9}, headers={**ACME, "If-Match": first["etag"]})
    assert client.get(f"{WIDGETS}?limit=5", headers={**ACME, "If-None-Match": page.headers["ETag"]}).status_code == 200


def tampered(cursor: str) -> str:
    """The cursor with its JSON payload edited (pointing elsewhere), the signature kept."""
    payload, signature = cursor.rsplit(".", 1)
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).replace(b'"keys":[', b'"keys":[1,')
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode() + "." + signature


def test_a_garbage_or_tampered_cursor_is_400_naming_the_cursor(client, many):
    cursor = client.get(f"{WIDGETS}?limit=2", headers=ACME).get_json()["next_cursor"]

    for bad in ("garbage", "", tampered(cursor), cursor[:-2]):
        body = assert_problem(client.get(f"{WIDGETS}?limit=2&cursor={bad}", headers=ACME), 400, "Bad Request")
        assert list(body["errors"]) == ["cursor"]


def test_a_cursor_used_with_another_sort_is_400(client, many):
    cursor = client.get(f"{WIDGETS}?sort=size&limit=2", headers=ACME).get_json()["next_cursor"]

    body = assert_problem(client.get(f"{WIDGETS}?sort=-size&cursor={cursor}", headers=ACME), 400, "Bad Request")

    assert list(body["errors"]) == ["cursor"] and "sort" in body["detail"]


@pytest.mark.parametrize(("query", "errors"), [
    ("sort=colour", {"sort": ["Unknown sort field 'colour'; sortable: id, name, size, updated_at."]}),
    ("sort=parts", {"sort": ["Unknown sort field 'parts'; sortable: id, name, size, updated_at."]}),
    ("sort=name,-name", {"sort": ["A field appears twice in sort."]}),
    ("sort=id,name", {"sort": ["id is unique: it can only be the last sort field."]}),
    ("colour=red", {"colour": ["Unknown field."]}),
    ("size__like=5", {"size__like": ["Unknown field."]}),
    ("name__gte=a", {"name__gte": ["Unknown field."]}),
    ("size__gte=big", {"size__gte": ["Not a valid integer."]}),
    ("size__in=1,x", {"size__in.1": ["Not a valid integer."]}),
    ("size__isnull=maybe", {"size__isnull": ["Not a valid boolean."]}),
    ("limit=0", {"limit": ["Must be greater than or equal to 1 and less than or equal to 100."]}),
    ("limit=101", {"limit": ["Must be greater than or equal to 1 and less than or equal to 100."]}),
    ("limit=ten", {"limit": ["Not a valid integer."]}),
])
def test_bad_list_parameters_are_422_naming_them(client, query, errors):
    assert_invalid(client.get(f"{WIDGETS}?{query}", headers=ACME), errors)


# -- bulk --------------------------------------------------------------------------------------


def test_bulk_create_applies_the_valid_items_and_reports_each(platform, client):
    response = client.post(BULK, json={"items": [
        {"name": "bolt", "size": 1},
        {"name": "nut", "colour": "red"},
        {"name": "bolt"},
        "screw",
        {"name": "washer", "parts": [{"code": "a", "quantity": 0}]},
        {"name": "gear", "parts": [{"code": "a", "quantity": 2}]},
    ]}, headers=ACME)

    assert response.status_code == 200
    body = response.get_json()
    assert [(item["index"], item["status"]) for item in body["items"]] == [
        (0, 201), (1, 422), (2, 409), (3, 422), (4, 422), (5, 201)]
    assert (body["succeeded"], body["failed"]) == (2, 4)
    assert body["items"][1]["problem"]["errors"] == {"colour": ["Unknown field."]}
    assert body["items"][2]["problem"]["title"] == "Conflict"
    assert body["items"][4]["problem"]["errors"] == {"parts.0.quantity": ["Must be greater than or equal to 1."]}
    assert body["items"][5]["record"]["parts"] == [{"code": "a", "quantity": 2}]
    assert [w["name"] for w in client.get(WIDGETS, headers=ACME).get_json()["items"]] == ["bolt", "gear"]
    created = body["items"][0]["record"]
    assert client.get(f"{WIDGETS}/{created['id']}", headers=ACME).headers["ETag"] == created["etag"]


def test_a_failing_bulk_item_leaves_no_partial_row(platform, client):
    """The widget row is written before its parts hit the duplicate code: its savepoint undoes both."""
    response = client.post(BULK, json={"items": [
        {"name": "bolt"},
        {"name": "gear", "parts": [{"code": "a", "quantity": 1}, {"code": "a", "quantity": 2}]},
        {"name": "nut"},
    ]}, headers=ACME)

    assert [item["status"] for item in response.get_json()["items"]] == [201, 409, 201]
    assert [(row[2], row[3]) for row in stored(platform)] == [("bolt", None), ("nut", None)]


def test_bulk_update_checks_each_item_as_a_single_patch_would(platform, client):
    bolt, nut, gear, washer = (create(client, name=name, size=1) for name in ("bolt", "nut", "gear", "washer"))
    client.patch(f"{WIDGETS}/{washer['id']}", json={"size": 2}, headers={**ACME, "If-Match": washer["etag"]})

    response = client.patch(BULK, json={"items": [
        {"id": bolt["id"], "etag": bolt["etag"], "changes": {"size": 10}},
        {"id": nut["id"], "changes": {"size": 10}},
        {"id": gear["id"], "etag": gear["etag"], "changes": {"size": "big", "name": "x" * 101}},
        {"id": washer["id"], "etag": washer["etag"], "changes": {"size": 10}},
        {"id": 999, "etag": bolt["etag"], "changes": {"size": 10}},
        {"etag": bolt["etag"], "changes": {}},
        {"id": bolt["id"], "etag": bolt["etag"], "changes": {"size": 11}},
    ]}, headers=ACME)

    items = response.get_json()["items"]
    assert [item["status"] for item in items] == [200, 428, 422, 412, 404, 422, 412]
    assert items[0]["record"]["version"] == 2 and items[0]["record"]["size"] == 10
    assert items[2]["problem"]["errors"] == {
        "changes.size": ["Not a valid integer."], "changes.name": ["Length must be between 1 and 100."]}
    assert items[5]["problem"]["errors"] == {"id": ["Missing data for required field."]}
    sizes = {row[2]: row[3] for row in stored(platform)}
    assert sizes == {"bolt": 10, "nut": 1, "gear": 1, "washer": 2}


@pytest.mark.parametrize(("body", "errors"), [
    ({}, {"items": ["Missing data for required field."]}),
    ({"items": []}, {"items": ["Length must be between 1 and 500."]}),
    ({"items": [{"name": f"w{i}"} for i in range(501)]}, {"items": ["Length must be between 1 and 500."]}),
    ({"items": {"name": "bolt"}}, {"items": ["Not a valid list."]}),
    ({"items": [{"name": "bolt"}], "atomic": True}, {"atomic": ["Unknown field."]}),
])
def test_a_bad_bulk_envelope_is_422_and_applies_nothing(platform, client, body, errors):
    assert_invalid(client.post(BULK, json=body, headers=ACME), errors)
    assert stored(platform) == []


# -- OpenAPI and the docs page ---------------------------------------------------------------


def test_the_openapi_document_is_valid_and_lists_the_plugin_paths(client):
    document = client.get("/api/v1/openapi.json").get_json()

    validate_openapi(document)
    assert {"/api/v1/workshop/widgets", "/api/v1/workshop/widgets/{widget_id}", "/api/v1/workshop/widgets/bulk",
            "/api/v1/health", "/api/v1/plugins"} <= set(document["paths"])


def test_the_openapi_document_describes_the_conventions(client):
    document = client.get("/api/v1/openapi.json").get_json()
    widgets = document["paths"]["/api/v1/workshop/widgets"]
    item = document["paths"]["/api/v1/workshop/widgets/{widget_id}"]
    schemas = document["components"]["schemas"]

    list_parameters = {p["name"] for p in widgets["get"]["parameters"]}
    assert {"limit", "cursor", "sort", "fields", "size", "size__gte", "size__in", "name__contains"} <= list_parameters
    assert set(widgets["get"]["responses"]["200"]["headers"]) == {"Link", "ETag"}
    if_match = [p for p in item["patch"]["parameters"] if p["in"] == "header"]
    assert [(p["name"], p["required"]) for p in if_match] == [("If-Match", True)]
    assert {"412", "428", "422", "415", "400"} <= set(item["patch"]["responses"])
    assert {"412", "428"} <= set(item["delete"]["responses"])
    assert "ETag" in item["get"]["responses"]["200"]["headers"]
    assert all(schemas["Widget"]["properties"][name]["readOnly"] for name in ("id", "version", "etag", "updated_at"))
    assert "WidgetPatch" in schemas and "WidgetBulkCreate" in schemas and "WidgetBulkResult" in schemas
    error = document["components"]["responses"]["UNPROCESSABLE_ENTITY"]["content"]
    assert list(error) == [PROBLEM_JSON] and error[PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer",
        "description": "A personal API token (xrm_…); the browser uses its session cookie instead."}


class _References(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("src", "href")]


def test_the_docs_page_works_offline(client):
    response = client.get("/api/v1/docs")
    html = response.get_data(as_text=True)
    references = _References()
    references.feed(html)

    assert response.status_code == 200 and response.mimetype == "text/html"
    assert references.urls and all(url.startswith("/api/v1/docs/assets/") for url in references.urls)
    assert "http" not in html and "//" not in html  # no other host, not even protocol-relative
    assert '"validatorUrl": null' in html  # Swagger UI would otherwise call an online validator
    assert '"/api/v1/openapi.json"' in html
    for url in references.urls:
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.data) > 1000, url
        asset.close()
