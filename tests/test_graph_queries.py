"""Graph queries on a real database: known answers on a hand-built graph, and agreement with a
breadth-first search in Python on deterministic random graphs."""

import random
from collections import deque
from datetime import date

import pytest
from sqlalchemy import select

from xrm_core import tenants
from xrm_core.errors import NotFound
from xrm_core.graph import GraphRuleError, service
from xrm_core.graph.models import Party
from xrm_core.graph.queries import (
    ALL_TIME,
    Edge,
    Path,
    neighbourhood,
    neighbours,
    read_neighbours,
    shortest_paths,
)


class Graph:
    """The hand-built graph: parties and relationships by name, and a session of their tenant."""

    def __init__(self, session, parties, relationships):
        self.session, self.parties, self.relationships = session, parties, relationships
        self._names = {party.id: name for name, party in parties.items()}
        self._rel_names = {rel.id: name for name, rel in relationships.items()}

    def __getitem__(self, name):
        return self.parties[name].id

    def neighbours(self, name, **filters):
        """``(neighbour, direction, relationship)`` names, in the query's order; the read-only rows
        (:func:`read_neighbours`) must give the very same answer as the ORM objects."""
        found = [(n.party.display_name, n.direction, self._rel_names[n.relationship.id])
                 for n in neighbours(self.session, self[name], **filters)]
        rows = [(n.party.display_name, n.direction, self._rel_names[n.relationship.id])
                for n in read_neighbours(self.session, self[name], **filters)]
        assert rows == found
        return found

    def neighbourhood(self, name, depth, **filters):
        distances, edges = neighbourhood(self.session, self[name], depth, **filters)
        return {self._names[p]: hops for p, hops in distances.items()}, [self._rel_names[e.relationship_id] for e in edges]

    def paths(self, start, finish, max_hops=6, **filters):
        return [([self._names[p] for p in path.party_ids], [self._rel_names[r] for r in path.relationship_ids])
                for path in shortest_paths(self.session, self[start], self[finish], max_hops, **filters)]


@pytest.fixture
def graph(platform):
    """People, organizations and their relationships, some of them dated::

        Globex ─supplies (2021-)→ Acme ─employs (2020-)→ Alice ─knows─ Carol ─knows─ Frank ─knows─ Erin
          │                        │                       └──knows── Dave ──knows───┘             ↑
          └─employs (2022-)→ Bob ←─employs (2019-2021)─┘                                 Initech ─employs
        Hermit knows no one.
    """
    with platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "acme", "ACME").id
    with platform.db.session(tenant_id) as session:
        parties = {name: service.create_party(session, kind, name) for name, kind in [
            ("Alice", "person"), ("Bob", "person"), ("Carol", "person"), ("Dave", "person"), ("Erin", "person"),
            ("Frank", "person"), ("Hermit", "person"),
            ("Acme", "organization"), ("Globex", "organization"), ("Initech", "organization"),
        ]}
        for name in ("Alice", "Bob", "Erin"):
            service.add_role(session, parties[name], "employee")
        service.add_role(session, parties["Acme"], "customer", date(2021, 1, 1))
        service.add_role(session, parties["Globex"], "supplier", date(2021, 1, 1))
        service.add_role(session, parties["Carol"], "customer", valid_to=date(2022, 12, 31))
        service.define_relationship_type(session, "employs", "employs", "works for",
                                         from_kinds=["organization"], to_kinds=["person"], to_roles=["employee"])
        service.define_relationship_type(session, "knows", "knows", symmetric=True)
        service.define_relationship_type(session, "supplies", "supplies", "is supplied by",
                                         from_roles=["supplier"], to_roles=["customer"])
        relationships = {name: service.relate(session, parties[a], parties[b], code, *period) for name, a, code, b, *period in [
            ("e1", "Acme", "employs", "Alice", date(2020, 1, 1)),
            ("e2", "Acme", "employs", "Bob", date(2019, 1, 1), date(2021, 12, 31)),
            ("e3", "Globex", "employs", "Bob", date(2022, 1, 1)),
            ("e4", "Initech", "employs", "Erin"),
            ("s1", "Globex", "supplies", "Acme", date(2021, 1, 1)),
            ("k1", "Alice", "knows", "Carol"),
            ("k2", "Dave", "knows", "Alice"),
            ("k3", "Carol", "knows", "Frank"),
            ("k4", "Dave", "knows", "Frank"),
            ("k5", "Frank", "knows", "Erin"),
        ]}
        session.commit()
        yield Graph(session, parties, relationships)


