"""Shared set-up of the contacts tests: people created through the API, and department-scoped staff."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Scope
from xrm_core.identity.tokens import create_token
from xrm_core.models import User

#: What a sales rep holds, at department scope, in the department tests.
SALES_REP = ("core.party.read", "core.party.create", "core.party.update", "core.party.delete", "core.party.export",
             "core.party.link", "contacts.person.read", "contacts.person.create", "contacts.person.update",
             "contacts.person.delete", "contacts.interaction.read", "contacts.interaction.create",
             "contacts.consent.read", "contacts.consent.create", "contacts.consent.update")


@dataclass
class Staff:
    """Two sales departments with one rep each, and the ids of their departments."""

    north: FlaskClient
    south: FlaskClient
    north_id: int
    south_id: int
    north_user_id: int


@pytest.fixture
def staff(xrm_platform, xrm_app, xrm_tenant) -> Staff:
    clients, ids = {}, {}
    with xrm_platform.db.transaction(xrm_tenant.id) as session:
        sales = admin.create_department(session, "Sales")
        role = admin.define_role(session, "Sales rep", {p: Scope.DEPARTMENT for p in SALES_REP},
                                 set(all_permissions(xrm_platform)))
        for name in ("North", "South"):
            department = admin.create_department(session, f"Sales {name}", sales)
            user = User(email=f"{name.lower()}@test.example", display_name=f"Rep {name}", password_hash="",
                        department_id=department.id)
            session.add(user)
            session.flush()
            admin.assign_role(session, user, role)
            client = xrm_app.test_client()
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {create_token(session, user, 'tests')[1]}"
            clients[name], ids[name], ids[f"{name}_user"] = client, department.id, user.id
    return Staff(clients["North"], clients["South"], ids["North"], ids["South"], ids["North_user"])
