"""Input a buggy or hostile client sends, found by fuzzing the OpenAPI document (``test_api_fuzz.py``).

Each answer is a 4xx problem document naming what is wrong, never a server error, and changes nothing.
"""

from __future__ import annotations

import re

import marshmallow as ma
import pytest
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from sqlalchemy import select
from xrm_sdk.testing import administrator_headers

from xrm_core import migrate, tenants
from xrm_core.api.openapi import DECIMAL_PATTERN, decimal_as_string
from xrm_core.app import create_app
from xrm_core.graph.models import Party
from xrm_core.graph.service import create_party
from xrm_core.problems import PROBLEM_JSON
from xrm_core.storable import MAX_INTEGER, NUL_MESSAGE

#: Beyond PostgreSQL's INTEGER, and beyond the 64 bits SQLite's driver converts.
TOO_LARGE = (MAX_INTEGER + 1, 2**64)


@pytest.fixture
def world(make_platform):
    """A tenant with one party, its app and an administrator's headers."""
    platform = make_platform()
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "acme", "ACME").id
    with platform.db.transaction(tenant_id) as session:
        party_id = create_party(session, "organization", "Zenith Industries").id
    app = create_app(platform=platform)
    app.config["TESTING"] = True
    return platform, tenant_id, app.test_client(), administrator_headers(platform, tenant_id), party_id


def parties(platform, tenant_id) -> list[tuple]:
    with platform.db.session(tenant_id) as session:
        return [tuple(row) for row in session.execute(select(Party.id, Party.display_name, Party.version))]


@pytest.mark.parametrize("number", TOO_LARGE)
def test_an_id_beyond_the_database_range_in_a_url_is_not_found(world, number):
    _, _, client, headers, _ = world
    for method, url in (("GET", f"/api/v1/parties/{number}"), ("DELETE", f"/api/v1/parties/{number}"),
                        ("GET", f"/api/v1/parties/{number}/timeline"), ("GET", f"/api/v1/users/{number}")):
        response = client.open(url, method=method, headers=headers)
        assert response.status_code == 404, (method, url, response.get_data(as_text=True))
        assert response.mimetype == PROBLEM_JSON


@pytest.mark.parametrize("number", TOO_LARGE)
def test_an_integer_field_beyond_the_database_range_is_refused_by_name(world, number):
    platform, tenant_id, client, headers, party_id = world
    before = parties(platform, tenant_id)
    merge = client.post(f"/api/v1/parties/{party_id}/merge", json={"loser_id": number}, headers=headers)
    assert merge.status_code == 422, merge.get_data(as_text=True)
    assert merge.mimetype == PROBLEM_JSON
    assert "loser_id" in merge.get_json()["errors"]
    listed = client.get(f"/api/v1/parties?owner_user_id__in=1,{number}", headers=headers)
    assert listed.status_code == 422, listed.get_data(as_text=True)
    assert "owner_user_id__in" in " ".join(listed.get_json()["errors"])
    bulk = client.patch("/api/v1/parties/bulk", json={"items": [{"id": number, "etag": '"x"', "changes": {}}]},
                        headers=headers)
    assert bulk.status_code in (200, 207), bulk.get_data(as_text=True)
    [item] = bulk.get_json()["items"]
    assert item["status"] == 422 and "id" in item["problem"]["errors"]
    assert parties(platform, tenant_id) == before


def test_text_with_a_nul_character_is_refused_by_name(world):
    """PostgreSQL's text and JSON columns cannot hold U+0000: it was a 500 there (stored on SQLite)."""
    platform, tenant_id, client, headers, _ = world
    before = parties(platform, tenant_id)
    created = client.post("/api/v1/parties", json={"kind": "organization", "display_name": "a\u0000b"},
                          headers=headers)
    assert created.status_code == 422 and created.mimetype == PROBLEM_JSON
    assert created.get_json()["errors"] == {"display_name": [NUL_MESSAGE]}
    custom = client.post("/api/v1/parties", json={"kind": "organization", "display_name": "Ok",
                                                   "custom": {"note\u0000": "x"}}, headers=headers)
    assert custom.status_code == 422 and "custom" in custom.get_json()["errors"]
    for query, field in (("display_name=a%00b", "display_name"), ("display_name__contains=%00", "display_name__contains"),
                         ("kind__in=person,%00", "kind__in.1")):
        listed = client.get(f"/api/v1/parties?{query}", headers=headers)
        assert listed.status_code == 422, (query, listed.get_data(as_text=True))
        assert listed.get_json()["errors"] == {field: [NUL_MESSAGE]}
    department = client.post("/api/v1/departments", json={"name": "Sales\u0000"}, headers=headers)
    assert department.status_code == 422 and "name" in department.get_json()["errors"]
    assert parties(platform, tenant_id) == before


def test_a_name_with_a_nul_character_in_a_url_is_not_found(world):
    _, _, client, headers, _ = world
    for url in ("/api/v1/relationship-types/employs%00", "/api/v1/platform/tenants/acme%00"):
        response = client.get(url, headers=headers) if "tenants" in url else client.delete(url, headers=headers)
        assert response.status_code == 404, (url, response.get_data(as_text=True))
        assert response.mimetype == PROBLEM_JSON


def test_the_openapi_document_states_the_range_of_ids(world):
    _, _, client, _, _ = world
    document = client.get("/api/v1/openapi.json").get_json()
    [party_id] = [p for p in document["paths"]["/api/v1/parties/{party_id}"]["parameters"] if p["name"] == "party_id"]
    assert party_id["schema"]["maximum"] == MAX_INTEGER
    merge = document["components"]["schemas"]["MergeRequest"]["properties"]["loser_id"]
    assert merge["maximum"] == MAX_INTEGER



def test_a_decimal_is_documented_as_the_string_it_travels_as_with_its_bounds_kept():
    """apispec called it a number with string bounds (``"minimum": "0"``): invalid OpenAPI, which
    schemathesis (and generated clients) refuse, so the sales plugin's operations went untested."""

    class PriceSchema(ma.Schema):
        amount = ma.fields.Decimal(as_string=True, validate=ma.validate.Range(min=0, max=100))
        quantity = ma.fields.Decimal(validate=ma.validate.Range(min=1))
        count = ma.fields.Integer(validate=ma.validate.Range(min=1))

    plugin = MarshmallowPlugin()
    spec = APISpec("t", "1", "3.0.3", plugins=[plugin])
    plugin.converter.add_attribute_function(decimal_as_string)
    spec.components.schema("Price", schema=PriceSchema)
    properties = spec.to_dict()["components"]["schemas"]["Price"]["properties"]
    assert properties["amount"] == {"type": "string", "format": "decimal", "pattern": DECIMAL_PATTERN,
                                    "x-minimum": "0", "x-maximum": "100"}
    assert properties["quantity"]["type"] == "string" and "minimum" not in properties["quantity"]
    assert properties["count"] == {"type": "integer", "minimum": 1}
    assert re.fullmatch(DECIMAL_PATTERN, "-12.50") and not re.fullmatch(DECIMAL_PATTERN, "12,5")


def test_a_token_that_was_never_used_nor_revoked_is_documented_as_such(world):
    """``revoked_at`` / ``last_used_at`` are null until then: the document said always a date-time."""
    _, _, client, headers, _ = world
    created = client.post("/api/v1/tokens", json={"name": "ci"}, headers=headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json()["revoked_at"] is None and created.get_json()["last_used_at"] is None
    token = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Token"]["properties"]
    assert token["revoked_at"]["nullable"] is True and token["last_used_at"]["nullable"] is True
