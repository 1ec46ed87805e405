"""The plugin's behaviour, through the SDK's pytest harness (the ``xrm_*`` fixtures)."""

import pytest
import xrm_sdk as xrm
from sqlalchemy import select

from xrm_contacts import plugin
from xrm_contacts.actions import ADD_ITEM, AddItemParams
from xrm_contacts.models import Item

ITEMS = "/api/v1/contacts/items"


def test_the_api_adds_lists_and_gets_items_and_publishes_an_event(xrm_client, xrm_events):
    created = xrm_client.post(ITEMS, json={"name": "First", "notes": "Hello"})
    assert created.status_code == 201, created.get_json()
    item = created.get_json()
    assert (item["name"], item["notes"], item["version"]) == ("First", "Hello", 1)
    assert created.headers["Location"].endswith(f"{ITEMS}/{item['id']}")

    fetched = xrm_client.get(created.headers["Location"])
    assert fetched.get_json()["name"] == "First"
    assert fetched.headers["ETag"] == item["etag"]
    assert [i["name"] for i in xrm_client.get(ITEMS).get_json()["items"]] == ["First"]
    assert [(e.type, dict(e.payload)) for e in xrm_events] == [("contacts.item.created", {"name": "First"})]


def test_bad_input_is_a_problem_naming_the_field_and_nothing_is_added(xrm_client, xrm_events):
    response = xrm_client.post(ITEMS, json={"name": "", "colour": "red"})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert set(response.get_json()["errors"]) == {"name", "colour"}
    assert xrm_client.get(ITEMS).get_json()["items"] == []
    assert xrm_events == []


def test_a_duplicate_name_is_a_conflict(xrm_client):
    assert xrm_client.post(ITEMS, json={"name": "Twice"}).status_code == 201
    assert xrm_client.post(ITEMS, json={"name": "Twice"}).status_code == 409


def test_an_unknown_item_is_404(xrm_client):
    response = xrm_client.get(f"{ITEMS}/999999")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_reading_and_adding_follow_the_permissions(xrm_client, xrm_login):
    assert xrm_client.post(ITEMS, json={"name": "Admin's"}).status_code == 201
    reader = xrm_login("contacts.item.read")
    assert [i["name"] for i in reader.get(ITEMS).get_json()["items"]] == ["Admin's"]
    assert reader.post(ITEMS, json={"name": "Reader's"}).status_code == 403
    own_only = xrm_login("contacts.item.read", "contacts.item.create", scope="own")
    assert own_only.post(ITEMS, json={"name": "Mine"}).status_code == 201
    assert [i["name"] for i in own_only.get(ITEMS).get_json()["items"]] == ["Mine"]


def test_the_page_lists_items_and_the_navigation_links_to_it(xrm_client):
    xrm_client.post(ITEMS, json={"name": "On the page"})
    page = xrm_client.get("/contacts/")
    assert page.status_code == 200
    assert "On the page" in page.get_data(as_text=True)
    home = xrm_client.get("/").get_data(as_text=True)
    assert 'href="/contacts/"' in home


def test_the_workflow_action_validates_its_parameters_and_adds_an_item(xrm_session, xrm_events):
    with pytest.raises(xrm.ValidationError) as refused:
        AddItemParams().load({"notes": "no name"})
    assert list(refused.value.messages) == ["name"]
    result = ADD_ITEM.run(params=ADD_ITEM.params().load({"name": "From a workflow"}), session=xrm_session)
    xrm_session.commit()
    assert xrm_session.get(Item, result["item_id"]).name == "From a workflow"
    assert [e.type for e in xrm_events] == ["contacts.item.created"]


def test_demo_data_is_added_once(xrm_tenant, xrm_session):
    plugin.xrm_demo_data(tenant=xrm_tenant, session=xrm_session)
    plugin.xrm_demo_data(tenant=xrm_tenant, session=xrm_session)
    assert sorted(xrm_session.scalars(select(Item.name))) == ["First item", "Second item"]
