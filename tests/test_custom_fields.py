"""Custom fields: definitions (API and service), value rules, type changes, plugin entities.

The party side of custom values (validation on write, filters and sorts in lists) is in
``test_parties_api.py``; here, what concerns the definitions themselves and entities other than
parties, built only from ``xrm_sdk`` as a plugin would.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import marshmallow as ma
import pytest
import xrm_sdk as xrm
from flask.views import MethodView
from marshmallow import fields
from sqlalchemy import String, select, text
from sqlalchemy.orm import Mapped, mapped_column
from xrm_sdk.testing import administrator_headers

from xrm_core import migrate, tenants
from xrm_core.app import create_app
from xrm_core.customfields import service
from xrm_core.customfields.models import CustomFieldDefinition
from xrm_core.customfields.sql import JsonDate, JsonNumber, JsonText
from xrm_core.customfields.types import format_number
from xrm_core.db import Model
from xrm_core.errors import Conflict
from xrm_core.graph.models import Party
from xrm_core.graph.service import create_party
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Scope
from xrm_core.identity.principal import load_principal
from xrm_core.identity.scoping import PermissionDenied, act_as
from xrm_core.identity.tokens import create_token
from xrm_core.models import User
from xrm_core.problems import PROBLEM_JSON

FIELDS = "/api/v1/custom-fields"


class Gadget(xrm.HasCustomFields, xrm.TenantScoped, xrm.Model):
    """A plugin-style entity carrying custom fields, defined only for these tests."""

    __tablename__ = "cftest_gadgets"
    __custom_fields_entity__ = "cftest.gadget"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(default=1)


class GadgetSchema(xrm.RecordSchema):
    name = fields.String(required=True)
    custom = fields.Dict()


GADGETS = xrm.CustomFieldListing(Gadget, GadgetSchema, sortable=("name",), default_sort="name")
gadgets_api = xrm.ApiBlueprint("cftest", __name__)


@gadgets_api.route("/gadgets")
class Gadgets(MethodView):
    @gadgets_api.list_response(GADGETS)
    def get(self, query):
        return xrm.cursor_paginate(select(Gadget), query)

    @gadgets_api.arguments(GadgetSchema)
    @gadgets_api.record_response(GadgetSchema, 201)
    def post(self, data):
        session = xrm.db_session()
        gadget = Gadget(name=data["name"], custom=xrm.clean_custom_values(session, "cftest.gadget",
                                                                          data.get("custom", {})))
        session.add(gadget)
        session.commit()
        return gadget


@pytest.fixture
def world(make_platform):
    platform = make_platform()
    migrate.upgrade(platform)
    Model.metadata.create_all(platform.db.engine, tables=[Gadget.__table__])
    ids, headers = {}, {}
    with platform.db.transaction(all_tenants=True) as session:
        ids["acme"] = tenants.create_tenant(session, "acme", "ACME").id
        ids["globex"] = tenants.create_tenant(session, "globex", "Globex").id
    headers["acme"] = administrator_headers(platform, ids["acme"])
    headers["globex"] = administrator_headers(platform, ids["globex"])
    with platform.db.transaction(ids["acme"]) as session:
        role = admin.define_role(session, "clerk", {"core.party.read": Scope.TENANT, "core.party.create": Scope.TENANT},
                                 set(all_permissions(platform)))
        user = User(email="clerk@acme.test", display_name="clerk", password_hash="")
        session.add(user)
        session.flush()
        admin.assign_role(session, user, role)
        ids["clerk"] = user.id
        headers["clerk"] = {"Authorization": f"Bearer {create_token(session, user, 'tests')[1]}"}
    return platform, ids, headers


@pytest.fixture
def client(world):
    app = create_app(platform=world[0])
    app.config["TESTING"] = True
    app.extensions["xrm.api"].register_blueprint(gadgets_api, url_prefix="/api/v1/cftest")
    return app.test_client()


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    return response.get_json(force=True)


def definitions(platform) -> list[tuple]:
    with platform.db.session(all_tenants=True) as session:
        rows = session.execute(select(CustomFieldDefinition.tenant_id, CustomFieldDefinition.entity,
                                      CustomFieldDefinition.code, CustomFieldDefinition.type,
                                      CustomFieldDefinition.active, CustomFieldDefinition.version))
        return sorted(tuple(row) for row in rows)


def post(client, headers, **data):
    return client.post(FIELDS, json={"entity": "core.party", "label": "A field", **data}, headers=headers)


# -- the definitions API ----------------------------------------------------------------------------


def test_admins_define_list_change_and_delete_fields(world, client):
    h = world[2]
    response = post(client, h["acme"], code="size", type="number", validation={"min": "0.50", "max": 100},
                    position=2)
    assert response.status_code == 201, response.get_json()
    size = response.get_json()
    assert response.headers["Location"] == f"{FIELDS}/{size['id']}"
    assert size["validation"] == {"min": "0.5", "max": "100"}  # stored in canonical form
    tier = post(client, h["acme"], code="tier", type="choice", choices=["gold", "silver"], position=1).get_json()

    listed = client.get(f"{FIELDS}?entity=core.party", headers=h["acme"]).get_json()["items"]
    assert [d["code"] for d in listed] == ["tier", "size"]
    # Any principal of the tenant reads them (forms need them); another tenant sees none.
    assert [d["code"] for d in client.get(FIELDS, headers=h["clerk"]).get_json()["items"]] == ["tier", "size"]
    assert client.get(FIELDS, headers=h["globex"]).get_json()["items"] == []
    assert_problem(client.get(f"{FIELDS}/{size['id']}", headers=h["globex"]), 404)

    url = f"{FIELDS}/{tier['id']}"
    assert_problem(client.patch(url, json={"label": "Tier"}, headers=h["acme"]), 428)
    changed = client.patch(url, json={"label": "Tier", "choices": ["gold", "silver", "bronze"]},
                           headers={**h["acme"], "If-Match": tier["etag"]})
    assert changed.status_code == 200 and changed.get_json()["choices"] == ["gold", "silver", "bronze"]
    assert_problem(client.patch(url, json={"label": "Stale"}, headers={**h["acme"], "If-Match": tier["etag"]}), 412)
    body = assert_problem(client.patch(url, json={"code": "rank"},
                                       headers={**h["acme"], "If-Match": changed.get_json()["etag"]}), 422)
    assert body["errors"] == {"code": ["Cannot be changed."]}
    assert client.delete(url, headers={**h["acme"], "If-Match": changed.get_json()["etag"]}).status_code == 204
    assert [d[2] for d in definitions(world[0])] == ["size"]


def test_only_holders_of_the_admin_permission_change_definitions(world, client):
    platform, _ids, h = world
    size = post(client, h["acme"], code="size", type="number").get_json()
    before = definitions(platform)

    assert_problem(post(client, h["clerk"], code="other", type="text"), 403)
    assert_problem(client.patch(f"{FIELDS}/{size['id']}", json={"label": "X"},
                                headers={**h["clerk"], "If-Match": size["etag"]}), 403)
    assert_problem(client.delete(f"{FIELDS}/{size['id']}", headers={**h["clerk"], "If-Match": size["etag"]}), 403)
    # Another tenant's definition is not found at all, even for its admin's id guess.
    assert_problem(client.delete(f"{FIELDS}/{size['id']}", headers={**h["globex"], "If-Match": size["etag"]}), 404)
    assert definitions(platform) == before


INVALID_DEFINITIONS = [
    ({"code": "Size", "type": "number"}, "code"),
    ({"code": "1size", "type": "number"}, "code"),
    ({"code": "size", "type": "money"}, "type"),
    ({"code": "size", "type": "number", "entity": "core.nothing"}, "entity"),
    ({"code": "size", "type": "choice"}, "choices"),
    ({"code": "size", "type": "choice", "choices": ["a", "a"]}, "choices"),
    ({"code": "size", "type": "text", "choices": ["a"]}, "choices"),
    ({"code": "size", "type": "text", "validation": {"regex": "(unclosed"}}, "validation.regex"),
    ({"code": "size", "type": "text", "validation": {"max_length": 0}}, "validation.max_length"),
    ({"code": "size", "type": "text", "validation": {"min": 1}}, "validation.min"),
    ({"code": "size", "type": "number", "validation": {"min": "ten"}}, "validation.min"),
    ({"code": "size", "type": "number", "validation": {"min": 5, "max": 1}}, "validation.max"),
    ({"code": "size", "type": "date", "validation": {"max": "2024-02-30"}}, "validation.max"),
    ({"code": "size", "type": "number", "label": ""}, "label"),
    ({"code": "size", "type": "number", "id": 3}, "id"),
    ({"code": "size", "type": "number", "colour": "red"}, "colour"),
    ({"code": "size", "type": "number", "required": "perhaps"}, "required"),
]


def test_invalid_definitions_are_422_naming_the_field_and_duplicates_409(world, client):
    platform, _ids, h = world
    for data, field in INVALID_DEFINITIONS:
        body = assert_problem(post(client, h["acme"], **data), 422)
        assert field in body["errors"], (data, body)
    assert definitions(platform) == []

    assert post(client, h["acme"], code="size", type="number").status_code == 201
    assert "already has" in assert_problem(post(client, h["acme"], code="size", type="text"), 409)["detail"]
    # Codes are per tenant and per entity.
    assert post(client, h["globex"], code="size", type="text").status_code == 201
    assert post(client, h["acme"], code="size", type="text", entity="cftest.gadget").status_code == 201


# -- type changes, deletion, inactive fields ---------------------------------------------------------


def test_a_type_change_is_refused_while_values_exist_and_allowed_once_they_are_gone(world, client):
    platform, _ids, h = world
    size = post(client, h["acme"], code="size", type="text").get_json()
    party = client.post("/api/v1/parties", json={"kind": "person", "display_name": "A", "custom": {"size": "12"}},
                        headers=h["acme"]).get_json()
    url = f"{FIELDS}/{size['id']}"
    before = definitions(platform)

    body = assert_problem(client.patch(url, json={"type": "number"}, headers={**h["acme"], "If-Match": size["etag"]}),
                          409)
    assert "1 record(s) hold a value" in body["detail"] and "never converted" in body["detail"]
    assert_problem(client.delete(url, headers={**h["acme"], "If-Match": size["etag"]}), 409)
    assert definitions(platform) == before

    cleared = client.patch(f"/api/v1/parties/{party['id']}", json={"custom": {"size": None}},
                           headers={**h["acme"], "If-Match": party["etag"]})
    assert cleared.get_json()["custom"] == {}
    changed = client.patch(url, json={"type": "number"}, headers={**h["acme"], "If-Match": size["etag"]})
    assert changed.status_code == 200 and changed.get_json()["type"] == "number"


def test_values_held_by_records_the_admin_cannot_see_still_block_a_type_change(world):
    platform, ids, _h = world
    with platform.db.transaction(ids["acme"]) as session:
        definition = service.define_custom_field(session, "core.party", "size", "Size", "text")
        create_party(session, "person", "Hidden", custom={"size": "x"})
        role = admin.define_role(session, "field admin", {"core.custom_field.update": Scope.TENANT},
                                 set(all_permissions(platform)))
        field_admin = User(email="fields@acme.test", display_name="fields", password_hash="")
        session.add(field_admin)
        session.flush()
        admin.assign_role(session, field_admin, role)
    with platform.db.session(ids["acme"]) as session:
        act_as(session, load_principal(session, session.get(User, field_admin.id)))
        assert session.scalars(select(Party)).all() == []  # sees no party at all
        with pytest.raises(Conflict, match="1 record"):
            service.update_custom_field(session, session.get(CustomFieldDefinition, definition.id), {"type": "number"})
    with platform.db.session(ids["acme"]) as session:
        act_as(session, load_principal(session, session.get(User, ids["clerk"])))
        with pytest.raises(PermissionDenied):
            service.update_custom_field(session, session.get(CustomFieldDefinition, definition.id), {"label": "X"})


def test_an_inactive_field_keeps_its_values_but_takes_no_new_ones_and_does_not_filter(world, client):
    h = world[2]
    size = post(client, h["acme"], code="size", type="number").get_json()
    party = client.post("/api/v1/parties", json={"kind": "person", "display_name": "A", "custom": {"size": 3}},
                        headers=h["acme"]).get_json()
    client.patch(f"{FIELDS}/{size['id']}", json={"active": False}, headers={**h["acme"], "If-Match": size["etag"]})

    assert client.get(f"/api/v1/parties/{party['id']}", headers=h["acme"]).get_json()["custom"] == {"size": "3"}
    body = assert_problem(client.patch(f"/api/v1/parties/{party['id']}", json={"custom": {"size": 4}},
                                       headers={**h["acme"], "If-Match": party["etag"]}), 422)
    assert body["errors"] == {"custom.size": [service.INACTIVE_FIELD]}
    assert "custom.size" in assert_problem(client.get("/api/v1/parties?custom.size=3", headers=h["acme"]), 422)["errors"]


# -- values -------------------------------------------------------------------------------------------


def test_clean_values_stores_canonical_forms_and_merges(world):
    platform, ids, _h = world
    with platform.db.transaction(ids["acme"]) as session:
        for code, type_, extra in (("size", "number", {}), ("since", "date", {}), ("vip", "boolean", {}),
                                   ("langs", "multi_choice", {"choices": ["fr", "en"]}),
                                   ("code", "text", {"validation": {"max_length": 3}})):
            service.define_custom_field(session, "core.party", code, code, type_, **extra)
        cleaned = service.clean_values(session, "core.party", {
            "size": "0012.500", "since": "2024-02-29", "vip": False, "langs": ["fr", "fr", "en"], "code": "abc"})
        assert cleaned == {"size": "12.5", "since": "2024-02-29", "vip": False, "langs": ["fr", "en"], "code": "abc"}
        merged = service.clean_values(session, "core.party", {"size": 1e3, "vip": None}, current=cleaned)
        assert merged["size"] == "1000" and "vip" not in merged and merged["code"] == "abc"
        with pytest.raises(ma.ValidationError) as refused:
            service.clean_values(session, "core.party", {"size": "NaN", "since": 20240101, "vip": "yes",
                                                         "code": "abcd", "langs": "fr"})
        assert set(refused.value.messages["custom"]) == {"size", "since", "vip", "code", "langs"}
    assert format_number(Decimal("-0.00")) == "0" and format_number(Decimal("1E+2")) == "100"


def test_typed_sql_reads_compare_by_type_on_both_databases(world):
    platform, ids, _h = world
    with platform.db.transaction(ids["acme"]) as session:
        for name, custom in (("nine", {"n": "9", "d": "2024-02-01"}), ("ten", {"n": 10, "d": "2023-12-31"}),
                             ("tiny", {"n": "0.000000001"})):
            create_party(session, "person", name, custom=custom)
    with platform.db.session(ids["acme"]) as session:
        by_number = session.scalars(select(Party.display_name).order_by(JsonNumber(Party.custom, "n"))).all()
        assert by_number == ["tiny", "nine", "ten"]  # JSON numbers and decimal strings alike
        assert session.scalars(select(JsonNumber(Party.custom, "n")).where(Party.display_name == "tiny")).one() \
            == Decimal("1E-9")
        assert session.scalars(select(Party.display_name).where(JsonDate(Party.custom, "d") > date(2024, 1, 1))).all() \
            == ["nine"]
        assert session.scalars(select(JsonText(Party.custom, "missing"))).all() == [None, None, None]
    with pytest.raises(ValueError):
        JsonText(Party.custom, "x'; DROP TABLE core_parties; --")


# -- plugin entities ------------------------------------------------------------------------------------


def test_a_plugin_entity_carries_validated_filterable_custom_fields_through_the_sdk(world, client):
    platform, ids, h = world
    assert post(client, h["acme"], entity="cftest.gadget", code="weight", type="number", required=True).status_code \
        == 201
    gadgets = "/api/v1/cftest/gadgets"

    body = assert_problem(client.post(gadgets, json={"name": "nothing"}, headers=h["acme"]), 422)
    assert body["errors"] == {"custom.weight": ["Missing data for required field."]}
    for name, weight in (("light", 2), ("heavy", "20"), ("medium", 9.5)):
        response = client.post(gadgets, json={"name": name, "custom": {"weight": weight}}, headers=h["acme"])
        assert response.status_code == 201, response.get_json()
    listed = client.get(f"{gadgets}?custom.weight__gt=3&sort=-custom.weight", headers=h["acme"]).get_json()["items"]
    assert [(g["name"], g["custom"]["weight"]) for g in listed] == [("heavy", "20"), ("medium", "9.5")]
    # The party fields are not the gadget's.
    assert_problem(client.get(f"{gadgets}?custom.size=1", headers=h["acme"]), 422)
    with platform.db.session(ids["acme"]) as session:
        assert session.execute(text("SELECT count(*) FROM cftest_gadgets")).scalar_one() == 3
