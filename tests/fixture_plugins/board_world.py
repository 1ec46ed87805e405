"""The UI world (``ui_world``) plus complaints on the test board plugin (``xrm_fx_board``).

Shared by ``tests/test_ui_board.py`` (Flask test client) and ``tests/test_ui_board_browser.py``
(Chromium). In ``acme``: sam and pat may read and move the complaints of their department, sue
(Sales) may only read them; two complaints in Sales, one in Support.
"""

from __future__ import annotations

import ui_world
from plugin_dists import DISTS
from sqlalchemy import select
from xrm_fx_board.plugin import Complaint

from xrm_core import tenants
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Department, Scope
from xrm_core.models import Tenant, User

#: What the platform is made of: the UI world's plugins and the board plugin.
PLUGINS = ("notes", ui_world.SHOWCASE, DISTS["board"])


def build(platform) -> tuple[ui_world.World, dict[str, int]]:
    """The UI world with the complaints; returns it and the complaints' ids by title."""
    world = ui_world.build(platform)
    with platform.db.transaction(all_tenants=True) as session:
        tenants.enable_plugin(platform, session, session.get(Tenant, world.tenant_id), "board")
    complaints: dict[str, int] = {}
    with platform.db.transaction(world.tenant_id) as session:
        known = set(all_permissions(platform))
        movers = admin.define_role(session, "Complaint handlers", {
            "board.complaint.read": Scope.DEPARTMENT, "board.complaint.update": Scope.DEPARTMENT}, known)
        readers = admin.define_role(session, "Complaint readers", {"board.complaint.read": Scope.DEPARTMENT}, known)
        for email, role in (("sam@acme.test", movers), ("pat@acme.test", movers), ("sue@acme.test", readers)):
            admin.assign_role(session, session.get(User, world.users[email]), role)
        department = {d.name: d.id for d in session.scalars(select(Department))}
        for title, stage, where in (("Late delivery", "new", "Sales"), ("Broken part", "investigating", "Sales"),
                                    ("Wrong invoice", "new", "Support")):
            complaint = Complaint(title=title, stage=stage, department_id=department[where])
            session.add(complaint)
            session.flush()
            complaints[title] = complaint.id
    return world, complaints


def stage_of(platform, world, complaint_id: int) -> str:
    """The complaint's stage as stored, read past every user's scope."""
    with platform.db.session(world.tenant_id, read_only=True) as session:
        return session.get(Complaint, complaint_id).stage
