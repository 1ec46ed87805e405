"""The core's sample data for the demo tenant: departments, staff, and a small party graph.

Enough to show what the platform does before any plugin adds its own: department-scoped staff,
customers, prospects, partners, suppliers and employees, typed relationships (dated), custom
fields, and the events that fill the parties' timelines. Plugins add theirs via ``xrm_demo_data``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .customfields.service import clean_values, define_custom_field
from .events import publish
from .graph import service
from .graph.models import Party, RelationshipTypeDef
from .identity import admin
from .identity.catalogue import all_permissions
from .identity.models import Scope

ACTOR = "cli"

DEPARTMENTS = {"Sales": None, "Sales North": "Sales", "Sales South": "Sales", "Customer Service": None,
               "Purchasing": None, "Human Resources": None}

#: email, name, department, role
STAFF = (
    ("nora.north@demo.example", "Nora North", "Sales North", "Sales rep"),
    ("sam.south@demo.example", "Sam South", "Sales South", "Sales rep"),
    ("carla.care@demo.example", "Carla Care", "Customer Service", "Service agent"),
    ("paul.purchase@demo.example", "Paul Purchase", "Purchasing", "Buyer"),
)

ROLES = {
    "Sales rep": {"core.party.read": Scope.DEPARTMENT, "core.party.create": Scope.DEPARTMENT,
                  "core.party.update": Scope.DEPARTMENT, "core.party.link": Scope.DEPARTMENT,
                  "core.party.export": Scope.DEPARTMENT},
    "Service agent": {"core.party.read": Scope.TENANT, "core.party.update": Scope.DEPARTMENT},
    "Buyer": {"core.party.read": Scope.SUBTREE, "core.party.create": Scope.DEPARTMENT,
              "core.party.update": Scope.DEPARTMENT, "core.party.link": Scope.DEPARTMENT},
}

#: What each staff role may do with the records of every plugin installed (by action), so that
#: signing in as a member of staff shows each plugin's pages with department scoping at work.
PLUGIN_SCOPES = {
    "Sales rep": {"read": Scope.DEPARTMENT, "create": Scope.DEPARTMENT, "update": Scope.DEPARTMENT,
                  "link": Scope.DEPARTMENT, "assign": Scope.DEPARTMENT, "export": Scope.DEPARTMENT},
    "Service agent": {"read": Scope.TENANT, "create": Scope.DEPARTMENT, "update": Scope.DEPARTMENT},
    "Buyer": {"read": Scope.SUBTREE, "create": Scope.DEPARTMENT, "update": Scope.DEPARTMENT},
}

RELATIONSHIP_TYPES = (
    ("employs", "employs", "works for", False),
    ("subsidiary_of", "is a subsidiary of", "is the parent company of", False),
    ("supplies", "supplies", "is supplied by", False),
    ("referred", "referred", "was referred by", False),
    ("partner_of", "is a partner of", "is a partner of", True),
)

#: name, kind, department, roles (code, since), tags, custom values
PARTIES = (
    ("Atlas Industries", "organization", "Sales North", [("customer", date(2019, 3, 1))], ["key-account"],
     {"industry": "Manufacturing", "annual_revenue": "12500000"}),
    ("Atlas Logistics", "organization", "Sales North", [("customer", date(2021, 6, 1))], [],
     {"industry": "Logistics", "annual_revenue": "3100000"}),
    ("Bellamy & Sons", "organization", "Sales South", [("prospect", date(2025, 9, 15))], ["trade-fair"],
     {"industry": "Retail"}),
    ("Corvid Analytics", "organization", "Sales South", [("customer", date(2022, 1, 10))], ["key-account"],
     {"industry": "Software", "annual_revenue": "8700000"}),
    ("Dunmore Consulting", "organization", "Sales", [("partner", date(2020, 5, 1))], ["reseller"],
     {"industry": "Consulting"}),
    ("Eastgate Components", "organization", "Purchasing", [("supplier", date(2018, 1, 1))], ["preferred"],
     {"industry": "Manufacturing"}),
    ("Fjord Packaging", "organization", "Purchasing", [("supplier", date(2023, 4, 1))], [],
     {"industry": "Manufacturing"}),
    ("Demo Company", "organization", "Human Resources", [], ["us"], {"industry": "Software"}),
    ("Alice Martin", "person", "Sales North", [("customer", date(2019, 3, 1))], ["decision-maker"], {}),
    ("Bruno Keller", "person", "Sales North", [], [], {}),
    ("Chloé Dubois", "person", "Sales South", [("prospect", date(2025, 9, 15))], ["newsletter"], {}),
    ("Diego Ramírez", "person", "Sales South", [("customer", date(2022, 1, 10))], ["decision-maker"], {}),
    ("Elena Rossi", "person", "Sales", [("partner", date(2020, 5, 1))], [], {}),
    ("Farid Haddad", "person", "Purchasing", [], [], {}),
    ("Greta Lind", "person", "Human Resources", [("employee", date(2017, 2, 1))], [], {}),
    ("Hugo Lefebvre", "person", "Human Resources", [("employee", date(2021, 9, 1))], [], {}),
)

#: from, type, to, since, until
RELATIONSHIPS = (
    ("Atlas Logistics", "subsidiary_of", "Atlas Industries", date(2021, 6, 1), None),
    ("Atlas Industries", "employs", "Alice Martin", date(2015, 1, 1), None),
    ("Atlas Logistics", "employs", "Bruno Keller", date(2021, 6, 1), None),
    ("Bellamy & Sons", "employs", "Chloé Dubois", date(2012, 4, 1), None),
    ("Corvid Analytics", "employs", "Diego Ramírez", date(2016, 8, 1), None),
    ("Dunmore Consulting", "employs", "Elena Rossi", date(2014, 1, 1), None),
    ("Eastgate Components", "employs", "Farid Haddad", date(2010, 1, 1), None),
    ("Demo Company", "employs", "Greta Lind", date(2017, 2, 1), None),
    ("Demo Company", "employs", "Hugo Lefebvre", date(2021, 9, 1), None),
    ("Dunmore Consulting", "referred", "Corvid Analytics", date(2021, 11, 1), None),
    ("Dunmore Consulting", "referred", "Bellamy & Sons", date(2025, 9, 1), None),
    ("Dunmore Consulting", "partner_of", "Demo Company", date(2020, 5, 1), None),
    ("Eastgate Components", "supplies", "Demo Company", date(2018, 1, 1), None),
    ("Fjord Packaging", "supplies", "Demo Company", date(2023, 4, 1), None),
    ("Fjord Packaging", "supplies", "Atlas Industries", date(2019, 1, 1), date(2022, 12, 31)),
)


def seed(session: Session, platform, password: str) -> bool:
    """Add the core's sample data to the session's (demo) tenant, unless it already has parties.

    Staff accounts sign in with ``password``. Returns whether anything was added.
    """
    if session.scalar(select(func.count()).select_from(Party)):
        return False
    departments = {}
    for name, parent in DEPARTMENTS.items():
        departments[name] = admin.create_department(session, name, departments.get(parent), actor=ACTOR)
    roles = define_staff_roles(session, platform)
    for email, name, department, role in STAFF:
        user = admin.create_user(session, email, password, name, departments[department], actor=ACTOR)
        admin.assign_role(session, user, roles[role], actor=ACTOR)
    _seed_graph(session, departments)
    return True


def define_staff_roles(session: Session, platform) -> dict:
    """(Re)define the staff roles: the core grants of :data:`ROLES` plus, for every installed plugin,
    its permissions at the scopes of :data:`PLUGIN_SCOPES`. Run again when plugins are added."""
    known = all_permissions(platform)
    roles = {}
    for name, grants in ROLES.items():
        wanted = dict(grants)
        for permission in known:
            action = permission.rsplit(".", 1)[-1]
            if not permission.startswith("core.") and action in PLUGIN_SCOPES[name]:
                wanted[permission] = PLUGIN_SCOPES[name][action]
        roles[name] = admin.define_role(session, name, wanted, set(known), actor=ACTOR)
    return roles


def _seed_graph(session: Session, departments: dict) -> None:
    define_custom_field(session, "core.party", "industry", "Industry", "choice",
                        choices=["Consulting", "Logistics", "Manufacturing", "Retail", "Software"])
    define_custom_field(session, "core.party", "annual_revenue", "Annual revenue (EUR)", "number",
                        validation={"min": 0}, position=1)
    defined = set(session.scalars(select(RelationshipTypeDef.code)))
    for code, forward, inverse, symmetric in RELATIONSHIP_TYPES:
        if code not in defined:
            service.define_relationship_type(session, code, forward, inverse, symmetric=symmetric)
    parties = {}
    for name, kind, department, roles, tags, custom in PARTIES:
        party = service.create_party(session, kind, name, tags, department_id=departments[department].id,
                                     custom=clean_values(session, "core.party", custom))
        parties[name] = party
        publish(session, "core.party.created", party, {"kind": kind, "display_name": name}, ACTOR)
        for code, since in roles:
            service.add_role(session, party, code, since)
            publish(session, "core.role.assigned", party, {"party_id": party.id, "role": code}, ACTOR)
    for from_name, code, to_name, since, until in RELATIONSHIPS:
        relationship = service.relate(session, parties[from_name], parties[to_name], code, since, until)
        publish(session, "core.relationship.created", relationship,
                {"type": code, "from_party_id": relationship.from_party_id, "to_party_id": relationship.to_party_id},
                ACTOR, related=[relationship.from_party_id, relationship.to_party_id])
