"""The party form: browser input checked field by field, with messages a person can act on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import gettext as _

from ..graph.models import Party
from ..graph.service import RoleCatalogue

NAME_MAX = 200
IDENTIFIER_SOURCE_MAX = 63


class PartyForm:
    """Validates the create/edit form of a party; ``validate`` returns ``(errors, data)``."""

    def __init__(self, kinds: Sequence[str], roles: RoleCatalogue, *, editing: bool = False):
        self.kinds = kinds
        self.roles = roles
        self.editing = editing

    def blank(self) -> dict[str, str]:
        return {"kind": self.kinds[0], "display_name": "", "tags": "", "role": "",
                "identifier_source": "", "identifier_value": ""}

    def of(self, party: Party) -> dict[str, str]:
        return {"kind": party.kind, "display_name": party.display_name, "tags": ", ".join(party.tags or []),
                "version": str(party.version)}

    def validate(self, form: Mapping[str, str]) -> tuple[dict[str, list[str]], dict[str, Any]]:
        errors: dict[str, list[str]] = {}
        data: dict[str, Any] = {}
        kind = form.get("kind", "")
        if kind not in self.kinds:
            errors["kind"] = [_("Choose whether this is a person or an organization.")]
        data["kind"] = kind
        name = form.get("display_name", "").strip()
        if not name:
            errors["display_name"] = [_("Enter a name.")]
        elif len(name) > NAME_MAX:
            errors["display_name"] = [_("Use at most %(max)s characters (this name has %(count)s).",
                                        max=NAME_MAX, count=len(name))]
        data["display_name"] = name
        data["tags"] = list(dict.fromkeys(tag.strip() for tag in form.get("tags", "").split(",") if tag.strip()))
        if self.editing:
            version = form.get("version", "")
            if not version.isdigit():
                errors["_form"] = [_("The form is incomplete; reload the page and try again.")]
            data["version"] = int(version) if version.isdigit() else None
            return errors, data
        role = form.get("role", "")
        if role and role not in self.roles:
            errors["role"] = [_("Choose a role from the list.")]
        data["role"] = role
        source, value = form.get("identifier_source", "").strip(), form.get("identifier_value", "").strip()
        if value and not source:
            errors["identifier_source"] = [_("Say which system this identifier comes from.")]
        elif len(source) > IDENTIFIER_SOURCE_MAX:
            errors["identifier_source"] = [_("Use at most %(max)s characters.", max=IDENTIFIER_SOURCE_MAX)]
        if source and not value:
            errors["identifier_value"] = [_("Enter the identifier, or clear its source.")]
        data["identifier_source"], data["identifier_value"] = source, value
        return errors, data
