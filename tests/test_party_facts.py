"""The ``xrm_party_facts`` hook: per-party values plugins expose for selections to filter on."""

import logging
import textwrap

import pytest
import xrm_sdk as xrm
from plugin_dists import CORE, Dist

from xrm_core import migrate, tenants
from xrm_core.graph import service

FACTS_PLUGIN = '''
import xrm_sdk as xrm
from sqlalchemy import func, select

MANIFEST = xrm.Manifest(name="factsfx", title="Facts")


def identifier_count(session):
    return (select(xrm.PartyIdentifier.party_id, func.count().label("value"))
            .group_by(xrm.PartyIdentifier.party_id))


@xrm.hookimpl
def xrm_party_facts(tenant):
    return [
        xrm.PartyFact("factsfx.identifiers", label="Identifiers of " + tenant.slug, type="number",
                      query=identifier_count),
        xrm.PartyFact("factsfx.mood", label="Mood", type="feeling", query=identifier_count),
        xrm.PartyFact("factsfx.lost", label="No query", type="text"),
        xrm.PartyFact("other.stolen", label="Not ours", type="text", query=identifier_count),
    ]
'''


@pytest.fixture
def facts_platform(make_platform, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "xrm_fx_factsfx.py").write_text(textwrap.dedent(FACTS_PLUGIN))
    platform = make_platform(Dist("xrm-fx-factsfx", "0.1.0", "factsfx", "xrm_fx_factsfx", (CORE,)))
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME")
        beta = tenants.create_tenant(session, "beta", "Beta")
        tenants.enable_plugin(platform, session, acme, "factsfx")
    return platform, acme.id, beta.id


def test_hook_xrm_party_facts(facts_platform, caplog):
    platform, acme_id, beta_id = facts_platform
    with platform.db.transaction(acme_id) as session:
        ann = service.create_party(session, "person", "Ann")
        session.add_all([xrm.PartyIdentifier(party_id=ann.id, source="vat", value="DE1"),
                         xrm.PartyIdentifier(party_id=ann.id, source="duns", value="42")])
        service.create_party(session, "person", "Bob")
    with platform.db.session(acme_id) as session, caplog.at_level(logging.ERROR):
        facts = xrm.party_facts(session)
        # Only the well-formed fact the plugin owns is kept; each other one is logged and dropped.
        assert list(facts) == ["factsfx.identifiers"]
        fact = facts["factsfx.identifiers"]
        assert (fact.label, fact.type) == ("Identifiers of acme", "number")
        assert session.execute(fact.query(session)).all() == [(ann.id, 2)]
    assert "type 'feeling', not one of number, text, date, choice" in caplog.text
    assert "'factsfx.lost' has no query" in caplog.text
    assert "'other.stolen' must be named 'factsfx.<…>'" in caplog.text
    with platform.db.session(beta_id) as session:
        assert xrm.party_facts(session) == {}  # not enabled for that tenant: no facts
