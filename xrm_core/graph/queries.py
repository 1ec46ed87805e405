"""Reading the party graph: neighbours, neighbourhoods and shortest paths, computed in the database.

Each query is answered by one SQL statement (recursive CTEs for the multi-hop ones) that returns
only the answer, never the graph, and gives the same results on SQLite and PostgreSQL. Small
lookups come only with a type filter (its codes) or an empty answer (does the party exist?).
The statements work on the tables with Core constructs, which the ORM's tenant scoping does not
reach: each one carries the session's tenant explicitly and fails closed without one. They are
built once per shape (depth, which filters are used) with bound parameters, then reused: building
one costs more than running it on an indexed graph.

**Dates.** A relationship counts on a day when that day falls within its validity period
(``valid_from`` and ``valid_to`` inclusive, ``NULL`` meaning unbounded). Every query takes
``as_of``: a date, :data:`TODAY` (the default, in UTC: a CRM shows the current graph unless asked
otherwise) or :data:`ALL_TIME` (every relationship that ever held, for history and audits).

**Direction.** Neighbours can be asked for by direction; multi-hop queries follow relationships
both ways ("how is this supplier connected to that customer?" does not care who employs whom).

**Permissions.** Through a session acting for a principal, the graph is the part of it the
principal may read: a party it cannot see is neither returned nor walked through, so no answer
(a distance, a path, an edge) reveals it. The multi-hop statements then test each party they step
to with an ``EXISTS`` on the ORM entity, which the session's permission criteria reach like any
ORM read; without a principal (platform work, benchmarks) that test is left out of the SQL.

**Read-only rows.** :func:`neighbours` answers with ORM objects, for callers that go on to use or
change them. :func:`read_neighbours` is the read-only answer the API serves: the same neighbours in
the same order as plain rows, from one prepared statement (:mod:`xrm_core.prepared`) run on the
DBAPI connection of a session or read scope, since on a party's few relationships SQLAlchemy's ORM
execution path (cache key, loader criteria, object building) costs several times the database's
work. The statement carries the tenant as a bound condition (failing closed without one) and,
acting for a principal, the asked-about party and each neighbour pass
:func:`~xrm_core.identity.scoping.can`, the Python form of the permission criteria (shares and
``related`` grants included).
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    CTE,
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    Table,
    Text,
    and_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.functions import FunctionElement

from ..errors import NotFound
from ..identity.scoping import can, principal_of
from ..prepared import Prepared
from ..read_scope import ReadScope
from . import GraphRuleError, session_tenant
from .models import Party, PartyRoleAssignment, Relationship, RelationshipTypeDef

PARTIES: Table = Party.__table__
ROLES: Table = PartyRoleAssignment.__table__
TYPES: Table = RelationshipTypeDef.__table__
RELATIONSHIPS: Table = Relationship.__table__

#: The deepest neighbourhood and the longest path asked for: beyond, a graph of realistic density
#: reaches most of the tenant, which is an export, not a query.
MAX_DEPTH = 4
MAX_HOPS = 6
DIRECTIONS = ("both", "out", "in")


class AsOf(enum.Enum):
    """The moments an ``as_of`` argument can name besides a date."""

    TODAY = "today"
    ALL_TIME = "all time"


TODAY = AsOf.TODAY
ALL_TIME = AsOf.ALL_TIME


class Neighbour(NamedTuple):
    relationship: Relationship
    party: Party
    #: ``out`` when the asked-about party is the relationship's from-end, ``in`` when it is the
    #: to-end, ``both`` when the type is symmetric (its stored orientation means nothing).
    direction: str


class Edge(NamedTuple):
    relationship_id: int
    from_party_id: int
    to_party_id: int
    type_code: str


class Neighbourhood(NamedTuple):
    #: Party id -> the fewest hops from the centre (the centre itself is at 0).
    distances: dict[int, int]
    #: Every relationship (matching the filters) between two parties of the neighbourhood.
    edges: list[Edge]


class Path(NamedTuple):
    #: From the first party to the last.
    party_ids: list[int]
    #: ``relationship_ids[i]`` links ``party_ids[i]`` and ``party_ids[i + 1]``.
    relationship_ids: list[int]


class TypeRef(NamedTuple):
    """A relationship's type, as :func:`read_neighbours` names it (``relationship.type.code``, like the ORM)."""

    id: int
    code: str


