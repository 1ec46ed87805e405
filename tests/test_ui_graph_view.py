"""The relationship map of a party's page: its data (graph.json), filters, permissions, cap and text list.

The UI test world plus a few relationships around Zenith Industries (sam sees the Sales
department's parties, not Support's)::

    Zenith --employs--> Alice --knows-- Sales contact 00 --knows-- Sales contact 01
    Zenith --knows-- Support Secret Ltd --knows-- Sales contact 02
    Zenith --knows (2020 only)-- Sales contact 03
"""

from __future__ import annotations

from datetime import date

import pytest
import ui_world
import ui_world_fixtures
from ui_world import sign_in

from xrm_core.graph.models import Party
from xrm_core.graph.service import define_relationship_type, relate
from xrm_core.ui import graph_view


@pytest.fixture
def world(world_platform):
    world = ui_world.build(world_platform)
    with world_platform.db.transaction(world.tenant_id) as session:
        define_relationship_type(session, "knows", "knows", symmetric=True)

        def party(name):
            return session.get(Party, world.parties[name])

        relate(session, party("Alice Martin"), party("Sales contact 00"), "knows")
        relate(session, party("Sales contact 00"), party("Sales contact 01"), "knows")
        relate(session, party("Zenith Industries"), party("Support Secret Ltd"), "knows")
        relate(session, party("Support Secret Ltd"), party("Sales contact 02"), "knows")
        relate(session, party("Zenith Industries"), party("Sales contact 03"), "knows",
               valid_from=date(2020, 1, 1), valid_to=date(2020, 12, 31))
    return world


app = ui_world_fixtures.world_app  # the world's app (conftest's ``app`` serves another platform)


def client_of(app, email):
    client = app.test_client()
    sign_in(client, email)
    return client


def graph(client, party_id, **args):
    response = client.get(f"/parties/{party_id}/graph.json", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def names(picture) -> dict[str, int]:
    """Party name -> hops from the centre."""
    return {node["label"]: node["hops"] for node in picture["nodes"]}


def links(picture) -> set[tuple[str, str, str]]:
    """(from name, label, to name) of every edge."""
    by_id = {node["id"]: node["label"] for node in picture["nodes"]}
    return {(by_id[edge["source"]], edge["label"], by_id[edge["target"]]) for edge in picture["edges"]}


def test_the_map_holds_the_visible_depth_two_neighbourhood_and_filters_redraw_it(app, world):
    sam = client_of(app, "sam@acme.test")
    zenith = world.parties["Zenith Industries"]

    picture = graph(sam, zenith)
    # Support's party and the contact reached only through it are neither drawn nor walked through.
    assert names(picture) == {"Zenith Industries": 0, "Alice Martin": 1, "Sales contact 00": 2}
    assert links(picture) == {("Zenith Industries", "employs", "Alice Martin"),
                              ("Alice Martin", "knows", "Sales contact 00")}
    centre = next(node for node in picture["nodes"] if node["centre"])
    assert (centre["party_id"], centre["kind"], centre["roles"]) == (zenith, "organization", ["Customer"])
    assert centre["url"] == f"/parties/{zenith}"
    assert {edge["type"]: edge["symmetric"] for edge in picture["edges"]} == {"employs": False, "knows": True}
    assert picture["capped"] is False and picture["total_nodes"] == 3

    # The administrator sees Support's party, so the same map reaches further.
    admin = names(graph(client_of(app, "admin@acme.test"), zenith))
    assert admin.keys() == {"Zenith Industries", "Alice Martin", "Sales contact 00", "Support Secret Ltd",
                            "Sales contact 02"}

    assert names(graph(sam, zenith, type="employs")) == {"Zenith Industries": 0, "Alice Martin": 1}
    assert names(graph(sam, zenith, type="employs,knows")) == names(picture)
    assert names(graph(sam, zenith, depth=1)) == {"Zenith Industries": 0, "Alice Martin": 1}
    assert names(graph(sam, zenith, as_of="2020-06-01")) == {
        "Zenith Industries": 0, "Alice Martin": 1, "Sales contact 00": 2, "Sales contact 03": 1}

    # The page draws the same picture, and lists its relationships as text.
    page = sam.get(f"/parties/{zenith}?type=knows").get_data(as_text=True)
    assert 'id="party-graph-data"' in page and "vendor/cytoscape/cytoscape.min.js" in page
    listed = page.split('id="party-graph-edges"')[1].split("</tbody>")[0]
    assert listed.count("<tr>") == 0  # Zenith knows no one sam may see today
    assert 'value="knows" checked' in page and 'value="employs" ' in page
    listed = sam.get(f"/parties/{zenith}").get_data(as_text=True).split('id="party-graph-edges"')[1]
    assert listed.split("</tbody>")[0].count("<tr>") == 2
    assert "Sales contact 00" in listed and "Support Secret Ltd" not in listed


def test_invisible_parties_are_404_and_a_wrong_filter_is_named(app, world):
    sam = client_of(app, "sam@acme.test")
    for hidden in ("Support Secret Ltd", "Globex Partner"):
        response = sam.get(f"/parties/{world.parties[hidden]}/graph.json", headers={"Accept": "application/json"})
        assert response.status_code == 404
        assert "Support Secret" not in response.get_data(as_text=True)

    zenith = world.parties["Zenith Industries"]
    for args, field in (({"type": "employs,marries"}, "type"), ({"as_of": "yesterday"}, "as_of"),
                        ({"depth": "3"}, "depth"), ({"depth": "two"}, "depth")):
        response = sam.get(f"/parties/{zenith}/graph.json", query_string=args)
        assert response.status_code == 422, args
        assert response.mimetype == "application/problem+json"
        assert list(response.get_json()["errors"]) == [field]

    # On the page, the wrong argument is reported and the map keeps its default.
    response = sam.get(f"/parties/{zenith}?type=marries")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="graph-type-error"' in page and "There is no relationship type marries." in page
    assert page.split('id="party-graph-edges"')[1].split("</tbody>")[0].count("<tr>") == 2


def test_the_map_keeps_the_nearest_parties_and_says_it_left_some_out(app, world, monkeypatch):
    monkeypatch.setattr(graph_view, "MAX_NODES", 2)
    sam = client_of(app, "sam@acme.test")
    zenith = world.parties["Zenith Industries"]

    picture = graph(sam, zenith)
    assert names(picture) == {"Zenith Industries": 0, "Alice Martin": 1}
    assert links(picture) == {("Zenith Industries", "employs", "Alice Martin")}
    assert picture["capped"] is True and picture["total_nodes"] == 3
    assert picture["notice"] == "Showing the 2 nearest of 3 related parties."
    assert "Showing the 2 nearest of 3 related parties." in sam.get(f"/parties/{zenith}").get_data(as_text=True)
