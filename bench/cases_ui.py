"""Server time of the web UI's main pages at the benchmark scale, on the ``party_graph`` data set.

The platform side is a whole request through the WSGI application (Flask test client, no
network): session cookie, tenant and permission scoping, the page's queries, the shell (navigation,
notifications count, saved views) and the Jinja rendering, as a signed-in tenant administrator of
the large tenant sees it. The raw side fetches the same rows with hand-written SQL and renders
nothing, so the ratio is what the page adds to its data; the issue's target is the absolute
figure: a typical page under 100 ms of server time.
"""

from __future__ import annotations

import re

from xrm_core.app import create_app
from xrm_core.identity.bootstrap import ensure_administrator

from .cases_graph import MIN_CALLS, _sample_parties, _today_param, _two_orders, party_graph
from .cases_party360 import LINKS, PARTY, ROLES
from .harness import Context, Pair, case, dataset

EMAIL, PASSWORD = "bench.admin@bench.example", "bench admin password of some length"
LIST_PAGE = ("SELECT id, kind, display_name, tags FROM core_parties WHERE tenant_id = ? "
             "ORDER BY display_name, id LIMIT 25")


@dataset("ui_client")
def ui_client(ctx: Context):
    """A test client of the application signed in as an administrator of the large tenant."""
    graph = ctx.need(party_graph)
    with ctx.platform.db.transaction(graph.large.tenant_id) as session:
        ensure_administrator(session, ctx.platform, EMAIL, PASSWORD, "Bench Admin")
    client = create_app(platform=ctx.platform).test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"csrf_token": token, "tenant": "bench-graph", "email": EMAIL,
                                           "password": PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"could not sign in for the UI benchmark: {response.status_code}")
    return client


def _page(client, url: str) -> str:
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    return response.get_data(as_text=True)


@case("ui.party_list", "GET /parties (first page of 25, by name, shell and saved views) through the WSGI app "
                       "vs the same 25 rows by hand (target: < 100 ms server time)")
def party_list_page(ctx: Context) -> Pair:
    client, tenant_id = ctx.need(ui_client), ctx.need(party_graph).large.tenant_id

    def check(html: str, rows: list[tuple]) -> bool:
        return all(f'data-party-id="{row[0]}"' in html for row in rows)

    return Pair(lambda: _page(client, "/parties"), lambda: ctx.raw(LIST_PAGE, (tenant_id,)), check)


@case("ui.party_page", "GET /parties/<id> (party 360 page of a random party: roles, relationships, panels, "
                       "timeline) through the WSGI app vs party, roles and links by hand (target: < 100 ms)")
def party_page(ctx: Context) -> Pair:
    client, graph = ctx.need(ui_client), ctx.need(party_graph).large
    platform_ids, raw_ids = _two_orders(_sample_parties(ctx, graph, 100), ctx.seed)

    def raw():
        party_id, day = next(raw_ids), _today_param(ctx)
        party = ctx.raw(PARTY, (party_id, graph.tenant_id), one=True)
        roles = ctx.raw(ROLES, (party_id, graph.tenant_id, day, day))
        links = ctx.raw(LINKS, (graph.tenant_id, party_id, graph.tenant_id, day, day) * 2)
        return party, roles, links

    def check(html: str, answer) -> bool:
        party, _roles, links = answer
        return f"<h1>{party[2]}" in html.replace("&#39;", "'") and all(str(link[8]) in html for link in links[:5])

    return Pair(lambda: _page(client, f"/parties/{next(platform_ids)}"), raw, check,
                per_call=True, min_calls=MIN_CALLS // 5)