class RelationshipRow(NamedTuple):
    """A relationship's columns as plain values.

    Stands in for the ORM relationship where a record is expected: its ETag is the relationship's
    (same table, id and version), its protected fields are the relationship model's.
    """

    id: int
    version: int
    from_party_id: int
    to_party_id: int
    type: TypeRef
    valid_from: date | None
    valid_to: date | None
    attributes: dict[str, Any]
    notes: str | None

    # Unannotated, so that they are class attributes, not fields.
    __table__ = RELATIONSHIPS
    __protected_fields__ = getattr(Relationship, "__protected_fields__", None)


class PartyRow(NamedTuple):
    """A party named by :func:`read_neighbours`: its name, and what decides who may read it."""

    id: int
    kind: str
    display_name: str
    department_id: int | None
    owner_user_id: int | None
    owner_team_id: int | None

    __permission_resource__ = Party.__permission_resource__
    __party_key__ = Party.__party_key__


class NeighbourRow(NamedTuple):
    """:class:`Neighbour` as plain rows."""

    relationship: RelationshipRow
    party: PartyRow
    direction: str


def neighbours(
    session: Session,
    party_id: int,
    *,
    types: str | list[str] | None = None,
    role: str | None = None,
    direction: str = "both",
    as_of: date | AsOf = TODAY,
) -> list[Neighbour]:
    """The parties directly related to ``party_id``, with the relationship and its direction.

    :param types: Relationship type codes to follow (``None``: all).
    :param role: Only neighbours holding this role code on ``as_of`` (for :data:`ALL_TIME`: ever).
    :param direction: ``out`` (relationships from the party), ``in`` (to it) or ``both``; symmetric
        relationships count in every direction.
    :returns: Ordered by the neighbour's display name, then ids; a party linked twice appears twice.
    :raises NotFound: ``party_id`` is not a party of the session's tenant.
    """
    if direction not in DIRECTIONS:
        raise GraphRuleError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    params = _parameters(session, types, as_of, party_id=party_id, role=role)
    statement = _neighbours_statement(direction, types is not None, as_of is not ALL_TIME, role is not None)
    result = [Neighbour(*row) for row in session.execute(statement, params)]
    if not result or principal_of(session) is not None:
        # A principal must see the party itself, not only (some of) its neighbours.
        _require_party(session, params["tenant_id"], party_id)
    return result


def read_neighbours(
    session: Session | ReadScope,
    party_id: int,
    *,
    types: str | list[str] | None = None,
    role: str | None = None,
    direction: str = "both",
    as_of: date | AsOf = TODAY,
) -> list[NeighbourRow]:
    """:func:`neighbours` as plain rows, for read-only answers: the same neighbours in the same order,
    through a session or a read scope (see the module docstring), within its tenant and, acting
    for a principal, what it may read.

    :raises NotFound: ``party_id`` is not a party of the tenant, or the principal may not read it.
    """
    if direction not in DIRECTIONS:
        raise GraphRuleError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    params: dict[str, Any] = {"tenant_id": session_tenant(session), "party_id": party_id}
    connection = session if type(session) is ReadScope else session.connection()
    type_count = None
    if types is not None:
        type_ids = _type_ids(connection, params["tenant_id"], types)
        type_count = len(type_ids)
        params.update((f"type_id_{index}", type_id) for index, type_id in enumerate(type_ids))
    if as_of is not ALL_TIME:
        params["day"] = _day(as_of)
    if role is not None:
        params["role"] = role
    statement = _neighbour_rows_statement(direction, type_count, as_of is not ALL_TIME, role is not None)
    centre, found = None, []
    for row in statement.rows(connection, params):
        # (relationship id, version, from, to, type id, type code, valid from, valid to, attributes,
        # notes, direction, then the party's columns); the asked-about party's own row has no direction.
        if row[10] is None:
            centre = PartyRow(*row[11:])
        else:
            relationship = RelationshipRow(*row[:4], TypeRef(row[4], row[5]), *row[6:10])
            found.append(NeighbourRow(relationship, PartyRow(*row[11:]), row[10]))
    principal = principal_of(session)
    if centre is None or (principal is not None and not can(session, principal, "read", centre)):
        raise NotFound(f"no party #{party_id}")
    if principal is not None:
        found = [neighbour for neighbour in found if can(session, principal, "read", neighbour.party)]
    return found


