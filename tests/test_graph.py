"""The party graph's model and the rules its service enforces, on a real database."""

import logging
import textwrap
from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from plugin_dists import CORE, Dist
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from xrm_core import migrate, tenants
from xrm_core.db import Model
from xrm_core.errors import Conflict, NotFound, TenantScopeError
from xrm_core.graph import GraphRuleError, queries, service
from xrm_core.graph.models import (
    Party,
    PartyIdentifier,
    PartyRoleAssignment,
    Relationship,
    RelationshipTypeDef,
)
from xrm_core.models import User

GRAPH_TABLES = {"core_parties", "core_party_identifiers", "core_party_roles", "core_relationship_types", "core_relationships"}


@pytest.fixture
def tenant_ids(platform):
    with platform.db.transaction(all_tenants=True) as session:
        return [tenants.create_tenant(session, slug, slug).id for slug in ("acme", "beta")]


@pytest.fixture
def acme(platform, tenant_ids):
    """A session of tenant acme; a test commits what other sessions must see."""
    with platform.db.session(tenant_ids[0]) as session:
        yield session


def _party(session, name, kind="person", **kwargs):
    return service.create_party(session, kind, name, **kwargs)


# -- schema -------------------------------------------------------------------------------------


def test_the_migration_creates_exactly_what_the_models_declare(platform):
    def core_models(_object, name, type_, _reflected, _compare_to):
        """The core's tables that have models in this process (later revisions may add others)."""
        return type_ != "table" or (name.startswith("core_") and name in Model.metadata.tables)

    with platform.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": core_models})
        differences = compare_metadata(context, Model.metadata)
    assert differences == []
    assert GRAPH_TABLES <= migrate.table_names(platform)


def test_the_graph_revision_downgrades_to_exactly_the_core_tables_and_back(make_platform):
    platform = make_platform()
    migrate.upgrade(platform)
    at_head = migrate.table_names(platform)
    migrate.downgrade(platform, "core", "core_0002")  # whatever later revisions added goes first
    with_graph = migrate.table_names(platform)
    migrate.downgrade(platform, "core", "core_0001")
    assert with_graph - migrate.table_names(platform) == GRAPH_TABLES
    migrate.upgrade(platform)
    assert migrate.table_names(platform) == at_head


def test_the_database_refuses_inverted_periods_and_self_links(platform, tenant_ids, acme):
    """The service refuses these first; the checks are the backstop for any other writer."""
    ann, bob = _party(acme, "Ann"), _party(acme, "Bob")
    knows = service.define_relationship_type(acme, "knows", "knows", symmetric=True)
    acme.commit()
    rows = [
        (PartyRoleAssignment, {"party_id": ann.id, "role": "customer", "valid_from": date(2024, 2, 1), "valid_to": date(2024, 1, 1)}),
        (Relationship, {"from_party_id": ann.id, "to_party_id": bob.id, "type_id": knows.id, "attributes": {},
                        "valid_from": date(2024, 2, 1), "valid_to": date(2024, 1, 1)}),
        (Relationship, {"from_party_id": ann.id, "to_party_id": ann.id, "type_id": knows.id, "attributes": {}}),
    ]
    for model, values in rows:
        with pytest.raises(IntegrityError, match="(?i)check constraint"), platform.db.transaction(tenant_ids[0]) as session:
            session.execute(insert(model.__table__).values(tenant_id=tenant_ids[0], **values))


# -- parties ------------------------------------------------------------------------------------


def test_a_party_is_a_person_or_an_organization(acme):
    org = _party(acme, "  Initech ", "organization", tags=["vip", " vip", "partner"])
    assert (org.kind, org.display_name, org.tags, org.version) == ("organization", "Initech", ["vip", "partner"], 1)
    assert org.created_at is not None and org.updated_at is not None
    with pytest.raises(GraphRuleError, match=r"unknown party kind 'robot' \(known: person, organization\)"):
        _party(acme, "R2", "robot")
    with pytest.raises(GraphRuleError, match="a party needs a display name"):
        _party(acme, "   ")
    with pytest.raises(GraphRuleError, match="tags must be a list of strings"):
        _party(acme, "Ann", tags="vip")


