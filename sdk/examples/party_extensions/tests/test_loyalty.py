"""Each contribution of the ``loyalty`` example, exercised through the platform (the SDK's harness)."""

import io
import json
import zipfile

import pytest
import xrm_sdk as xrm
from sqlalchemy import select
from xrm_loyalty.models import LoyaltyCard

pytestmark = pytest.mark.xrm_plugins("loyalty")  # see hello_page/tests/test_hello.py

READ = ("core.party.read", "loyalty.card.read")


@pytest.fixture
def members(xrm_session):
    """Two parties with cards (ACME wants the newsletter) and one without; committed."""
    acme = xrm.create_party(xrm_session, "organization", "ACME")
    globex = xrm.create_party(xrm_session, "organization", "Globex")
    initech = xrm.create_party(xrm_session, "organization", "Initech")
    xrm_session.add_all([LoyaltyCard(party_id=acme.id, number="LOY-0001", points=120, newsletter=True),
                         LoyaltyCard(party_id=globex.id, number="LOY-0002", points=30)])
    xrm_session.commit()
    return acme.id, globex.id, initech.id


def test_xrm_party_panels_xrm_dashboard_widgets_and_xrm_search(xrm_login, members):
    """What each shows follows the cards the user may read (the ``xrm_permissions`` of the plugin)."""
    acme, _globex, initech = members
    user = xrm_login(*READ, department="Sales")
    assert "Card LOY-0001: 120 points" in user.get(f"/parties/{acme}/panels/loyalty.card").get_data(as_text=True)
    assert "No loyalty card" in user.get(f"/parties/{initech}/panels/loyalty.card").get_data(as_text=True)
    home = user.get("/").get_data(as_text=True)  # the user's department home shows every widget
    assert '<ol class="loyalty-top"><li>ACME: 120</li><li>Globex: 30</li></ol>' in home
    found = user.get("/search?q=loy-0001").get_data(as_text=True)
    assert "Loyalty card LOY-0001" in found and f'href="/parties/{acme}"' in found
    # Without loyalty.card.read the same session-scoped queries find no card at all.
    blind = xrm_login("core.party.read", department="Sales")
    assert "No loyalty card" in blind.get(f"/parties/{acme}/panels/loyalty.card").get_data(as_text=True)
    assert "Loyalty card LOY-0001" not in blind.get("/search?q=LOY-0001").get_data(as_text=True)


def test_xrm_party_roles_xrm_relationship_types_xrm_party_facts_and_xrm_contact_consent(xrm_session, members):
    acme, globex, initech = members
    acme_party, globex_party = xrm_session.get(xrm.Party, acme), xrm_session.get(xrm.Party, globex)
    assert xrm.add_party_role(xrm_session, acme_party, "loyalty_member").role == "loyalty_member"
    with pytest.raises(xrm.XrmError):
        xrm.add_party_role(xrm_session, acme_party, "no_such_role")
    xrm.sync_relationship_types(xrm_session)  # contributed types are copied into the tenant first
    referral = xrm.relate(xrm_session, acme_party, globex_party, "loyalty_referred")
    assert (referral.type.forward_label, referral.type.inverse_label) == ("referred", "was referred by")

    fact = xrm.party_facts(xrm_session)["loyalty.points"]
    assert (fact.type, dict(xrm_session.execute(fact.query(xrm_session)).all())) == (
        "number", {acme: 120, globex: 30})
    assert xrm.may_contact(xrm_session, acme, "email") is True
    assert xrm.may_contact(xrm_session, globex, "email") is False  # a card without the opt-in
    assert xrm.may_contact(xrm_session, initech, "email") is False  # no card: no answer, so no
    assert xrm.may_contact(xrm_session, acme, "phone") is False  # the opt-in is for e-mail only


def test_xrm_merge_parties_xrm_personal_data_and_xrm_erase_personal_data(xrm_client, xrm_session, members):
    acme, globex, _initech = members
    merged = xrm.merge_parties(xrm_session, xrm_session.get(xrm.Party, acme), xrm_session.get(xrm.Party, globex),
                               "test")
    assert "loyalty" in str(merged)
    xrm_session.commit()
    [card] = xrm_session.scalars(select(LoyaltyCard))
    assert (card.party_id, card.number, card.points, card.newsletter) == (acme, "LOY-0001", 150, False)
    xrm_session.commit()  # end the read transaction before the requests write

    archive = xrm_client.get(f"/api/v1/parties/{acme}/personal-data")
    assert archive.status_code == 200
    data = json.loads(zipfile.ZipFile(io.BytesIO(archive.data)).read("loyalty.json"))
    assert data == {"card_number": "LOY-0001", "points": 150, "newsletter": False}
    erased = xrm_client.post(f"/api/v1/parties/{acme}/erase")
    assert erased.status_code == 200 and "loyalty" in erased.get_json()["plugins"]
    assert xrm_session.scalars(select(LoyaltyCard)).all() == []