def neighbourhood(
    session: Session,
    party_id: int,
    depth: int = 1,
    *,
    types: str | list[str] | None = None,
    as_of: date | AsOf = TODAY,
) -> Neighbourhood:
    """Every party within ``depth`` hops of ``party_id`` (at most :data:`MAX_DEPTH`), with its
    distance, and the relationships that connect them (those between two of its parties, ordered
    by id), following relationships in both directions.

    :raises NotFound: ``party_id`` is not a party of the session's tenant.
    """
    if not 0 <= depth <= MAX_DEPTH:
        raise GraphRuleError(f"a neighbourhood's depth is between 0 and {MAX_DEPTH}, not {depth}")
    params = _parameters(session, types, as_of, party_id=party_id)
    found: dict[int, int] = {}
    edges = []
    for rel_id, from_id, to_id, code, from_hops, to_hops in session.execute(
        _neighbourhood_statement(depth, types is not None, as_of is not ALL_TIME, _scoped(session)), params
    ):
        edges.append(Edge(rel_id, from_id, to_id, code))
        found[from_id], found[to_id] = from_hops, to_hops
    if not edges:
        _require_party(session, params["tenant_id"], party_id)
        found[party_id] = 0
    return Neighbourhood(found, edges)


def shortest_paths(
    session: Session,
    from_id: int,
    to_id: int,
    max_hops: int = MAX_HOPS,
    *,
    types: str | list[str] | None = None,
    as_of: date | AsOf = TODAY,
) -> list[Path]:
    """Every shortest path between two parties of at most ``max_hops`` relationships (at most
    :data:`MAX_HOPS`), following relationships in both directions; ``[]`` when there is none.

    Two relationships between the same parties make two paths. Paths are ordered by their party
    ids, then their relationship ids. See :func:`_shortest_paths_statement` for how.

    :raises NotFound: either end is not a party of the session's tenant.
    """
    if not 1 <= max_hops <= MAX_HOPS:
        raise GraphRuleError(f"max_hops is between 1 and {MAX_HOPS}, not {max_hops}")
    params = _parameters(session, types, as_of, from_id=from_id, to_id=to_id)
    if from_id == to_id:
        _require_party(session, params["tenant_id"], from_id)
        return [Path([from_id], [])]
    paths = []
    for start_parties, start_rels, finish_parties, finish_rels in session.execute(
        _shortest_paths_statement(max_hops, types is not None, as_of is not ALL_TIME, _scoped(session)), params
    ):
        # Each half runs from the middle party to its end: reverse the first, drop the shared middle.
        parties = _ids(start_parties)[::-1] + _ids(finish_parties)[1:]
        paths.append(Path(parties, _ids(start_rels)[::-1] + _ids(finish_rels)))
    if not paths:
        _require_party(session, params["tenant_id"], from_id)
        _require_party(session, params["tenant_id"], to_id)
    return sorted(paths)


# -- parameters -----------------------------------------------------------------------------------


