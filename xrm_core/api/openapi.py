"""The flask-smorest ``Api``: the OpenAPI 3 document and the browsable docs page, under ``/api/v1``.

The document is generated from the blueprints' schemas and decorators, plugins' included, at
``/api/v1/openapi.json``. The docs page (``/api/v1/docs``) is Swagger UI served from the files
of the ``swagger-ui-bundle`` package, never from a CDN, so it works on a server without internet
access; its online spec validator badge is switched off for the same reason.
"""

from __future__ import annotations

import http

import marshmallow as ma
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask
from flask_smorest import Api
from marshmallow import fields
from swagger_ui_bundle import swagger_ui_path

from .. import __version__
from ..problems import PROBLEM_JSON

API_PREFIX = "/api/v1"
DOCS_ASSETS = f"{API_PREFIX}/docs/assets"

DESCRIPTION = f"""The XRM platform's REST API: the core's and every enabled plugin's resources.

* Plugins' resources live under `{API_PREFIX}/<plugin>/`; a plugin's routes answer 404 in a tenant
  where it is not enabled. A record of another tenant is a 404 too.
* Errors are RFC 9457 `application/problem+json`; `errors` maps each invalid field (a dotted path
  for nested ones) to its messages. Unknown fields are errors, in the body and the query string.
* Lists are keyset-paginated: follow the `Link: rel="next"` header (or `next_cursor`).
* Every record has an ETag (also in its `etag` field); writes need `If-Match` (428 without it,
  412 when the record changed since).
"""


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every error under /api is answered."""

    type = fields.String(metadata={"description": "about:blank: the status and title say it all."})
    title = fields.String(metadata={"description": "The HTTP status phrase."})
    status = fields.Integer()
    detail = fields.String(metadata={"description": "What went wrong, for a person."})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), metadata={
        "description": "Field (dotted path for nested fields, e.g. parts.1.quantity) → messages."})


class XrmApi(Api):
    """flask-smorest's ``Api`` documenting errors as problem details.

    The error *bodies* come from the application's handlers (:func:`xrm_core.app.create_app`
    registers them after this, replacing flask-smorest's own).
    """

    ERROR_SCHEMA = ProblemSchema


def schema_name(schema: type[ma.Schema] | ma.Schema) -> str:
    """Component names without the ``Schema`` suffix; a partial schema is the ``…Patch`` variant."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    return f"{name}Patch" if not isinstance(schema, type) and schema.partial else name


def init_api(app: Flask) -> XrmApi:
    app.config.update(
        API_TITLE="XRM API",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=f"{DOCS_ASSETS}/",
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None},
        API_SPEC_OPTIONS={"info": {"description": DESCRIPTION}, "security": [{"bearer": []}]},
    )
    marshmallow_plugin = MarshmallowPlugin(schema_name_resolver=schema_name)
    api = XrmApi(app, spec_kwargs={"marshmallow_plugin": marshmallow_plugin})
    marshmallow_plugin.converter.add_attribute_function(decimal_as_string)
    api.spec.components.security_scheme("bearer", {
        "type": "http", "scheme": "bearer",
        "description": "A personal API token (xrm_…); the browser uses its session cookie instead.",
    })
    _document_errors_as_problems(api)
    app.register_blueprint(Blueprint("core_api_docs", __name__, static_folder=str(swagger_ui_path),
                                     static_url_path=DOCS_ASSETS))
    return api


#: How a decimal is written: the JSON encoder sends ``Decimal`` as a string, which is also read back.
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def decimal_as_string(self, field: fields.Field, ret: dict, **_kwargs) -> dict:
    """Document a ``Decimal`` field as the string it travels as (``"12.50"``; a JSON number is read too).

    apispec calls it a number and writes its bounds as strings (``"minimum": "0"``), which is not
    valid OpenAPI: clients generated from the document, and validators, reject it. The bounds stay,
    as ``x-minimum`` / ``x-maximum``.
    """
    if not isinstance(field, fields.Decimal):
        return {}
    for bound in ("minimum", "maximum"):
        if bound in ret:
            ret[f"x-{bound}"] = ret.pop(bound)
    return {"type": "string", "format": "decimal", "pattern": DECIMAL_PATTERN}


def _document_errors_as_problems(api: XrmApi) -> None:
    """flask-smorest documents its error responses as ``application/json``: say what is sent."""
    names = [status.name for status in http.HTTPStatus if status >= 400] + [api.DEFAULT_ERROR_RESPONSE_NAME]
    for name in names:
        response = api.spec.components.responses_lazy[name]
        response["content"] = {PROBLEM_JSON: response["content"].pop(api.DEFAULT_RESPONSE_CONTENT_TYPE)}