# -- neighbours -----------------------------------------------------------------------------------


def test_neighbours_today_by_default(graph):
    assert graph.neighbours("Acme") == [("Alice", "out", "e1"), ("Globex", "in", "s1")]  # Bob left in 2021
    assert graph.neighbours("Hermit") == []


def test_neighbours_as_of_a_date_or_all_time(graph):
    assert graph.neighbours("Acme", as_of=date(2019, 6, 1)) == [("Bob", "out", "e2")]
    assert graph.neighbours("Acme", as_of=date(2021, 12, 31)) == [("Alice", "out", "e1"), ("Bob", "out", "e2"), ("Globex", "in", "s1")]
    assert graph.neighbours("Acme", as_of=date(2022, 1, 1)) == [("Alice", "out", "e1"), ("Globex", "in", "s1")]
    assert graph.neighbours("Bob", as_of=ALL_TIME) == [("Acme", "in", "e2"), ("Globex", "in", "e3")]


def test_neighbours_by_direction_with_symmetric_types_both_ways(graph):
    assert graph.neighbours("Acme", direction="out") == [("Alice", "out", "e1")]
    assert graph.neighbours("Acme", direction="in") == [("Globex", "in", "s1")]
    assert graph.neighbours("Alice") == [("Acme", "in", "e1"), ("Carol", "both", "k1"), ("Dave", "both", "k2")]
    assert graph.neighbours("Alice", direction="out") == [("Carol", "both", "k1"), ("Dave", "both", "k2")]
    assert graph.neighbours("Alice", direction="in") == [("Acme", "in", "e1"), ("Carol", "both", "k1"), ("Dave", "both", "k2")]


def test_neighbours_by_type(graph):
    assert graph.neighbours("Acme", types="supplies") == [("Globex", "in", "s1")]
    assert graph.neighbours("Acme", types=["employs", "supplies"], as_of=ALL_TIME) == [
        ("Alice", "out", "e1"), ("Bob", "out", "e2"), ("Globex", "in", "s1")]
    assert graph.neighbours("Alice", types=["knows"], direction="in") == [("Carol", "both", "k1"), ("Dave", "both", "k2")]


def test_neighbours_by_the_role_they_hold_on_the_date(graph):
    assert graph.neighbours("Alice", role="customer") == [("Acme", "in", "e1")]  # Carol's role ended in 2022
    assert graph.neighbours("Alice", role="customer", as_of=date(2022, 6, 1)) == [
        ("Acme", "in", "e1"), ("Carol", "both", "k1")]
    assert graph.neighbours("Alice", role="customer", as_of=date(2020, 6, 1)) == [("Carol", "both", "k1")]
    assert graph.neighbours("Alice", role="customer", as_of=ALL_TIME) == [("Acme", "in", "e1"), ("Carol", "both", "k1")]
    assert graph.neighbours("Alice", role="supplier") == []


def test_neighbours_return_the_records_with_their_type(graph):
    [found] = neighbours(graph.session, graph["Acme"], direction="in")
    assert found.party is graph.parties["Globex"]
    assert (found.relationship.type.code, found.relationship.type.inverse_label) == ("supplies", "is supplied by")