def _parameters(session: Session, types: str | list[str] | None, as_of: date | AsOf, **values: Any) -> dict[str, Any]:
    """The bound values of a query: the tenant, the day, the type ids, and ``values``."""
    tenant_id = session_tenant(session)
    params = {"tenant_id": tenant_id, **values}
    if as_of is not ALL_TIME:
        params["day"] = _day(as_of)
    if types is not None:
        codes = [types] if isinstance(types, str) else list(types)
        ids = dict(session.execute(
            select(TYPES.c.code, TYPES.c.id).where(TYPES.c.tenant_id == tenant_id, TYPES.c.code.in_(codes))
        ).all())
        if unknown := sorted(set(codes) - ids.keys()):
            raise GraphRuleError(f"unknown relationship type {', '.join(repr(c) for c in unknown)}")
        params["type_ids"] = list(ids.values())
    return params


def _type_ids(connection: Any, tenant_id: int, types: str | list[str]) -> list[int]:
    """The ids of the tenant's relationship types ``types`` names (each once), by a prepared lookup
    of all of them (a tenant has few); an unknown code is a :class:`GraphRuleError`."""
    codes = [types] if isinstance(types, str) else list(types)
    ids = dict(TYPE_IDS.rows(connection, {"tenant_id": tenant_id}))
    if unknown := sorted(set(codes) - ids.keys()):
        raise GraphRuleError(f"unknown relationship type {', '.join(repr(c) for c in unknown)}")
    return sorted({ids[code] for code in codes})


def _day(as_of: date | AsOf) -> date:
    if as_of is TODAY:
        return datetime.now(UTC).date()
    if isinstance(as_of, date) and not isinstance(as_of, datetime):
        return as_of
    raise TypeError(f"as_of must be a date, TODAY or ALL_TIME, not {as_of!r}")


def _require_party(session: Session, tenant_id: int, party_id: int) -> None:
    """The party must be the tenant's and, through a principal's session, visible to it (an ORM
    read, so the permission criteria apply)."""
    found = session.scalar(select(Party.id).where(Party.id == party_id, Party.tenant_id == tenant_id))
    if found is None:
        raise NotFound(f"no party #{party_id}")


def _scoped(session: Session) -> bool:
    """Whether the statements must keep to the parties the session's principal may read."""
    return principal_of(session) is not None


def _ids(delimited: str) -> list[int]:
    return [int(part) for part in delimited.split(",") if part]


# -- statements -----------------------------------------------------------------------------------
# Bound parameters: tenant_id, day (when dated), type_ids (when filtered by type), and each
# statement's own (party_id, role, from_id, to_id).


@cache
def _neighbours_statement(direction: str, by_type: bool, dated: bool, by_role: bool) -> Select:
    r, t = RELATIONSHIPS, TYPES
    conditions = _edge_conditions(by_type, dated)

    def arcs(own_end: str, other_end: str, label: str) -> Select:
        statement = (
            select(
                r.c.id.label("relationship_id"),
                r.c[other_end].label("party_id"),
                case((t.c.symmetric, literal("both", String)), else_=literal(label, String)).label("direction"),
            )
            .join_from(r, t, t.c.id == r.c.type_id)
            .where(r.c[own_end] == bindparam("party_id"), *conditions)
        )
        return statement if direction in ("both", label) else statement.where(t.c.symmetric)

    found = union_all(arcs("from_party_id", "to_party_id", "out"), arcs("to_party_id", "from_party_id", "in")).subquery()
    statement = (
        select(Relationship, Party, found.c.direction)
        .join(found, found.c.relationship_id == Relationship.id)
        .join(Party, and_(Party.id == found.c.party_id, Party.tenant_id == bindparam("tenant_id")))
        .order_by(Party.display_name, Party.id, Relationship.id)
    )
    if by_role:
        statement = statement.where(
            exists().where(
                ROLES.c.tenant_id == bindparam("tenant_id"),
                ROLES.c.party_id == Party.id,
                ROLES.c.role == bindparam("role"),
                *(_valid_on(ROLES) if dated else ()),
            )
        )
    return statement


