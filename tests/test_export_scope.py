"""``/api/v1/exports`` and ``xrm export`` give only the records the user may export, not all they read.

Exporting needs ``<resource>.read`` and ``.export``; the export right is applied per record, as the
list pages' exports do, for the core's targets and for plugin targets reading through the SDK.
"""

from __future__ import annotations

import csv
import io
import textwrap

import pytest
from plugin_dists import CORE, Dist
from sqlalchemy import select

from xrm_core import migrate, tenants
from xrm_core.app import create_app
from xrm_core.config import load_settings
from xrm_core.dataio import engine
from xrm_core.graph.models import Party
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import GranteeKind, Scope, Share
from xrm_core.identity.principal import load_principal
from xrm_core.identity.scoping import act_as
from xrm_core.identity.tokens import create_token
from xrm_core.models import User
from xrm_core.platform import Platform
from xrm_core.plugins.discovery import discover

#: A plugin target reading parties as ORM objects through the SDK (the core's reads columns).
NAMES_PLUGIN = '''
import marshmallow as ma
from sqlalchemy import select

import xrm_sdk as xrm

MANIFEST = xrm.Manifest(name="names", title="Names")


class NameSchema(ma.Schema):
    name = ma.fields.String(required=True)


class Names(xrm.ImportTarget):
    """A plugin's export-only target that reads through its session (the plugin route of exports)."""

    name = "names.party"
    permission = "core.party"
    fields = (xrm.ImportField("name", "Name", required=True),)
    schema = NameSchema

    # Only exported here: the import side is never reached, and says so if it were.
    def find(self, *_args):
        raise AssertionError("the names target only exports")

    snapshot = create = update = delete = find

    def export_rows(self, session, ids=None):
        for party in session.scalars(select(xrm.Party).order_by(xrm.Party.id)):
            yield {"name": party.display_name}


@xrm.hookimpl
def xrm_import_targets():
    return [Names()]
'''


@pytest.fixture(scope="module")
def world(tmp_path_factory, module_database_url):
    """Acme: Sales and Support; Nina (Sales) reads Sales' parties but exports only her own; one
    Support party is read-shared to her, another read- and export-shared. Globex has its own party.
    Built once: the tests only read."""
    folder = tmp_path_factory.mktemp("export-scope")
    site = folder / "site-packages"
    Dist("xrm-fx-names", "0.1.0", "names", "xrm_fx_names", (CORE,)).write(site)
    (site / "xrm_fx_names.py").write_text(textwrap.dedent(NAMES_PLUGIN))
    config = load_settings(environ={}, instance_path=folder / "instance", database_url=module_database_url)
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(site))
        platform = Platform(config, plugins=discover(path=[str(site)]))
        migrate.upgrade(platform)
        yield from _populated(platform)
    platform.db.dispose()


def _populated(platform):
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME")
        globex = tenants.create_tenant(session, "globex", "Globex")
        tenants.enable_plugin(platform, session, acme, "names")
        acme_id, globex_id = acme.id, globex.id
    tokens = {}
    with platform.db.transaction(acme_id) as session:
        known = set(all_permissions(platform))
        sales, support = admin.create_department(session, "Sales"), admin.create_department(session, "Support")
        narrow = admin.define_role(session, "Narrow exports", {
            "core.party.read": Scope.DEPARTMENT, "core.party.export": Scope.OWN}, known)
        nina = User(email="nina@acme.test", display_name="Nina", password_hash="", department_id=sales.id)
        colleague = User(email="carl@acme.test", display_name="Carl", password_hash="", department_id=sales.id)
        session.add_all([nina, colleague])
        session.flush()
        admin.assign_role(session, nina, narrow)
        tokens["nina"] = create_token(session, nina, "tests")[1]
        parties = {}
        for name, department, owner in (("Nina's own", sales, nina), ("Carl's", sales, colleague),
                                        ("Read-shared", support, colleague), ("Export-shared", support, colleague),
                                        ("Support only", support, colleague)):
            party = Party(kind="organization", display_name=name, department_id=department.id, owner_user_id=owner.id)
            session.add(party)
            session.flush()
            parties[name] = party.id
        for name, actions in (("Read-shared", ("read",)), ("Export-shared", ("read", "export"))):
            session.add_all(Share(resource="core.party", record_id=parties[name], action=action,
                                  grantee_kind=GranteeKind.USER, grantee_id=nina.id) for action in actions)
    with platform.db.transaction(globex_id) as session:
        wide = admin.define_role(session, "Exporter", {
            "core.party.read": Scope.TENANT, "core.party.export": Scope.TENANT}, set(all_permissions(platform)))
        gina = User(email="gina@globex.test", display_name="Gina", password_hash="")
        session.add(gina)
        session.flush()
        admin.assign_role(session, gina, wide)
        tokens["gina"] = create_token(session, gina, "tests")[1]
        session.add(Party(kind="organization", display_name="Globex's", owner_user_id=gina.id))
    yield platform, acme_id, tokens


@pytest.fixture(scope="module")
def client(world):
    return create_app(platform=world[0]).test_client()


def exported_names(client, token: str, target: str = "core.party") -> list[str]:
    response = client.get(f"/api/v1/exports?target={target}&format=csv",
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    rows = csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))
    return sorted(row.get("display_name") or row["name"] for row in rows)


def test_api_export_keeps_what_the_user_may_export_not_all_they_read(world, client):
    _platform, _acme, tokens = world
    # Nina reads Sales' parties and two shared ones; she exports her own and the export-shared one.
    assert exported_names(client, tokens["nina"]) == ["Export-shared", "Nina's own"]
    # Globex's exporter gets Globex's party only, never Acme's.
    assert exported_names(client, tokens["gina"]) == ["Globex's"]


def test_a_plugin_target_gets_the_export_right_by_construction(world, client):
    _platform, _acme, tokens = world
    assert exported_names(client, tokens["nina"], "names.party") == ["Export-shared", "Nina's own"]


def test_the_session_reads_as_before_once_the_export_is_written(world):
    platform, acme, _tokens = world
    with platform.db.session(acme) as session:
        nina = session.scalars(select(User).where(User.email == "nina@acme.test")).one()
        act_as(session, load_principal(session, nina))
        out = io.BytesIO()
        assert engine.export(session, platform, "core.party", "jsonl", out) == 2
        assert sorted(session.scalars(select(Party.display_name))) == ["Carl's", "Export-shared", "Nina's own",
                                                                       "Read-shared"]
