"""Importing contacts from CSV: the import engine against a raw ``executemany`` of the same rows.

The platform side is ``xrm import`` without the command line: the CSV read (encoding and delimiter
detected), every row mapped, validated by the target's schema, its phone number normalised to
E.164, matched on its e-mail (one lookup per batch), then written in batches of 5,000 (the engine's
default) committed with the batch's progress and undo log, acting as a permission-scoped principal.
The raw side inserts the same parties and identifiers (values already clean) with Core
``executemany`` in one transaction. Rows per call: 100,000 at scale 1; the imported rows are deleted
after each call, untimed. The issue's 1,000,000-row figure is measured at ``--scale 10 --once`` (one
cold import per side rather than warm-ups and repeats).
"""

from __future__ import annotations

import io
import random

from xrm_core import tenants
from xrm_core.dataio import engine
from xrm_core.dataio.engine import ImportOptions
from xrm_core.db import utcnow
from xrm_core.graph.models import Party, PartyIdentifier
from xrm_core.identity.models import Scope
from xrm_core.identity.principal import service_principal
from xrm_core.identity.scoping import act_as

from .harness import Context, Pair, case, dataset

GIVEN = ("Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret")
FAMILY = ("Lovelace", "Hopper", "Turing", "Johnson", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Hamilton")
MAPPING = {"name": "display_name", "email": "identifier.email", "phone": "identifier.phone", "=kind": "person"}


@dataset("import_tenant")
def import_tenant(ctx: Context) -> int:
    """An empty tenant to import into."""
    with ctx.platform.db.transaction(all_tenants=True) as session:
        return tenants.create_tenant(session, "bench-imports", "Bench imports").id


def _contacts(count: int, seed: int) -> tuple[bytes, list[tuple[str, str, str]]]:
    """A CSV of ``count`` contacts (phones as people type them) and the same rows, clean."""
    rng = random.Random(seed)
    lines = ["name,email,phone"]
    clean = []
    for n in range(count):
        name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)} {n}"
        email = f"contact{n}@example.org"
        # unique per row (up to 8,000,000 rows), as a phone identifier must be: a random area code
        digits = f"{rng.randrange(200, 999)}{200 + n // 10_000 % 800:03d}{n % 10_000:04d}"
        lines.append(f"{name},{email},({digits[:3]}) {digits[3:6]}-{digits[6:]}")
        clean.append((name, email, f"+1{digits}"))
    return ("\n".join(lines) + "\n").encode(), clean


@case(
    "dataio.import_csv",
    "contacts from CSV (100,000 rows at scale 1): engine.start (detect, map, validate, phones to E.164, match on "
    "e-mail, batches of 5,000 with undo log, permission-scoped) vs raw executemany of the same parties and "
    "identifiers (target: >= 25% of raw throughput; 1,000,000 rows < 2 min)",
)
def import_csv(ctx: Context) -> Pair:
    tenant_id = ctx.need(import_tenant)
    rows = ctx.scaled(100_000, minimum=1_000)
    data, clean = _contacts(rows, ctx.seed)
    principal = service_principal(tenant_id, "job:bench-import", {
        f"core.party.{action}": Scope.TENANT for action in ("read", "create", "update", "delete")})
    options = ImportOptions(mapping=MAPPING, match_on="identifier.email", region="US")

    def platform():
        with ctx.platform.db.session(tenant_id) as session:
            act_as(session, principal)
            report = engine.start(session, ctx.platform, "core.party", io.BytesIO(data), "contacts.csv", options)
        if report.status != "completed":
            raise AssertionError(f"dataio.import_csv: the import failed: {report.errors[:3]}")
        return report.created

    def raw():
        now = utcnow()
        with ctx.engine.begin() as connection:
            ids = connection.execute(Party.__table__.insert().returning(Party.__table__.c.id).execution_options(
                insertmanyvalues_page_size=250), [
                {"tenant_id": tenant_id, "kind": "person", "display_name": name, "tags": [], "owner_user_id": None,
                 "department_id": None, "created_at": now, "updated_at": now, "version": 1}
                for name, _email, _phone in clean]).scalars().all()
            connection.execute(PartyIdentifier.__table__.insert(), [
                {"tenant_id": tenant_id, "party_id": party_id, "source": source, "value": value}
                for party_id, (_name, email, phone) in zip(sorted(ids), clean, strict=True)
                for source, value in (("email", email), ("phone", phone))])
        return len(ids)

    def reset():
        with ctx.engine.begin() as connection:
            for table in ("core_import_records", "core_import_batches", "core_party_identifiers", "core_parties"):
                connection.exec_driver_sql(ctx.sql(f"DELETE FROM {table} WHERE tenant_id = ?"), (tenant_id,))

    reset()
    return Pair(platform, raw, lambda p, r: p == r == rows, reset=reset, work=(rows, "rows"))
