"""``ApiBlueprint``: a flask-smorest blueprint whose decorators carry the API conventions.

A plugin declares its resources with these decorators and gets, documented in OpenAPI:

* ``arguments`` (flask-smorest's): input validated by a schema; unknown fields are 422 in the
  body and in the query string alike, malformed JSON is 400, a body that is not JSON is 415;
* :meth:`~ApiBlueprint.record_response`: one record, with its ETag, sparse ``fields`` and 304;
* :meth:`~ApiBlueprint.list_response`: a keyset-paginated list with ``Link: rel="next"``;
* :meth:`~ApiBlueprint.requires_if_match`: writes without ``If-Match`` are refused with 428;
* :meth:`~ApiBlueprint.bulk_create` / :meth:`~ApiBlueprint.bulk_update`: per-item results.

Views do their own ``commit()`` (single-record writes) so the transaction boundary stays visible
in the code; bulk endpoints commit themselves, after the last item. Domain functions shared by
both (``create_widget(data)``) never commit.

Plugin API blueprints are mounted at ``/api/v1/<plugin>`` (plus their own ``url_prefix``); every
request to one must come with a principal (:mod:`xrm_core.api.auth`) unless ``public=True``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, wraps
from typing import Any
from urllib.parse import urlencode

import flask_smorest
import marshmallow as ma
from flask import Response, jsonify, request
from marshmallow import fields
from webargs.flaskparser import FlaskParser, abort, is_json_request

from .. import web
from .auth import require_principal
from .bulk import (
    BulkRequestSchema,
    ItemResult,
    bulk_create_schema,
    bulk_result_schema,
    bulk_update_schema,
    create_item,
    dump_results,
    run_bulk,
    update_item,
)
from .etag import MISSING_IF_MATCH, entity_tag
from .listing import Listing, fields_parameter, select_fields
from .schemas import Schema

INVALID_JSON = {"json": ["Invalid JSON body."]}

ETAG_HEADER = {"description": "The record's ETag: send it back in If-Match to change the record.",
               "schema": {"type": "string"}}
LIST_ETAG_HEADER = {"description": "Tag of this page: send it in If-None-Match to get a 304 while unchanged.",
                    "schema": {"type": "string"}}
LINK_HEADER = {"description": 'RFC 8288 link to the next page (rel="next"); absent on the last page.',
               "schema": {"type": "string"}}


class ApiParser(FlaskParser):
    """webargs, with the API's rules for input.

    Unknown fields follow the schema (raise) everywhere: webargs' default silently drops unknown
    query parameters, which turns a misspelt filter into an unfiltered list. A body declared as
    JSON must be sent as JSON (415 otherwise); an empty body, or JSON nested too deep for the
    parser, is malformed JSON (400) like any other, not missing fields or a server error.
    """

    def __init__(self) -> None:
        super().__init__(unknown=None)

    def load_json(self, req: Any, schema: ma.Schema) -> Any:
        if not is_json_request(req):
            abort(415, message="Send the request body as application/json.")
        if not req.get_data(cache=True):
            abort(400, messages=INVALID_JSON)
        try:
            return super().load_json(req, schema)
        except RecursionError:
            abort(400, messages=INVALID_JSON)


class IfMatchSchema(ma.Schema):
    if_match = fields.String(required=True, data_key="If-Match", metadata={
        "description": "The ETag of the version being changed (from GET, a list or a bulk result)."})

    def handle_error(self, error: ma.ValidationError, data: Any, *, many: bool, **kwargs: Any) -> None:
        """A missing If-Match is a 428 explained in the API's own words (not werkzeug's)."""
        abort(428, message=MISSING_IF_MATCH, errors=error.messages)


class ApiBlueprint(flask_smorest.Blueprint):
    """A plugin's (or the core's) REST resources; see the module docstring for the conventions."""

    ARGUMENTS_PARSER = ApiParser()

    def __init__(self, name: str, import_name: str, *, public: bool = False, **kwargs: Any):
        super().__init__(name, import_name, **kwargs)
        if not public:
            self.before_request(require_principal)

    def arguments(self, schema: Any, *, location: str = "json", **kwargs: Any) -> Callable[[Callable], Callable]:
        """flask-smorest's ``arguments``, documenting the 400 and 415 a JSON body can get."""
        parse = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return parse

        def decorator(view: Callable) -> Callable:
            view = self.alt_response(400, response="BAD_REQUEST")(parse(view))
            return self.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")(view)

        return decorator

    def record_response(self, schema: type[ma.Schema], status_code: int = 200) -> Callable:
        """The view returns one record, or ``(record, headers)`` (e.g. ``Location`` on a 201).

        The record is dumped with ``schema`` (restricted by the ``fields`` query parameter) and
        its ETag; a GET whose ``If-None-Match`` matches that ETag gets a bodiless 304.
        """

        def decorator(view: Callable) -> Callable:
            @wraps(view)
            def respond(*args: Any, **kwargs: Any) -> Response:
                *args, selection = args  # parsed before the view runs: a bad one changes nothing
                result = view(*args, **kwargs)
                record, headers = result if isinstance(result, tuple) else (result, {})
                selected = frozenset(selection["fields"]) if "fields" in selection else None
                response = jsonify(select_fields(schema, selected).dump(record))
                response.status_code = status_code
                response.headers.update(headers)
                response.set_etag(entity_tag(record))
                return response.make_conditional(request) if request.method in ("GET", "HEAD") else response

            documented = self.arguments(_sparse_fields_schema(schema), location="query")(respond)
            documented = self.alt_response(304, description="Not Modified (GET only: If-None-Match matched)",
                                           success=True)(documented)
            return self.response(status_code, schema, headers={"ETag": ETAG_HEADER})(documented)

        return decorator

    def list_response(self, listing: Listing) -> Callable:
        """The view takes the parsed :class:`~xrm_core.api.listing.ListQuery` and returns a ``Page``.

        The body is ``{"items": [...], "next_cursor": ...}``; the next page's URL is also in the
        ``Link`` header. The page has an ETag of its own, so an unchanged page can be a 304.
        """

        def decorator(view: Callable) -> Callable:
            @wraps(view)
            def respond(*args: Any, **kwargs: Any) -> Response:
                query = args[-1]
                page = view(*args, **kwargs)
                response = jsonify(items=listing.dump(page.items, query.fields), next_cursor=page.next_cursor)
                if page.next_cursor is not None:
                    response.headers["Link"] = f'<{_next_page_url(page.next_cursor)}>; rel="next"'
                response.add_etag()
                return response.make_conditional(request)

            documented = self.arguments(listing.query_schema, location="query")(respond)
            documented = self.alt_response(304, description="Not Modified: If-None-Match matched", success=True)(
                documented)
            return self.response(200, _page_schema(listing.schema), headers={
                "Link": LINK_HEADER, "ETag": LIST_ETAG_HEADER})(documented)

        return decorator

    def requires_if_match(self, view: Callable) -> Callable:
        """Refuse (428) a write without ``If-Match`` before the view runs; document 412 and 428.

        The view still checks the version itself, through ``get_for_update``.
        """

        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            return view(*args[:-1], **kwargs)  # the parsed header: get_for_update reads it itself

        # error_status_code documents the 428; IfMatchSchema.handle_error raises it.
        checked = self.arguments(IfMatchSchema, location="headers", unknown=ma.EXCLUDE, error_status_code=428)(
            guarded)
        return self.alt_response(412, response="PRECONDITION_FAILED")(checked)

    def bulk_create(self, schema: type[ma.Schema]) -> Callable:
        """Turn ``create(data) -> record`` into a bulk endpoint: ``{"items": [...]}`` in, a result per item out.

        Each item is validated by ``schema`` and created in its own savepoint; the items that
        succeeded are committed together (see :mod:`xrm_core.api.bulk`).
        """

        def decorator(create: Callable) -> Callable:
            @wraps(create)
            def respond(*args: Any, **kwargs: Any) -> Response:
                *owner, envelope = args
                item = create_item(schema, lambda data: create(*owner, data, **kwargs))
                return _bulk_response(schema, run_bulk(envelope["items"], item, 201))

            return self._bulk_endpoint(respond, schema, bulk_create_schema(schema))

        return decorator

    def bulk_update(self, schema: type[ma.Schema], model: type) -> Callable:
        """Turn ``update(record, changes)`` into a bulk endpoint of ``{"id", "etag", "changes"}`` items.

        Each item is checked as its single PATCH would be (422, 404, 428, 412) and applied in
        its own savepoint; the items that succeeded are committed together.
        """

        def decorator(update: Callable) -> Callable:
            @wraps(update)
            def respond(*args: Any, **kwargs: Any) -> Response:
                *owner, envelope = args
                item = update_item(model, schema, lambda record, changes: update(*owner, record, changes, **kwargs))
                return _bulk_response(schema, run_bulk(envelope["items"], item, 200))

            return self._bulk_endpoint(respond, schema, bulk_update_schema(schema))

        return decorator

    def _bulk_endpoint(self, respond: Callable, schema: type[ma.Schema], request_schema: type) -> Callable:
        documented = self.arguments(BulkRequestSchema)(respond)
        documented = self.doc(requestBody={"content": {"application/json": {"schema": request_schema}}})(documented)
        return self.response(200, bulk_result_schema(schema), description=(
            "One result per item, in order: its status, and the record or an RFC 9457 problem."))(documented)


def _bulk_response(schema: type[ma.Schema], results: list[ItemResult]) -> Response:
    web.db_session().commit()
    return jsonify(dump_results(schema, results))


def _next_page_url(cursor: str) -> str:
    """This request's URL (filters, sort, fields, limit kept) with the next page's cursor."""
    args = request.args.copy()
    args["cursor"] = cursor
    return f"{request.base_url}?{urlencode(list(args.items(multi=True)))}"


@cache
def _sparse_fields_schema(schema: type[ma.Schema]) -> type[Schema]:
    return Schema.from_dict({"fields": fields_parameter(schema().fields)},
                            name=f"{schema.__name__.removesuffix('Schema')}Fields")


@cache
def _page_schema(schema: type[ma.Schema]) -> type[Schema]:
    return Schema.from_dict({
        "items": fields.List(fields.Nested(schema)),
        "next_cursor": fields.String(allow_none=True, metadata={"description": "Cursor of the next page, or null."}),
    }, name=f"{schema.__name__.removesuffix('Schema')}Page")
