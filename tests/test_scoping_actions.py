"""One statement of the permission rules in SQL (``scoping.permitted``) for every action, equal to ``can()``.

The read criteria (a cached lambda) and the export clause both come from it and apply to the same
statement while exporting: each must keep its own values, so what an export reads is exactly what
``can(read)`` and ``can(export)`` allow, for a user whose export reach is narrower than her read
reach (read: department, export: own) and for one whose is wider elsewhere (read: own and related
along one relationship type; export: department and related along another).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from xrm_core import migrate, tenants
from xrm_core.config import load_settings
from xrm_core.dataio.export_scope import exporting
from xrm_core.graph import service
from xrm_core.graph.models import Party
from xrm_core.identity import admin
from xrm_core.identity.admin import Grant
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import GranteeKind, Scope, Share
from xrm_core.identity.principal import load_principal
from xrm_core.identity.scoping import act_as, can, permitted, scope_facts
from xrm_core.models import User
from xrm_core.platform import Platform
from xrm_core.plugins.discovery import discover


@pytest.fixture(scope="module")
def world(tmp_path_factory, module_database_url):
    """Acme: Sales (with Sales North) and Support. Nina (Sales, in team Key accounts) reads Sales'
    parties and exports her own and her team's; Rita (Support) reads her own and those her firm
    referred, and exports Support's and those her firm employs. Shares open single parties to Nina.
    Globex has a party of its own. Built once: the tests only read."""
    folder = tmp_path_factory.mktemp("scoping-actions")
    config = load_settings(environ={}, instance_path=folder / "instance", database_url=module_database_url)
    platform = Platform(config, plugins=discover(path=[]))
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        acme_id = tenants.create_tenant(session, "acme", "ACME").id
        globex_id = tenants.create_tenant(session, "globex", "Globex").id
    with platform.db.transaction(globex_id) as session:
        service.create_party(session, "organization", "Globex's")
    with platform.db.transaction(acme_id) as session:
        known = set(all_permissions(platform))
        service.define_relationship_type(session, "referred", "referred", "was referred by")
        service.define_relationship_type(session, "employs", "employs", "works for")
        sales = admin.create_department(session, "Sales")
        north = admin.create_department(session, "Sales North", parent=sales)
        support = admin.create_department(session, "Support")
        firm = service.create_party(session, "organization", "Firm")
        users = {}
        for name, department in (("nina", sales), ("carl", sales), ("sue", north), ("rita", support)):
            users[name] = User(email=f"{name}@acme.test", display_name=name.title(), password_hash="",
                               department_id=department.id, party_id=firm.id if name in ("nina", "rita") else None)
        session.add_all(users.values())
        session.flush()
        team = admin.create_team(session, "Key accounts", [users["nina"]])
        admin.assign_role(session, users["nina"], admin.define_role(session, "Narrow exports", {
            "core.party.read": Scope.DEPARTMENT, "core.party.export": Scope.OWN, "core.party.update": Scope.OWN,
        }, known))
        # Both of Rita's rights follow relationships, along different types: her read criteria and
        # export clause have the same SQL shape (as Nina's have), with different values.
        admin.assign_role(session, users["rita"], admin.define_role(session, "Wide exports", {
            "core.party.read": Grant(Scope.RELATED, ("referred",)),
            "core.party.export": Grant(Scope.RELATED, ("employs",)),
        }, known))
        admin.assign_role(session, users["rita"], admin.define_role(session, "Support exporter", {
            "core.party.export": Scope.DEPARTMENT,
        }, known))
        admin.assign_role(session, users["rita"], admin.define_role(session, "Own reader", {
            "core.party.read": Scope.OWN, "core.party.update": Scope.OWN,
        }, known))
        parties = {}
        for name, department, owner, owning_team in (
            ("Nina's own", sales, "nina", None), ("Carl's", sales, "carl", None), ("Team's", support, None, team),
            ("Referred", sales, "carl", None), ("Read-shared", support, "carl", None),
            ("Export-shared", support, "carl", None), ("Export-only shared", support, "carl", None),
            ("Department-shared", support, "carl", None), ("North's", north, "sue", None),
            ("Rita's own", support, "rita", None), ("Support's", support, "carl", None),
            ("Employed", support, "carl", None),
        ):
            parties[name] = Party(kind="organization", display_name=name, department_id=department.id,
                                  owner_user_id=users[owner].id if owner else None,
                                  owner_team_id=owning_team.id if owning_team else None)
        session.add_all(parties.values())
        session.flush()
        service.relate(session, firm, parties["Referred"], "referred")
        service.relate(session, firm, parties["Employed"], "employs")
        for name, action, kind, grantee in (
            ("Read-shared", "read", GranteeKind.USER, users["nina"].id),
            ("Export-shared", "read", GranteeKind.USER, users["nina"].id),
            ("Export-shared", "export", GranteeKind.USER, users["nina"].id),
            ("Export-only shared", "export", GranteeKind.USER, users["nina"].id),
            ("Department-shared", "read", GranteeKind.TEAM, team.id),
            ("Department-shared", "export", GranteeKind.DEPARTMENT, sales.id),
        ):
            session.add(Share(resource="core.party", record_id=parties[name].id, action=action,
                              grantee_kind=kind, grantee_id=grantee))
    yield platform, acme_id
    platform.db.dispose()


def allowed(platform, tenant_id: int, email: str, *actions: str) -> set[str]:
    """Names of the tenant's parties ``can()`` lets the user do every one of ``actions`` to."""
    with platform.db.session(tenant_id) as session:
        principal = load_principal(session, session.scalars(select(User).where(User.email == email)).one())
        return {party.display_name for party in session.scalars(select(Party))
                if all(can(session, principal, action, party) for action in actions)}


