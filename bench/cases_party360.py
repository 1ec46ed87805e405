"""Party 360 at the issue's scale: one party, its current roles and its relationships (with the
other end's name), on the ``party_graph`` data set of :mod:`bench.cases_graph`.

The platform side is :func:`xrm_core.graph.party360.read_party360` (what ``GET
/api/v1/parties/<id>/360`` serves) through a tenant read scope (``db.reader``: a read-only
transaction scoped like a session, without the ORM session's open/close cost; the benchmark
platform's plugins contribute no panels, so the panel listing costs only its installed-hooks lookup); the raw side is
the same answer in three hand-written statements on one DBAPI connection: the party's row, all its
roles and identifiers (the API shows the party with both), and its relationships valid today with
the other end's name and ownership (what permission checks read). Like the platform, the raw side
reads in one transaction, a consistent snapshot: PostgreSQL's driver begins one implicitly, the
platform's SQLite connections are in autocommit mode, so there it begins one itself. Each call is
on another random party of the large tenant, as in the graph cases.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from xrm_core.graph.party360 import read_party360
from xrm_core.models import Tenant

from .cases_graph import MIN_CALLS, _sample_parties, _today_param, _two_orders, party_graph
from .harness import Context, Pair, case

PARTY = ("SELECT id, kind, display_name, tags, owner_user_id, department_id, created_at, updated_at, version, "
         "owner_team_id, custom FROM core_parties WHERE id = ? AND tenant_id = ?")
ROLES = ("SELECT id, role, valid_from, valid_to FROM core_party_roles WHERE party_id = ? AND tenant_id = ? "
         "AND (valid_from IS NULL OR valid_from <= ?) AND (valid_to IS NULL OR valid_to >= ?) ORDER BY id")
#: Every role (the party's representation lists them all; the 360's are those held today) and identifier.
FACTS = ("SELECT 'role', id, role, NULL, valid_from, valid_to FROM core_party_roles WHERE party_id = ? AND tenant_id = ? "
         "UNION ALL SELECT 'identifier', id, source, value, NULL, NULL FROM core_party_identifiers "
         "WHERE party_id = ? AND tenant_id = ? ORDER BY 1, 2")
_ARCS = (
    "SELECT r.id, t.code, CASE WHEN t.symmetric THEN t.forward_label ELSE t.{label} END, "
    "CASE WHEN t.symmetric THEN 'both' ELSE '{direction}' END, r.valid_from, r.valid_to, p.id, p.kind, "
    "p.display_name, p.department_id, p.owner_user_id, p.owner_team_id, r.version "
    "FROM core_relationships r JOIN core_relationship_types t ON t.id = r.type_id "
    "JOIN core_parties p ON p.id = r.{other} AND p.tenant_id = ? "
    "WHERE r.{own} = ? AND r.tenant_id = ? "
    "AND (r.valid_from IS NULL OR r.valid_from <= ?) AND (r.valid_to IS NULL OR r.valid_to >= ?)"
)
LINKS = (
    _ARCS.format(label="forward_label", direction="out", own="from_party_id", other="to_party_id")
    + " UNION ALL "
    + _ARCS.format(label="inverse_label", direction="in", own="to_party_id", other="from_party_id")
    + " ORDER BY 9, 7, 1"  # the other end's name, its id, the relationship's id
)


@case(
    "party360.view",
    "party 360 of a random party (today): party with its roles and identifiers, current roles, relationships "
    "with the other end's name; graph.party360.read_party360 (Core rows in a tenant read scope, tenant and permission "
    "scoping, panel listing) vs three hand-written statements (target: median <= 5 ms and <= 2x raw at scale 1)",
)
def party_360(ctx: Context) -> Pair:
    graph = ctx.need(party_graph).large
    tenant_id = graph.tenant_id
    db, platform_state = ctx.platform.db, ctx.platform
    platform_ids, raw_ids = _two_orders(_sample_parties(ctx, graph, 360), ctx.seed)
    with db.session(tenant_id, read_only=True) as session:
        tenant = session.get(Tenant, tenant_id)
        session.expunge(tenant)
    begin = "BEGIN DEFERRED" if ctx.dialect == "sqlite" else None

    def platform():
        with db.reader(tenant_id) as scope:
            return read_party360(scope, platform_state, tenant, next(platform_ids), on=datetime.now(UTC).date())

    def raw():
        party_id, day = next(raw_ids), _today_param(ctx)
        connection = ctx.engine.raw_connection()
        try:
            cursor = connection.cursor()
            if begin:
                cursor.execute(begin)
            cursor.execute(ctx.sql(PARTY), (party_id, tenant_id))
            party = cursor.fetchone()
            cursor.execute(ctx.sql(FACTS), (party_id, tenant_id) * 2)
            facts = cursor.fetchall()
            cursor.execute(ctx.sql(LINKS), (tenant_id, party_id, tenant_id, day, day) * 2)
            links = cursor.fetchall()
            cursor.close()
            connection.rollback()
        finally:
            connection.close()
        today = date.fromisoformat(day) if isinstance(day, str) else day
        roles = [fact for fact in facts if fact[0] == "role" and _held(fact, today)]
        return party, roles, links

    def same(view, answer) -> bool:
        party, roles, links = answer
        return (view.party.id == party[0] and [r.id for r in view.roles] == [r[1] for r in roles]
                and [(link.id, link.party.display_name, link.direction) for link in view.relationships]
                == [(link[0], link[8], link[3]) for link in links] and view.panels == [])

    return Pair(platform, raw, same, per_call=True, min_calls=MIN_CALLS)


def _held(role: tuple, day: date) -> bool:
    valid_from, valid_to = (date.fromisoformat(v) if isinstance(v, str) else v for v in role[4:6])
    return (valid_from is None or valid_from <= day) and (valid_to is None or valid_to >= day)
