"""Party list pages at the issue's scale, on the ``party_graph`` data set of :mod:`bench.cases_graph`.

The platform side is the query layer of ``GET /api/v1/parties``, without HTTP: the query string
parsed and validated by the listing (custom field definitions looked up per request), the keyset
page run through a permission-scoped session by ``cursor_paginate``, and the page dumped by the
party schema (sparse fields, ETags). The raw side is one hand-written statement returning the
same rows. Each call asks for another page (the listing's cursors on the platform side, the
same keyset condition written by hand on the raw side), so both walk the same pages in turn.

The custom field case sorts on ``size``, a number custom field set on four parties in five of the
large tenant (stored, as the platform stores numbers, as decimal strings). No index serves such a
sort (custom fields are defined per tenant at run time), so both sides scan the tenant's parties:
the ratio shows the platform adds little to a query whose cost is the database's.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, g, request
from webargs.multidictproxy import MultiDictProxy

from xrm_core.api.cursor import decode_cursor
from xrm_core.api.pagination import cursor_paginate
from xrm_core.api.parties import PARTIES, _list_statement
from xrm_core.customfields.models import CustomFieldDefinition
from xrm_core.identity.models import Scope
from xrm_core.identity.principal import service_principal
from xrm_core.identity.scoping import act_as

from .cases_graph import party_graph
from .harness import Context, Pair, case, console, dataset

#: Rows per page, as a client would ask for.
PAGE = 50
#: Pages each side walks (then starts again from the first).
PAGES = 20
FIELDS = "display_name,kind,tags,custom"
#: One party in this many has no ``size``.
WITHOUT_SIZE = 5

FILTERED = f"kind=organization&tag=emea&sort=display_name&limit={PAGE}&fields={FIELDS}"
CUSTOM_SORTED = f"kind=person&sort=-custom.size&limit={PAGE}&fields={FIELDS}"

COLUMNS = "id, kind, display_name, tags, custom, version"
RAW_FILTERED = {
    "sqlite": f"SELECT {COLUMNS}, display_name FROM core_parties p WHERE tenant_id = ? AND kind = 'organization' "
              "AND EXISTS (SELECT 1 FROM json_each(p.tags) WHERE json_each.value = ?) {after} "
              "ORDER BY display_name, id LIMIT ?",
    "postgresql": f"SELECT {COLUMNS}, display_name FROM core_parties p WHERE tenant_id = ? "
                  "AND kind = 'organization' AND CAST(tags AS JSONB) @> CAST(? AS JSONB) {after} "
                  "ORDER BY display_name, id LIMIT ?",
}
FILTERED_AFTER = "AND (display_name > ? OR (display_name = ? AND id > ?))"
SIZE = {"sqlite": "CAST(json_extract(custom, '$.size') AS NUMERIC)",
        "postgresql": "CAST(custom ->> 'size' AS NUMERIC)"}
RAW_CUSTOM_SORTED = (f"SELECT {COLUMNS}, {{size}} FROM core_parties WHERE tenant_id = ? AND kind = 'person' {{after}} "
                     "ORDER BY {size} DESC NULLS LAST, id DESC LIMIT ?")
#: After (size, id) in "size descending, empty last, id descending" order; after an empty size,
#: only other empty sizes with a smaller id.
CUSTOM_AFTER = "AND ({size} < ? OR {size} IS NULL OR ({size} = ? AND id < ?))"
CUSTOM_AFTER_EMPTY = "AND {size} IS NULL AND id < ?"


@dataset("party_custom_sizes")
def party_custom_sizes(ctx: Context) -> int:
    """A ``size`` number custom field on the large tenant, with values on four parties in five."""
    graph = ctx.need(party_graph).large
    with ctx.platform.db.transaction(graph.tenant_id) as session:
        session.add(CustomFieldDefinition(entity="core.party", code="size", label="Size", type="number",
                                          required=False, choices=[], validation={}, position=0, active=True))
    value = {"sqlite": "json_object('size', CAST((id * 7919) % 10007 AS TEXT))",
             "postgresql": "json_build_object('size', CAST((id * 7919) % 10007 AS TEXT))"}[ctx.dialect]
    with ctx.engine.begin() as connection:
        updated = connection.exec_driver_sql(ctx.sql(
            f"UPDATE core_parties SET custom = {value} WHERE tenant_id = ? AND id % {WITHOUT_SIZE} <> 0"),
            (graph.tenant_id,)).rowcount
    if ctx.dialect == "postgresql":
        with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM core_parties")
    console.log(f"custom field size set on {updated:,} parties")
    return graph.tenant_id


def _api_side(ctx: Context, tenant_id: int, query_string: str) -> Callable[[], list[dict[str, Any]]]:
    """The list endpoint's query layer, walking ``PAGES`` pages with its own cursors."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = ctx.platform.settings.secret_key
    app.extensions["xrm"] = ctx.platform
    principal = service_principal(tenant_id, "bench", {"core.party.read": Scope.TENANT})
    schema = PARTIES.query_schema()
    state = {"cursor": None, "page": 0}

    def page() -> list[dict[str, Any]]:
        url = f"/api/v1/parties?{query_string}"
        if state["cursor"] is not None:
            url += f"&cursor={state['cursor']}"
        with app.test_request_context(url), ctx.platform.db.session(tenant_id, read_only=True) as session:
            g.xrm_session = act_as(session, principal)
            query = schema.load(MultiDictProxy(request.args, schema))
            result = cursor_paginate(_list_statement(query), query, session)
            items = PARTIES.dump(result.items, query.fields)
            state["page"] += 1
            state["cursor"] = result.next_cursor if state["page"] % PAGES else None
            items[-1]["next"] = result.next_cursor and decode_cursor(PARTIES.name, query.sort_spec, result.next_cursor)
            return items

    return page


