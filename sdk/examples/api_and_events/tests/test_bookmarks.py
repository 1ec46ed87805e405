"""Each contribution of the ``bookmarks`` example, exercised through the platform (the SDK's harness)."""

import pytest
from sqlalchemy import select
from xrm_bookmarks import plugin
from xrm_bookmarks.models import Bookmark

pytestmark = pytest.mark.xrm_plugins("bookmarks")  # see hello_page/tests/test_hello.py

BOOKMARKS = "/api/v1/bookmarks/bookmarks"


def test_xrm_blueprints_xrm_permissions_xrm_event_types_and_xrm_models(xrm_client, xrm_login, xrm_events):
    """The API follows the permissions; adding publishes the event, a refused request nothing."""
    created = xrm_client.post(BOOKMARKS, json={"title": "Specs", "url": "https://example.org/specs"})
    assert created.status_code == 201, created.get_json()
    assert xrm_client.get(created.headers["Location"]).headers["ETag"] == created.get_json()["etag"]
    assert [(e.type, dict(e.payload)) for e in xrm_events] == [
        ("bookmarks.bookmark.created", {"title": "Specs", "url": "https://example.org/specs"})]

    refused = xrm_client.post(BOOKMARKS, json={"title": "", "url": "javascript:alert(1)"})
    assert (refused.status_code, refused.mimetype) == (422, "application/problem+json")
    assert set(refused.get_json()["errors"]) == {"title", "url"}

    reader = xrm_login("bookmarks.bookmark.read")
    assert "Specs" in [b["title"] for b in reader.get(BOOKMARKS).get_json()["items"]]
    assert reader.post(BOOKMARKS, json={"title": "Mine", "url": "/"}).status_code == 403
    assert xrm_login().get(BOOKMARKS).get_json()["items"] == []  # no permission: sees nothing
    assert len(xrm_events) == 1  # neither the refused nor the forbidden request published anything


def test_xrm_list_views_serves_the_list_page_with_the_listing_rules(xrm_client, xrm_login):
    """The core's page at /lists/<name>: filtered, exported, and only for users with the permission."""
    for title in ("Specs", "Roadmap"):
        assert xrm_client.post(BOOKMARKS, json={"title": title, "url": "/parties"}).status_code == 201
    page = xrm_client.get("/lists/bookmarks.bookmarks?title__contains=spec")
    assert page.status_code == 200
    assert ">Specs</a>" in page.get_data(as_text=True) and "Roadmap" not in page.get_data(as_text=True)
    exported = xrm_client.get("/lists/bookmarks.bookmarks/export.csv?sort=-title&columns=title")
    rows = [line.split(",", 1) for line in exported.get_data().decode("utf-8-sig").splitlines()]
    assert [title for _id, title in rows] == ["Title", "Specs", "Roadmap", "API documentation"]
    assert xrm_login().get("/lists/bookmarks.bookmarks").status_code == 403


def test_xrm_tenant_setup_and_xrm_demo_data_add_what_is_missing_only(xrm_tenant, xrm_session):
    plugin.xrm_tenant_setup(tenant=xrm_tenant, session=xrm_session)  # again, after enabling did it once
    for _ in range(2):
        plugin.xrm_demo_data(tenant=xrm_tenant, session=xrm_session)
    assert sorted(xrm_session.scalars(select(Bookmark.title))) == [
        "API documentation", "Parties", "XRM on the web"]


def test_xrm_event_handlers_and_xrm_on_event_follow_the_parties(xrm_client, xrm_deliver_events):
    def party_bookmarks():
        return [(b["title"], b["url"]) for b in xrm_client.get(BOOKMARKS).get_json()["items"] if b["party_id"]]

    party = xrm_client.post("/api/v1/parties", json={"kind": "organization", "display_name": "ACME"})
    party_id = party.get_json()["id"]
    assert party_bookmarks() == []  # subscribers run after the commit, never inside the request
    xrm_deliver_events()
    assert party_bookmarks() == [("ACME", f"/parties/{party_id}")]

    renamed = xrm_client.patch(f"/api/v1/parties/{party_id}", json={"display_name": "ACME Corp"},
                               headers={"If-Match": party.headers["ETag"]})
    assert renamed.status_code == 200, renamed.get_json()
    xrm_deliver_events()
    assert party_bookmarks() == [("ACME Corp", f"/parties/{party_id}")]
