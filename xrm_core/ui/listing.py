"""The party list's query: the UI's filters mapped onto the API's listing and keyset pagination.

The page speaks plain form fields (``q``, ``kind``, ``role``, ``sort``); they are translated into
the query of a :class:`~xrm_core.api.listing.Listing`, so sorting, filtering and cursors follow
exactly the rules (and the NULL order) of the REST lists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import marshmallow as ma
from marshmallow import fields
from sqlalchemy import Select, or_, select

from ..api.listing import Listing, ListQuery
from ..graph.models import Party, PartyRoleAssignment

#: The form fields of the list page that are part of a view (saved views store exactly these).
VIEW_PARAMETERS = ("q", "kind", "role", "sort", "columns")
#: Columns the list can show besides the name (always shown); custom fields are ``cf.<code>``.
BUILTIN_COLUMNS = ("kind", "roles", "tags", "created_at", "updated_at")
#: The columns of a view that chose none.
DEFAULT_COLUMNS = ("kind", "roles", "tags", "created_at")
CUSTOM_COLUMN = re.compile(r"^cf\.[a-z][a-z0-9_]{0,62}$")


class PartyRow(ma.Schema):
    """The fields of a party the list can sort and filter on."""

    id = fields.Integer()
    kind = fields.String()
    display_name = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


PARTY_LISTING = Listing(
    Party,
    PartyRow,
    sortable=("display_name", "kind", "created_at", "updated_at"),
    filterable={"kind": ("eq",), "display_name": ("contains",)},
    default_sort="display_name",
    default_limit=25,
    max_limit=100,
    name="ui_parties",
)

#: Sort choices offered by the page, by their ``sort`` value.
SORTS = ("display_name", "-display_name", "-created_at", "created_at", "-updated_at", "kind")


@dataclass(frozen=True)
class PartyView:
    """The list page's filters as the user gave them, and the listing query they make."""

    values: Mapping[str, str]
    query: ListQuery
    role: str | None

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns shown, in order: those chosen (``columns=kind,cf.industry``) or the defaults."""
        return tuple(self.values["columns"].split(",")) if self.values["columns"] else DEFAULT_COLUMNS

    @property
    def custom_columns(self) -> tuple[str, ...]:
        """The custom field codes among :attr:`columns`."""
        return tuple(column[3:] for column in self.columns if column.startswith("cf."))

    def statement(self) -> Select[Any]:
        """Parties matching the role filter; the listing's filters and sort are applied by the pager."""
        statement = select(Party)
        if self.role:
            today = date.today()
            statement = statement.where(Party.id.in_(
                select(PartyRoleAssignment.party_id).where(
                    PartyRoleAssignment.role == self.role,
                    or_(PartyRoleAssignment.valid_from.is_(None), PartyRoleAssignment.valid_from <= today),
                    or_(PartyRoleAssignment.valid_to.is_(None), PartyRoleAssignment.valid_to >= today),
                )
            ))
        return statement


def parse_view(args: Mapping[str, str], *, paged: bool = True) -> PartyView:
    """The view the query string ``args`` describes.

    :raises marshmallow.ValidationError: a value the list cannot use (messages keyed by form field).
    """
    values = {name: args.get(name, "").strip() for name in VIEW_PARAMETERS}
    values["columns"] = _columns(args)
    listing_args: dict[str, Any] = {}
    if values["q"]:
        listing_args["display_name__contains"] = values["q"]
    if values["kind"]:
        listing_args["kind"] = values["kind"]
    if values["sort"]:
        if values["sort"] not in SORTS:
            raise ma.ValidationError({"sort": [f"Unknown sort {values['sort']!r}."]})
        listing_args["sort"] = values["sort"]
    if paged:
        for name in ("cursor", "limit"):
            if args.get(name):
                listing_args[name] = args[name]
    try:
        query = PARTY_LISTING.query_schema().load(listing_args)
    except ma.ValidationError as exc:
        names = {"display_name__contains": "q"}
        raise ma.ValidationError({names.get(k, k): v for k, v in exc.normalized_messages().items()}) from None
    return PartyView(values=values, query=query, role=values["role"] or None)


def _columns(args: Mapping[str, str]) -> str:
    """The chosen columns as one comma-separated value: from checkboxes (several ``columns``) or a link.

    :raises marshmallow.ValidationError: a column the list does not know.
    """
    given = args.getlist("columns") if hasattr(args, "getlist") else [args.get("columns", "")]
    columns = [c.strip() for value in given for c in (value or "").split(",") if c.strip()]
    unknown = [c for c in columns if c not in BUILTIN_COLUMNS and not CUSTOM_COLUMN.match(c)]
    if unknown:
        raise ma.ValidationError({"columns": [f"Unknown column {unknown[0]!r}."]})
    return ",".join(dict.fromkeys(columns))
