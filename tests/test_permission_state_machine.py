"""The permission rules as a state machine: the platform against a small pure-Python model.

Random sequences of steps build a tenant: a department tree (with moves), users, teams, roles
granting actions at every scope (``related`` included), parties created, moved between
departments and reassigned, shares (some already expired) and ``referred`` relationships (some
ended). After every step, for every user, the parties the platform lets them read (an ORM query
through an ``act_as`` session) and ``can()`` for each action on each party must equal what
:class:`Rules` says; another tenant's parties, owned and shared like the first's, are never seen.

Bounded (a few dozen examples of a few dozen steps) and derandomized, so a CI run is reproducible
and stays under a minute per database.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import select

from xrm_core import migrate, tenants
from xrm_core.graph import service
from xrm_core.graph.models import Party, Relationship
from xrm_core.identity import admin
from xrm_core.identity.models import (
    Department,
    Direction,
    GranteeKind,
    Role,
    RoleGrant,
    Scope,
    Share,
    UserRole,
)
from xrm_core.identity.principal import load_principal
from xrm_core.identity.scoping import act_as, can
from xrm_core.models import User

ACTIONS = ("read", "update", "delete", "share")
BREADTH = {Scope.OWN: 0, Scope.RELATED: 0, Scope.DEPARTMENT: 1, Scope.SUBTREE: 2, Scope.TENANT: 3}
_tenant_numbers = itertools.count()
#: A role's grants: action -> scope.
GRANTS = st.dictionaries(st.sampled_from(ACTIONS), st.sampled_from(Scope), max_size=len(ACTIONS))
#: Which way a role's ``related`` grants follow ``referred`` relationships.
DIRECTIONS = st.sampled_from(Direction)


@dataclass
class ModelUser:
    department: int | None
    party: int | None = None
    teams: set[int] = field(default_factory=set)
    #: action -> every scope some role grants it at
    scopes: dict[str, set[Scope]] = field(default_factory=dict)
    #: action -> directions its ``related`` grants follow ``referred`` in
    directions: dict[str, set[Direction]] = field(default_factory=dict)


@dataclass
class ModelParty:
    owner_user: int | None
    owner_team: int | None
    department: int | None


@dataclass
class Rules:
    """The rules of ``security-reliability.md`` (P2, P3, shares, related), in plain Python."""

    parents: dict[int, int | None] = field(default_factory=dict)
    users: dict[int, ModelUser] = field(default_factory=dict)
    parties: dict[int, ModelParty] = field(default_factory=dict)
    #: (party, action, grantee kind, grantee id, live)
    shares: list[tuple[int, str, GranteeKind, int, bool]] = field(default_factory=list)
    #: relationship id -> (from party, to party, live)
    referrals: dict[int, tuple[int, int, bool]] = field(default_factory=dict)

    def subtree(self, department: int | None) -> set[int]:
        if department is None:
            return set()
        below = {department}
        changed = True
        while changed:
            more = {d for d, parent in self.parents.items() if parent in below} - below
            below |= more
            changed = bool(more)
        return below

    def allows(self, user_id: int, action: str, party_id: int) -> bool:
        user, party = self.users[user_id], self.parties[party_id]
        scopes = user.scopes.get(action, set())
        if not scopes:
            return False
        widest = max(BREADTH[s] for s in scopes)
        if widest == BREADTH[Scope.TENANT]:
            return True
        if widest == BREADTH[Scope.SUBTREE] and party.department in self.subtree(user.department):
            return True
        if widest >= BREADTH[Scope.DEPARTMENT] and party.department is not None \
                and party.department == user.department:
            return True
        if party.owner_user == user_id or (party.owner_team is not None and party.owner_team in user.teams):
            return True
        for shared, shared_action, kind, grantee, live in self.shares:
            if shared == party_id and shared_action == action and live and (
                (kind is GranteeKind.USER and grantee == user_id)
                or (kind is GranteeKind.TEAM and grantee in user.teams)
                or (kind is GranteeKind.DEPARTMENT and grantee == user.department)
            ):
                return True
        directions = user.directions.get(action, set())
        outgoing = bool(directions & {Direction.OUTGOING, Direction.BOTH})
        incoming = bool(directions & {Direction.INCOMING, Direction.BOTH})
        return user.party is not None and any(
            live and ((outgoing and (source, target) == (user.party, party_id))
                      or (incoming and (source, target) == (party_id, user.party)))
            for source, target, live in self.referrals.values()
        )


class PermissionMachine(RuleBasedStateMachine):
    """Steps draw the departments, users, teams and parties they act on from what exists so far."""

    #: Set by the test: a migrated platform shared by every example (each uses new tenants).
    platform = None

    def __init__(self):
        super().__init__()
        self.rules = Rules()
        self.names = itertools.count()
        self.teams: list[int] = []
        self.create_tenants()

    def transaction(self, tenant_id=None):
        return self.platform.db.transaction(tenant_id or self.tenant)

    def create_tenants(self):
        number = next(_tenant_numbers)
        with self.platform.db.transaction(all_tenants=True) as session:
            self.tenant = tenants.create_tenant(session, f"sm-{number}", "Main").id
            self.other = tenants.create_tenant(session, f"sm-{number}-other", "Other").id
        for tenant_id in (self.tenant, self.other):
            with self.transaction(tenant_id) as session:
                service.define_relationship_type(session, "referred", "referred", "was referred by")
        # The other tenant's parties are shared with low ids of every grantee kind, and related to
        # each other, so a leak across the boundary would show.
        self.other_parties = set()
        with self.transaction(self.other) as session:
            others = [service.create_party(session, "person", f"other {n}") for n in range(3)]
            service.relate(session, others[0], others[1], "referred")
            for party in others:
                self.other_parties.add(party.id)
                for kind in GranteeKind:
                    for grantee in range(1, 40):
                        session.add(Share(resource="core.party", record_id=party.id, action="read",
                                          grantee_kind=kind, grantee_id=grantee))

    # -- drawing from what exists ----------------------------------------------------------

    def draw_department(self, data, label, optional=True):
        choices = sorted(self.rules.parents)
        strategy = st.sampled_from(choices) if choices else st.none()
        return data.draw(st.none() | strategy if optional else strategy, label=label)

    def draw_user(self, data, label="user"):
        return data.draw(st.sampled_from(sorted(self.rules.users)), label=label)

    def draw_party(self, data, label="party"):
        return data.draw(st.sampled_from(sorted(self.rules.parties)), label=label)

    def draw_team(self, data, label="team"):
        return data.draw(st.none() | st.sampled_from(self.teams) if self.teams else st.none(), label=label)

    @initialize(data=st.data())
    def organisation(self, data):
        """Departments, parties, users with a first role, a team: every step can run at once."""
        root = self.new_department(None)
        child = self.new_department(root)
        self.new_department(data.draw(st.sampled_from([None, root, child]), label="third department's parent"))
        for _ in range(3):
            self.create_party(data)
        for _ in range(3):
            self.add_user(data)
        self.add_team(data)
        for _ in range(2):
            self.create_party(data)

    # -- the organisation ------------------------------------------------------------------

    @rule(data=st.data())
    def add_department(self, data):
        self.new_department(self.draw_department(data, "parent"))

    def new_department(self, parent: int | None) -> int:
        with self.transaction() as session:
            department = admin.create_department(
                session, f"d{next(self.names)}", session.get(Department, parent) if parent else None)
            self.rules.parents[department.id] = parent
            return department.id

    @rule(data=st.data())
    def move_department(self, data):
        department = self.draw_department(data, "department", optional=False)
        parent = self.draw_department(data, "new parent")
        if parent is not None and parent in self.rules.subtree(department):
            return  # below itself: refused by the platform, tested elsewhere
        with self.transaction() as session:
            admin.move_department(session, session.get(Department, department),
                                  session.get(Department, parent) if parent else None)
        self.rules.parents[department] = parent

    @rule(data=st.data())
    def add_user(self, data):
        """A user in a department or none, standing for a party or not, with a first role."""
        department = self.draw_department(data, "department")
        party = data.draw(st.none() | st.sampled_from(sorted(self.rules.parties)) if self.rules.parties
                          else st.none(), label="stands for")
        with self.transaction() as session:
            user = User(email=f"u{next(self.names)}@sm.test", display_name="u", password_hash="-",
                        department_id=department, party_id=party)
            session.add(user)
            session.flush()
            self.rules.users[user.id] = ModelUser(department, party)
        self.give_role(user.id, data.draw(GRANTS, label="grants"), data.draw(DIRECTIONS, label="direction"))

    @rule(data=st.data())
    def transfer_user(self, data):
        user, department = self.draw_user(data), self.draw_department(data, "department")
        with self.transaction() as session:
            session.get(User, user).department_id = department
        self.rules.users[user].department = department

    @rule(data=st.data())
    def stand_for(self, data):
        user, party = self.draw_user(data), self.draw_party(data)
        with self.transaction() as session:
            session.get(User, user).party_id = party
        self.rules.users[user].party = party

    @rule(data=st.data())
    def add_team(self, data):
        members = data.draw(st.lists(st.sampled_from(sorted(self.rules.users)), max_size=3, unique=True),
                            label="members")
        with self.transaction() as session:
            team = admin.create_team(session, f"t{next(self.names)}", [session.get(User, u) for u in members])
            self.teams.append(team.id)
        for member in members:
            self.rules.users[member].teams.add(team.id)

    @rule(data=st.data())
    def grant_role(self, data):
        """Another role: rights add up (P3)."""
        self.give_role(self.draw_user(data), data.draw(GRANTS.filter(bool), label="grants"),
                       data.draw(DIRECTIONS, label="direction"))

    def give_role(self, user: int, grants: dict[str, Scope], direction: Direction) -> None:
        with self.transaction() as session:
            role = Role(name=f"r{next(self.names)}")
            session.add(role)
            session.flush()
            for action, scope in grants.items():
                session.add(RoleGrant(role_id=role.id, permission=f"core.party.{action}", scope=scope,
                                      via=["referred"] if scope is Scope.RELATED else [],
                                      direction=direction))
            session.add(UserRole(user_id=user, role_id=role.id))
        for action, scope in grants.items():
            self.rules.users[user].scopes.setdefault(action, set()).add(scope)
            if scope is Scope.RELATED:
                self.rules.users[user].directions.setdefault(action, set()).add(direction)

    # -- records ---------------------------------------------------------------------------

    @rule(data=st.data())
    def create_party(self, data):
        owner = data.draw(st.none() | st.sampled_from(sorted(self.rules.users)) if self.rules.users else st.none(),
                          label="owner")
        team, department = self.draw_team(data), self.draw_department(data, "department")
        with self.transaction() as session:
            party = Party(kind="person", display_name=f"p{next(self.names)}", tags=[], owner_user_id=owner,
                          owner_team_id=team, department_id=department)
            session.add(party)
            session.flush()
            self.rules.parties[party.id] = ModelParty(owner, team, department)
        for _ in range(data.draw(st.integers(0, 2), label="shares")):
            self.add_share(data, party.id)

    @rule(data=st.data())
    def move_party(self, data):
        party, department = self.draw_party(data), self.draw_department(data, "department")
        with self.transaction() as session:
            session.get(Party, party).department_id = department
        self.rules.parties[party].department = department

    @rule(data=st.data())
    def reassign_party(self, data):
        party = self.draw_party(data)
        owner = data.draw(st.none() | st.sampled_from(sorted(self.rules.users)), label="owner")
        team = self.draw_team(data)
        with self.transaction() as session:
            record = session.get(Party, party)
            record.owner_user_id, record.owner_team_id = owner, team
        self.rules.parties[party].owner_user, self.rules.parties[party].owner_team = owner, team

    @rule(data=st.data())
    def share(self, data):
        self.add_share(data, self.draw_party(data))

    def add_share(self, data, party: int) -> None:
        action = data.draw(st.sampled_from(ACTIONS), label="shared action")
        live, never_ends = data.draw(st.booleans(), label="live"), data.draw(st.booleans(), label="never ends")
        kinds = [GranteeKind.DEPARTMENT] + [kind for kind, grantees in (
            (GranteeKind.USER, self.rules.users), (GranteeKind.TEAM, self.teams)) if grantees]
        kind = data.draw(st.sampled_from(kinds), label="grantee kind")
        if kind is GranteeKind.USER:
            grantee = self.draw_user(data, "grantee")
        elif kind is GranteeKind.TEAM:
            grantee = data.draw(st.sampled_from(self.teams), label="grantee")
        else:
            grantee = self.draw_department(data, "grantee", optional=False)
        if any(s[:4] == (party, action, kind, grantee) for s in self.rules.shares):
            return  # one share per record, action and grantee
        now = datetime.now(UTC)
        expires_at = (None if never_ends else now + timedelta(days=1)) if live else now - timedelta(minutes=1)
        with self.transaction() as session:
            session.add(Share(resource="core.party", record_id=party, action=action, grantee_kind=kind,
                              grantee_id=grantee, expires_at=expires_at))
        self.rules.shares.append((party, action, kind, grantee, live))

    @rule(data=st.data())
    def refer(self, data):
        """A referral, most often from or to a party some user stands for (where it matters)."""
        stood_for = sorted({u.party for u in self.rules.users.values() if u.party is not None})
        source, target = self.draw_party(data, "source"), self.draw_party(data, "referred party")
        end = data.draw(st.sampled_from(["source", "target", "neither"]) if stood_for else st.just("neither"),
                        label="which end a user stands for")
        if end == "source":
            source = data.draw(st.sampled_from(stood_for), label="source")
        elif end == "target":
            target = data.draw(st.sampled_from(stood_for), label="referred party")
        over = data.draw(st.booleans(), label="already over")
        if source == target:
            return
        with self.transaction() as session:
            relationship = service.relate(session, session.get(Party, source), session.get(Party, target), "referred",
                                          valid_to=date.today() - timedelta(days=1) if over else None)
            self.rules.referrals[relationship.id] = (source, target, not over)

    @precondition(lambda self: any(live for *_, live in self.rules.referrals.values()))
    @rule(data=st.data())
    def end_referral(self, data):
        referral = data.draw(st.sampled_from(sorted(r for r, (*_, live) in self.rules.referrals.items() if live)),
                             label="referral")
        with self.transaction() as session:
            service.end_relationship(session, session.get(Relationship, referral), date.today() - timedelta(days=1))
        source, target, _ = self.rules.referrals[referral]
        self.rules.referrals[referral] = (source, target, False)

    # -- what everyone sees and may do -----------------------------------------------------

    @invariant()
    def platform_agrees_with_the_rules(self):
        for user_id in self.rules.users:
            with self.platform.db.session(self.tenant) as session:
                principal = load_principal(session, session.get(User, user_id))
                records = {p.id: p for p in session.scalars(select(Party))}  # before acting: every party
                for party_id, record in records.items():
                    for action in ACTIONS:
                        expected = self.rules.allows(user_id, action, party_id)
                        assert can(session, principal, action, record) == expected, (user_id, action, party_id)
                act_as(session, principal)
                session.expire_all()
                visible = set(session.scalars(select(Party.id)))
            expected_visible = {p for p in self.rules.parties if self.rules.allows(user_id, "read", p)}
            assert visible == expected_visible, (user_id, sorted(visible), sorted(expected_visible))
            assert not visible & self.other_parties


@pytest.fixture
def migrated(make_platform):
    platform = make_platform()
    migrate.upgrade(platform)
    return platform


def test_permissions_follow_the_rules_whatever_happens(migrated):
    PermissionMachine.platform = migrated
    machine = PermissionMachine.TestCase
    machine.settings = settings(
        # No shrinking: each step writes to a real database, so shrinking a failure would take
        # minutes; the failing run's steps are printed as they are.
        max_examples=15, stateful_step_count=25, derandomize=True, deadline=None, database=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                               HealthCheck.filter_too_much],
    )
    machine().runTest()
