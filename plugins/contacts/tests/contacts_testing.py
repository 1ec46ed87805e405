"""What the contacts tests share besides fixtures: the API's addresses and a person made through it.

A module of its own (on pytest's ``pythonpath``), because with ``--import-mode=importlib`` — how the
workspace runs every suite at once — a test module cannot import ``conftest``.
"""

from __future__ import annotations

from flask.testing import FlaskClient

PEOPLE = "/api/v1/contacts/people"
ORGANIZATIONS = "/api/v1/contacts/organizations"
INTERACTIONS = "/api/v1/contacts/interactions"


def create_person(client: FlaskClient, **fields) -> dict:
    response = client.post(PEOPLE, json={"given_name": "Ada", "family_name": "Lovelace", **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()
