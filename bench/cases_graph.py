"""Party graph cases at the issue's scale: bulk creation, neighbours, neighbourhoods, shortest paths.

The data set (``party_graph``) is one large tenant of ``GRAPH_PARTIES`` parties and
``GRAPH_RELATIONSHIPS`` relationships at ``--scale 1`` (1,000,000 and 3,000,000), and a second
tenant a hundredth of its size so that every query has another tenant's rows to leave out. Each
tenant's graph is drawn by a seeded ``random.Random``, with some structure:

* a tenth of the parties are organizations, the rest people;
* ``employs`` (organization -> person, dated): every person has a current employer, some a past one
  too; employers are drawn with a skew (a few large organizations, many small ones), and a few
  *hub* organizations employ 1% of all people;
* ``supplies`` (organization -> organization, the customer/supplier link), dated, some ended, a
  few not started yet; hubs are the supplier of 5% of them;
* ``partners`` (symmetric, between organizations) and ``knows`` (symmetric, between people: mostly
  "nearby" people, which makes clusters, the rest anyone, which makes the world small);
* roles on organizations (customer, supplier, partner) and an ERP identifier each.

Everything is loaded with Core ``executemany`` in large batches, in one transaction.

Every read case runs each call on another party (or pair of parties) drawn from the large tenant,
so the table reports the median and the 95th percentile of single calls; the raw side walks the
same inputs in another order (beginning with the same one, which the check compares), so neither
side reads pages the other has just cached for it. Queries ask for the graph as of today (the
platform's default), so the raw SQL applies the same validity dates.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from xrm_core import tenants
from xrm_core.db import utcnow
from xrm_core.graph.models import (
    Party,
    PartyIdentifier,
    PartyRoleAssignment,
    Relationship,
    RelationshipTypeDef,
)
from xrm_core.graph.queries import neighbourhood, read_neighbours, shortest_paths
from xrm_core.graph.service import bulk_create_parties
from xrm_core.identity.models import Scope
from xrm_core.identity.principal import Principal
from xrm_core.identity.scoping import act_as

from .harness import Context, Pair, case, console, dataset

#: The large tenant at --scale 1.
GRAPH_PARTIES = 1_000_000
GRAPH_RELATIONSHIPS = 3_000_000
#: The second tenant is this fraction of the large one.
SMALL_TENANT_SHARE = 0.01
ORGANIZATION_SHARE = 0.10
#: Hub organizations per tenant (fewer in small graphs), and their share of employments and supplies.
HUBS = 10
HUB_EMPLOYMENT_SHARE = 0.01
HUB_SUPPLY_SHARE = 0.05
#: Parties created per call of graph.bulk_create, whatever the scale (a realistic import batch).
BULK_ROWS = 20_000
#: Distinct inputs (parties, pairs) the read cases cycle through, and timed calls per side.
INPUTS = 500
MIN_CALLS = 500
#: Rows per executemany when loading.
LOAD_BATCH = 20_000

FIRST_NAMES = (
    "Ada", "Alan", "Alice", "Amara", "Anna", "Arjun", "Ben", "Bea", "Carla", "Chen", "Chloe", "Dan", "Dara",
    "Eli", "Elena", "Emma", "Eva", "Femi", "Finn", "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jade", "Jon",
    "Kai", "Kofi", "Lara", "Leo", "Lina", "Luca", "Maya", "Mei", "Mila", "Nia", "Noah", "Nora", "Omar",
    "Otto", "Pia", "Raj", "Rosa", "Sami", "Sara", "Tao", "Theo", "Uma", "Vera", "Wen", "Yara", "Yuki", "Zoe",
)
LAST_NAMES = (
    "Abe", "Adams", "Alvarez", "Bauer", "Becker", "Brown", "Chen", "Costa", "Dubois", "Dutta", "Eriksen",
    "Fischer", "Garcia", "Gomez", "Hansen", "Ito", "Jansen", "Jones", "Kim", "Kowalski", "Larsen", "Lee",
    "Lopez", "Martin", "Meyer", "Moreau", "Murphy", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen",
    "Patel", "Perez", "Petrov", "Rossi", "Sato", "Schmidt", "Silva", "Smith", "Sousa", "Tanaka", "Taylor",
    "Tran", "Weber", "Wilson", "Wong", "Yilmaz", "Zhang",
)
ORG_WORDS = (
    "Acme", "Apex", "Atlas", "Blue", "Bright", "Cedar", "Delta", "Echo", "Field", "Global", "Granite",
    "Harbor", "Iron", "Lake", "Lumen", "Maple", "Nord", "North", "Nova", "Oak", "Orbit", "Pine", "Polar",
    "Prime", "Quartz", "River", "Silver", "Solar", "Stone", "Summit", "Terra", "Union", "Vertex", "Vista",
    "West", "Zenith",
)
ORG_SUFFIXES = ("Ltd", "GmbH", "SA", "Inc", "BV", "AB", "Group", "Holdings", "Partners", "Labs")
ORG_TAGS = ("key-account", "emea", "apac", "americas", "public-sector", "strategic")

TYPES = (
    # code, forward label, inverse label, symmetric, from kinds, to kinds
    ("employs", "employs", "works for", False, ["organization"], ["person"]),
    ("supplies", "supplies", "is supplied by", False, ["organization"], ["organization"]),
    ("partners", "is a partner of", "is a partner of", True, ["organization"], ["organization"]),
    ("knows", "knows", "knows", True, ["person"], ["person"]),
)


@dataclass
class TenantGraph:
    tenant_id: int
    #: The tenant's parties have the ids first_id .. first_id + parties - 1: organizations first.
    first_id: int
    parties: int
    organizations: int
    relationships: int
    hubs: int
    type_ids: dict[str, int] = field(default_factory=dict)

    def random_party(self, rng: random.Random) -> int:
        return self.first_id + rng.randrange(self.parties)


@dataclass
class PartyGraph:
    large: TenantGraph
    small: TenantGraph


# -- data set -------------------------------------------------------------------------------------


@dataset("party_graph")
def party_graph(ctx: Context) -> PartyGraph:
    """The large tenant's graph and a small one, loaded in one transaction."""
    parties = ctx.scaled(GRAPH_PARTIES, minimum=1_000)
    relationships = ctx.scaled(GRAPH_RELATIONSHIPS, minimum=3_000)
    with ctx.platform.db.transaction(all_tenants=True) as session:
        large_id = tenants.create_tenant(session, "bench-graph", "Bench graph (large)", actor="bench").id
        small_id = tenants.create_tenant(session, "bench-graph-small", "Bench graph (small)", actor="bench").id
    with ctx.engine.connect() as connection:
        first = (connection.scalar(select(Party.id).order_by(Party.id.desc()).limit(1)) or 0) + 1
    small_parties = max(100, round(parties * SMALL_TENANT_SHARE))
    # The small tenant's parties first, then the large one's: ids are given explicitly, so the
    # relationships can be drawn without reading the parties back.
    small = _tenant_graph(small_id, first, small_parties, max(300, round(relationships * SMALL_TENANT_SHARE)))
    large = _tenant_graph(large_id, first + small_parties, parties, relationships)
    rng = random.Random(ctx.seed)
    today = datetime.now(UTC).date()
    now = utcnow()
    console.log(
        f"party graph: {large.parties:,} parties ({large.organizations:,} organizations, {large.hubs} hubs) and "
        f"{large.relationships:,} relationships, plus a second tenant of {small.parties:,} / {small.relationships:,}"
    )

    with ctx.engine.begin() as connection:
        sqlite_cache = None
        if ctx.dialect == "sqlite":
            # A large page cache while loading, so index pages are not spilled to the WAL over and
            # over in this long transaction; the platform's own setting is restored afterwards.
            sqlite_cache = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql("PRAGMA cache_size = -1048576")
        for graph in (small, large):
            type_rows = [
                {"tenant_id": graph.tenant_id, "code": code, "forward_label": forward, "inverse_label": inverse,
                 "symmetric": symmetric, "from_kinds": from_kinds, "to_kinds": to_kinds, "from_roles": [],
                 "to_roles": [], "source": "tenant"}
                for code, forward, inverse, symmetric, from_kinds, to_kinds in TYPES
            ]
            connection.execute(RelationshipTypeDef.__table__.insert(), type_rows)
            graph.type_ids = dict(connection.execute(
                select(RelationshipTypeDef.code, RelationshipTypeDef.id).where(
                    RelationshipTypeDef.tenant_id == graph.tenant_id)
            ).all())
            label = "large" if graph is large else "small"
            ctx.bulk_insert(Party.__table__, _party_rows(rng, graph, now), graph.parties, LOAD_BATCH,
                            connection, f"parties ({label})")
            ctx.bulk_insert(PartyIdentifier.__table__, _identifier_rows(graph), graph.organizations, LOAD_BATCH,
                            connection, f"identifiers ({label})")
            ctx.bulk_insert(PartyRoleAssignment.__table__, _role_rows(rng, graph, today), graph.organizations * 2,
                            LOAD_BATCH, connection, f"roles ({label})")
            ctx.bulk_insert(Relationship.__table__, _relationship_rows(rng, graph, today), graph.relationships,
                            LOAD_BATCH, connection, f"relationships ({label})")
        if sqlite_cache is not None:
            connection.exec_driver_sql(f"PRAGMA cache_size = {int(sqlite_cache)}")
        if ctx.dialect == "postgresql":
            # Ids were given explicitly: move the sequence past them for the platform's inserts.
            connection.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('core_parties', 'id'), (SELECT max(id) FROM core_parties))"
            )
    if ctx.dialect == "sqlite":
        # Outside any transaction (the DBAPI connection is in autocommit mode): move the WAL into the
        # database file, as SQLite's automatic checkpoints would have done over time.
        raw_connection = ctx.engine.raw_connection()
        try:
            raw_connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            raw_connection.close()
    else:
        # What autovacuum would have done to a table loaded long ago (visibility map, hint bits).
        with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("core_parties", "core_party_identifiers", "core_party_roles", "core_relationships"):
                connection.exec_driver_sql(f"VACUUM {table}")
    return PartyGraph(large, small)


