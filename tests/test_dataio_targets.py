"""Plugins contribute import targets through ``xrm_import_targets``, built on the SDK alone."""

from __future__ import annotations

import io
import textwrap

import pytest
from plugin_dists import CORE, Dist
from sqlalchemy import select

from xrm_core import migrate, tenants
from xrm_core.dataio import engine
from xrm_core.dataio.engine import ImportOptions
from xrm_core.dataio.party_target import PartyTarget
from xrm_core.dataio.targets import ImportField
from xrm_core.errors import NotFound
from xrm_core.graph.models import Party, PartyIdentifier

MEMO_PLUGIN = '''
import marshmallow as ma
from sqlalchemy import select

import xrm_sdk as xrm

MANIFEST = xrm.Manifest(name="memo", title="Memo")


class ContactSchema(ma.Schema):
    full_name = ma.fields.String(required=True)
    email = ma.fields.Email()


class Contacts(xrm.ImportTarget):
    """People as parties, found again by their e-mail (an identifier of source ``memo``)."""

    name = "memo.contact"
    label = "Contacts"
    permission = "core.party"
    fields = (xrm.ImportField("full_name", "Name", required=True), xrm.ImportField("email", "E-mail", "email"))
    keys = ("email",)
    schema = ContactSchema
    presets = {"vcard": {"full_name": "full_name", "emails": "email"}}

    def find(self, session, key, values):
        rows = session.execute(select(xrm.PartyIdentifier.value, xrm.PartyIdentifier.party_id).where(
            xrm.PartyIdentifier.source == "memo", xrm.PartyIdentifier.value.in_(values)))
        return dict(rows.all())

    def snapshot(self, session, ids):
        return {row["id"]: {k: v for k, v in row.items() if k != "id"} for row in self.export_rows(session, ids)}

    def create(self, session, rows):
        return [xrm.create_party(session, "person", row["full_name"],
                                 identifiers={"memo": row["email"]} if row.get("email") else None).id for row in rows]

    def update(self, session, changes):
        for party_id, change in changes.items():
            party = session.get(xrm.Party, party_id)
            party.display_name = change.get("full_name", party.display_name)

    def delete(self, session, ids):
        for party_id in ids:
            session.delete(session.get(xrm.Party, party_id))

    def export_rows(self, session, ids=None):
        statement = select(xrm.Party).order_by(xrm.Party.id)
        if ids is not None:
            statement = statement.where(xrm.Party.id.in_(ids))
        for party in session.scalars(statement):
            email = next((i.value for i in party.identifiers if i.source == "memo"), None)
            yield {"id": party.id, "full_name": party.display_name, "email": email}


class Misnamed(Contacts):
    name = "other.contact"


@xrm.hookimpl
def xrm_import_targets():
    return [Contacts(), Misnamed()]
'''


@pytest.fixture
def memo(make_platform, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "xrm_fx_memo.py").write_text(textwrap.dedent(MEMO_PLUGIN))
    platform = make_platform(Dist("xrm-fx-memo", "0.1.0", "memo", "xrm_fx_memo", (CORE,)))
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME")
        globex = tenants.create_tenant(session, "globex", "Globex")
        tenants.enable_plugin(platform, session, acme, "memo")
        ids = acme.id, globex.id
    return platform, ids


def test_hook_xrm_import_targets(memo, caplog):
    platform, (acme, globex) = memo
    with platform.db.session(acme) as session:
        assert sorted(engine.available_targets(platform, session)) == ["core.party", "memo.contact"]
    assert "'other.contact' must be named 'memo.<entity>'" in caplog.text
    with platform.db.session(globex) as session:  # not enabled there
        assert sorted(engine.available_targets(platform, session)) == ["core.party"]
        with pytest.raises(NotFound, match="no import target 'memo.contact'"):
            engine.get_target(platform, session, "memo.contact")


