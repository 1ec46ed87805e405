"""``xrm demo`` with the first-party plugins: every plugin enabled with its sample data, and department
staff working in each plugin's pages with the rights the demo roles give them.

What ``make run`` serves, checked page by page (through each plugin's navigation and the party 360).
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select

from xrm_core import contributions, tenants
from xrm_core.app import create_app
from xrm_core.cli import DEMO_TENANT, cli
from xrm_core.graph.models import Party
from xrm_core.identity.principal import load_principal
from xrm_core.identity.tokens import create_token
from xrm_core.models import User

FIRST_PARTY = ("contacts", "activities", "sales")
pytestmark = pytest.mark.xrm_plugins(*FIRST_PARTY)


@pytest.fixture
def demo(xrm_platform):
    app = create_app(platform=xrm_platform)
    app.config["TESTING"] = True
    result = CliRunner().invoke(cli, ["demo"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    with xrm_platform.db.session(all_tenants=True) as session:
        tenant = tenants.get_tenant(session, DEMO_TENANT)
    return app, tenant


def staff(platform, tenant, email: str):
    """A test client of a demo member of staff (a personal token of theirs) and their principal."""
    with platform.db.transaction(tenant.id) as session:
        user = session.scalar(select(User).where(User.email == email))
        _, token = create_token(session, user, "demo test")
        principal = load_principal(session, user)
    return token, principal


def test_the_demo_enables_every_first_party_plugin_with_sample_data(xrm_platform, demo):
    _, tenant = demo
    with xrm_platform.db.session(tenant.id) as session:
        assert set(FIRST_PARTY) <= set(xrm_platform.enabled_plugins(session))
        for plugin in FIRST_PARTY:
            tables = xrm_platform.plugin_tables(plugin)
            filled = [t.name for t in tables if session.execute(select(t).limit(1)).first() is not None]
            assert filled, f"the {plugin} plugin added no sample data"


def test_staff_roles_carry_each_plugins_rights_at_department_scope(xrm_platform, demo):
    _, tenant = demo
    _, nora = staff(xrm_platform, tenant, "nora.north@demo.example")
    for plugin in FIRST_PARTY:
        reads = [p for p, scope in nora.grants.items() if p.startswith(f"{plugin}.") and p.endswith(".read")]
        assert reads and all(nora.grants[p].value == "department" for p in reads), plugin


def test_every_plugin_page_in_the_navigation_answers_for_a_sales_rep(xrm_platform, demo):
    app, tenant = demo
    token, _ = staff(xrm_platform, tenant, "nora.north@demo.example")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    with xrm_platform.db.session(tenant.id) as session:
        entries = xrm_platform.contributions_for_tenant("xrm_navigation", contributions.NavEntry, tenant, session)
        party_id = session.scalar(select(Party.id).where(Party.display_name == "Atlas Industries"))
    plugins = {plugin for plugin, _ in entries}
    assert set(FIRST_PARTY) <= plugins
    for plugin, entry in entries:
        response = client.get(entry.url, headers=headers)
        assert response.status_code == 200, f"{plugin} {entry.url}: {response.status_code}"
    # The party 360 lists the plugins' panels; each renders for her.
    page = client.get(f"/parties/{party_id}", headers=headers)
    assert page.status_code == 200
    panels = client.get(f"/api/v1/parties/{party_id}/360", headers=headers).get_json()["panels"]
    assert {panel["plugin"] for panel in panels} >= {"contacts", "activities", "sales"}
    assert all(panel.get("error") is None for panel in panels), panels
