"""The board component (``xrm.Board``) through the Flask test client, on the test plugin's complaints.

Each user's board shows the cards their rights reach; a move goes through the plugin's service;
a refused move changes nothing and says why: on the page for a form, as problem+json for the
board's script and API clients.
"""

from __future__ import annotations

import board_world
import pytest
import ui_world

from xrm_core import migrate
from xrm_core.app import create_app

BOARD = "/board/complaints"
MOVE = f"{BOARD}/move"
JSON = {"Accept": "application/json"}


@pytest.fixture
def world_platform(make_platform):
    platform = make_platform(*board_world.PLUGINS)
    migrate.upgrade(platform)
    return platform


@pytest.fixture
def built(world_platform):
    return board_world.build(world_platform)


@pytest.fixture
def app(world_platform):
    app = create_app(platform=world_platform)
    app.config["TESTING"] = True
    return app


def client_of(app, email):
    client = app.test_client()
    ui_world.sign_in(client, email)
    return client


def move(client, card, column, **headers):
    token = ui_world.csrf_token(client.get(BOARD).get_data(as_text=True))
    return client.post(MOVE, data={"csrf_token": token, "card": card, "column": column}, headers=headers)


def test_a_permitted_move_answers_a_form_a_script_and_an_api_client_each_in_kind(app, built, world_platform):
    world, complaints = built
    sam = client_of(app, "sam@acme.test")
    moved = move(sam, complaints["Late delivery"], "investigating")
    assert moved.status_code == 303 and moved.headers["Location"].endswith(BOARD)
    assert board_world.stage_of(world_platform, world, complaints["Late delivery"]) == "investigating"
    assert "Moved to Investigating." in sam.get(BOARD).get_data(as_text=True)

    fragment = move(sam, complaints["Late delivery"], "resolved", **{"X-XRM-Board": "fragment"})
    assert fragment.status_code == 422  # the plugin's rule: resolving needs a resolution
    fragment = move(sam, complaints["Late delivery"], "new", **{"X-XRM-Board": "fragment"})
    assert fragment.status_code == 200 and fragment.mimetype == "text/html"
    html = fragment.get_data(as_text=True)
    assert html.lstrip().startswith('<div class="board"') and "<h1>" not in html and "Moved to New." in html
    new = html.split('data-board-column="new"')[1].split('data-board-column="investigating"')[0]
    assert "Late delivery" in new and "Broken part" not in new

    answer = move(sam, complaints["Broken part"], "new", **JSON)
    assert answer.status_code == 200
    assert answer.get_json() == {"card": str(complaints["Broken part"]), "column": "new", "detail": "Moved to New."}
    assert board_world.stage_of(world_platform, world, complaints["Broken part"]) == "new"


def test_each_user_sees_the_cards_their_rights_reach_and_a_refused_move_changes_nothing(app, built, world_platform):
    world, complaints = built
    sam, sue, pat = (client_of(app, f"{name}@acme.test") for name in ("sam", "sue", "pat"))
    page = sam.get(BOARD)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Late delivery" in html and "Broken part" in html and "Wrong invoice" not in html
    assert html.count('data-board-column="') == 3 and "Needs a resolution." in html
    assert f'data-board-card="{complaints["Late delivery"]}" data-draggable' in html
    assert html.count('class="board-move"') == 2 and "xrm-board.js" in html
    read_only = sue.get(BOARD).get_data(as_text=True)
    assert "Late delivery" in read_only and "data-draggable" not in read_only and 'class="board-move"' not in read_only
    support = pat.get(BOARD).get_data(as_text=True)
    assert "Wrong invoice" in support and "Late delivery" not in support

    forbidden = move(sue, complaints["Late delivery"], "investigating", **JSON)
    assert forbidden.status_code == 403 and forbidden.mimetype == "application/problem+json"
    assert forbidden.get_json()["detail"] == "Not moved: You may not move cards on this board."

    refused = move(sam, complaints["Broken part"], "resolved")
    assert refused.status_code == 422
    assert "Not moved: resolution: Write the resolution before resolving the complaint." in refused.get_data(
        as_text=True)
    problem = move(sam, complaints["Broken part"], "resolved", **{"X-XRM-Board": "fragment"}).get_json()
    assert problem["status"] == 422 and list(problem["errors"]) == ["resolution"]
    assert problem["detail"].startswith("Not moved: resolution: Write the resolution")
    unknown = move(sam, complaints["Broken part"], "archived", **JSON)
    assert unknown.status_code == 422 and list(unknown.get_json()["errors"]) == ["column"]

    hidden = move(sam, complaints["Wrong invoice"], "investigating", **JSON)
    assert hidden.status_code == 404
    assert hidden.get_json()["detail"] == f"Not moved: No complaint {complaints['Wrong invoice']}."
    assert [board_world.stage_of(world_platform, world, complaints[title]) for title in
            ("Late delivery", "Broken part", "Wrong invoice")] == ["new", "investigating", "new"]
