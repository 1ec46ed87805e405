"""Duplicate detection, the review queue, and merging from it (``/api/v1/contacts/duplicates``)."""

from __future__ import annotations

import pytest
import xrm_sdk as xrm
from click.testing import CliRunner
from contacts_testing import ORGANIZATIONS, create_person
from flask.cli import ScriptInfo
from sqlalchemy import select
from xrm_contacts.dedupe import Contact, find_candidates, normalise_name
from xrm_contacts.dedupe_cli import dedupe_command
from xrm_contacts.dedupe_models import DuplicatePair

from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Scope
from xrm_core.identity.tokens import create_token
from xrm_core.models import User

DUPLICATES = "/api/v1/contacts/duplicates"
REVIEWER = ("core.party.read", "core.party.update", "core.party.delete", "contacts.person.read",
            "contacts.duplicate.read", "contacts.duplicate.update", "contacts.duplicate.create")


@pytest.fixture
def crowd(xrm_client):
    """Crafted contacts: three pairs that are one person each, an organization twice, and strangers."""
    acme = xrm_client.post(ORGANIZATIONS, json={"display_name": "ACME GmbH"}).get_json()["id"]
    acme_again = xrm_client.post(ORGANIZATIONS, json={"display_name": "Acme"}).get_json()["id"]
    globex = xrm_client.post(ORGANIZATIONS, json={"display_name": "Globex Corporation"}).get_json()["id"]
    people = {
        # a typo in the given name, nothing else in common
        "jonathan": create_person(xrm_client, given_name="Jonathan", family_name="Smithson"),
        "jonathon": create_person(xrm_client, given_name="Jonathon", family_name="Smithson"),
        # one email written in two cases, names that only half match
        "maria": create_person(xrm_client, given_name="Maria", family_name="García",
                               emails=["Maria.Garcia@Example.com"]),
        "mg": create_person(xrm_client, given_name="M.", family_name="Garcia-Lopez",
                            emails=["maria.garcia@example.COM"]),
        # one phone in two formats
        "peter": create_person(xrm_client, given_name="Peter", family_name="Novak", phones=["+49 30 1234567"]),
        "pete": create_person(xrm_client, given_name="Pete", family_name="Nowak", phones=["030 123-4567"],
                              region="de"),
        # colleagues at the same company with different names: not duplicates
        "tom": create_person(xrm_client, given_name="Tom", family_name="Baker", organization_id=acme),
        "tim": create_person(xrm_client, given_name="Tim", family_name="Becker", organization_id=acme),
        "alice": create_person(xrm_client, given_name="Alice", family_name="Wong", emails=["alice@wong.example"]),
        "bob": create_person(xrm_client, given_name="Bob", family_name="Jones", phones=["+44 20 7946 0958"]),
    }
    ids = {name: person["id"] for name, person in people.items()}
    ids.update(acme=acme, acme_again=acme_again, globex=globex)
    return ids


def _pair(ids, first, second):
    return tuple(sorted((ids[first], ids[second])))


def _scan(client):
    response = client.post(DUPLICATES + "/scan")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _open_pairs(client):
    response = client.get(DUPLICATES, query_string={"status": "open", "limit": 100})
    assert response.status_code == 200, response.get_json()
    return {(p["party_a_id"], p["party_b_id"]): p for p in response.get_json()["items"]}


def test_names_are_normalised_for_comparison():
    assert normalise_name("Dr. José  Müller-Lüdenscheidt") == "jose muller ludenscheidt"
    assert normalise_name("ACME GmbH") == "acme"
    assert normalise_name("GmbH") == "gmbh"  # a name that is only a legal form keeps it


def test_a_scan_finds_the_crafted_duplicates_and_nothing_else(xrm_client, crowd, xrm_events):
    report = _scan(xrm_client)
    pairs = _open_pairs(xrm_client)
    expected = {_pair(crowd, "jonathan", "jonathon"), _pair(crowd, "maria", "mg"), _pair(crowd, "peter", "pete"),
                _pair(crowd, "acme", "acme_again")}
    assert set(pairs) == expected
    assert (report["found"], report["parties"]) == (4, 13)
    assert "same email" in pairs[_pair(crowd, "maria", "mg")]["reasons"]
    assert "same phone" in pairs[_pair(crowd, "peter", "pete")]["reasons"]
    typo = pairs[_pair(crowd, "jonathan", "jonathon")]
    assert typo["reasons"] == [f"name {typo['score']}%"] and 90 <= typo["score"] < 100
    assert pairs[_pair(crowd, "acme", "acme_again")]["reasons"] == ["name 100%"]
    found = [e for e in xrm_events if e.type == "contacts.duplicate.found"]
    assert sorted((e.payload["party_a_id"], e.payload["party_b_id"]) for e in found) == sorted(expected)
    # The best match comes first.
    scores = [p["score"] for p in xrm_client.get(DUPLICATES).get_json()["items"]]
    assert scores == sorted(scores, reverse=True)


