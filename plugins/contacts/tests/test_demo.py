"""Demo data that goes with the core demo, added once."""

from __future__ import annotations

import xrm_sdk as xrm
from sqlalchemy import func, select
from xrm_contacts import plugin
from xrm_contacts.consents import Consent
from xrm_contacts.interactions import Interaction
from xrm_contacts.people import current_employer_id
from xrm_contacts.profiles import ContactPoint, Profile

from xrm_core import demo


def test_demo_data_adds_the_core_demo_peoples_contacts_once(xrm_platform, xrm_tenant, xrm_session):
    plugin.xrm_demo_data(tenant=xrm_tenant, session=xrm_session)  # nothing to add to before the core demo
    assert xrm_session.scalar(select(func.count()).select_from(Profile)) == 0
    demo.seed(xrm_session, xrm_platform, "demo-password-123")
    plugin.xrm_demo_data(tenant=xrm_tenant, session=xrm_session)
    plugin.xrm_demo_data(tenant=xrm_tenant, session=xrm_session)
    xrm_session.commit()
    assert xrm_session.scalar(select(func.count()).select_from(Profile)) == 8
    assert xrm_session.scalar(select(func.count()).select_from(ContactPoint)) == 16
    assert xrm_session.scalar(select(func.count()).select_from(Interaction)) == 5
    alice = xrm_session.scalar(select(xrm.Party).where(xrm.Party.display_name == "Alice Martin"))
    profile = xrm_session.get(Profile, alice.id)
    assert [p.value for p in profile.points("phone")] == ["+33142685300"]
    assert profile.department_id == alice.department_id  # follows the party's ownership
    atlas = xrm_session.scalar(select(xrm.Party.id).where(xrm.Party.display_name == "Atlas Industries"))
    assert current_employer_id(xrm_session, profile) == atlas  # the core demo's "employs", read from her side
    assert {c.channel: c.status for c in xrm_session.scalars(select(Consent).where(Consent.party_id == alice.id))} == {
        "email": "granted", "phone": "granted"}
    nora = xrm_session.scalar(select(xrm.User.id).where(xrm.User.email == "nora.north@demo.example"))
    calls = xrm_session.scalars(select(Interaction).where(Interaction.party_id == alice.id)).all()
    assert all(i.user_ids == [nora] for i in calls) and len(calls) == 2