def _tenant_graph(tenant_id: int, first_id: int, parties: int, relationships: int) -> TenantGraph:
    organizations = max(2, round(parties * ORGANIZATION_SHARE))
    return TenantGraph(
        tenant_id=tenant_id,
        first_id=first_id,
        parties=parties,
        organizations=organizations,
        relationships=relationships,
        hubs=max(1, min(HUBS, organizations // 100)),
    )


def _person_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _org_name(rng: random.Random, number: int) -> str:
    return f"{rng.choice(ORG_WORDS)} {rng.choice(ORG_WORDS)} {rng.choice(ORG_SUFFIXES)} {number}"


def _party_rows(rng: random.Random, graph: TenantGraph, now: datetime) -> Iterator[dict[str, Any]]:
    common = {"tenant_id": graph.tenant_id, "owner_user_id": None, "department_id": None,
              "created_at": now, "updated_at": now, "version": 1}
    for n in range(graph.parties):
        if n < graph.organizations:
            tags = rng.sample(ORG_TAGS, rng.randrange(3))
            yield {"id": graph.first_id + n, "kind": "organization", "display_name": _org_name(rng, n),
                   "tags": tags, **common}
        else:
            tags = ["newsletter"] if rng.random() < 0.1 else []
            yield {"id": graph.first_id + n, "kind": "person", "display_name": _person_name(rng),
                   "tags": tags, **common}


def _identifier_rows(graph: TenantGraph) -> Iterator[dict[str, Any]]:
    for n in range(graph.organizations):
        yield {"tenant_id": graph.tenant_id, "party_id": graph.first_id + n, "source": "erp", "value": f"ORG-{n:07d}"}


def _role_rows(rng: random.Random, graph: TenantGraph, today: date) -> Iterator[dict[str, Any]]:
    """Customer and/or supplier for each organization (exactly two rows each, some of them partner)."""
    for n in range(graph.organizations):
        party_id = graph.first_id + n
        first, second = rng.sample(("customer", "supplier", "partner"), 2)
        for role in (first, second):
            since = today - timedelta(days=rng.randrange(30, 5_000))
            ended = since + timedelta(days=rng.randrange(1, 20)) if rng.random() < 0.1 else None
            yield {"tenant_id": graph.tenant_id, "party_id": party_id, "role": role,
                   "valid_from": since, "valid_to": ended}


def _relationship_rows(rng: random.Random, graph: TenantGraph, today: date) -> Iterator[dict[str, Any]]:
    """Exactly ``graph.relationships`` rows: employments, supplies, partnerships, then acquaintances."""
    first, orgs, hubs = graph.first_id, graph.organizations, graph.hubs
    persons = graph.parties - orgs
    types = graph.type_ids
    random_ = rng.random
    randrange = rng.randrange

    def row(type_code: str, from_id: int, to_id: int, valid_from: date | None = None,
            valid_to: date | None = None) -> dict[str, Any]:
        return {"tenant_id": graph.tenant_id, "from_party_id": from_id, "to_party_id": to_id,
                "type_id": types[type_code], "valid_from": valid_from, "valid_to": valid_to,
                "attributes": {}, "notes": None}

    def skewed_org(hub_share: float) -> int:
        """A hub now and then, otherwise organizations with low numbers far more often than high ones."""
        if random_() < hub_share or orgs == hubs:
            return first + randrange(hubs)
        return first + hubs + int((orgs - hubs) * random_() ** 2)

    def other_org(than: int) -> int:
        chosen = first + randrange(orgs - 1)  # one draw among the others: step over ``than``
        return chosen + (chosen >= than)

    def days_ago(low: int, high: int) -> date:
        return today - timedelta(days=randrange(low, high))

    remaining = graph.relationships
    supplies = round(graph.relationships * 0.20)
    partnerships = round(graph.relationships * 0.03)
    employments_left = remaining - supplies - partnerships
    # Employments: a current one for each person, a past one for some (while the budget lasts).
    for p in range(persons):
        if employments_left <= 0:
            break
        person = first + orgs + p
        started = days_ago(30, 7_300)
        yield row("employs", skewed_org(HUB_EMPLOYMENT_SHARE), person, started)
        employments_left -= 1
        if random_() < 0.15 and employments_left > 0:
            left = started - timedelta(days=1 + randrange(365))
            yield row("employs", skewed_org(HUB_EMPLOYMENT_SHARE), person,
                      left - timedelta(days=randrange(180, 3_650)), left)
            employments_left -= 1
    acquaintances = employments_left  # what the employments left of their budget
    for _ in range(supplies):
        supplier = skewed_org(HUB_SUPPLY_SHARE)
        roll = random_()
        if roll < 0.01:  # signed, not started yet
            since, until = today + timedelta(days=randrange(1, 90)), None
        elif roll < 0.11:  # ended
            since = days_ago(400, 5_000)
            until = since + timedelta(days=randrange(30, 365))
        else:
            since, until = days_ago(1, 5_000), None
        yield row("supplies", supplier, other_org(supplier), since, until)
    for _ in range(partnerships):
        a = first + randrange(orgs)
        yield row("partners", a, other_org(a), days_ago(1, 3_000))
    if persons < 2:
        return
    for _ in range(acquaintances):
        p = randrange(persons)
        if random_() < 0.6:  # someone nearby: clusters
            q = (p + 1 + randrange(min(50, persons - 1))) % persons
        else:
            q = randrange(persons - 1)  # anyone else: step over p
            q += q >= p
        ended = days_ago(1, 1_000) if random_() < 0.05 else None
        yield row("knows", first + orgs + p, first + orgs + q, None, ended)


# -- helpers for the cases ------------------------------------------------------------------------


def _today_param(ctx: Context) -> Any:
    """Today (UTC, as the platform's default ``as_of``), as the driver compares it with a Date column."""
    today = datetime.now(UTC).date()
    return today.isoformat() if ctx.dialect == "sqlite" else today


def _two_orders(values: list[Any], seed: int) -> tuple[Iterator[Any], Iterator[Any]]:
    """Endless iterators over ``values`` for the platform and the raw side: same first value (the one
    the check compares), then different orders, so neither side finds pages the other just cached."""
    other = values[1:]
    random.Random(seed).shuffle(other)
    return itertools.cycle(values), itertools.cycle([values[0], *other])


def _sample_parties(ctx: Context, graph: TenantGraph, salt: int) -> list[int]:
    rng = random.Random(ctx.seed * 1_000 + salt)
    return [graph.random_party(rng) for _ in range(INPUTS)]


DATED = "(r.valid_from IS NULL OR r.valid_from <= ?) AND (r.valid_to IS NULL OR r.valid_to >= ?)"
OTHER_END = "CASE WHEN r.from_party_id = {walk}.party_id THEN r.to_party_id ELSE r.from_party_id END"


# -- cases ----------------------------------------------------------------------------------------


@case(
    "graph.bulk_create",
    f"{BULK_ROWS:,} new parties in one transaction: service.bulk_create_parties (checks, RETURNING ids) vs "
    "Core executemany of the same rows (target: platform >= 30% of raw throughput); rows deleted after each "
    "call, untimed",
)
def bulk_create(ctx: Context) -> Pair:
    graph = ctx.need(party_graph).large
    tenant_id = graph.tenant_id
    db = ctx.platform.db
    table = Party.__table__
    rng = random.Random(ctx.seed)
    rows = []
    for n in range(BULK_ROWS):
        if n % 10 == 0:
            rows.append({"kind": "organization", "display_name": _org_name(rng, n),
                         "tags": rng.sample(ORG_TAGS, rng.randrange(3))})
        else:
            rows.append({"kind": "person", "display_name": _person_name(rng),
                         "tags": ["imported"] if rng.random() < 0.2 else []})
    with ctx.engine.connect() as connection:
        baseline = connection.scalar(select(Party.id).order_by(Party.id.desc()).limit(1))

    def platform():
        with db.transaction(tenant_id) as session:
            return bulk_create_parties(session, rows)

    def raw():
        now = utcnow()
        stamped = {"tenant_id": tenant_id, "owner_user_id": None, "department_id": None,
                   "created_at": now, "updated_at": now, "version": 1}
        with ctx.engine.begin() as connection:
            connection.execute(table.insert(), [{**row, **stamped} for row in rows])
        return BULK_ROWS

    def reset():
        with ctx.engine.begin() as connection:
            connection.exec_driver_sql(
                ctx.sql("DELETE FROM core_parties WHERE tenant_id = ? AND id > ?"), (tenant_id, baseline)
            )

    def stored() -> list[tuple]:
        with ctx.engine.connect() as connection:
            return [tuple(r) for r in connection.execute(
                select(table.c.tenant_id, table.c.kind, table.c.display_name, table.c.tags, table.c.owner_user_id,
                       table.c.department_id, table.c.version).where(table.c.id > baseline).order_by(table.c.id)
            )]

    # Beyond the counts the harness checks: both sides store the very same rows, in the same order.
    ids = platform()
    by_platform = stored()
    reset()
    raw()
    by_raw = stored()
    reset()
    if by_platform != by_raw or len(by_platform) != BULK_ROWS or ids != sorted(ids) or len(set(ids)) != BULK_ROWS:
        raise AssertionError("graph.bulk_create: the platform and the raw insert did not store the same rows")

    return Pair(platform, raw, lambda p, r: len(p) == r == BULK_ROWS, reset=reset, work=(BULK_ROWS, "parties"))


@case(
    "graph.neighbours",
    "neighbours of a random party (today), what GET /parties/<id>/neighbours serves: queries.read_neighbours "
    "(plain rows, one prepared statement in a tenant read scope, acting for a tenant-wide reader) vs one raw "
    "UNION ALL of both directions",
)
def graph_neighbours(ctx: Context) -> Pair:
    graph = ctx.need(party_graph).large
    tenant_id = graph.tenant_id
    db = ctx.platform.db
    platform_ids, raw_ids = _two_orders(_sample_parties(ctx, graph, 1), ctx.seed)
    # A principal reading every party of the tenant: the permission step runs, and both sides answer alike.
    reader = Principal(tenant_id, "job:bench-neighbours", grants={"core.party.read": Scope.TENANT})
    # What the API answers with (the relationship, its type's code, the other end) and what the
    # permission check reads (the other end's department and owners).
    columns = (
        "r.id, r.version, r.from_party_id, r.to_party_id, t.id, t.code, r.valid_from, r.valid_to, r.attributes, "
        "r.notes, p.id, p.kind, p.display_name, p.department_id, p.owner_user_id, p.owner_team_id"
    )
    arcs = (
        f"SELECT {columns}, CASE WHEN t.symmetric THEN 'both' ELSE '{{label}}' END AS direction "
        "FROM core_relationships r JOIN core_relationship_types t ON t.id = r.type_id "
        "JOIN core_parties p ON p.id = r.{other} AND p.tenant_id = ? "
        f"WHERE r.{{own}} = ? AND r.tenant_id = ? AND {DATED}"
    )
    statement = (
        arcs.format(label="out", own="from_party_id", other="to_party_id")
        + " UNION ALL "
        + arcs.format(label="in", own="to_party_id", other="from_party_id")
        + " ORDER BY 13, 11, 1"  # display name, party id, relationship id
    )

    def platform():
        with db.reader(tenant_id) as scope:
            act_as(scope, reader)
            return read_neighbours(scope, next(platform_ids))

    def raw():
        party_id, day = next(raw_ids), _today_param(ctx)
        return ctx.raw(statement, (tenant_id, party_id, tenant_id, day, day) * 2)

    def same(found, rows) -> bool:
        return [(n.relationship.id, n.party.id, n.direction) for n in found] == [(r[0], r[10], r[16]) for r in rows]

    return Pair(platform, raw, same, per_call=True, min_calls=MIN_CALLS)


@case(
    "graph.neighbourhood_2",
    "depth-2 neighbourhood of a random party (today), distances and connecting edges: queries.neighbourhood vs "
    "a hand-written recursive CTE (target: median <= 20 ms)",
)
def graph_neighbourhood(ctx: Context) -> Pair:
    graph = ctx.need(party_graph).large
    tenant_id = graph.tenant_id
    db = ctx.platform.db
    platform_ids, raw_ids = _two_orders(_sample_parties(ctx, graph, 2), ctx.seed)
    # The edges are looked up by party: on SQLite, "+r.tenant_id" keeps the planner from scanning
    # the tenant's relationships through the tenant index instead (which it does when its
    # statistics give few relationships per tenant, e.g. at --scale 0.01).
    plus = "+" if ctx.dialect == "sqlite" else ""
    statement = f"""
        WITH RECURSIVE reach(party_id, hops) AS (
            SELECT id, 0 FROM core_parties WHERE id = ? AND tenant_id = ?
            UNION
            SELECT {OTHER_END.format(walk="reach")}, reach.hops + 1
            FROM reach JOIN core_relationships r ON r.from_party_id = reach.party_id OR r.to_party_id = reach.party_id
            WHERE reach.hops < 2 AND r.tenant_id = ? AND {DATED}
        ),
        distance AS (SELECT party_id, MIN(hops) AS hops FROM reach GROUP BY party_id)
        SELECT r.id, r.from_party_id, r.to_party_id, t.code, a.hops, b.hops
        FROM distance a
        JOIN core_relationships r ON r.from_party_id = a.party_id
        JOIN distance b ON b.party_id = r.to_party_id
        JOIN core_relationship_types t ON t.id = r.type_id
        WHERE {plus}r.tenant_id = ? AND {DATED}
        ORDER BY r.id
    """

    def platform():
        with db.session(tenant_id, read_only=True) as session:
            return neighbourhood(session, next(platform_ids), 2)

    def raw():
        party_id, day = next(raw_ids), _today_param(ctx)
        rows = ctx.raw(statement, (party_id, tenant_id, tenant_id, day, day, tenant_id, day, day))
        distances = {}
        for _, from_id, to_id, _, from_hops, to_hops in rows:
            distances[from_id], distances[to_id] = from_hops, to_hops
        return distances or {party_id: 0}, [tuple(row[:4]) for row in rows]

    def same(found, answer) -> bool:
        return found.distances == answer[0] and [tuple(e) for e in found.edges] == answer[1]

    return Pair(platform, raw, same, per_call=True, min_calls=MIN_CALLS)


@case(
    "graph.shortest_path_4",
    "every shortest path (<= 4 hops, today) between random connected parties: queries.shortest_paths vs a "
    "hand-written recursive CTE joining the half-paths of both ends (target: p95 <= 100 ms)",
)
def graph_shortest_path(ctx: Context) -> Pair:
    graph = ctx.need(party_graph).large
    tenant_id = graph.tenant_id
    db = ctx.platform.db
    pairs = _connected_pairs(ctx, graph, hops=4)
    platform_pairs, raw_pairs = _two_orders(pairs, ctx.seed)
    # Every walk of up to 2 hops from each end (no need to avoid cycles: a shortest path has none,
    # and a walk with one cannot be part of a shortest path), joined on the party where they meet;
    # the shortest total wins, and each path is kept once: split at its ceil(length / 2)-th party.
    half = """
        {name}(party_id, hops, parties, relationships) AS (
            SELECT id, 0, CAST(id AS TEXT), CAST('' AS TEXT) FROM core_parties WHERE id = ? AND tenant_id = ?
            UNION ALL
            SELECT {other}, {name}.hops + 1, {name}.parties || ',' || CAST({other} AS TEXT),
                   {name}.relationships || ',' || CAST(r.id AS TEXT)
            FROM {name} JOIN core_relationships r
              ON r.from_party_id = {name}.party_id OR r.to_party_id = {name}.party_id
            WHERE {name}.hops < 2 AND r.tenant_id = ? AND {dated}
        )"""
    statement = f"""
        WITH RECURSIVE
        {half.format(name="fwd", other=OTHER_END.format(walk="fwd"), dated=DATED)},
        {half.format(name="bwd", other=OTHER_END.format(walk="bwd"), dated=DATED)},
        joined AS (
            SELECT f.parties AS fp, f.relationships AS fr, b.parties AS bp, b.relationships AS br,
                   f.hops AS start_hops, f.hops + b.hops AS total, MIN(f.hops + b.hops) OVER () AS shortest
            FROM fwd f JOIN bwd b ON b.party_id = f.party_id
        )
        SELECT fp, fr, bp, br FROM joined
        WHERE total = shortest AND 2 * start_hops - total BETWEEN 0 AND 1
    """

    def platform():
        from_id, to_id = next(platform_pairs)
        with db.session(tenant_id, read_only=True) as session:
            return shortest_paths(session, from_id, to_id, 4)

    def raw():
        (from_id, to_id), day = next(raw_pairs), _today_param(ctx)
        rows = ctx.raw(statement, (from_id, tenant_id, tenant_id, day, day, to_id, tenant_id, tenant_id, day, day))
        paths = []
        for fp, fr, bp, br in rows:
            parties = _ids(fp) + _ids(bp)[::-1][1:]
            paths.append((parties, _ids(fr) + _ids(br)[::-1]))
        return sorted(paths)

    def same(found, paths) -> bool:
        return bool(paths) and [(p.party_ids, p.relationship_ids) for p in found] == paths

    return Pair(platform, raw, same, per_call=True, min_calls=MIN_CALLS)


def _ids(delimited: str) -> list[int]:
    return [int(part) for part in delimited.split(",") if part]


def _connected_pairs(ctx: Context, graph: TenantGraph, hops: int) -> list[tuple[int, int]]:
    """``INPUTS`` pairs of parties joined today by a path of at most ``hops``: the ends of random
    walks of ``hops`` steps (never straight back) from random parties."""
    rng = random.Random(ctx.seed * 1_000 + 3)
    step = ctx.sql(
        f"SELECT r.to_party_id FROM core_relationships r WHERE r.from_party_id = ? AND r.tenant_id = ? AND {DATED} "
        f"UNION ALL "
        f"SELECT r.from_party_id FROM core_relationships r WHERE r.to_party_id = ? AND r.tenant_id = ? AND {DATED}"
    )
    pairs: list[tuple[int, int]] = []
    connection = ctx.engine.raw_connection()
    try:
        cursor = connection.cursor()
        day = _today_param(ctx)
        while len(pairs) < INPUTS:
            start = graph.random_party(rng)
            walk = [start]
            for _ in range(hops):
                cursor.execute(step, (walk[-1], graph.tenant_id, day, day, walk[-1], graph.tenant_id, day, day))
                choices = [row[0] for row in cursor.fetchall() if len(walk) < 2 or row[0] != walk[-2]]
                if not choices:
                    break
                walk.append(rng.choice(choices))
            if len(walk) == hops + 1 and walk[-1] != start:
                pairs.append((start, walk[-1]))
        cursor.close()
    finally:
        connection.close()
    # The lengths of their shortest paths, for the record.
    lengths: Counter[int] = Counter()
    with ctx.platform.db.session(graph.tenant_id, read_only=True) as session:
        for from_id, to_id in pairs:
            found = shortest_paths(session, from_id, to_id, hops)
            lengths[len(found[0].relationship_ids) if found else 0] += 1
    console.log(
        "shortest path pairs by length: " + ", ".join(f"{n} hops: {count}" for n, count in sorted(lengths.items()))
    )
    return pairs
