"""The party-graph facade plugins use: it creates, links, roles and merges through the core's rules."""

import pytest
import xrm_sdk as xrm
from sqlalchemy import select

from xrm_core.graph.service import define_relationship_type

pytestmark = pytest.mark.xrm_plugins()


def test_a_plugin_builds_and_merges_parties_through_the_facade(xrm_session):
    acme = xrm.create_party(xrm_session, "organization", "ACME", identifiers={"erp": "A1"})
    ann = xrm.create_party(xrm_session, "person", "Ann")
    twin = xrm.create_party(xrm_session, "person", "Ann (duplicate)", tags=["imported"])
    xrm.add_party_role(xrm_session, acme, "customer")
    xrm.add_party_role(xrm_session, twin, "employee")
    define_relationship_type(xrm_session, "works_for", "works for", "employs", to_kinds=["organization"])
    xrm.relate(xrm_session, twin, acme, "works_for")

    report = xrm.merge_parties(xrm_session, ann, twin, actor="plugin:test")

    assert (report["survivor_id"], report["loser_id"], report["relationships_moved"]) == (ann.id, twin.id, 1)
    assert xrm.resolve_merged_party(xrm_session, twin.id) == ann.id
    assert ann.tags == ["imported"]
    links = xrm_session.scalars(select(xrm.Relationship)).all()
    assert [(r.from_party_id, r.to_party_id) for r in links] == [(ann.id, acme.id)]


def test_an_unknown_role_is_refused_with_the_known_ones_named(xrm_session):
    party = xrm.create_party(xrm_session, "person", "Bob")
    with pytest.raises(xrm.XrmError, match="unknown party role 'wizard'"):
        xrm.add_party_role(xrm_session, party, "wizard")
