"""The relationship picture on a party's page: its neighbourhood, drawn with cytoscape.js.

The picture is the graph service's neighbourhood (:func:`xrm_core.graph.queries.neighbourhood`,
the one the API's ``/parties/<id>/neighbourhood`` answers with) through the request's
permission-scoped session: a party the user may not see is neither drawn nor walked through. It
is filtered by relationship type, day and depth (at most :data:`MAX_PICTURE_DEPTH`) and holds at
most :data:`MAX_NODES` parties, the nearest ones, saying so when it leaves some out.

The party page embeds the first picture and lists its relationships as a table (for screen
readers and browsers without JavaScript); changing the filter fetches ``graph.json`` and redraws
both. Without JavaScript the filter form reloads the page with the same query arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, abort, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import or_, select
from werkzeug.datastructures import MultiDict

from .. import web
from ..errors import NotFound
from ..graph.models import Party, PartyRoleAssignment, RelationshipTypeDef
from ..graph.queries import TODAY, neighbourhood
from ..graph.service import RoleCatalogue
from ..problems import problem

blueprint = Blueprint("party_graph", __name__, url_prefix="/parties")

#: The most parties drawn: beyond, a picture is a hairball nobody can read (nor the browser lay out).
MAX_NODES = 150
#: Two hops show a party's partners and theirs; deeper neighbourhoods are a query for the API.
MAX_PICTURE_DEPTH = 2


@dataclass(frozen=True)
class GraphFilter:
    """What the picture shows: relationships of ``types`` (all when empty) valid on ``as_of``
    (today when ``None``), up to ``depth`` hops from the party."""

    types: tuple[str, ...] = ()
    as_of: date | None = None
    depth: int = MAX_PICTURE_DEPTH

    def query_args(self) -> dict[str, Any]:
        """The filter as query arguments (what the filter form sends)."""
        args: dict[str, Any] = {"depth": self.depth}
        if self.types:
            args["type"] = list(self.types)
        if self.as_of:
            args["as_of"] = self.as_of.isoformat()
        return args


def relationship_types() -> list[RelationshipTypeDef]:
    """The tenant's relationship types, by label: the filter's choices."""
    return list(web.db_session().scalars(
        select(RelationshipTypeDef).order_by(RelationshipTypeDef.forward_label, RelationshipTypeDef.code)))


def parse_filter(args: MultiDict, known_types: list[RelationshipTypeDef]) -> tuple[GraphFilter, dict[str, list[str]]]:
    """The filter the query arguments ask for, and the errors by field (a wrong field keeps its default).

    ``type`` may be repeated (checkboxes) or comma-separated; ``as_of`` is an ISO date; ``depth``
    is 1 or 2.
    """
    errors: dict[str, list[str]] = {}
    codes = tuple(dict.fromkeys(code.strip() for value in args.getlist("type") for code in value.split(",")
                                if code.strip()))
    unknown = [code for code in codes if code not in {kind.code for kind in known_types}]
    if unknown:
        errors["type"] = [_("There is no relationship type %(code)s.", code=unknown[0])]
        codes = ()
    as_of = None
    if args.get("as_of"):
        try:
            as_of = date.fromisoformat(args["as_of"])
        except ValueError:
            errors["as_of"] = [_("Enter a date as YYYY-MM-DD.")]
    depth = MAX_PICTURE_DEPTH
    if args.get("depth"):
        try:
            depth = int(args["depth"])
        except ValueError:
            depth = 0
        if not 1 <= depth <= MAX_PICTURE_DEPTH:
            errors["depth"] = [_("The depth is a number of hops from 1 to %(most)s.", most=MAX_PICTURE_DEPTH)]
            depth = MAX_PICTURE_DEPTH
    return GraphFilter(codes, as_of, depth), errors


def picture(party_id: int, graph_filter: GraphFilter, known_types: list[RelationshipTypeDef]) -> dict[str, Any]:
    """The neighbourhood of ``party_id`` the user may see, as cytoscape elements' data.

    Keeps the :data:`MAX_NODES` parties nearest to the centre (then the oldest) and the
    relationships between them; ``capped`` says when parties were left out.

    :raises NotFound: the user may not see the party (or there is none).
    """
    session = web.db_session()
    found = neighbourhood(session, party_id, graph_filter.depth, types=list(graph_filter.types) or None,
                          as_of=graph_filter.as_of or TODAY)
    kept = sorted(found.distances, key=lambda pid: (found.distances[pid], pid))[:MAX_NODES]
    parties = {party.id: party for party in session.scalars(select(Party).where(Party.id.in_(kept)))}
    roles = _roles_on(kept, graph_filter.as_of or datetime.now(UTC).date())
    types = {kind.code: kind for kind in known_types}
    nodes = [{
        "id": str(pid),
        "party_id": pid,
        "label": parties[pid].display_name,
        "kind": parties[pid].kind,
        "roles": roles.get(pid, []),
        "hops": found.distances[pid],
        "centre": pid == party_id,
        "url": url_for("parties.show", party_id=pid),
    } for pid in kept]
    edges = [{
        "id": f"r{edge.relationship_id}",
        "source": str(edge.from_party_id),
        "target": str(edge.to_party_id),
        "type": edge.type_code,
        "label": types[edge.type_code].forward_label if edge.type_code in types else edge.type_code,
        "symmetric": edge.type_code in types and types[edge.type_code].symmetric,
    } for edge in found.edges if edge.from_party_id in parties and edge.to_party_id in parties]
    capped = len(found.distances) > len(kept)
    notice = _("Showing the %(shown)s nearest of %(total)s related parties.", shown=len(kept),
               total=len(found.distances)) if capped else ""
    return {"nodes": nodes, "edges": edges, "total_nodes": len(found.distances), "capped": capped, "notice": notice}


def _roles_on(party_ids: list[int], day: date) -> dict[int, list[str]]:
    """Party id -> the labels of the roles it holds on ``day``."""
    catalogue = RoleCatalogue.from_platform(web.platform()).roles
    held: dict[int, list[str]] = {}
    for party_id, role in web.db_session().execute(
        select(PartyRoleAssignment.party_id, PartyRoleAssignment.role).where(
            PartyRoleAssignment.party_id.in_(party_ids),
            or_(PartyRoleAssignment.valid_from.is_(None), PartyRoleAssignment.valid_from <= day),
            or_(PartyRoleAssignment.valid_to.is_(None), PartyRoleAssignment.valid_to >= day),
        ).order_by(PartyRoleAssignment.role)
    ):
        held.setdefault(party_id, []).append(_(catalogue[role].label) if role in catalogue else role)
    return held


def page_context(party_id: int, args: MultiDict) -> dict[str, Any]:
    """What ``parties/_graph.html`` needs on the party page: the filter, its choices, its errors and
    the picture (a wrong filter argument is reported and its default used)."""
    known_types = relationship_types()
    graph_filter, errors = parse_filter(args, known_types)
    found = picture(party_id, graph_filter, known_types)
    return {"filter": graph_filter, "types": known_types, "errors": errors, "picture": found,
            "rows": edge_rows(found), "max_depth": MAX_PICTURE_DEPTH}


def edge_rows(found: dict[str, Any]) -> list[tuple[dict[str, Any], str, dict[str, Any]]]:
    """The picture's relationships as text, (from node, label, to node), for the table beside it
    (``static/party-graph.js`` builds the same rows when it redraws)."""
    nodes = {node["id"]: node for node in found["nodes"]}
    return [(nodes[edge["source"]], edge["label"], nodes[edge["target"]]) for edge in found["edges"]]


@blueprint.get("/<int:party_id>/graph.json")
@login_required
def data(party_id: int):
    """The picture of the party's neighbourhood for the filter in the query arguments, as JSON.

    A wrong argument is a 422 problem naming it; a party the user may not see is a 404.
    """
    known_types = relationship_types()
    graph_filter, errors = parse_filter(request.args, known_types)
    if errors:
        return problem(422, _("Unprocessable Content"), next(iter(errors.values()))[0], errors=errors)
    try:
        return jsonify(picture(party_id, graph_filter, known_types))
    except NotFound:
        abort(404, description=_("There is no party #%(id)s that you may see.", id=party_id))