@lru_cache(maxsize=512)
def _neighbour_rows_statement(direction: str, type_count: int | None, dated: bool, by_role: bool) -> Prepared:
    """The statement of :func:`read_neighbours`, prepared once per shape: by direction, number of
    type ids (``None``: no type filter; each id is its own bound ``type_id_<n>``, since a prepared
    statement cannot expand a list), dates and role.

    One round trip answers both questions: the neighbours (one row per relationship, from each
    end), and, as the last branch of the ``UNION ALL``, the asked-about party's own row (without
    a relationship nor a direction), which tells whether it exists and who may read it.
    """
    r, t = RELATIONSHIPS, TYPES
    tenant_id = bindparam("tenant_id")
    conditions = [r.c.tenant_id == tenant_id, *(_valid_on(r) if dated else ())]
    if type_count == 0:
        conditions.append(false())
    elif type_count is not None:
        conditions.append(r.c.type_id.in_([bindparam(f"type_id_{index}") for index in range(type_count)]))

    def party_columns(party: Any) -> list[ColumnElement]:
        return [party.c.id.label("party_id"), party.c.kind, party.c.display_name.label("display_name"),
                party.c.department_id, party.c.owner_user_id, party.c.owner_team_id]

    def arcs(own_end: str, other_end: str, label: str) -> Select:
        other = PARTIES.alias(f"other_{label}")
        statement = (
            select(
                r.c.id.label("relationship_id"), r.c.version, r.c.from_party_id, r.c.to_party_id, t.c.id, t.c.code,
                r.c.valid_from, r.c.valid_to, r.c.attributes, r.c.notes,
                # Literal SQL, not bound values: a prepared statement's values are all given at each run.
                case((t.c.symmetric, literal_column("'both'", String)),
                     else_=literal_column(f"'{label}'", String)).label("direction"),
                *party_columns(other),
            )
            .join_from(r, t, t.c.id == r.c.type_id)
            .join(other, and_(other.c.id == r.c[other_end], other.c.tenant_id == tenant_id))
            .where(r.c[own_end] == bindparam("party_id"), *conditions)
        )
        if by_role:
            statement = statement.where(exists().where(
                ROLES.c.tenant_id == tenant_id,
                ROLES.c.party_id == other.c.id,
                ROLES.c.role == bindparam("role"),
                *(_valid_on(ROLES) if dated else ()),
            ))
        return statement if direction in ("both", label) else statement.where(t.c.symmetric)

    centre = select(*(null() for _ in range(11)), *party_columns(PARTIES)).where(
        PARTIES.c.id == bindparam("party_id"), PARTIES.c.tenant_id == tenant_id)
    found = union_all(arcs("from_party_id", "to_party_id", "out"), arcs("to_party_id", "from_party_id", "in"), centre)
    return Prepared(found.order_by("display_name", "party_id", "relationship_id"))


#: Every relationship type of a tenant, ``(code, id)``: what :func:`read_neighbours` resolves codes with.
TYPE_IDS = Prepared(select(TYPES.c.code, TYPES.c.id).where(TYPES.c.tenant_id == bindparam("tenant_id")))


@cache
def _neighbourhood_statement(depth: int, by_type: bool, dated: bool, scoped: bool) -> Select:
    conditions = _edge_conditions(by_type, dated)
    distances = _distances(_reach(bindparam("party_id"), depth, conditions, "reach", scoped), "distances")
    r, start, end = RELATIONSHIPS, distances.alias("start"), distances.alias("finish")
    # The edges are looked up by party, from the neighbourhood, never through the tenant index:
    # SQLite knows nothing of a CTE's size, and when its statistics give few relationships per
    # tenant (a large tenant among many small ones) it would otherwise scan every relationship of
    # the tenant and probe the neighbourhood for each: seconds at a million parties, not milliseconds.
    # (PostgreSQL estimates the CTE and the tenant's share, and keeps its plan: see _Unindexed.)
    return (
        select(r.c.id, r.c.from_party_id, r.c.to_party_id, TYPES.c.code, start.c.hops, end.c.hops)
        .select_from(start)
        .join(r, r.c.from_party_id == start.c.party_id)
        .join(end, end.c.party_id == r.c.to_party_id)
        .join(TYPES, TYPES.c.id == r.c.type_id)
        .where(*_edge_conditions(by_type, dated, tenant_index=False))
        .order_by(r.c.id)
    )


