"""Helpers of the activities tests: staff in departments, signed in through the platform's own API."""

from __future__ import annotations

import uuid

import pytest

API = "/api/v1"
REP_GRANTS = ["core.party.read@tenant", *(
    f"activities.{resource}.{action}@department"
    for resource in ("task", "meeting", "time") for action in ("read", "create", "update", "delete"))]


@pytest.fixture
def xrm_staff(xrm_app, xrm_client):
    """``xrm_staff("Sales North")``: a client of a new sales rep of that department (created once).

    The rep reads every party and holds every activities permission at department scope. Returns ``(client, user_id,
    department_id)``.
    """
    departments: dict[str, int] = {}
    role = xrm_client.post(f"{API}/roles", json={"name": f"rep-{uuid.uuid4().hex[:6]}", "grants": REP_GRANTS})
    assert role.status_code == 201, role.get_json()
    role_id = role.get_json()["id"]

    def staff(department: str):
        if department not in departments:
            created = xrm_client.post(f"{API}/departments", json={"name": department})
            assert created.status_code == 201, created.get_json()
            departments[department] = created.get_json()["id"]
        email = f"rep-{uuid.uuid4().hex[:8]}@test.example"
        user = xrm_client.post(f"{API}/users", json={
            "email": email, "display_name": email.split("@")[0], "password": "correct horse battery staple 42",
            "department_id": departments[department]})
        assert user.status_code == 201, user.get_json()
        user_id = user.get_json()["id"]
        assert xrm_client.put(f"{API}/users/{user_id}/roles/{role_id}").status_code in (200, 204)
        token = xrm_client.post(f"{API}/tokens", json={"user_id": user_id, "name": "tests"})
        assert token.status_code == 201, token.get_json()
        client = xrm_app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token.get_json()['token']}"
        return client, user_id, departments[department]

    return staff