def test_a_plugin_target_imports_and_exports_vcards(memo):
    platform, (acme, _globex) = memo
    cards = (b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ada Lovelace\r\nEMAIL:ada@example.org\r\nEND:VCARD\r\n"
             b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Grace Hopper\r\nEMAIL:grace@example.org\r\nEND:VCARD\r\n")
    with platform.db.session(acme) as session:
        report = engine.start(session, platform, "memo.contact", io.BytesIO(cards), "people.vcf",
                              ImportOptions(preset="vcard", match_on="email"))
    assert (report.created, report.failed) == (2, 0)
    with platform.db.session(acme) as session:
        assert dict(session.execute(select(PartyIdentifier.value, Party.display_name).join(Party)).all()) == {
            "ada@example.org": "Ada Lovelace", "grace@example.org": "Grace Hopper"}
        buffer = io.BytesIO()
        assert engine.export(session, platform, "memo.contact", "vcard", buffer) == 2
    assert b"FN:Grace Hopper" in buffer.getvalue() and b"EMAIL:grace@example.org" in buffer.getvalue()
    with platform.db.session(acme) as session:  # the same file again updates: no duplicate
        again = engine.start(session, platform, "memo.contact", io.BytesIO(buffer.getvalue()), "people.vcf",
                             ImportOptions(preset="vcard", match_on="email"))
    assert (again.created, again.updated) == (0, 2)


def test_a_target_declares_valid_fields_and_keys():
    class Broken(PartyTarget):
        name = "memo.broken"
        keys = ("email",)

    assert "key(s) email are not among its fields" in Broken().check("memo")
    assert "must be named 'other.<entity>'" in Broken().check("other")
    assert PartyTarget().check("core") is None
    with pytest.raises(ValueError, match="unknown type 'money'"):
        ImportField("price", type="money")


VAULT_EXPORT_PLUGIN = '''
import marshmallow as ma
from sqlalchemy import select

import xrm_sdk as xrm
from xrm_fx_vault.plugin import Dossier

MANIFEST = xrm.Manifest(name="dossierio", title="Dossier exports")


class DossierSchema(ma.Schema):
    title = ma.fields.String(required=True)
    fee = ma.fields.Integer(allow_none=True)


class Dossiers(xrm.ImportTarget):
    """The vault's dossiers, whose fee is a protected field (vault.fee.read)."""

    name = "dossierio.dossier"
    label = "Dossiers"
    permission = "vault.dossier"
    fields = (xrm.ImportField("title", "Title", required=True), xrm.ImportField("fee", "Fee"))
    keys = ("title",)
    schema = DossierSchema

    def find(self, session, key, values):
        return dict(session.execute(select(Dossier.title, Dossier.id).where(Dossier.title.in_(values))).all())

    def snapshot(self, session, ids):
        return {row.pop("id"): row for row in self.export_rows(session, ids)}

    def create(self, session, rows):
        dossiers = [Dossier(**row) for row in rows]
        session.add_all(dossiers)
        session.flush()
        return [dossier.id for dossier in dossiers]

    def update(self, session, changes):
        for dossier_id, change in changes.items():
            for name, value in change.items():
                setattr(session.get(Dossier, dossier_id), name, value)

    def delete(self, session, ids):
        for dossier_id in ids:
            session.delete(session.get(Dossier, dossier_id))

    def export_rows(self, session, ids=None):
        statement = select(Dossier).order_by(Dossier.id)
        if ids is not None:
            statement = statement.where(Dossier.id.in_(ids))
        for dossier in session.scalars(statement):
            yield {"id": dossier.id, "title": dossier.title, "fee": dossier.fee}


@xrm.hookimpl
def xrm_import_targets():
    return [Dossiers()]
'''


def test_an_export_leaves_out_the_fields_the_user_may_not_read(make_platform, tmp_path, monkeypatch):
    from plugin_dists import DISTS
    from xrm_fx_vault.plugin import Dossier

    from xrm_core.identity.models import Scope
    from xrm_core.identity.principal import service_principal
    from xrm_core.identity.scoping import act_as

    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "xrm_fx_dossierio.py").write_text(textwrap.dedent(VAULT_EXPORT_PLUGIN))
    platform = make_platform(DISTS["vault"], Dist("xrm-fx-dossierio", "0.1.0", "dossierio", "xrm_fx_dossierio",
                                                  (CORE,)))
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME")
        for plugin in ("vault", "dossierio"):
            tenants.enable_plugin(platform, session, acme, plugin)
        acme_id = acme.id
    with platform.db.transaction(acme_id) as session:
        session.add(Dossier(title="Merger", fee=90_000))

    def exported(*extra: str) -> str:
        grants = {"vault.dossier.read": Scope.TENANT, "vault.dossier.export": Scope.TENANT,
                  **{name: Scope.TENANT for name in extra}}
        with platform.db.session(acme_id) as session:
            act_as(session, service_principal(acme_id, "exporter", grants))
            buffer = io.BytesIO()
            assert engine.export(session, platform, "dossierio.dossier", "core.csv", buffer) == 1
        return buffer.getvalue().decode("utf-8-sig")

    assert exported().splitlines() == ["title", "Merger"]
    assert exported("vault.fee.read").splitlines() == ["title,fee", "Merger,90000"]
