"""The forms on a party's page that change its place in the graph: link it to another party, give
it a role, and end either.

Each form checks the browser's input field by field and returns ``(errors, data)`` like
:class:`~.forms.PartyForm`; the rules of the graph itself (what a relationship type admits at its
ends, overlapping roles) are the graph service's, checked when saving.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _

from ..graph.models import Party, RelationshipTypeDef
from ..graph.service import RoleCatalogue

#: As long as the API lets a relationship's notes be.
NOTES_MAX = 10_000


@dataclass(frozen=True)
class LinkChoice:
    """One way to link the party: a relationship type, and which end of it the party is."""

    type: RelationshipTypeDef
    #: The party is the type's "from" end (it "employs" the other); else its "to" end ("works for").
    outgoing: bool

    @property
    def value(self) -> str:
        return f"{self.type.code}:{'out' if self.outgoing else 'in'}"

    @property
    def label(self) -> str:
        """How the relationship reads from the party: the forward label, or the inverse one."""
        return self.type.forward_label if self.outgoing else self.type.inverse_label

    @property
    def other_kinds(self) -> list[str]:
        """The kinds the type admits at the other end (empty: any)."""
        return list(self.type.to_kinds if self.outgoing else self.type.from_kinds)


def link_choices(types: Iterable[RelationshipTypeDef], party: Party) -> list[LinkChoice]:
    """The ways ``party`` can be linked: each type end that admits its kind and one of its roles.

    A role admitted at an end counts if the party holds it at any time: whether it holds it over the
    relationship's whole period is the graph service's check when saving. A symmetric type reads the
    same from both ends and is offered once.
    """
    held = {assignment.role for assignment in party.roles}
    choices = []
    for kind in types:
        if _admits(kind.from_kinds, kind.from_roles, party.kind, held):
            choices.append(LinkChoice(kind, outgoing=True))
        if not kind.symmetric and _admits(kind.to_kinds, kind.to_roles, party.kind, held):
            choices.append(LinkChoice(kind, outgoing=False))
    return sorted(choices, key=lambda choice: (choice.label.casefold(), choice.value))


def _admits(kinds: list[str], roles: list[str], party_kind: str, held: set[str]) -> bool:
    return (not kinds or party_kind in kinds) and (not roles or bool(held & set(roles)))


def _date(form: Mapping[str, str], name: str, errors: dict[str, list[str]], *, required: bool = False) -> date | None:
    value = form.get(name, "").strip()
    if not value:
        if required:
            errors[name] = [_("Enter a date.")]
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = [_("Enter a date as YYYY-MM-DD.")]
        return None


def _period(form: Mapping[str, str], errors: dict[str, list[str]]) -> tuple[date | None, date | None]:
    valid_from, valid_to = _date(form, "valid_from", errors), _date(form, "valid_to", errors)
    if valid_from and valid_to and valid_to < valid_from:
        errors["valid_to"] = [_("The end comes before the start.")]
    return valid_from, valid_to


def validate_link(form: Mapping[str, str], choices: list[LinkChoice]) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """The link form: ``choice`` (a :class:`LinkChoice`), ``other_party_id``, the period and notes."""
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {}
    data["choice"] = next((choice for choice in choices if choice.value == form.get("type", "")), None)
    if data["choice"] is None:
        errors["type"] = [_("Choose how the parties are related.")]
    other = form.get("other_party_id", "").strip()
    if not other.isdigit():
        errors["other_party_id"] = [_("Search for the other party and choose it.")]
    data["other_party_id"] = int(other) if other.isdigit() else None
    data["valid_from"], data["valid_to"] = _period(form, errors)
    notes = form.get("notes", "").strip()
    if len(notes) > NOTES_MAX:
        errors["notes"] = [_("Use at most %(max)s characters.", max=NOTES_MAX)]
    data["notes"] = notes or None
    return errors, data


def validate_role(form: Mapping[str, str], catalogue: RoleCatalogue) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """The role form: a ``role`` code of the catalogue and its period."""
    errors: dict[str, list[str]] = {}
    role = form.get("role", "")
    if role not in catalogue:
        errors["role"] = [_("Choose a role from the list.")]
    valid_from, valid_to = _period(form, errors)
    return errors, {"role": role, "valid_from": valid_from, "valid_to": valid_to}


def validate_end(form: Mapping[str, str], *, versioned: bool) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """An end form: the last day ``on``, and the record's ``version`` when it has one."""
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {"on": _date(form, "on", errors, required=True)}
    if versioned:
        version = form.get("version", "")
        if not version.isdigit():
            errors["_form"] = [_("The form is incomplete; reload the page and try again.")]
        data["version"] = int(version) if version.isdigit() else None
    return errors, data
