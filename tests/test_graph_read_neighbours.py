"""The neighbours the API serves (``read_neighbours``: plain rows, permissions applied in Python)
are exactly the ORM query's (``neighbours``: the session's permission criteria in SQL), for every
kind of reader: none (platform work), tenant-wide, department, own with shares (live and
expired), a ``related`` grant, no grant at all; today, on a past day and for all time, with an
ended relationship; and never another tenant's."""

from datetime import date, timedelta

import pytest

from xrm_core import clock, tenants
from xrm_core.errors import NotFound
from xrm_core.graph import service
from xrm_core.graph.queries import ALL_TIME, TODAY, neighbours, read_neighbours
from xrm_core.identity import admin
from xrm_core.identity.models import GranteeKind, Scope, Share
from xrm_core.identity.principal import Principal
from xrm_core.identity.scoping import act_as
from xrm_core.models import User

READ = "core.party.read"


@pytest.fixture
def world(platform):
    """Tenant acme: Hub (Sales) knows Colleague (Sales), Outsider (Support), Friend (Support) and,
    in 2019-2020 only, Former (Sales); Hub employs Shared (Support, shared with Rita) and is
    employed by Lapsed (Support, whose share to Rita has expired). Rita (a Sales user) stands for
    the party Rita (Support), who knows Friend. Tenant beta has a graph of its own."""
    with platform.db.transaction(all_tenants=True) as session:
        acme, beta = (tenants.create_tenant(session, slug, slug).id for slug in ("acme", "beta"))
    ids = {"acme": acme, "beta": beta}
    with platform.db.transaction(acme) as session:
        sales, support = (admin.create_department(session, name) for name in ("Sales", "Support"))
        rita = User(email="rita@acme.test", display_name="Rita", password_hash="-", department_id=sales.id)
        session.add(rita)
        session.flush()
        departments = {"Hub": sales, "Colleague": sales, "Former": sales, "Outsider": support, "Friend": support,
                       "Shared": support, "Lapsed": support, "Rita": support}
        parties = {name: service.create_party(session, "person", name, department_id=department.id)
                   for name, department in departments.items()}
        service.define_relationship_type(session, "knows", "knows", symmetric=True)
        service.define_relationship_type(session, "employs", "employs", "works for")
        for a, code, b, *period in (
            ("Hub", "knows", "Colleague"), ("Outsider", "knows", "Hub"), ("Hub", "knows", "Friend"),
            ("Hub", "knows", "Former", date(2019, 1, 1), date(2020, 12, 31)),
            ("Hub", "employs", "Shared"), ("Lapsed", "employs", "Hub"), ("Rita", "knows", "Friend"),
        ):
            service.relate(session, parties[a], parties[b], code, *period)
        for name, expires_at in (("Shared", None), ("Lapsed", clock.now() - timedelta(days=1))):
            session.add(Share(resource="core.party", record_id=parties[name].id, action="read",
                              grantee_kind=GranteeKind.USER, grantee_id=rita.id, expires_at=expires_at))
        ids.update({name: party.id for name, party in parties.items()})
        ids.update(rita=rita.id, sales=sales.id)
    with platform.db.transaction(beta) as session:
        service.define_relationship_type(session, "knows", "knows", symmetric=True)
        beta_hub, beta_friend = (service.create_party(session, "person", name) for name in ("Beta Hub", "Beta Friend"))
        service.relate(session, beta_hub, beta_friend, "knows")
        ids["Beta Hub"] = beta_hub.id
    return platform, ids


def _readers(ids):
    """Every kind of principal reading acme's parties (``None``: a platform session)."""
    acme, rita = ids["acme"], ids["rita"]
    return {
        "platform": None,
        "tenant": Principal(acme, "user:admin", grants={READ: Scope.TENANT}),
        "department": Principal(acme, f"user:{rita}", user_id=rita, department_id=ids["sales"],
                                subtree_ids=frozenset({ids["sales"]}), grants={READ: Scope.DEPARTMENT}),
        "own": Principal(acme, f"user:{rita}", user_id=rita, grants={READ: Scope.OWN}),
        "related": Principal(acme, f"user:{rita}", user_id=rita, party_id=ids["Rita"], grants={READ: Scope.OWN},
                             related={READ: (frozenset({"knows"}), frozenset({"knows"}))}),
        "nothing": Principal(acme, "user:nobody"),
    }


def _answer(query, scope, party_id, **filters):
    """What a query answers, comparable across both shapes: every served value, or the error."""
    try:
        found = query(scope, party_id, **filters)
    except NotFound as exc:
        return str(exc)
    return [(n.relationship.id, n.relationship.version, n.relationship.from_party_id, n.relationship.to_party_id,
             n.relationship.type.code, n.relationship.valid_from, n.relationship.valid_to, n.relationship.attributes,
             n.relationship.notes, n.party.id, n.party.kind, n.party.display_name, n.direction) for n in found]


def test_read_neighbours_answer_like_the_orm_query_for_every_reader(world):
    platform, ids = world
    names = {party_id: name for name, party_id in ids.items()}
    centres = ("Hub", "Shared", "Friend", "Outsider", "Rita", "Beta Hub")
    for reader, principal in _readers(ids).items():
        with platform.db.session(ids["acme"], read_only=True) as session, platform.db.reader(ids["acme"]) as scope:
            if principal is not None:
                act_as(session, principal)
                act_as(scope, principal)
            seen = {}
            for centre in centres:
                for filters in ({}, {"as_of": date(2020, 6, 1)}, {"as_of": ALL_TIME}, {"direction": "out"},
                                {"direction": "in", "types": ["employs"]}):
                    expected = _answer(neighbours, session, ids[centre], **filters)
                    assert _answer(read_neighbours, scope, ids[centre], **filters) == expected, (reader, centre, filters)
                    if not filters:
                        seen[centre] = expected if isinstance(expected, str) else [names[row[9]] for row in expected]
        # The cases the comparison covers, spelled out for the readers that tell them apart.
        if reader == "tenant":
            assert seen["Hub"] == ["Colleague", "Friend", "Lapsed", "Outsider", "Shared"]  # Former: ended
        elif reader == "department":
            assert seen["Hub"] == ["Colleague", "Shared"]  # Sales, or shared with Rita (Lapsed's share expired)
        elif reader == "own":
            assert (seen["Hub"], seen["Shared"]) == (f"no party #{ids['Hub']}", [])
        elif reader == "related":
            assert seen["Friend"] == []  # Friend is visible through Rita, but neither Hub nor Rita is
        elif reader == "nothing":
            assert seen["Hub"] == f"no party #{ids['Hub']}"
        assert seen["Beta Hub"] == f"no party #{ids['Beta Hub']}"
    # And the other way round: beta's scope reads beta's graph, and nothing of acme's.
    with platform.db.reader(ids["beta"]) as scope:
        assert [n.party.display_name for n in read_neighbours(scope, ids["Beta Hub"], as_of=TODAY)] == ["Beta Friend"]
        with pytest.raises(NotFound):
            read_neighbours(scope, ids["Hub"])
