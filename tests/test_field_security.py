"""Field security (rule F1), through a plugin written only against xrm_sdk (``vault``).

A dossier's ``fee`` is protected by ``vault.fee.read``: a clerk whose rights lack it never sees the
field (absent, not null), cannot sort, filter or select on it (refused like an unknown field), and
cannot write it; an administrator can do all of it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from xrm_fx_vault.plugin import FEE_PERMISSION, Dossier
from xrm_sdk.testing import administrator_headers

from xrm_core import migrate, tenants
from xrm_core.app import create_app
from xrm_core.identity.bootstrap import ensure_administrator
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.fieldsecurity import protected_fields, redact_payload, unreadable_fields
from xrm_core.identity.models import Scope
from xrm_core.identity.principal import service_principal
from xrm_core.identity.scoping import PermissionDenied, act_as
from xrm_core.identity.tokens import create_token

DOSSIERS = "/api/v1/vault/dossiers"


@pytest.fixture
def world(make_platform):
    platform = make_platform("vault")
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        tenant = tenants.create_tenant(session, "acme", "ACME")
        tenants.enable_plugin(platform, session, tenant, "vault")
        tenant_id = tenant.id
    admin = administrator_headers(platform, tenant_id)
    with platform.db.transaction(tenant_id) as session:
        # The clerk is an administrator whose token leaves out the fee permission.
        user = ensure_administrator(session, platform, "clerk@acme.test", None)
        allowed = [name for name in all_permissions(platform) if name != FEE_PERMISSION]
        _, token = create_token(session, user, "clerk", permissions=allowed)
    clerk = {"Authorization": f"Bearer {token}"}
    client = create_app(platform=platform).test_client()
    return platform, tenant_id, client, admin, clerk


def create(client, headers, **data):
    response = client.post(DOSSIERS, json=data, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_declaration_is_read_from_the_model():
    assert dict(protected_fields(Dossier)) == {"fee": FEE_PERMISSION}
    assert dict(protected_fields(Dossier(title="x"))) == {"fee": FEE_PERMISSION}


def test_holder_of_the_permission_reads_and_writes_the_field(world):
    _platform, _tenant, client, admin, _clerk = world
    made = create(client, admin, title="Merger", fee=900)
    assert made["fee"] == 900
    assert client.get(f"{DOSSIERS}/{made['id']}", headers=admin).get_json()["fee"] == 900
    listed = client.get(f"{DOSSIERS}?sort=-fee&fee__gte=100&fields=fee", headers=admin).get_json()
    assert [item["fee"] for item in listed["items"]] == [900]


def test_unreadable_field_is_absent_from_items_and_lists(world):
    _platform, _tenant, client, admin, clerk = world
    made = create(client, admin, title="Merger", fee=900)
    item = client.get(f"{DOSSIERS}/{made['id']}", headers=clerk).get_json()
    assert item["title"] == "Merger"
    assert "fee" not in item
    listed = client.get(DOSSIERS, headers=clerk).get_json()
    assert [sorted(entry) for entry in listed["items"]] == [["etag", "id", "title", "version"]]


@pytest.mark.parametrize(("query", "parameter", "message"), [
    ("sort=-fee", "sort", "Unknown sort field 'fee'; sortable: id, title."),
    ("fields=title,fee", "fields", "Unknown field 'fee'; fields: id, version, etag, title."),
    ("fee__gte=1", "fee__gte", "Unknown field."),
    ("fee=900", "fee", "Unknown field."),
])
def test_unreadable_field_is_refused_in_sort_filter_and_selection_like_an_unknown_one(world, query, parameter, message):
    _platform, _tenant, client, admin, clerk = world
    create(client, admin, title="Merger", fee=900)
    response = client.get(f"{DOSSIERS}?{query}", headers=clerk)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {parameter: [message]}


def test_default_sort_on_an_unreadable_field_falls_back_to_the_id(world):
    _platform, _tenant, client, admin, clerk = world
    first = create(client, admin, title="A", fee=900)
    second = create(client, admin, title="B", fee=100)
    assert [i["id"] for i in client.get(DOSSIERS, headers=admin).get_json()["items"]] == [second["id"], first["id"]]
    assert [i["id"] for i in client.get(DOSSIERS, headers=clerk).get_json()["items"]] == [first["id"], second["id"]]


def test_writing_an_unwritable_field_is_refused_and_changes_nothing(world):
    platform, tenant_id, client, admin, clerk = world
    response = client.post(DOSSIERS, json={"title": "Sneaky", "fee": 1}, headers=clerk)
    assert response.status_code == 403
    assert "fee" in response.get_json()["detail"]
    made = create(client, admin, title="Merger", fee=900)
    response = client.patch(f"{DOSSIERS}/{made['id']}", json={"fee": 1},
                            headers={**clerk, "If-Match": made["etag"]})
    assert response.status_code == 403
    assert "fee" in response.get_json()["detail"]
    with platform.db.session(tenant_id) as session:
        assert session.execute(select(Dossier.title, Dossier.fee)).all() == [("Merger", 900)]
    # Without touching the fee, the clerk may create and change dossiers.
    own = create(client, clerk, title="Plain")
    response = client.patch(f"{DOSSIERS}/{own['id']}", json={"title": "Plainer"},
                            headers={**clerk, "If-Match": own["etag"]})
    assert response.status_code == 200, response.get_json()


def test_flush_guard_refuses_the_write_whatever_code_makes_it(world):
    platform, tenant_id, *_ = world
    with platform.db.transaction(tenant_id) as session:
        session.add(Dossier(title="Merger", fee=900))
    robot = service_principal(tenant_id, "job:robot", {"vault.dossier.read": Scope.TENANT,
                                                       "vault.dossier.update": Scope.TENANT})
    with platform.db.session(tenant_id) as session:
        act_as(session, robot)
        dossier = session.scalars(select(Dossier)).one()
        dossier.fee = 1
        with pytest.raises(PermissionDenied, match="fee"):
            session.flush()


def test_payload_redaction_for_user_facing_deliveries(world):
    _platform, tenant_id, *_ = world
    clerk = service_principal(tenant_id, "user:9", {"vault.dossier.read": Scope.TENANT})
    boss = service_principal(tenant_id, "user:8", {"vault.dossier.read": Scope.TENANT, FEE_PERMISSION: Scope.OWN})
    payload = {"title": "Merger", "fee": 900, "changes": {"fee": {"old": 1, "new": 900}, "title": {"old": "M"}}}
    assert redact_payload(clerk, "vault.dossier", payload) == {"title": "Merger", "changes": {"title": {"old": "M"}}}
    assert redact_payload(boss, "vault.dossier", payload) == payload
    assert redact_payload(None, "vault.dossier", payload) == {"title": "Merger", "changes": {"title": {"old": "M"}}}
    assert redact_payload(clerk, "core.party", payload) == payload
    assert unreadable_fields(clerk, Dossier) == {"fee"}
    assert unreadable_fields(boss, Dossier) == frozenset()


def test_party_timeline_hides_protected_values_from_readers_without_the_permission(world):
    from xrm_core.events import get_bus, publish
    from xrm_core.graph import service

    platform, tenant_id, client, admin, clerk = world
    bus = get_bus(platform)
    with platform.db.transaction(tenant_id) as session:
        party_id = service.create_party(session, "organization", "Client").id
        # An open payload that happens to carry a protected value (a timeline mixes every entity's events).
        publish(session, "core.party.updated", ("core_parties", str(party_id)),
                {"changed": ["title"], "title": "Merger", "fee": 900}, "user:1")
    bus.run_until_idle()

    def payloads(headers):
        response = client.get(f"/api/v1/parties/{party_id}/timeline?type_prefix=core.party.updated", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [item["payload"] for item in response.get_json()["items"]]

    assert payloads(admin) == [{"changed": ["title"], "title": "Merger", "fee": 900}]
    assert payloads(clerk) == [{"changed": ["title"], "title": "Merger"}]


def test_a_field_listed_through_another_models_column_is_refused_like_its_own():
    """A listing naming another model's protected column (as contacts list parties' names) refuses it too."""
    import marshmallow as ma

    from xrm_core.api.listing import Listing
    from xrm_core.api.schemas import Schema
    from xrm_core.graph.models import Party

    class PartyWithFee(Schema):
        id = ma.fields.Integer()
        fee = ma.fields.Integer()

    listing = Listing(Party, PartyWithFee, sortable=("fee",), filterable={"fee": ("eq", "gte")},
                      columns={"fee": Dossier.fee}, name="parties_with_fees")
    # outside a request the audience is unknown: every protected field is hidden (fail closed)
    with pytest.raises(ma.ValidationError) as refused:
        listing.query_schema().load({"fee__gte": "1", "sort": "-fee"})
    assert refused.value.messages == {"fee__gte": ["Unknown field."], "sort": ["Unknown sort field 'fee'; sortable: id."]}
    assert listing.query_schema().load({"sort": "-id"}).filters == ()