def test_the_detail_shows_both_parties_side_by_side(xrm_client, crowd):
    _scan(xrm_client)
    pair = _open_pairs(xrm_client)[_pair(crowd, "peter", "pete")]
    detail = xrm_client.get(f"{DUPLICATES}/{pair['id']}").get_json()
    assert [side["id"] for side in detail["parties"]] == [pair["party_a_id"], pair["party_b_id"]]
    assert [side["phones"] for side in detail["parties"]] == [["+49301234567"], ["+49301234567"]]
    assert xrm_client.get(f"{DUPLICATES}/999999").status_code == 404


def test_merging_from_the_queue_moves_everything_to_the_survivor(xrm_client, xrm_session, crowd, xrm_events):
    survivor, loser = crowd["jonathan"], crowd["jonathon"]
    duplicate = xrm_session.get(xrm.Party, loser)
    xrm.add_party_role(xrm_session, duplicate, "customer")
    xrm.relate(xrm_session, duplicate, xrm_session.get(xrm.Party, crowd["globex"]), "works_for")
    xrm_session.commit()
    _scan(xrm_client)
    pair = _open_pairs(xrm_client)[_pair(crowd, "jonathan", "jonathon")]

    wrong = xrm_client.post(f"{DUPLICATES}/{pair['id']}/merge", json={"survivor_id": crowd["bob"]})
    assert wrong.status_code == 422 and "survivor_id" in wrong.get_json()["errors"]

    merged = xrm_client.post(f"{DUPLICATES}/{pair['id']}/merge", json={"survivor_id": survivor})
    assert merged.status_code == 200, merged.get_json()
    body = merged.get_json()
    assert (body["pair"]["status"], body["pair"]["survivor_id"]) == ("merged", survivor)
    assert (body["merge"]["roles_moved"], body["merge"]["relationships_moved"]) == (1, 1)
    xrm_session.expire_all()
    assert xrm_session.get(xrm.Party, loser) is None
    roles = xrm_session.scalars(select(xrm.PartyRoleAssignment.role).where(
        xrm.PartyRoleAssignment.party_id == survivor)).all()
    assert roles == ["customer"]
    links = xrm_session.scalars(select(xrm.Relationship).where(xrm.Relationship.from_party_id == survivor)).all()
    assert [(link.type.code, link.to_party_id) for link in links] == [("works_for", crowd["globex"])]
    xrm_session.rollback()  # end the read: SQLite lets one writer at a time
    assert [e.payload for e in xrm_events if e.type == "contacts.duplicate.merged"] == [
        {"survivor_id": survivor, "loser_id": loser}]
    # The pair is closed: no longer open, and deciding it again is a conflict.
    assert _pair(crowd, "jonathan", "jonathon") not in _open_pairs(xrm_client)
    again = xrm_client.post(f"{DUPLICATES}/{pair['id']}/dismiss")
    assert again.status_code == 409
    # A rescan does not bring it back.
    assert _scan(xrm_client)["found"] == 0


def test_dismissed_pairs_stay_dismissed_after_a_rescan(xrm_client, xrm_session, crowd, xrm_events):
    _scan(xrm_client)
    pair = _open_pairs(xrm_client)[_pair(crowd, "maria", "mg")]
    dismissed = xrm_client.post(f"{DUPLICATES}/{pair['id']}/dismiss")
    assert dismissed.status_code == 200
    decision = dismissed.get_json()
    assert decision["status"] == "dismissed"
    assert decision["decided_by"].startswith("user:") and decision["decided_at"] is not None
    report = _scan(xrm_client)
    assert (report["found"], report["dismissed_kept"]) == (0, 1)
    assert _pair(crowd, "maria", "mg") not in _open_pairs(xrm_client)
    stored = xrm_session.scalar(select(DuplicatePair).where(DuplicatePair.id == pair["id"]))
    assert stored.status == "dismissed"
    assert [e.type for e in xrm_events].count("contacts.duplicate.dismissed") == 1