def test_read_neighbours_give_the_records_columns_as_plain_values(graph):
    s1 = graph.relationships["s1"]
    s1.attributes, s1.notes = {"volume": "high"}, "annual contract"
    graph.session.commit()
    [found] = read_neighbours(graph.session, graph["Acme"], direction="in")
    rel, party = found.relationship, found.party
    assert (rel.id, rel.version, rel.from_party_id, rel.to_party_id, rel.type.code) == (
        s1.id, s1.version, graph["Globex"], graph["Acme"], "supplies")
    assert (rel.valid_from, rel.valid_to, rel.attributes, rel.notes) == (
        date(2021, 1, 1), None, {"volume": "high"}, "annual contract")
    assert (party.id, party.kind, party.display_name, found.direction) == (graph["Globex"], "organization", "Globex", "in")


def test_bad_query_arguments_are_refused(graph):
    alice = graph["Alice"]
    for query in (neighbours, read_neighbours):
        with pytest.raises(GraphRuleError, match="direction must be one of both, out, in, not 'sideways'"):
            query(graph.session, alice, direction="sideways")
        with pytest.raises(GraphRuleError, match="unknown relationship type 'marries'"):
            query(graph.session, alice, types=["knows", "marries"])
        with pytest.raises(TypeError, match="as_of must be a date, TODAY or ALL_TIME"):
            query(graph.session, alice, as_of=None)
        with pytest.raises(NotFound, match="no party #999999"):
            query(graph.session, 999_999)
    with pytest.raises(GraphRuleError, match="depth is between 0 and 4, not 5"):
        neighbourhood(graph.session, alice, 5)
    with pytest.raises(GraphRuleError, match="max_hops is between 1 and 6, not 7"):
        shortest_paths(graph.session, alice, graph["Erin"], 7)


# -- neighbourhood --------------------------------------------------------------------------------


def test_neighbourhood_grows_with_depth(graph):
    assert graph.neighbourhood("Alice", 0) == ({"Alice": 0}, [])
    assert graph.neighbourhood("Alice", 1) == ({"Alice": 0, "Acme": 1, "Carol": 1, "Dave": 1}, ["e1", "k1", "k2"])
    assert graph.neighbourhood("Alice", 2) == (
        {"Alice": 0, "Acme": 1, "Carol": 1, "Dave": 1, "Globex": 2, "Frank": 2},
        ["e1", "s1", "k1", "k2", "k3", "k4"],  # k4 links two parties both reached otherwise
    )
    distances, edges = graph.neighbourhood("Alice", 4)
    assert distances == {"Alice": 0, "Acme": 1, "Carol": 1, "Dave": 1, "Globex": 2, "Frank": 2,
                         "Bob": 3, "Erin": 3, "Initech": 4}
    assert edges == ["e1", "e3", "e4", "s1", "k1", "k2", "k3", "k4", "k5"]
    assert graph.neighbourhood("Hermit", 4) == ({"Hermit": 0}, [])


def test_neighbourhood_by_type_and_date(graph):
    assert graph.neighbourhood("Alice", 4, types="knows") == (
        {"Alice": 0, "Carol": 1, "Dave": 1, "Frank": 2, "Erin": 3}, ["k1", "k2", "k3", "k4", "k5"])
    distances, edges = graph.neighbourhood("Alice", 2, as_of=ALL_TIME)
    assert (distances["Bob"], "e2" in edges, "e3" in edges) == (2, True, True)  # Bob and Globex, both at 2
    assert graph.neighbourhood("Acme", 1, as_of=date(2019, 6, 1)) == ({"Acme": 0, "Bob": 1}, ["e2"])


def test_neighbourhood_edges_name_their_ends_and_type(graph):
    _, edges = neighbourhood(graph.session, graph["Globex"], 1)
    assert edges == [Edge(graph.relationships["e3"].id, graph["Globex"], graph["Bob"], "employs"),
                     Edge(graph.relationships["s1"].id, graph["Globex"], graph["Acme"], "supplies")]


# -- shortest paths -----------------------------------------------------------------------------------


