"""The party list's query: the UI's filters mapped onto the API's listing and keyset pagination.

The page speaks plain form fields (``q``, ``kind``, ``role``, ``sort``); they are translated into
the query of a :class:`~xrm_core.api.listing.Listing`, so sorting, filtering and cursors follow
exactly the rules (and the NULL order) of the REST lists.
"""

from __future__ import annotations

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
VIEW_PARAMETERS = ("q", "kind", "role", "sort")


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
