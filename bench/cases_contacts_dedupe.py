"""Duplicate detection of the contacts plugin over a large contact book (scale 1.0 = 100,000 people).

The data set is a tenant of people with a profile, an email each and a phone for half of them;
three in a hundred are a second record of someone already there: the name with a typo, the same
email in other case, or the same phone. The contacts plugin's tables are created on the bench
database from its models (the bench platform runs only the core's migrations).

The platform side is what ``xrm contacts dedupe`` computes, through a permission-scoped session:
every party, email, phone and employment loaded, blocking keys, fuzzy name comparison
(rapidfuzz) inside the blocks, scores and reasons. The raw side is the cheapest useful thing SQL
does alone: the exact-email self-join. The issue's target: the platform side under 60 s at scale 1.0.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from typing import Any

from xrm_contacts.dedupe import detect
from xrm_contacts.dedupe_models import DuplicatePair
from xrm_contacts.profiles import ContactPoint, Profile

from xrm_core import tenants
from xrm_core.db import utcnow
from xrm_core.graph.models import Party
from xrm_core.identity.models import Scope
from xrm_core.identity.principal import service_principal
from xrm_core.identity.scoping import act_as

from .cases_graph import FIRST_NAMES
from .harness import Context, Pair, case, console, dataset

#: People at scale 1.0 (the issue's figure).
PEOPLE = 100_000
#: One record in this many is a second record of an earlier person.
DUPLICATE_EVERY = 33
SYLLABLES = ("ba", "ber", "do", "fen", "gar", "hol", "kin", "lau", "mer", "nov", "ost", "pel", "ros", "sch",
             "tan", "ul", "ven", "wal", "zim", "ker", "lind", "mar", "berg", "stein", "son", "ski", "ez", "ov",
             "mann", "ri")
LOAD_BATCH = 5_000

RAW_EMAIL_PAIRS = (
    "SELECT a.party_id, b.party_id FROM contacts_contact_points a JOIN contacts_contact_points b "
    "ON b.tenant_id = a.tenant_id AND b.kind = 'email' AND b.value = a.value AND b.party_id > a.party_id "
    "WHERE a.tenant_id = ? AND a.kind = 'email'"
)


def _family_name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def _typo(rng: random.Random, name: str) -> str:
    position = rng.randrange(1, len(name))
    return name[:position] + rng.choice(string.ascii_lowercase) + name[position + 1:]


def _people(rng: random.Random, count: int) -> Iterator[tuple[str, str, str | None]]:
    """(display name, email, phone) per person; some are second records of earlier people."""
    earlier: list[tuple[str, str, str | None]] = []
    for n in range(count):
        if earlier and n % DUPLICATE_EVERY == 0:
            name, email, phone = rng.choice(earlier)
            variant = n % 3
            if variant == 0:
                yield _typo(rng, name), f"other{n}@example.org", None
            elif variant == 1:
                yield name.split()[-1], email.upper(), None
            else:
                yield name, f"second{n}@example.org", phone
            continue
        first, family = rng.choice(FIRST_NAMES), _family_name(rng)
        person = (f"{first} {family}", f"{first}.{family}.{n}@example.com".lower(),
                  f"+4930{n:07d}" if rng.random() < 0.5 else None)
        earlier.append(person)
        yield person


@dataset("contacts_book")
def contacts_book(ctx: Context) -> int:
    """A tenant of ``PEOPLE × scale`` people with profiles and contact points; returns its id."""
    for table in (Profile.__table__, ContactPoint.__table__, DuplicatePair.__table__):
        table.create(ctx.engine, checkfirst=True)
    with ctx.platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "bench-contacts", "Bench contacts", actor="bench").id
    count = ctx.scaled(PEOPLE, minimum=1_000)
    people = list(_people(random.Random(ctx.seed), count))
    now = utcnow()
    with ctx.engine.begin() as connection:
        first = (connection.exec_driver_sql("SELECT max(id) FROM core_parties").scalar() or 0) + 1
        common: dict[str, Any] = {"tenant_id": tenant_id, "created_at": now, "updated_at": now, "version": 1}
        ctx.bulk_insert(Party.__table__, ({"id": first + n, "kind": "person", "display_name": name, "tags": [],
                                           "custom": {}, **common} for n, (name, _e, _p) in enumerate(people)),
                        count, LOAD_BATCH, connection, "parties")
        ctx.bulk_insert(Profile.__table__, ({"id": first + n, "kind": "person", "family_name": name.split()[-1],
                                             **common} for n, (name, _e, _p) in enumerate(people)),
                        count, LOAD_BATCH, connection, "profiles")

        def points() -> Iterator[dict[str, Any]]:
            for n, (_name, email, phone) in enumerate(people):
                base = {"tenant_id": tenant_id, "party_id": first + n, "version": 1, "is_primary": True}
                yield {**base, "kind": "email", "value": email.lower()}
                if phone:
                    yield {**base, "kind": "phone", "value": phone}

        total = count + sum(1 for _n, _e, phone in people if phone)
        ctx.bulk_insert(ContactPoint.__table__, points(), total, LOAD_BATCH, connection, "contact points")
        if ctx.dialect == "postgresql":
            connection.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('core_parties', 'id'), (SELECT max(id) FROM core_parties))")
    console.log(f"contacts book: {count:,} people, {total - count:,} phones")
    return tenant_id


@case(
    "contacts.dedupe_detect",
    "duplicate detection over the whole contact book (scale 1.0 = 100,000 people; issue target < 60 s): load, "
    "block, fuzzy-compare names, score; vs the raw exact-email self-join",
)
def dedupe_detect(ctx: Context) -> Pair:
    tenant_id = ctx.need(contacts_book)
    principal = service_principal(tenant_id, "bench", {"core.party.read": Scope.TENANT,
                                                       "contacts.person.read": Scope.TENANT})

    def platform() -> list:
        with ctx.platform.db.session(tenant_id, read_only=True) as session:
            candidates, _scanned = detect(act_as(session, principal))
        return candidates

    def raw() -> list[tuple]:
        return ctx.raw(RAW_EMAIL_PAIRS, (tenant_id,))

    def check(candidates: list, email_pairs: list[tuple]) -> bool:
        by_email = {(c.a_id, c.b_id) for c in candidates if "same email" in c.reasons}
        return by_email == {tuple(pair) for pair in email_pairs} and len(candidates) > len(email_pairs)

    return Pair(platform, raw, check, work=(ctx.scaled(PEOPLE, minimum=1_000), "contacts"))
