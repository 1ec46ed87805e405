"""Segment definitions: a filter tree over parties, checked, then compiled into one SQL condition.

A definition is a JSON tree. Groups combine conditions: ``{"all": [...]}``, ``{"any": [...]}``,
``{"not": {...}}``. Conditions (leaves):

* party fields: ``{"field": "kind"|"name"|"tags"|"owner"|"department"|"created_at", "op": …, "value": …}``
  (``owner`` also takes ``"me"``; ``department`` with ``within`` includes the departments below);
* custom fields: ``{"field": "custom.<code>", "op": …, "value": …}`` with the field type's operators;
* a role held today: ``{"role": "customer"}``;
* a current relationship: ``{"relationship": "works_for", "direction": "out"|"in"|"any",
  "to_role": "customer"}`` (``to_role`` optional: the party at the other end holds that role);
* a fact another plugin exposes (``xrm_party_facts``): ``{"fact": "sales.revenue_12m", "op": "gte",
  "value": 1000}``;
* membership of another segment: ``{"segment": 12}``.

:func:`compile_definition` checks the whole tree first and reports every mistake with its path
(``definition.all.2.op``) as a validation error (HTTP 422), then returns one SQL condition on
``xrm.Party`` made of ``EXISTS``/``IN`` subqueries. It runs in the caller's session, so its
permission scope applies to the parties and to every subquery, and the same SQL works on SQLite
and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import xrm_sdk as xrm
from sqlalchemy import ColumnElement, and_, exists, false, func, inspect, not_, or_, select
from sqlalchemy.orm import Session

from .segments_models import DYNAMIC, Segment, SegmentMember

#: A definition deeper or larger than this is refused (it is a mistake or an attack, not a need).
MAX_DEPTH = 8
MAX_CONDITIONS = 100
#: Segments may include segments, up to this many levels.
MAX_NESTING = 4

ORDERED = ("eq", "ne", "lt", "lte", "gt", "gte", "isnull")
FACT_OPERATORS = {
    "number": ORDERED,
    "date": ORDERED,
    "text": ("eq", "ne", "in", "contains", "isnull"),
    "choice": ("eq", "ne", "in", "isnull"),
}
FIELD_OPERATORS = {
    "kind": ("eq", "ne", "in"),
    "name": ("eq", "contains", "starts_with"),
    "tags": ("has", "has_any", "has_none"),
    "owner": ("eq", "ne", "in", "isnull"),
    "department": ("eq", "in", "within", "isnull"),
    "created_at": ("gte", "lt"),
}
PARTY_KINDS = ("person", "organization")
DIRECTIONS = ("out", "in", "any")

COMPARE: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "eq": lambda column, value: column == value,
    "lt": lambda column, value: column < value,
    "lte": lambda column, value: column <= value,
    "gt": lambda column, value: column > value,
    "gte": lambda column, value: column >= value,
    "in": lambda column, values: column.in_(values),
    "contains": lambda column, text: column.icontains(text, autoescape=True),
}


class Compiler:
    """Compiles one definition for one session; collects every mistake before failing."""

    def __init__(self, session: Session, nesting: tuple[int, ...] = ()):
        self.session = session
        self.nesting = nesting
        self.errors: dict[str, list[str]] = {}
        self.conditions = 0
        self._facts: dict[str, xrm.PartyFact] | None = None
        self._custom: dict[str, tuple[str, tuple[str, ...]]] | None = None
        self.today = xrm.utcnow().date()

    # -- entry --------------------------------------------------------------------------------

    def compile(self, definition: Any, path: str = "definition") -> ColumnElement[bool]:
        condition = self.node(definition, path, 0)
        if self.errors:
            raise xrm.ValidationError(self.errors)
        return condition

    def fail(self, path: str, message: str) -> ColumnElement[bool]:
        self.errors.setdefault(path, []).append(message)
        return false()

    def node(self, node: Any, path: str, depth: int) -> ColumnElement[bool]:
        if depth > MAX_DEPTH:
            return self.fail(path, f"Nested deeper than {MAX_DEPTH} levels.")
        if not isinstance(node, dict) or not node:
            return self.fail(path, "Expected a condition or a group (an object).")
        groups = [key for key in ("all", "any", "not") if key in node]
        if groups:
            if len(node) != 1:
                return self.fail(path, f"A group holds only its {groups[0]!r} key.")
            key = groups[0]
            if key == "not":
                # A comparison with a missing value is NULL, not false: "not in HR" keeps parties
                # without a department.
                return not_(func.coalesce(self.node(node["not"], f"{path}.not", depth + 1), false()))
            children = node[key]
            if not isinstance(children, list) or not children:
                return self.fail(f"{path}.{key}", "Expected a non-empty list of conditions.")
            compiled = [self.node(child, f"{path}.{key}.{index}", depth + 1) for index, child in enumerate(children)]
            return and_(*compiled) if key == "all" else or_(*compiled)
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            return self.fail(path, f"More than {MAX_CONDITIONS} conditions.")
        for key, leaf in (("field", self.field), ("role", self.role), ("relationship", self.relationship),
                          ("fact", self.fact), ("segment", self.segment)):
            if key in node:
                return leaf(node, path)
        return self.fail(path, "Unknown condition: use all, any, not, field, role, relationship, fact or segment.")

    # -- leaves -------------------------------------------------------------------------------

    def _keys(self, node: dict, path: str, allowed: tuple[str, ...]) -> bool:
        extra = sorted(set(node) - set(allowed))
        if extra:
            self.fail(f"{path}.{extra[0]}", f"Unknown key; this condition takes {', '.join(allowed)}.")
            return False
        return True

    def _operator(self, node: dict, path: str, operators: tuple[str, ...]) -> str | None:
        operator = node.get("op")
        if operator not in operators:
            self.fail(f"{path}.op", f"Unknown operator {operator!r}; use one of: {', '.join(operators)}.")
            return None
        if "value" not in node:
            self.fail(f"{path}.value", "Give a value.")
            return None
        return operator

    def field(self, node: dict, path: str) -> ColumnElement[bool]:
        if not self._keys(node, path, ("field", "op", "value")):
            return false()
        name = node["field"]
        if isinstance(name, str) and name.startswith("custom."):
            return self.custom_field(node, path, name.removeprefix("custom."))
        if name not in FIELD_OPERATORS:
            known = ", ".join([*FIELD_OPERATORS, "custom.<code>"])
            return self.fail(f"{path}.field", f"Unknown field {name!r}; use one of: {known}.")
        operator = self._operator(node, path, FIELD_OPERATORS[name])
        if operator is None:
            return false()
        value, value_path = node["value"], f"{path}.value"
        party = xrm.Party
        if name == "kind":
            values = value if operator == "in" else [value]
            if not isinstance(values, list) or not values or any(v not in PARTY_KINDS for v in values):
                return self.fail(value_path, f"Use {' or '.join(PARTY_KINDS)}" + (" (a list)." if operator == "in" else "."))
            return party.kind.in_(values) if operator == "in" else (
                party.kind == value if operator == "eq" else party.kind != value)
        if name == "name":
            if not isinstance(value, str) or not value.strip():
                return self.fail(value_path, "Give a non-empty text.")
            if operator == "starts_with":
                return party.display_name.istartswith(value, autoescape=True)
            return COMPARE[operator](party.display_name, value)
        if name == "tags":
            tags = value if operator in ("has_any", "has_none") else [value]
            if not isinstance(tags, list) or not tags or not all(isinstance(t, str) and t for t in tags):
                return self.fail(value_path, "Give a tag" + (" list." if operator != "has" else "."))
            any_tag = or_(*(xrm.json_array_includes(party.tags, tag) for tag in tags))
            return not_(any_tag) if operator == "has_none" else any_tag
        if name == "owner":
            return self.owner(operator, value, value_path)
        if name == "department":
            return self.department(operator, value, value_path)
        moment = _parse_date(value)
        if moment is None:
            return self.fail(value_path, "Not a valid date: use YYYY-MM-DD.")
        return COMPARE[operator](party.created_at, moment)

    def owner(self, operator: str, value: Any, path: str) -> ColumnElement[bool]:
        column = xrm.Party.owner_user_id
        if operator == "isnull":
            return self._isnull(column, value, path)
        values = value if operator == "in" else [value]
        if not isinstance(values, list) or not values:
            return self.fail(path, "Give a list of user ids.")
        ids = []
        for item in values:
            if item == "me":
                principal = xrm.principal_of(self.session)
                if principal is None or principal.user_id is None:
                    return self.fail(path, "'me' needs a signed-in user.")
                ids.append(principal.user_id)
            elif isinstance(item, int) and not isinstance(item, bool):
                ids.append(item)
            else:
                return self.fail(path, "Give a user id or 'me'.")
        if operator == "ne":
            return column.is_distinct_from(ids[0])
        return column.in_(ids)

    def department(self, operator: str, value: Any, path: str) -> ColumnElement[bool]:
        column = xrm.Party.department_id
        if operator == "isnull":
            return self._isnull(column, value, path)
        values = value if operator == "in" else [value]
        if not isinstance(values, list) or not values or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in values):
            return self.fail(path, "Give a department id" + (" list." if operator == "in" else "."))
        departments = {d.id: d for d in self.session.scalars(select(xrm.Department).where(xrm.Department.id.in_(values)))}
        unknown = [v for v in values if v not in departments]
        if unknown:
            return self.fail(path, f"There is no department {unknown[0]} here.")
        if operator == "within":
            below = select(xrm.Department.id).where(xrm.Department.path.startswith(departments[value].path))
            return column.in_(below)
        return column.in_(values)

    def _isnull(self, column: Any, value: Any, path: str) -> ColumnElement[bool]:
        if not isinstance(value, bool):
            return self.fail(path, "Give true (no value) or false (any value).")
        return column.is_(None) if value else column.is_not(None)

    def custom_field(self, node: dict, path: str, code: str) -> ColumnElement[bool]:
        if self._custom is None:
            self._custom = xrm.custom_field_types(self.session, xrm.Party)
        if code not in self._custom:
            return self.fail(f"{path}.field", f"Unknown custom field {code!r} (or inactive).")
        field_type, operators = self._custom[code]
        operator = self._operator(node, path, operators)
        if operator is None:
            return false()
        try:
            return xrm.custom_field_condition(xrm.Party, code, field_type, operator, node["value"])
        except ValueError as exc:
            return self.fail(f"{path}.value", str(exc))

    def _holds_role(self, party_id: Any, code: str) -> ColumnElement[bool]:
        role = xrm.PartyRoleAssignment
        return exists().where(role.party_id == party_id, role.role == code, *self._current(role))

    def _current(self, model: Any) -> tuple[ColumnElement[bool], ...]:
        return (or_(model.valid_from.is_(None), model.valid_from <= self.today),
                or_(model.valid_to.is_(None), model.valid_to >= self.today))

    def role(self, node: dict, path: str) -> ColumnElement[bool]:
        if not self._keys(node, path, ("role",)):
            return false()
        code = node["role"]
        if not isinstance(code, str) or not code:
            return self.fail(f"{path}.role", "Give a role code.")
        return self._holds_role(xrm.Party.id, code)

    def relationship(self, node: dict, path: str) -> ColumnElement[bool]:
        if not self._keys(node, path, ("relationship", "direction", "to_role")):
            return false()
        code, direction, to_role = node["relationship"], node.get("direction", "any"), node.get("to_role")
        if not isinstance(code, str) or code not in self._relationship_codes():
            known = ", ".join(sorted(self._relationship_codes())) or "none defined"
            return self.fail(f"{path}.relationship", f"Unknown relationship type {code!r}; known: {known}.")
        if direction not in DIRECTIONS:
            return self.fail(f"{path}.direction", f"Use one of: {', '.join(DIRECTIONS)}.")
        if to_role is not None and (not isinstance(to_role, str) or not to_role):
            return self.fail(f"{path}.to_role", "Give a role code.")
        link = xrm.Relationship
        ends = []
        if direction in ("out", "any"):
            ends.append((link.from_party_id, link.to_party_id))
        if direction in ("in", "any"):
            ends.append((link.to_party_id, link.from_party_id))
        alternatives = []
        for this_end, other_end in ends:
            conditions = [this_end == xrm.Party.id, link.type.has(code=code), *self._current(link)]
            if to_role is not None:
                conditions.append(self._holds_role(other_end, to_role))
            alternatives.append(exists().where(*conditions))
        return or_(*alternatives)

    def _relationship_codes(self) -> set[str]:
        type_model = inspect(xrm.Relationship).relationships["type"].mapper.class_
        return set(self.session.scalars(select(type_model.code)))

    def fact(self, node: dict, path: str) -> ColumnElement[bool]:
        if not self._keys(node, path, ("fact", "op", "value")):
            return false()
        if self._facts is None:
            self._facts = xrm.party_facts(self.session)
        name = node["fact"]
        fact = self._facts.get(name) if isinstance(name, str) else None
        if fact is None:
            known = ", ".join(sorted(self._facts)) or "none available"
            return self.fail(f"{path}.fact", f"Unknown fact {name!r}; known: {known}.")
        operator = self._operator(node, path, FACT_OPERATORS[fact.type])
        if operator is None:
            return false()
        facts = fact.query(self.session).subquery()
        party_id, value = list(facts.c)[:2]
        if operator == "isnull":
            with_value = select(party_id).where(value.is_not(None))
            if not isinstance(node["value"], bool):
                return self.fail(f"{path}.value", "Give true (no value) or false (any value).")
            return xrm.Party.id.not_in(with_value) if node["value"] else xrm.Party.id.in_(with_value)
        parsed = self._fact_value(fact, operator, node["value"], f"{path}.value")
        if parsed is None:
            return false()
        if operator == "ne":  # like the core's lists: "not X" includes the parties with no value
            return xrm.Party.id.not_in(select(party_id).where(value == parsed))
        return xrm.Party.id.in_(select(party_id).where(COMPARE[operator](value, parsed)))

    def _fact_value(self, fact: xrm.PartyFact, operator: str, raw: Any, path: str) -> Any:
        values = raw if operator == "in" else [raw]
        if not isinstance(values, list) or not values:
            self.fail(path, "Give a non-empty list of values.")
            return None
        parsed = []
        for item in values:
            if fact.type == "number":
                value = _parse_number(item)
                message = "Not a valid number."
            elif fact.type == "date":
                value = _parse_date(item)
                message = "Not a valid date: use YYYY-MM-DD."
            elif fact.type == "choice" and fact.choices:
                value = item if item in fact.choices else None
                message = f"Must be one of: {', '.join(fact.choices)}."
            else:
                value = item if isinstance(item, str) else None
                message = "Not a valid text."
            if value is None:
                self.fail(path, message)
                return None
            parsed.append(value)
        return parsed if operator == "in" else parsed[0]

    def segment(self, node: dict, path: str) -> ColumnElement[bool]:
        if not self._keys(node, path, ("segment",)):
            return false()
        segment_id = node["segment"]
        segment = self.session.get(Segment, segment_id) if isinstance(segment_id, int) else None
        if segment is None:
            return self.fail(f"{path}.segment", f"There is no segment {segment_id!r} here.")
        if segment.id in self.nesting or len(self.nesting) >= MAX_NESTING:
            return self.fail(f"{path}.segment", f"Segment {segment.id} includes itself or nests too deeply.")
        if segment.kind != DYNAMIC:
            return xrm.Party.id.in_(select(SegmentMember.party_id).where(SegmentMember.segment_id == segment.id))
        inner = Compiler(self.session, (*self.nesting, segment.id))
        condition = inner.node(segment.definition, path, 0)
        for inner_path, messages in inner.errors.items():
            self.errors.setdefault(f"{path}.segment", []).extend(
                f"segment {segment.id} is broken at {inner_path}: {message}" for message in messages)
        return condition


def _parse_number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def compile_definition(session: Session, definition: Any, nesting: tuple[int, ...] = ()) -> ColumnElement[bool]:
    """One SQL condition on ``xrm.Party`` for ``definition``.

    :raises ValidationError: every mistake, keyed by its path (``definition.all.0.op``).
    """
    return Compiler(session, nesting).compile(definition)


def membership(session: Session, segment: Segment) -> ColumnElement[bool]:
    """The SQL condition on ``xrm.Party`` for the members of ``segment`` (dynamic or static)."""
    if segment.kind == DYNAMIC:
        return compile_definition(session, segment.definition, (segment.id,))
    return xrm.Party.id.in_(select(SegmentMember.party_id).where(SegmentMember.segment_id == segment.id))


def members_select(condition: ColumnElement[bool]):
    """A select of the parties meeting ``condition``, by name."""
    return select(xrm.Party).where(condition).order_by(xrm.Party.display_name, xrm.Party.id)


def count(session: Session, condition: ColumnElement[bool]) -> int:
    """How many parties the session may see meet ``condition``."""
    return session.scalar(select(func.count(xrm.Party.id)).where(condition)) or 0