def test_an_owner_must_be_a_user_of_the_tenant(platform, tenant_ids, acme):
    with platform.db.transaction(tenant_ids[1]) as session:
        stranger = User(email="s@beta.example", display_name="S", password_hash="x")
        session.add(stranger)
    owner = User(email="o@acme.example", display_name="O", password_hash="x")
    acme.add(owner)
    acme.flush()
    assert _party(acme, "Ann", owner_user_id=owner.id).owner_user_id == owner.id
    with pytest.raises(GraphRuleError, match=f"no user #{stranger.id} in this tenant"):
        _party(acme, "Bob", owner_user_id=stranger.id)


def test_identifiers_are_unique_per_tenant_and_source(platform, tenant_ids, acme):
    ann = _party(acme, "Ann", identifiers={"crm": "42", "erp": "A-1"})
    assert {(i.source, i.value) for i in ann.identifiers} == {("crm", "42"), ("erp", "A-1")}
    assert _party(acme, "Bob", identifiers={"erp": "42"})  # same value, another source
    with pytest.raises(Conflict, match=f"identifier crm:42 already belongs to party #{ann.id}"):
        _party(acme, "Ann again", identifiers={"crm": "42"})
    with pytest.raises(GraphRuleError, match="needs a non-empty source and value"):
        _party(acme, "Carl", identifiers={"crm": " "})
    acme.commit()

    with platform.db.transaction(tenant_ids[1]) as session:  # another tenant reuses it freely
        assert _party(session, "Beta's Ann", identifiers={"crm": "42"}).identifiers[0].value == "42"
    with pytest.raises(IntegrityError), platform.db.transaction(tenant_ids[0]) as session:
        session.add(PartyIdentifier(party_id=ann.id, source="crm", value="42"))  # the constraint holds too


def test_a_stale_version_is_refused(platform, tenant_ids, acme):
    party = _party(acme, "Ann")
    acme.commit()
    with platform.db.session(tenant_ids[0]) as first, platform.db.session(tenant_ids[0]) as second:
        theirs = second.get(Party, party.id)
        second.commit()  # they keep the loaded party (version 1) while someone else changes it
        mine = first.get(Party, party.id)
        mine.display_name = "Ann Smith"
        first.commit()
        assert mine.version == 2
        theirs.display_name = "Anne"
        with pytest.raises(StaleDataError):
            second.commit()
    acme.expire_all()
    assert acme.get(Party, party.id).display_name == "Ann Smith"


def test_bulk_creation_stamps_the_tenant_and_returns_ids_in_order(monkeypatch, platform, tenant_ids, acme):
    monkeypatch.setattr(service, "BULK_BATCH_SIZE", 3)
    rows = [{"kind": "person" if i % 2 else "organization", "display_name": f"P{i:02d}", "tags": ["x"] * (i % 2)}
            for i in range(8)]
    ids = service.bulk_create_parties(acme, rows)
    acme.commit()
    with platform.db.session(all_tenants=True) as session:
        created = {p.id: p for p in session.scalars(select(Party).where(Party.id.in_(ids)))}
    assert [created[i].display_name for i in ids] == [row["display_name"] for row in rows]
    assert {p.tenant_id for p in created.values()} == {tenant_ids[0]}
    assert [created[i].kind for i in ids[:2]] == ["organization", "person"]
    assert created[ids[1]].tags == ["x"] and created[ids[0]].version == 1


