"""The import engine on ``core.party``: presets, matching, dry runs, batches, resume, undo, rights.

A tenant ``acme`` with a department ``sales``; an importer who may create and update parties
tenant-wide (and delete them, to undo), and a reader who may only read them.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from xrm_core import migrate, tenants
from xrm_core.customfields.service import define_custom_field
from xrm_core.dataio import engine
from xrm_core.dataio.engine import ImportOptions, MappingError
from xrm_core.dataio.formats import FileRejected
from xrm_core.dataio.models import BatchStatus, ImportBatch, ImportRecord
from xrm_core.dataio.party_target import PartyTarget
from xrm_core.dataio.targets import as_stored
from xrm_core.errors import Conflict
from xrm_core.graph.models import Party, PartyIdentifier
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Department, Scope
from xrm_core.identity.principal import load_principal
from xrm_core.identity.scoping import PermissionDenied, act_as
from xrm_core.models import AuditEntry, User

DATA = Path(__file__).parent / "data"


@pytest.fixture
def world(make_platform):
    platform = make_platform()
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "acme", "ACME").id
    with platform.db.transaction(tenant_id) as session:
        known = set(all_permissions(platform))
        sales = admin.create_department(session, "sales")
        importer = admin.define_role(session, "importer", {
            f"core.party.{action}": Scope.TENANT for action in ("read", "create", "update", "delete", "export")}, known)
        reader = admin.define_role(session, "reader", {"core.party.read": Scope.TENANT}, known)
        for email, role in (("importer@acme.test", importer), ("reader@acme.test", reader)):
            user = User(email=email, display_name=email, password_hash="", department_id=sales.id)
            session.add(user)
            session.flush()
            admin.assign_role(session, user, role)
        define_custom_field(session, "core.party", "segment", "Segment", "text")
    return platform, tenant_id


def user_session(world, email="importer@acme.test"):
    platform, tenant_id = world
    session = platform.db.session(tenant_id)
    user = session.scalar(select(User).where(User.email == email))
    act_as(session, load_principal(session, user))
    return session


def run(world, data: bytes | str, name="people.csv", email="importer@acme.test", **options):
    dry_run = options.pop("dry_run", False)
    raw = data.encode() if isinstance(data, str) else data
    with user_session(world, email) as session:
        return engine.start(session, world[0], "core.party", io.BytesIO(raw), name, ImportOptions(**options),
                            dry_run=dry_run)


def audit_of(world, batch_id: int) -> list[AuditEntry]:
    """The audit entries of one import run, oldest first."""
    platform, tenant_id = world
    with platform.db.session(tenant_id) as session:
        return session.scalars(select(AuditEntry).where(AuditEntry.target == f"import:{batch_id}")
                               .order_by(AuditEntry.id)).all()


def parties(world) -> dict[str, dict]:
    platform, tenant_id = world
    with platform.db.session(tenant_id) as session:
        found = {}
        for party in session.scalars(select(Party)):
            identifiers = {i.source: i.value for i in session.scalars(
                select(PartyIdentifier).where(PartyIdentifier.party_id == party.id))}
            found[party.display_name] = {"kind": party.kind, "tags": party.tags, "custom": party.custom, **identifiers}
        return found


PEOPLE = ("display_name,identifier.email,identifier.phone,tags,custom.segment\n"
          "Ada Lovelace,ADA@example.org,+44 20 7946 0018,vip;math,gold\n"
          "Grace Hopper,grace@example.org,(202) 555-0143,navy,silver\n")


def test_import_maps_by_name_transforms_values_and_records_a_batch(world):
    report = run(world, PEOPLE, match_on="identifier.email")
    assert (report.status, report.created, report.updated, report.failed) == ("completed", 2, 0, 0)
    assert parties(world) == {
        "Ada Lovelace": {"kind": "person", "tags": ["vip", "math"], "custom": {"segment": "gold"},
                         "email": "ada@example.org", "phone": "+442079460018"},
        "Grace Hopper": {"kind": "person", "tags": ["navy"], "custom": {"segment": "silver"},
                         "email": "grace@example.org", "phone": "+12025550143"},
    }
    platform, tenant_id = world
    with platform.db.session(tenant_id) as session:
        batch = session.get(ImportBatch, report.batch_id)
        assert (batch.status, batch.rows_done, batch.created, batch.file_name) == (
            BatchStatus.COMPLETED, 2, 2, "people.csv")
        assert session.get(User, batch.created_by_user_id).email == "importer@acme.test"


def test_matching_updates_or_skips_and_never_duplicates(world):
    run(world, PEOPLE, match_on="identifier.email")
    again = ("display_name,identifier.email\n"
             "Ada King,ada@example.org\n"        # matches an existing party
             "Alan Turing,alan@example.org\n"
             "Alan M. Turing,ALAN@example.org\n")  # same key as the row above, in the same file
    report = run(world, again, match_on="identifier.email")
    assert (report.created, report.updated, report.failed) == (1, 1, 0)
    assert set(parties(world)) == {"Ada King", "Grace Hopper", "Alan M. Turing"}
    skipped = run(world, "display_name,identifier.email\nAda Again,ada@example.org\n",
                  match_on="identifier.email", on_match="skip")
    assert (skipped.created, skipped.updated, skipped.skipped) == (0, 0, 1)
    assert "Ada Again" not in parties(world)


def test_in_file_duplicates_across_batches_update_the_first(world):
    rows = "".join(f"Person {n},p{n % 3}@example.org\n" for n in range(7))
    report = run(world, "display_name,identifier.email\n" + rows, match_on="identifier.email", batch_size=2)
    assert (report.created, report.updated) == (3, 4)
    assert set(parties(world)) == {"Person 4", "Person 5", "Person 6"}


def test_dry_run_reports_every_row_and_changes_nothing(world):
    data = ("display_name,identifier.email,identifier.phone,custom.segment\n"
            "Ada,ada@example.org,+44 20 7946 0018,gold\n"
            ",nobody@example.org,,\n"
            "Bad Phone,bad@example.org,12,\n"
            "Bad Mail,not-an-email,,\n")
    report = run(world, data, match_on="identifier.email", dry_run=True)
    assert report.status == "failed" and report.rows == 4
    assert [(e["row"], e["column"]) for e in report.errors] == [
        (3, "identifier.phone"), (4, "identifier.email"), (2, "display_name")]
    assert {o["row"]: o["outcome"] for o in report.outcomes} == {1: "created", 2: "failed", 3: "failed", 4: "failed"}
    assert parties(world) == {}
    platform, tenant_id = world
    with platform.db.session(tenant_id) as session:
        assert session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_a_real_run_with_errors_changes_nothing_unless_told_to_skip_them(world):
    data = "display_name,identifier.email\n" + "".join(f"P{n},p{n}@example.org\n" for n in range(5)) + ",x@example.org\n"
    report = run(world, data, match_on="identifier.email", batch_size=2)
    assert report.status == "failed" and report.errors == [{"row": 6, "column": "display_name",
                                                             "reason": "Missing data for required field."}]
    assert parties(world) == {}  # the two committed batches were undone
    report = run(world, data, match_on="identifier.email", batch_size=2, skip_errors=True)
    assert (report.status, report.created, report.failed) == ("completed", 5, 1)
    assert len(parties(world)) == 5


def test_a_failed_run_of_a_user_who_may_not_delete_still_changes_nothing(world):
    platform, tenant_id = world
    with platform.db.transaction(tenant_id) as session:
        creator = admin.define_role(session, "creator", {"core.party.create": Scope.OWN},
                                    set(all_permissions(platform)))
        user = User(email="creator@acme.test", display_name="creator", password_hash="")
        session.add(user)
        session.flush()
        admin.assign_role(session, user, creator)
    data = "display_name\n" + "".join(f"P{n}\n" for n in range(5)) + "x" * 300 + "\n"
    report = run(world, data, email="creator@acme.test", batch_size=2)
    assert report.status == "failed" and report.errors[0]["row"] == 6
    assert parties(world) == {}
    # the four rows of the first two chunks were taken back by the run's own principal, then it failed
    assert [(e.actor, e.action, e.details["created"]) for e in audit_of(world, report.batch_id)] == [
        (f"import:{report.batch_id}", "core.import.undone", 4), (f"user:{user.id}", "core.import.failed", 4)]


def test_a_clash_found_while_writing_names_the_row(world):
    run(world, PEOPLE, match_on="identifier.email")
    # matched on e-mail, but the phone belongs to Ada already
    data = "display_name,identifier.email,identifier.phone\nNew,new@example.org,+44 20 7946 0018\n"
    report = run(world, data, match_on="identifier.email", skip_errors=True)
    assert report.failed == 1 and report.errors[0]["row"] == 1
    assert "already belongs to party" in report.errors[0]["reason"]
    assert "New" not in parties(world)


def test_a_match_on_a_party_the_importer_may_not_see_fails_the_row_without_naming_it(world):
    """Neither an update of the hidden party, nor a duplicate of it, nor its id in the report."""
    platform, tenant_id = world
    run(world, "display_name,identifier.email,identifier.phone\nHidden,hidden@example.org,+44 20 7946 0011\n")
    with platform.db.transaction(tenant_id) as session:
        session.execute(update(Party).values(department_id=None, owner_user_id=None))  # nobody's: tenant-wide only
        local = admin.define_role(session, "local", {f"core.party.{action}": Scope.DEPARTMENT for action in (
            "read", "create", "update")}, set(all_permissions(platform)))
        user = User(email="local@acme.test", display_name="local", password_hash="",
                    department_id=session.scalar(select(Department.id)))
        session.add(user)
        session.flush()
        admin.assign_role(session, user, local)
    data = "display_name,identifier.email\nRenamed,hidden@example.org\n"
    for dry_run in (True, False):
        report = run(world, data, email="local@acme.test", match_on="identifier.email", skip_errors=True,
                     dry_run=dry_run)
        reason = "this identifier.email belongs to a record you may not see"
        assert report.failed == 1 and report.errors == [{"row": 1, "column": "identifier.email", "reason": reason}]
        assert report.outcomes == ([{"row": 1, "outcome": "failed", "reason": reason}] if dry_run else [])
    # a new party with the hidden party's phone: the clash does not name the hidden party either
    clash = run(world, "display_name,identifier.phone\nOther,+44 20 7946 0011\n", email="local@acme.test",
                skip_errors=True)
    assert clash.failed == 1 and clash.errors[0]["reason"].endswith("already belongs to a party you may not see")
    assert parties(world) == {"Hidden": parties(world)["Hidden"]}


def test_two_rows_sharing_an_identifier_are_one_clash_and_change_nothing(world):
    # matched on e-mail, so both rows are new parties: the second one's phone is the first one's (the
    # chunk's write fails, then its rows are written one by one and the second names the first)
    data = ("display_name,identifier.email,identifier.phone\n"
            "Ann,ann@example.org,+44 20 7946 0019\nBen,ben@example.org,+44 20 7946 0019\n")
    report = run(world, data, match_on="identifier.email")
    assert report.status == "failed" and [e["row"] for e in report.errors] == [2]
    assert "identifier phone:+442079460019 already belongs to party" in report.errors[0]["reason"]
    assert parties(world) == {}
    done = run(world, data, match_on="identifier.email", skip_errors=True)
    assert (done.status, done.created, done.failed) == ("completed", 1, 1)
    assert set(parties(world)) == {"Ann"}


def test_undo_restores_updated_records_and_deletes_created_ones(world):
    run(world, PEOPLE, match_on="identifier.email")
    before = parties(world)
    data = ("display_name,identifier.email,identifier.crm,tags,custom.segment\n"
            "Ada King,ada@example.org,C-1,countess,platinum\n"
            "Alan Turing,alan@example.org,C-2,,\n")
    report = run(world, data, match_on="identifier.email")
    assert (report.created, report.updated) == (1, 1)
    assert parties(world)["Ada King"]["crm"] == "C-1"
    with user_session(world) as session:
        engine.undo_batch(session, world[0], report.batch_id)
    assert parties(world) == before
    assert [(e.action, e.details["file"], e.details["created"], e.details["updated"])
            for e in audit_of(world, report.batch_id)] == [
        ("core.import.completed", "people.csv", 1, 1), ("core.import.undone", "people.csv", 1, 1)]
    with user_session(world) as session, pytest.raises(Conflict, match="already undone"):
        engine.undo_batch(session, world[0], report.batch_id)


def test_undo_refuses_when_a_record_changed_since(world):
    report = run(world, PEOPLE, match_on="identifier.email")
    platform, tenant_id = world
    with platform.db.transaction(tenant_id) as session:
        ada = session.scalar(select(Party).where(Party.display_name == "Ada Lovelace"))
        ada.display_name = "Ada, Countess of Lovelace"
        ada_id = ada.id
    with user_session(world) as session, pytest.raises(Conflict, match=f"core.party #{ada_id} changed since"):
        engine.undo_batch(session, platform, report.batch_id)
    assert len(parties(world)) == 2


def test_created_snapshots_told_from_the_rows_are_what_reading_the_parties_back_gives(world):
    rows = [{"display_name": "  Ada Lovelace ", "kind": "person", "tags": [" vip", "vip", "math "],
             "identifiers": {"email": "ada@example.org", "crm": None}, "custom": {"segment": "gold"}},
            {"display_name": "Analytical Engines", "kind": "organization"}]
    target = PartyTarget()
    with user_session(world) as session:
        ids = target.create(session, rows)
        built = target.created_snapshot(session, ids, rows)
        assert built == as_stored(target.snapshot(session, ids))
        assert built[ids[0]] == {"display_name": "Ada Lovelace", "kind": "person", "tags": ["vip", "math"],
                                 "owner": "importer@acme.test", "department": "sales",
                                 "identifiers": {"email": "ada@example.org"}, "custom": {"segment": "gold"}}
        session.rollback()


def test_an_interrupted_import_resumes_after_its_last_committed_batch(world, monkeypatch):
    data = "display_name,identifier.email\n" + "".join(f"P{n},p{n}@example.org\n" for n in range(7))
    calls = {"n": 0}
    original = PartyTarget.create

    def crash_on_third_batch(self, session, rows):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the process is stopped mid-import
        return original(self, session, rows)

    monkeypatch.setattr(PartyTarget, "create", crash_on_third_batch)
    with pytest.raises(KeyboardInterrupt):
        run(world, data, match_on="identifier.email", batch_size=2)
    assert len(parties(world)) == 4
    platform, tenant_id = world
    with platform.db.session(tenant_id) as session:
        batch = session.scalar(select(ImportBatch))
        assert (batch.status, batch.rows_done) == (BatchStatus.RUNNING, 4)
    with user_session(world) as session, pytest.raises(Conflict, match="not the file"):
        engine.resume(session, platform, batch.id, io.BytesIO(b"display_name\nOther\n"))
    with user_session(world) as session:
        report = engine.resume(session, platform, batch.id, io.BytesIO(data.encode()))
    assert (report.status, report.created) == ("completed", 7)
    assert sorted(parties(world)) == [f"P{n}" for n in range(7)]
    with user_session(world) as session:  # the whole batch, both runs, is one undo
        engine.undo_batch(session, platform, batch.id)
    assert parties(world) == {}


def test_importing_needs_the_rights_on_the_target(world):
    with pytest.raises(PermissionDenied, match="may not create core.party"):
        run(world, PEOPLE, email="reader@acme.test")
    assert parties(world) == {}
    report = run(world, PEOPLE)
    with user_session(world, "reader@acme.test") as session, pytest.raises(PermissionDenied, match="may not delete"):
        engine.undo_batch(session, world[0], report.batch_id)
    assert len(parties(world)) == 2


def test_mapping_errors_are_reported_before_anything_is_read(world):
    with pytest.raises(MappingError, match="has no field 'nickname'"):
        run(world, PEOPLE, mapping={"display_name": "nickname"})
    with pytest.raises(MappingError, match="not a key"):
        run(world, PEOPLE, match_on="display_name")
    with pytest.raises(MappingError, match="no preset 'lotus'"):
        run(world, PEOPLE, preset="lotus")
    with pytest.raises(FileRejected, match="format"):
        run(world, PEOPLE, name="people.doc")
    assert parties(world) == {}
    platform, tenant_id = world
    with platform.db.session(tenant_id) as session:
        assert session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_google_contacts_preset(world):
    report = run(world, (DATA / "google_contacts.csv").read_bytes(), name="contacts.csv", preset="google",
                 match_on="identifier.email")
    assert (report.created, report.failed) == (2, 0)
    assert parties(world) == {
        "Ada Lovelace": {"kind": "person", "tags": [], "custom": {}, "email": "ada@example.org", "phone": "+442079460018"},
        "Grace Hopper": {"kind": "person", "tags": [], "custom": {}, "email": "grace@example.org",
                                  "phone": "+12025550143"},
    }


def test_outlook_preset_reads_local_numbers_in_the_users_region(world):
    report = run(world, (DATA / "outlook_contacts.csv").read_bytes(), name="contacts.csv", preset="outlook",
                 match_on="identifier.email", locale="en_GB")
    assert (report.created, report.failed) == (2, 0)
    found = parties(world)
    assert found["Mr. Alan Turing"]["phone"] == "+441908640404"
    assert found["Katherine Johnson"] == {"kind": "person", "tags": [], "custom": {},
                                          "email": "katherine@example.org", "phone": "+17578641000"}


def test_split_names_constants_and_dates_in_the_users_locale(world):
    platform, tenant_id = world
    with platform.db.transaction(tenant_id) as session:
        define_custom_field(session, "core.party", "since", "Customer since", "date")
    data = "Full name,Depuis\nMarie Curie,31/12/2025\n"
    mapping = {"Full name": "display_name", "Depuis": "custom.since", "=kind": "person", "=tags": "fr"}
    report = run(world, data, mapping=mapping, locale="fr")
    assert report.failed == 0, report.errors
    assert parties(world)["Marie Curie"]["custom"] == {"since": "2025-12-31"}
    bad = run(world, "Full name,Depuis\nPierre Curie,the day after\n", mapping=mapping, locale="fr", dry_run=True)
    assert bad.errors[0]["column"] == "Depuis" and "not a date" in bad.errors[0]["reason"]


def test_undo_log_holds_previous_values(world):
    run(world, PEOPLE, match_on="identifier.email")
    report = run(world, "display_name,identifier.email\nAda King,ada@example.org\n", match_on="identifier.email")
    platform, tenant_id = world
    with platform.db.session(tenant_id) as session:
        [record] = session.scalars(select(ImportRecord).where(ImportRecord.batch_id == report.batch_id))
        assert record.action.value == "updated"
        assert record.previous["display_name"] == "Ada Lovelace" and record.applied["display_name"] == "Ada King"


# -- round trips through the core.party target ------------------------------------------------------


@pytest.mark.parametrize("format_name", ["csv", "xlsx", "jsonl"])
def test_parties_export_then_import_gives_the_same_data(world, format_name):
    run(world, PEOPLE + "=Formula Corp,formula@example.org,,\"=HYPERLINK(\"\"x\"\")\",bronze\n",
        match_on="identifier.email")
    before = parties(world)
    platform, tenant_id = world
    buffer = io.BytesIO()
    with user_session(world) as session:
        assert engine.export(session, platform, "core.party", format_name, buffer) == 3
    with platform.db.transaction(tenant_id) as session:
        session.execute(delete(Party))
    report = run(world, buffer.getvalue(), name=f"export.{format_name}", match_on="identifier.email")
    assert (report.created, report.failed) == (3, 0), report.errors
    assert parties(world) == before


def test_parties_round_trip_through_vcard(world):
    run(world, PEOPLE, match_on="identifier.email")
    platform, tenant_id = world
    buffer = io.BytesIO()
    with user_session(world) as session:
        engine.export(session, platform, "core.party", "vcard", buffer)
    assert buffer.getvalue().count(b"BEGIN:VCARD") == 2 and b"EMAIL:ada@example.org" in buffer.getvalue()
    with platform.db.transaction(tenant_id) as session:
        session.execute(delete(Party))
    report = run(world, buffer.getvalue(), name="people.vcf", preset="vcard", match_on="identifier.email")
    assert (report.created, report.failed) == (2, 0), report.errors
    assert {name: (p["email"], p["phone"]) for name, p in parties(world).items()} == {
        "Ada Lovelace": ("ada@example.org", "+442079460018"), "Grace Hopper": ("grace@example.org", "+12025550143")}


@pytest.mark.parametrize("data, name, reason", [
    # UTF-8 in the part encodings are detected on, Latin-1 after: found once batches were committed
    (b"display_name,comment\n" + (b"Ok," + b"x" * 1000 + b"\n") * 300 + b"caf\xe9,\n", "wrong.csv", "not valid utf-8-sig"),
    (b"display_name,identifier.email\nA,a@example.org\nB,b@example.org,extra\n", "ragged.csv", "3 cells"),
    (b"display_name,custom.segment\nA," + b"x" * (50 * 1024 * 1024) + b"\n", "big.csv", "longer than"),
    (b"PK\x03\x04 not really a zip", "fake.xlsx", "not an XLSX"),
])
def test_malformed_files_change_nothing(world, data, name, reason):
    try:
        report = run(world, data, name=name, match_on="identifier.email", batch_size=100)
    except FileRejected as exc:
        assert reason in str(exc)
    else:
        assert report.status == "failed" and reason in report.errors[0]["reason"]
    assert parties(world) == {}
    platform, tenant_id = world
    with platform.db.session(tenant_id) as session:
        assert list(session.scalars(select(Party))) == []
