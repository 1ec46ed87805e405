"""A tenant for the web UI's tests: departments, users with department-scoped rights, parties.

Used by ``tests/test_ui.py`` (Flask test client) and ``tests/test_ui_browser.py`` (Chromium), so
both exercise the same world.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from plugin_dists import CORE, Dist

from xrm_core import tenants
from xrm_core.graph.models import Party
from xrm_core.graph.service import add_role, create_party, define_relationship_type, relate
from xrm_core.identity import admin
from xrm_core.identity.bootstrap import ensure_administrator
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Scope
from xrm_core.identity.passwords import hash_password
from xrm_core.models import User

SHOWCASE = Dist("xrm-fx-showcase", "0.1.0", "showcase", "xrm_fx_showcase.plugin", (CORE,))
PASSWORD = "correct horse battery staple"
#: Parties of the sales department, beyond the two named ones: enough for several pages.
MANY = 30


@dataclass
class World:
    tenant_id: int
    other_tenant_id: int
    #: e-mail -> user id
    users: dict[str, int] = field(default_factory=dict)
    #: name -> party id
    parties: dict[str, int] = field(default_factory=dict)


def _user(session, email: str, name: str, department, role) -> User:
    user = User(email=email, display_name=name, password_hash=hash_password(PASSWORD, email=email),
                department_id=department.id if department else None)
    session.add(user)
    session.flush()
    admin.assign_role(session, user, role)
    return user


def build(platform) -> World:
    """Tenant ``acme`` (sales and support departments, showcase and notes enabled) and ``globex``."""
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME Corporation")
        for plugin in ("notes", "showcase"):
            tenants.enable_plugin(platform, session, acme, plugin)
        globex = tenants.create_tenant(session, "globex", "Globex")
        tenants.enable_plugin(platform, session, globex, "notes")
        world = World(acme.id, globex.id)
    with platform.db.transaction(world.tenant_id) as session:
        admin_user = ensure_administrator(session, platform, "admin@acme.test", PASSWORD, "Ada Admin")
        sales = admin.create_department(session, "Sales")
        support = admin.create_department(session, "Support")
        known = set(all_permissions(platform))
        staff = admin.define_role(session, "Staff", {
            "core.party.read": Scope.DEPARTMENT, "core.party.create": Scope.DEPARTMENT,
            "core.party.update": Scope.DEPARTMENT, "core.party.export": Scope.DEPARTMENT,
        }, known)
        for email, name, department in (("sam@acme.test", "Sam Seller", sales),
                                         ("sue@acme.test", "Sue Seller", sales),
                                         ("pat@acme.test", "Pat Support", support)):
            world.users[email] = _user(session, email, name, department, staff).id
        world.users["admin@acme.test"] = admin_user.id
        admin_user.department_id = sales.id
        define_relationship_type(session, "employs", "employs", "works for")
        named = {
            "Zenith Industries": ("organization", "customer", ["vip"]),
            "Alice Martin": ("person", "prospect", ["newsletter"]),
        }
        for name, (kind, role, tags) in named.items():
            party = create_party(session, kind, name, tags, department_id=sales.id)
            add_role(session, party, role)
            world.parties[name] = party.id
        relate(session, session.get(Party, world.parties["Zenith Industries"]),
               session.get(Party, world.parties["Alice Martin"]), "employs")
        for number in range(MANY):
            party = create_party(session, "person", f"Sales contact {number:02d}", department_id=sales.id)
            world.parties[party.display_name] = party.id
        hidden = create_party(session, "organization", "Support Secret Ltd", department_id=support.id)
        world.parties["Support Secret Ltd"] = hidden.id
    with platform.db.transaction(world.other_tenant_id) as session:
        ensure_administrator(session, platform, "admin@globex.test", PASSWORD, "Gil Globex")
        world.parties["Globex Partner"] = create_party(session, "organization", "Globex Partner").id
    return world


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, email: str, tenant: str = "acme") -> None:
    """Sign in through the form, as a browser would."""
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": token, "tenant": tenant, "email": email,
                                           "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
