"""The ``contacts.person`` import target through the core's import engine: CSV matched on email, undo,
and vCard export then import."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select
from xrm_contacts.importing import PersonTarget
from xrm_contacts.profiles import Profile

from xrm_core.dataio import engine
from xrm_core.dataio.engine import ImportOptions
from xrm_core.identity.principal import load_principal
from xrm_core.identity.scoping import act_as
from xrm_core.models import User

CSV = ("given_name,family_name,email,phones,organization,job_title,external_id\n"
       "Ada,Lovelace,ada@example.org,+44 20 7946 0018,Engines plc,Analyst,OLD-1\n"
       "Grace,Hopper,grace@example.org,+1 202 555 0143,,Admiral,OLD-2\n")


@pytest.fixture
def admin_session(xrm_client, xrm_platform, xrm_tenant):
    """A session acting as the tenant's administrator (the ``xrm_client`` fixture creates one)."""

    def open_session():
        session = xrm_platform.db.session(xrm_tenant.id)
        admin = session.scalar(select(User).where(User.email.like("admin-%")))
        act_as(session, load_principal(session, admin))
        return session

    return open_session


def run(xrm_platform, admin_session, data: str | bytes, name="people.csv", **options):
    raw = data.encode() if isinstance(data, str) else data
    with admin_session() as session:
        return engine.start(session, xrm_platform, "contacts.person", io.BytesIO(raw), name, ImportOptions(**options))


def people(xrm_client) -> dict[str, dict]:
    return {p["display_name"]: p for p in xrm_client.get("/api/v1/contacts/people").get_json()["items"]}


def test_a_csv_of_people_is_matched_on_email_and_can_be_undone(xrm_client, xrm_platform, admin_session):
    report = run(xrm_platform, admin_session, CSV, match_on="email")
    assert (report.created, report.updated, report.failed) == (2, 0, 0), report.errors
    found = people(xrm_client)
    assert (found["Ada Lovelace"]["emails"], found["Ada Lovelace"]["phones"]) == (["ada@example.org"],
                                                                                   ["+442079460018"])
    engines = xrm_client.get("/api/v1/contacts/organizations").get_json()["items"]
    assert [o["display_name"] for o in engines] == ["Engines plc"]
    assert found["Ada Lovelace"]["organization_id"] == engines[0]["id"]

    again = ("email,job_title,phones\n"
             "ADA@example.org,Countess,+44 20 7946 0018\n"
             "alan@example.org,Codebreaker,\n")
    report = run(xrm_platform, admin_session, again + "", match_on="email", skip_errors=True)
    # Ada matched on her email (whatever its case) and was updated; Alan has no name: reported, not created.
    assert (report.created, report.updated, report.failed) == (0, 1, 1), report.errors
    assert "full_name" in str(report.errors)
    assert people(xrm_client)["Ada Lovelace"]["job_title"] == "Countess"
    assert len(people(xrm_client)) == 2  # never a silent duplicate
    with admin_session() as session:
        engine.undo_batch(session, xrm_platform, report.batch_id)
        session.commit()
    assert people(xrm_client)["Ada Lovelace"]["job_title"] == "Analyst"


def test_a_bad_phone_is_reported_with_its_row_and_nothing_changes(xrm_client, xrm_platform, admin_session):
    data = "given_name,family_name,email,phones\nAda,Lovelace,ada@example.org,+44 1\n"
    report = run(xrm_platform, admin_session, data, match_on="email")
    assert report.failed == 1 and report.created == 0
    assert "phone number" in str(report.errors)
    assert people(xrm_client) == {}


def test_the_target_finds_people_by_email_phone_and_external_id(xrm_client, xrm_platform, admin_session):
    run(xrm_platform, admin_session, CSV, match_on="email")
    target = PersonTarget()
    with admin_session() as session:
        ada = session.scalar(select(Profile).where(Profile.given_name == "Ada")).id
        assert target.find(session, "email", ["ADA@example.org", "nobody@example.org"]) == {"ADA@example.org": ada}
        assert target.find(session, "phone", ["+442079460018"]) == {"+442079460018": ada}
        assert target.find(session, "external_id", ["OLD-1"]) == {"OLD-1": ada}
        snapshot = target.snapshot(session, [ada])[ada]
        assert (snapshot["full_name"], snapshot["organization"], snapshot["external_id"]) == (
            "Ada Lovelace", "Engines plc", "OLD-1")


def test_people_export_to_vcard_and_import_back(xrm_client, xrm_platform, xrm_tenant, admin_session):
    run(xrm_platform, admin_session, CSV, match_on="email")
    xrm_client.post(f"/api/v1/contacts/parties/{people(xrm_client)['Ada Lovelace']['id']}/addresses",
                    json={"kind": "home", "street": "12 St James's Square", "city": "London", "country": "GB"})
    before = {name: (p["emails"], p["phones"], p["job_title"]) for name, p in people(xrm_client).items()}
    buffer = io.BytesIO()
    with admin_session() as session:
        assert engine.export(session, xrm_platform, "contacts.person", "vcard", buffer) == 2
    card = buffer.getvalue().decode()
    assert card.count("BEGIN:VCARD") == 2
    assert "EMAIL:ada@example.org" in card and "TEL:+442079460018" in card and "ORG:Engines plc" in card
    assert "St James" in card
    for person in people(xrm_client).values():
        xrm_client.delete(f"/api/v1/contacts/people/{person['id']}", headers={"If-Match": person["etag"]})
    assert people(xrm_client) == {}
    report = run(xrm_platform, admin_session, buffer.getvalue(), name="people.vcf", preset="vcard")
    assert (report.created, report.failed) == (2, 0), report.errors
    after = people(xrm_client)
    assert {name: (p["emails"], p["phones"], p["job_title"]) for name, p in after.items()} == before
    addresses = xrm_client.get(f"/api/v1/contacts/parties/{after['Ada Lovelace']['id']}/addresses").get_json()
    assert [(a["city"], a["country"]) for a in addresses] == [("London", "GB")]