def test_bulk_creation_refuses_bad_rows_and_missing_tenants(platform, tenant_ids, acme):
    with pytest.raises(GraphRuleError, match=r"row 1: unknown party kind 'robot' \(known: person, organization\)"):
        service.bulk_create_parties(acme, [{"kind": "person", "display_name": "A"}, {"kind": "robot", "display_name": "B"}])
    with pytest.raises(GraphRuleError, match="row 0: unknown field.* colour"):
        service.bulk_create_parties(acme, [{"kind": "person", "display_name": "A", "colour": "red"}])
    with pytest.raises(GraphRuleError, match="row 0: a party needs a display name"):
        service.bulk_create_parties(acme, [{"kind": "person", "display_name": ""}])
    with pytest.raises(GraphRuleError, match="no user #999 in this tenant"):
        service.bulk_create_parties(acme, [{"kind": "person", "display_name": "A", "owner_user_id": 999}])
    with platform.db.session(all_tenants=True) as session, pytest.raises(TenantScopeError, match="no tenant in scope"):
        service.bulk_create_parties(session, [{"kind": "person", "display_name": "A"}])


# -- roles and catalogues -------------------------------------------------------------------------


GRAPH_PLUGIN = '''
    import xrm_sdk as xrm

    MANIFEST = xrm.Manifest(name="graphfx", title="Graph fixture")


    @xrm.hookimpl
    def xrm_party_roles():
        return [xrm.PartyRole("investor", label="Investor"), xrm.PartyRole("customer", label="Client")]


    @xrm.hookimpl
    def xrm_relationship_types():
        return [
            xrm.RelationshipType("invests_in", forward_label="{label}", inverse_label="is backed by"),
            xrm.RelationshipType("twin_of", forward_label="is a twin of", symmetric=True),
        ]
'''