def test_all_shortest_paths_of_odd_and_even_length(graph):
    assert graph.paths("Alice", "Acme") == [(["Alice", "Acme"], ["e1"])]
    assert graph.paths("Alice", "Frank") == [  # two ways round the cycle Alice-Carol-Frank-Dave
        (["Alice", "Carol", "Frank"], ["k1", "k3"]), (["Alice", "Dave", "Frank"], ["k2", "k4"])]
    assert graph.paths("Alice", "Erin") == [
        (["Alice", "Carol", "Frank", "Erin"], ["k1", "k3", "k5"]), (["Alice", "Dave", "Frank", "Erin"], ["k2", "k4", "k5"])]
    assert graph.paths("Initech", "Alice") == [
        (["Initech", "Erin", "Frank", "Carol", "Alice"], ["e4", "k5", "k3", "k1"]),
        (["Initech", "Erin", "Frank", "Dave", "Alice"], ["e4", "k5", "k4", "k2"]),
    ]


def test_paths_follow_relationships_both_ways_and_respect_dates(graph):
    assert graph.paths("Alice", "Bob") == [(["Alice", "Acme", "Globex", "Bob"], ["e1", "s1", "e3"])]
    assert graph.paths("Alice", "Bob", as_of=date(2021, 6, 1)) == [(["Alice", "Acme", "Bob"], ["e1", "e2"])]
    assert graph.paths("Alice", "Bob", as_of=ALL_TIME) == [(["Alice", "Acme", "Bob"], ["e1", "e2"])]
    assert graph.paths("Alice", "Bob", as_of=date(2019, 6, 1)) == []  # Alice joined Acme in 2020


def test_paths_are_bounded_and_filtered(graph):
    assert graph.paths("Alice", "Initech", max_hops=3) == []
    assert len(graph.paths("Alice", "Initech", max_hops=4)) == 2
    assert graph.paths("Bob", "Erin", max_hops=6) == [
        (["Bob", "Globex", "Acme", "Alice", "Carol", "Frank", "Erin"], ["e3", "s1", "e1", "k1", "k3", "k5"]),
        (["Bob", "Globex", "Acme", "Alice", "Dave", "Frank", "Erin"], ["e3", "s1", "e1", "k2", "k4", "k5"]),
    ]
    assert graph.paths("Bob", "Erin", max_hops=5) == []
    assert graph.paths("Alice", "Bob", types="knows") == []
    assert graph.paths("Alice", "Hermit") == []
    assert graph.paths("Alice", "Alice") == [(["Alice"], [])]


def test_parallel_relationships_make_distinct_paths(graph):
    session = graph.session
    service.define_relationship_type(session, "advises", "advises", "is advised by")
    advice = service.relate(session, graph.parties["Carol"], graph.parties["Alice"], "advises")
    paths = shortest_paths(session, graph["Alice"], graph["Frank"])
    carol, frank, dave = graph["Carol"], graph["Frank"], graph["Dave"]
    k1, k2, k3, k4 = (graph.relationships[k].id for k in ("k1", "k2", "k3", "k4"))
    assert paths == sorted([
        Path([graph["Alice"], carol, frank], [k1, k3]),
        Path([graph["Alice"], carol, frank], [advice.id, k3]),
        Path([graph["Alice"], dave, frank], [k2, k4]),
    ])


# -- agreement with Python on random graphs -------------------------------------------------------


DATES = [date(2020, 1, 1), date(2021, 1, 1), date(2022, 1, 1), date(2023, 1, 1)]