def _raw_side(ctx: Context, first: str, after: str, after_empty: str | None, params: tuple,
              key: Callable[[tuple], tuple]) -> Callable[[], list[tuple]]:
    """One hand-written statement per page, continuing after the last row's sort keys."""
    state: dict[str, Any] = {"last": None, "page": 0}

    def page() -> list[tuple]:
        last = state["last"]
        if last is None:
            statement, arguments = first, (*params, PAGE)
        elif after_empty is not None and last[0] is None:
            statement, arguments = after_empty, (*params, last[-1], PAGE)
        else:
            statement, arguments = after, (*params, *key(last), PAGE)
        rows = ctx.raw(statement, arguments)
        state["page"] += 1
        state["last"] = (rows[-1][-1], rows[-1][0]) if state["page"] % PAGES and len(rows) == PAGE else None
        return rows

    return page


def _same(api_rows: list[dict[str, Any]], raw_rows: list[tuple]) -> bool:
    return [row["id"] for row in api_rows] == [row[0] for row in raw_rows] and \
        [row["display_name"] for row in api_rows] == [row[2] for row in raw_rows]


def _walk(pages: Callable[[], Any]) -> Iterator[Any]:
    return (pages() for _ in itertools.count())


@case(
    "parties.list_filtered",
    f"GET /api/v1/parties?{FILTERED}: organizations tagged emea by name, {PAGES} successive keyset pages of "
    f"{PAGE}; listing + cursor_paginate + schema dump (permission-scoped session) vs one hand-written statement",
)
def list_filtered(ctx: Context) -> Pair:
    tenant_id = ctx.need(party_graph).large.tenant_id
    ctx.need(party_custom_sizes)
    template = RAW_FILTERED[ctx.dialect]
    tag = "emea" if ctx.dialect == "sqlite" else '["emea"]'
    raw = _raw_side(ctx, template.format(after=""), template.format(after=FILTERED_AFTER), None,
                    (tenant_id, tag), key=lambda last: (last[0], last[0], last[1]))
    return Pair(_api_side(ctx, tenant_id, FILTERED), raw, _same, work=(PAGE, "rows"))


@case(
    "parties.list_custom_sorted",
    f"GET /api/v1/parties?{CUSTOM_SORTED}: people by a number custom field (no index can serve it), "
    f"{PAGES} successive keyset pages of {PAGE}; the API's query layer vs one hand-written statement",
)
def list_custom_sorted(ctx: Context) -> Pair:
    tenant_id = ctx.need(party_custom_sizes)
    size = SIZE[ctx.dialect]
    first = RAW_CUSTOM_SORTED.format(size=size, after="")
    after = RAW_CUSTOM_SORTED.format(size=size, after=CUSTOM_AFTER.format(size=size))
    after_empty = RAW_CUSTOM_SORTED.format(size=size, after=CUSTOM_AFTER_EMPTY.format(size=size))
    raw = _raw_side(ctx, first, after, after_empty, (tenant_id,), key=lambda last: (last[0], last[0], last[1]))
    return Pair(_api_side(ctx, tenant_id, CUSTOM_SORTED), raw, _same, work=(PAGE, "rows"))