def listed(platform, tenant_id: int, email: str, *, export: bool) -> set[str]:
    """Names the user's permission-scoped session reads, while exporting parties or not."""
    with platform.db.session(tenant_id) as session:
        act_as(session, load_principal(session, session.scalars(select(User).where(User.email == email)).one()))
        if not export:
            return set(session.scalars(select(Party.display_name)))
        with exporting(session, "core.party"):
            return set(session.scalars(select(Party.display_name)))


def test_an_export_narrower_than_the_read_scope_keeps_exactly_what_can_allows(world):
    platform, acme = world
    read = allowed(platform, acme, "nina@acme.test", "read")
    exportable = allowed(platform, acme, "nina@acme.test", "read", "export")
    assert read == {"Nina's own", "Carl's", "Team's", "Referred", "Read-shared", "Export-shared", "Department-shared"}
    assert exportable == {"Nina's own", "Team's", "Export-shared", "Department-shared"}
    # Both criteria on one statement, each with its own values: neither replaces the other.
    assert listed(platform, acme, "nina@acme.test", export=True) == exportable
    assert listed(platform, acme, "nina@acme.test", export=False) == read


def test_an_export_wider_than_the_read_scope_is_still_bounded_by_it(world):
    platform, acme = world
    read = allowed(platform, acme, "rita@acme.test", "read")
    exportable = allowed(platform, acme, "rita@acme.test", "read", "export")
    assert read == {"Rita's own", "Referred"}
    assert exportable == {"Rita's own"}
    assert listed(platform, acme, "rita@acme.test", export=True) == exportable
    # The other user again, after Rita's statements filled the caches: her values stay hers.
    assert listed(platform, acme, "nina@acme.test", export=True) == allowed(
        platform, acme, "nina@acme.test", "read", "export")


@pytest.mark.parametrize("action", ["read", "update", "export"])
@pytest.mark.parametrize("email", ["nina@acme.test", "rita@acme.test"])
def test_permitted_states_can_in_sql_for_every_action(world, email, action):
    platform, acme = world
    with platform.db.session(acme) as session:  # tenant-scoped only: the condition alone decides
        principal = load_principal(session, session.scalars(select(User).where(User.email == email)).one())
        matched = set(session.scalars(select(Party.display_name).where(
            permitted(Party, **scope_facts(principal, action)))))
        everything = session.scalars(select(Party)).all()
        expected = {party.display_name for party in everything if can(session, principal, action, party)}
    assert matched == expected
    assert 0 < len(expected) < len(everything)  # each user may do each of these to some parties, not all