def _random_graph(platform, seed):
    """A tenant with 30 parties and 50 random relationships (directed and symmetric, many dated)."""
    rng = random.Random(seed)
    with platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, f"random-{seed}", "Random").id
    with platform.db.transaction(tenant_id) as session:
        service.define_relationship_type(session, "linked", "links to", "is linked from")
        service.define_relationship_type(session, "paired", "is paired with", symmetric=True)
        ids = service.bulk_create_parties(
            session, [{"kind": rng.choice(("person", "organization")), "display_name": f"P{i:02d}"} for i in range(30)])
        parties = {p.id: p for p in session.scalars(select(Party))}
        rels = []
        for _ in range(50):
            a, b = rng.sample(ids, 2)
            code = rng.choice(("linked", "paired"))
            start = rng.choice([None, *DATES])
            end = rng.choice([None, None, *[d for d in DATES if start is None or d >= start]])
            rel = service.relate(session, parties[a], parties[b], code, start, end)
            rels.append((rel.id, a, b, code, start, end))
    return tenant_id, ids, rels


def _followed(rels, types, as_of):
    return [r for r in rels if (types is None or r[3] in types)
            and (as_of is ALL_TIME or ((r[4] is None or r[4] <= as_of) and (r[5] is None or r[5] >= as_of)))]


def _adjacency(rels):
    adjacency = {}
    for rel_id, a, b, *_ in rels:
        adjacency.setdefault(a, []).append((b, rel_id))
        adjacency.setdefault(b, []).append((a, rel_id))
    return adjacency


def _bfs(adjacency, start, limit):
    distances, queue = {start: 0}, deque([start])
    while queue:
        node = queue.popleft()
        if distances[node] < limit:
            for other, _ in adjacency.get(node, ()):
                if other not in distances:
                    distances[other] = distances[node] + 1
                    queue.append(other)
    return distances


def _expected_paths(adjacency, start, finish, max_hops):
    distances = _bfs(adjacency, start, max_hops)

    def back_from(node):
        if node == start:
            return [([start], [])]
        return [(parties + [node], rels + [rel_id])
                for other, rel_id in adjacency.get(node, ()) if distances.get(other) == distances[node] - 1
                for parties, rels in back_from(other)]

    return sorted(Path(p, r) for p, r in back_from(finish)) if finish in distances else []


def _expected_neighbours(rels, party_id, direction):
    found = []
    for rel_id, a, b, code, *_ in rels:
        for own, other, label in ((a, b, "out"), (b, a, "in")):
            label = "both" if code == "paired" else label
            if own == party_id and (label == "both" or direction in ("both", label)):
                found.append((other, rel_id, label))
    return sorted(found)


@pytest.mark.parametrize("seed", [7, 2024, 31337])
def test_queries_agree_with_a_breadth_first_search_in_python(platform, seed):
    tenant_id, ids, rels = _random_graph(platform, seed)
    rng = random.Random(seed + 1)
    with platform.db.session(tenant_id) as session:
        for types in (None, ["linked"]):
            for as_of in (date(2021, 6, 1), date(2023, 1, 1), ALL_TIME):
                followed = _followed(rels, types, as_of)
                adjacency = _adjacency(followed)
                filters = {"types": types, "as_of": as_of}
                for party_id in rng.sample(ids, 8):
                    for direction in ("both", "out", "in"):
                        expected = _expected_neighbours(followed, party_id, direction)
                        # Display names follow the ids (P00, P01, …), so sorting by id is the query's order.
                        for query in (neighbours, read_neighbours):
                            found = query(session, party_id, direction=direction, **filters)
                            assert [(n.party.id, n.relationship.id, n.direction) for n in found] == expected
                    depth = rng.randint(0, 4)
                    distances, edges = neighbourhood(session, party_id, depth, **filters)
                    assert distances == _bfs(adjacency, party_id, depth)
                    assert [e.relationship_id for e in edges] == sorted(
                        r[0] for r in followed if r[1] in distances and r[2] in distances)
                for _ in range(20):
                    start, finish = rng.sample(ids, 2)
                    max_hops = rng.randint(1, 6)
                    assert shortest_paths(session, start, finish, max_hops, **filters) == \
                        _expected_paths(adjacency, start, finish, max_hops), (start, finish, max_hops)