@pytest.fixture
def graph_plugin(tmp_path, monkeypatch):
    """Write a plugin module contributing roles and types; return a Dist for a given release."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def release(version: str, label: str) -> Dist:
        module = f"xrm_fx_graphfx_{version.replace('.', '_')}"
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(GRAPH_PLUGIN).format(label=label))
        return Dist("xrm-fx-graphfx", version, "graphfx", module, (CORE,))

    return release


def test_roles_are_built_in_or_contributed_by_plugins(make_platform, graph_plugin):
    platform = make_platform(graph_plugin("0.1.0", "invests in"), "kitchen")
    catalogue = service.RoleCatalogue.from_platform(platform)
    assert list(catalogue.roles) == ["customer", "prospect", "partner", "supplier", "employee", "investor"]
    assert catalogue.roles["customer"].label == "Customer"  # a plugin cannot relabel a built-in role
    assert "investor" in catalogue and "investor" not in service.RoleCatalogue.built_in()


def test_roles_are_held_over_periods(make_platform, graph_plugin):
    platform = make_platform(graph_plugin("0.1.0", "invests in"))
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "acme", "ACME").id
    with platform.db.transaction(tenant_id) as session:
        ann = _party(session, "Ann")
        service.add_role(session, ann, "customer", date(2020, 1, 1), date(2021, 12, 31))
        service.add_role(session, ann, "customer", date(2023, 1, 1))  # again, after a gap
        service.add_role(session, ann, "prospect")  # and several roles at once
        with pytest.raises(Conflict, match="'Ann' already holds role 'customer' from 2020-01-01 to 2021-12-31"):
            service.add_role(session, ann, "customer", date(2021, 6, 1), date(2022, 6, 1))
        with pytest.raises(GraphRuleError, match=r"unknown party role 'investor' \(known: customer, employee, partner"):
            service.add_role(session, ann, "investor")
        service.add_role(session, ann, "investor", catalogue=service.RoleCatalogue.from_platform(platform))
        with pytest.raises(GraphRuleError, match=r"the period ends \(2020-01-01\) before it starts \(2021-01-01\)"):
            service.add_role(session, ann, "partner", date(2021, 1, 1), date(2020, 1, 1))
    with platform.db.session(tenant_id) as session:
        held = session.scalars(select(PartyRoleAssignment).order_by(PartyRoleAssignment.id)).all()
        assert [(r.role, r.valid_from, r.valid_to) for r in held] == [
            ("customer", date(2020, 1, 1), date(2021, 12, 31)), ("customer", date(2023, 1, 1), None),
            ("prospect", None, None), ("investor", None, None)]


def test_plugin_types_are_synced_into_each_tenant_on_demand(make_platform, graph_plugin, caplog):
    first = make_platform(graph_plugin("0.1.0", "invests in"))
    migrate.upgrade(first)
    with first.db.transaction(all_tenants=True) as session:
        acme_id, beta_id = (tenants.create_tenant(session, slug, slug).id for slug in ("acme", "beta"))
    with first.db.transaction(beta_id) as session:
        service.define_relationship_type(session, "twin_of", "is the twin of", symmetric=True)
    for tenant_id in (acme_id, beta_id):
        with first.db.transaction(tenant_id) as session, caplog.at_level(logging.WARNING):
            service.sync_relationship_types(session, first)
    assert "'twin_of' of plugin graphfx not synced: tenant already defines it" in caplog.text
    with first.db.transaction(acme_id) as session:
        assert service.sync_relationship_types(session, first) == []  # nothing changed
        types = {t.code: t for t in session.scalars(select(RelationshipTypeDef))}
        assert {code: (t.source, t.forward_label, t.inverse_label, t.symmetric) for code, t in types.items()} == {
            "invests_in": ("plugin:graphfx", "invests in", "is backed by", False),
            "twin_of": ("plugin:graphfx", "is a twin of", "is a twin of", True),
        }

    upgraded = make_platform(graph_plugin("0.2.0", "has invested in"))  # the plugin's next release
    with upgraded.db.transaction(acme_id) as session:
        assert service.sync_relationship_types(session, upgraded) == ["invests_in"]
        assert session.scalar(select(RelationshipTypeDef.forward_label).where(RelationshipTypeDef.code == "invests_in")) == "has invested in"
    with upgraded.db.session(beta_id) as session:
        twin = session.scalar(select(RelationshipTypeDef).where(RelationshipTypeDef.code == "twin_of"))
        assert (twin.source, twin.forward_label) == ("tenant", "is the twin of")


def test_tenant_defined_types_are_checked(acme):
    service.define_relationship_type(acme, "employs", "employs", "works for", from_kinds=["organization"], to_kinds=["person"])
    with pytest.raises(Conflict, match="relationship type 'employs' already exists"):
        service.define_relationship_type(acme, "employs", "hires", "is hired by")
    with pytest.raises(GraphRuleError, match="code 'Has Space' is invalid"):
        service.define_relationship_type(acme, "Has Space", "x", "y")
    with pytest.raises(GraphRuleError, match="'owns' needs a forward and an inverse label"):
        service.define_relationship_type(acme, "owns", "owns")
    with pytest.raises(GraphRuleError, match="unknown party kind 'robot'"):
        service.define_relationship_type(acme, "owns", "owns", "is owned by", to_kinds=["robot"])
    with pytest.raises(GraphRuleError, match="unknown party role 'investor'"):
        service.define_relationship_type(acme, "backs", "backs", "is backed by", from_roles=["investor"])
    with pytest.raises(GraphRuleError, match="symmetric relationship type 'peer' must admit the same kinds and roles"):
        service.define_relationship_type(acme, "peer", "is a peer of", symmetric=True, from_roles=["partner"])
    peer = service.define_relationship_type(acme, "peer", "is a peer of", symmetric=True)
    assert (peer.inverse_label, peer.source, peer.from_kinds) == ("is a peer of", "tenant", [])


# -- relationships --------------------------------------------------------------------------------


@pytest.fixture
def people(acme):
    """Ann and Bob (persons), Initech (an organization, a supplier since 2020), and three types."""
    parties = {name: _party(acme, name, kind) for name, kind in
               (("Ann", "person"), ("Bob", "person"), ("Initech", "organization"), ("Globex", "organization"))}
    service.add_role(acme, parties["Initech"], "supplier", date(2020, 1, 1))
    service.add_role(acme, parties["Globex"], "customer", date(2020, 1, 1), date(2020, 12, 31))
    service.add_role(acme, parties["Globex"], "customer", date(2021, 1, 1))
    service.define_relationship_type(acme, "employs", "employs", "works for", from_kinds=["organization"], to_kinds=["person"])
    service.define_relationship_type(acme, "supplies", "supplies", "is supplied by", from_roles=["supplier"], to_roles=["customer"])
    service.define_relationship_type(acme, "knows", "knows", symmetric=True, from_kinds=["person"], to_kinds=["person"])
    return parties


def test_a_relationship_links_two_parties_with_a_type(acme, people):
    rel = service.relate(acme, people["Initech"], people["Ann"], "employs", date(2022, 3, 1),
                         attributes={"title": "Engineer"}, notes="Hired after the fair")
    assert (rel.type.code, rel.from_party.display_name, rel.to_party.display_name) == ("employs", "Initech", "Ann")
    assert (rel.valid_from, rel.valid_to, rel.attributes, rel.notes) == (date(2022, 3, 1), None, {"title": "Engineer"}, "Hired after the fair")


def test_relationships_breaking_the_type_rules_are_refused(acme, people):
    ann, bob, initech, globex = (people[n] for n in ("Ann", "Bob", "Initech", "Globex"))
    refusals = [
        ((ann, ann, "knows"), {}, "'Ann' cannot be related to itself"),
        ((ann, bob, "marries"), {}, "unknown relationship type 'marries'"),
        ((ann, initech, "employs"), {}, r"'employs' does not admit kind 'person' at its from end \(admits: organization\)"),
        ((initech, globex, "employs"), {}, r"'employs' does not admit kind 'organization' at its to end \(admits: person\)"),
        ((ann, bob, "knows"), {"valid_from": date(2024, 5, 1), "valid_to": date(2024, 4, 30)},
         r"the period ends \(2024-04-30\) before it starts \(2024-05-01\)"),
        # Initech is a supplier only from 2020 on, so not "at all times".
        ((initech, globex, "supplies"), {}, "'supplies' needs the from end to be supplier at all times, which 'Initech' is not"),
        ((initech, globex, "supplies"), {"valid_from": date(2019, 6, 1)}, "needs the from end to be supplier from 2019-06-01 on"),
        ((globex, initech, "supplies"), {"valid_from": date(2021, 1, 1)}, "needs the from end to be supplier from 2021-01-01 on, which 'Globex' is not"),
        ((initech, bob, "supplies"), {"valid_from": date(2021, 1, 1)}, "needs the to end to be customer from 2021-01-01 on, which 'Bob' is not"),
    ]
    for args, dates, message in refusals:
        with pytest.raises(GraphRuleError, match=message):
            service.relate(acme, *args, **dates)
    assert acme.scalar(select(func.count()).select_from(Relationship)) == 0


def test_roles_held_over_consecutive_periods_cover_a_relationship(acme, people):
    """Globex was a customer in 2020, then again from 2021 on: together, every day since 2020."""
    rel = service.relate(acme, people["Initech"], people["Globex"], "supplies", date(2020, 6, 1))
    assert rel.type.code == "supplies"


def test_ending_a_relationship_keeps_it_in_history(acme, people):
    rel = service.relate(acme, people["Ann"], people["Bob"], "knows", date(2020, 1, 1))
    with pytest.raises(GraphRuleError, match=f"relationship #{rel.id} cannot end on 2019-12-31, before it started on 2020-01-01"):
        service.end_relationship(acme, rel, date(2019, 12, 31))
    service.end_relationship(acme, rel, date(2023, 6, 30))
    with pytest.raises(GraphRuleError, match=f"relationship #{rel.id} already ended on 2023-06-30"):
        service.end_relationship(acme, rel, date(2024, 1, 1))
    ann = people["Ann"].id
    for query in (queries.neighbours, queries.read_neighbours):
        assert query(acme, ann) == []  # today
        assert [n.party.display_name for n in query(acme, ann, as_of=date(2023, 6, 30))] == ["Bob"]
        assert query(acme, ann, as_of=date(2023, 7, 1)) == []
        assert [n.relationship.id for n in query(acme, ann, as_of=queries.ALL_TIME)] == [rel.id]


# -- tenant isolation -------------------------------------------------------------------------------


def _small_graph(session, prefix):
    """A chain a - b - c, with a 'knows' type; returns the party ids."""
    service.define_relationship_type(session, "knows", "knows", symmetric=True)
    a, b, c = (_party(session, f"{prefix} {n}") for n in "abc")
    service.relate(session, a, b, "knows")
    service.relate(session, b, c, "knows")
    return [a.id, b.id, c.id]


def test_no_query_reaches_another_tenant(platform, tenant_ids):
    acme_id, beta_id = tenant_ids
    with platform.db.transaction(acme_id) as session:
        mine = _small_graph(session, "acme")
    with platform.db.transaction(beta_id) as session:
        theirs = _small_graph(session, "beta")
        session.add(PartyIdentifier(party_id=theirs[0], source="crm", value="1"))

    with platform.db.session(acme_id) as session:
        assert session.get(Party, theirs[0]) is None
        assert session.scalar(select(func.count()).select_from(RelationshipTypeDef)) == 1
        assert {n.party.id for p in mine for n in queries.neighbours(session, p)} <= set(mine)
        assert {n.party.id for p in mine for n in queries.read_neighbours(session, p)} <= set(mine)
        assert set(queries.neighbourhood(session, mine[0], 4).distances) == set(mine)
        assert queries.shortest_paths(session, mine[0], mine[2])[0].party_ids == mine
        for query in (
            lambda: queries.neighbours(session, theirs[1]),
            lambda: queries.read_neighbours(session, theirs[1]),
            lambda: queries.neighbourhood(session, theirs[1], 2),
            lambda: queries.shortest_paths(session, mine[0], theirs[2]),
            lambda: queries.shortest_paths(session, theirs[0], theirs[2]),
        ):
            with pytest.raises(NotFound, match="no party #"):
                query()
        # Creating an identifier that only the other tenant holds is no conflict here.
        assert _party(session, "acme d", identifiers={"crm": "1"}).id not in theirs
        session.get(Party, mine[0]).tenant_id = beta_id
        with pytest.raises(TenantScopeError):
            session.flush()


def test_parties_of_another_tenant_cannot_be_related(platform, tenant_ids):
    acme_id, beta_id = tenant_ids
    with platform.db.transaction(beta_id) as session:
        theirs = _party(session, "Beta's Bob")
    with platform.db.session(acme_id) as session:
        service.define_relationship_type(session, "knows", "knows", symmetric=True)
        with pytest.raises(TenantScopeError, match="cannot relate parties of another tenant"):
            service.relate(session, _party(session, "Ann"), theirs, "knows")


def test_graph_work_without_a_tenant_fails_closed(platform, tenant_ids):
    with platform.db.session() as session:
        for query in (
            lambda: queries.neighbours(session, 1),
            lambda: queries.read_neighbours(session, 1),
            lambda: queries.neighbourhood(session, 1),
            lambda: queries.shortest_paths(session, 1, 2),
            lambda: service.bulk_create_parties(session, []),
        ):
            with pytest.raises(TenantScopeError, match="no tenant in scope for the party graph"):
                query()
        with pytest.raises(TenantScopeError):
            _party(session, "Nobody's")