def test_a_pair_that_is_no_longer_alike_leaves_the_queue(xrm_client, xrm_session, crowd):
    _scan(xrm_client)
    xrm_session.get(xrm.Party, crowd["jonathon"]).display_name = "Zacharias Quill"
    xrm_session.commit()
    assert _scan(xrm_client)["closed"] == 1
    assert _pair(crowd, "jonathan", "jonathon") not in _open_pairs(xrm_client)


def test_reviewers_only_see_pairs_whose_two_parties_they_see(xrm_platform, xrm_app, xrm_tenant, xrm_client):
    with xrm_platform.db.transaction(xrm_tenant.id) as session:
        north = admin.create_department(session, "North")
        south = admin.create_department(session, "South")
        role = admin.define_role(session, "Reviewer", {p: Scope.DEPARTMENT for p in REVIEWER},
                                 set(all_permissions(xrm_platform)))
        user = User(email="rev@test.example", display_name="Reviewer", password_hash="", department_id=north.id)
        session.add(user)
        session.flush()
        admin.assign_role(session, user, role)
        token = create_token(session, user, "tests")[1]
        north_id, south_id = north.id, south.id
    reviewer = xrm_app.test_client()
    reviewer.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    ann_north = create_person(xrm_client, given_name="Annabel", family_name="Lee", department_id=north_id)
    ann_north_2 = create_person(xrm_client, given_name="Anabel", family_name="Lee", department_id=north_id)
    ann_south = create_person(xrm_client, given_name="Annabel", family_name="Lee", department_id=south_id)
    _scan(xrm_client)
    assert len(_open_pairs(xrm_client)) == 3
    seen = _open_pairs(reviewer)
    assert set(seen) == {tuple(sorted((ann_north["id"], ann_north_2["id"])))}
    hidden = _open_pairs(xrm_client)[tuple(sorted((ann_north["id"], ann_south["id"])))]
    assert reviewer.get(f"{DUPLICATES}/{hidden['id']}").status_code == 404
    assert reviewer.post(f"{DUPLICATES}/{hidden['id']}/dismiss").status_code == 404
    # The reviewer's own scan only compares what they see and leaves the other pairs alone.
    assert _scan(reviewer)["parties"] == 2
    assert len(_open_pairs(xrm_client)) == 3


def test_the_queue_needs_its_permissions(xrm_login, crowd, xrm_client):
    _scan(xrm_client)
    reader = xrm_login("core.party.read", "contacts.duplicate.read")
    assert len(_open_pairs(reader)) == 4
    pair = next(iter(_open_pairs(reader).values()))
    refused = reader.post(f"{DUPLICATES}/{pair['id']}/dismiss")
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert reader.post(DUPLICATES + "/scan").status_code == 403
    assert xrm_login("core.party.read").get(DUPLICATES).status_code == 403


def test_the_cli_scans_a_tenant_with_a_progress_bar(xrm_app, xrm_tenant, crowd, xrm_session):
    runner = CliRunner()
    result = runner.invoke(dedupe_command, ["--tenant", xrm_tenant.slug], obj=ScriptInfo(create_app=lambda: xrm_app))
    assert result.exit_code == 0, result.output
    assert f"{xrm_tenant.slug}: 13 parties, 4 new pairs" in result.output
    assert "Comparing" in result.output
    assert len(xrm_session.scalars(select(DuplicatePair)).all()) == 4
    unknown = runner.invoke(dedupe_command, ["--tenant", "nope"], obj=ScriptInfo(create_app=lambda: xrm_app))
    assert unknown.exit_code != 0 and isinstance(unknown.exception, xrm.XrmError)


def test_blocking_finds_typos_anywhere_in_a_word_and_skips_shared_switchboards():
    contacts = [Contact(1, "person", "jonathan smithson"), Contact(2, "person", "jhonathan smithson"),
                Contact(3, "person", "jonathan smithsen"), Contact(4, "person", "peter parker")]
    shared = {"+4930000000"}
    contacts += [Contact(10 + n, "person", f"person{n} x{n}", phones=set(shared)) for n in range(25)]
    pairs = {(c.a_id, c.b_id) for c in find_candidates(contacts)}
    # A typo at a word's start (1–2) or end (1–3) still shares a key; 2 and 3 differ at the start
    # of one word and the end of the other, so blocking never compares them (the price of speed).
    assert pairs == {(1, 2), (1, 3)}