@cache
def _shortest_paths_statement(max_hops: int, by_type: bool, dated: bool, scoped: bool) -> Select:
    """Every shortest path between ``from_id`` and ``to_id``, as two halves meeting in the middle.

    The parties within half the allowed hops of each end are found with their distances (two
    recursive CTEs keeping one row per party and distance, so cycles and dense areas cost no more
    than the parties they reach). A shortest path of length L crosses a party ``ceil(L/2)`` hops
    from its start and ``floor(L/2)`` from its finish, which both searches reach, and L is the
    smallest sum of the two distances over the parties both reach. From these middle parties two
    more recursive CTEs walk back to each end, stepping only to a party one hop closer to it, so
    they build nothing but shortest half-paths (as comma-separated ids, which both databases
    concatenate alike); each row of the result is one half from each side of a middle party.
    """
    conditions = _edge_conditions(by_type, dated)
    from_start = _distances(
        _reach(bindparam("from_id"), (max_hops + 1) // 2, conditions, "reach_start", scoped), "from_start")
    to_finish = _distances(_reach(bindparam("to_id"), max_hops // 2, conditions, "reach_finish", scoped), "to_finish")
    meeting = (
        select(from_start.c.party_id, from_start.c.hops.label("to_start"), to_finish.c.hops.label("to_finish"))
        .join(to_finish, to_finish.c.party_id == from_start.c.party_id)
        .cte("meeting")
    )
    length = select(func.min(meeting.c.to_start + meeting.c.to_finish)).scalar_subquery()
    middle = (
        select(meeting)
        .where(meeting.c.to_start + meeting.c.to_finish == length, (2 * meeting.c.to_start - length).between(0, 1))
        .cte("middle")
    )
    start_half = _walk_back(middle, middle.c.to_start, from_start, conditions, "start_half")
    finish_half = _walk_back(middle, middle.c.to_finish, to_finish, conditions, "finish_half")
    return (
        select(start_half.c.parties, start_half.c.relationships, finish_half.c.parties, finish_half.c.relationships)
        .join_from(start_half, finish_half, finish_half.c.middle_id == start_half.c.middle_id)
        .where(start_half.c.hops == 0, finish_half.c.hops == 0)
    )


def _reach(centre_id: ColumnElement[int], radius: int, conditions: list[ColumnElement[bool]], name: str,
           scoped: bool) -> CTE:
    """``(party_id, hops)`` for every party and every number of hops (up to ``radius``) by which a
    walk from the centre reaches it.

    ``UNION`` (not ``UNION ALL``) keeps one row per party and number of hops, so the recursion
    stops on cycles and costs at most ``radius + 1`` rows per party reached. It starts from the
    centre only if the centre is the tenant's, and follows only the tenant's relationships;
    ``scoped``, it starts from and steps to only parties the session's principal may read.
    """
    r = RELATIONSHIPS
    anchor = select(PARTIES.c.id.label("party_id"), literal(0, Integer).label("hops")).where(
        PARTIES.c.id == centre_id, PARTIES.c.tenant_id == bindparam("tenant_id"))
    if scoped:
        anchor = anchor.where(_visible(PARTIES.c.id))
    reach = anchor.cte(name, recursive=True)
    other = _other_end(reach.c.party_id)
    step = (
        select(other, reach.c.hops + 1)
        .select_from(reach)
        .join(r, or_(r.c.from_party_id == reach.c.party_id, r.c.to_party_id == reach.c.party_id))
        .where(reach.c.hops < radius, *conditions)
    )
    if scoped:
        step = step.where(_visible(other))
    return reach.union(step)


def _visible(party_id: ColumnElement[int]) -> ColumnElement[bool]:
    """``EXISTS`` the party through the ORM entity: the session's permission criteria (added to
    every ORM read of ``Owned`` entities, aliases included) make it true only for visible parties."""
    visible = aliased(Party, name="visible_party")
    return exists().where(visible.id == party_id)


def _distances(reach: CTE, name: str) -> CTE:
    """``(party_id, hops)``: the fewest hops to each party reached."""
    return select(reach.c.party_id, func.min(reach.c.hops).label("hops")).group_by(reach.c.party_id).cte(name)


def _walk_back(middle: CTE, middle_hops: ColumnElement[int], distances: CTE, conditions: list, name: str) -> CTE:
    """Every shortest path from each middle party back to the end ``distances`` is measured from.

    Each step goes to a party one hop closer to that end, so every walk is a shortest path and
    never revisits a party; ``parties`` and ``relationships`` accumulate ids as comma-separated
    strings. Complete rows have ``hops = 0``.
    """
    r = RELATIONSHIPS
    walk = select(
        middle.c.party_id.label("middle_id"),
        middle.c.party_id.label("party_id"),
        middle_hops.label("hops"),
        cast(middle.c.party_id, Text).label("parties"),
        cast(literal(""), Text).label("relationships"),
    ).cte(name, recursive=True)
    other = _other_end(walk.c.party_id)
    step = (
        select(
            walk.c.middle_id,
            other,
            walk.c.hops - 1,
            walk.c.parties + "," + cast(other, Text),
            walk.c.relationships + "," + cast(r.c.id, Text),
        )
        .select_from(walk)
        .join(r, or_(r.c.from_party_id == walk.c.party_id, r.c.to_party_id == walk.c.party_id))
        .join(distances, and_(distances.c.party_id == other, distances.c.hops == walk.c.hops - 1))
        .where(walk.c.hops > 0, *conditions)
    )
    return walk.union_all(step)


def _other_end(party_id: ColumnElement[int]) -> ColumnElement[int]:
    """The end of a relationship that is not ``party_id``: walking the graph both ways."""
    r = RELATIONSHIPS
    return case((r.c.from_party_id == party_id, r.c.to_party_id), else_=r.c.from_party_id)


def _edge_conditions(by_type: bool, dated: bool, *, tenant_index: bool = True) -> list[ColumnElement[bool]]:
    """Conditions on ``core_relationships`` for the relationships a query may follow.

    ``tenant_index=False`` writes the tenant condition so that SQLite cannot serve it with an index
    (see :class:`_Unindexed`): the planner then cannot start from the tenant's index.
    """
    r = RELATIONSHIPS
    tenant = r.c.tenant_id if tenant_index else _Unindexed(r.c.tenant_id)
    conditions = [tenant == bindparam("tenant_id"), *(_valid_on(r) if dated else ())]
    if by_type:
        conditions.append(r.c.type_id.in_(bindparam("type_ids", expanding=True)))
    return conditions


class _Unindexed(FunctionElement[int]):
    """An integer column as a condition's operand that SQLite may not look up in an index.

    Rendered ``+column`` on SQLite (the unary plus its query planner documents for this purpose),
    and as the bare column elsewhere: PostgreSQL's planner estimates better with the column itself
    (an expression would get a default selectivity and lead it to nested loops).
    """

    type = Integer()
    inherit_cache = True
    name = "unindexed"


@compiles(_Unindexed)
def _unindexed(element: _Unindexed, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_Unindexed, "sqlite")
def _unindexed_sqlite(element: _Unindexed, compiler: Any, **kw: Any) -> str:
    return "+" + compiler.process(element.clauses, **kw)


def _valid_on(table: Table) -> list[ColumnElement[bool]]:
    """Conditions for rows of ``table`` (with a validity period) that hold on the bound ``day``."""
    day = bindparam("day", type_=Date)
    return [
        or_(table.c.valid_from.is_(None), table.c.valid_from <= day),
        or_(table.c.valid_to.is_(None), table.c.valid_to >= day),
    ]
