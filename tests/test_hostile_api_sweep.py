"""Hostile input sent to every operation of the REST API, as a table: never a server error, never a
silent drop; every client error an RFC 9457 problem document, naming the offending field.

Unlike ``test_api_fuzz.py`` (input generated at random from the schemas), each probe here is one
fixed kind of bad input a buggy or hostile client sends — a wrong JSON type, a number beyond any
column, an id that names nothing or is negative, an empty or malformed body, a body that is not
JSON, an unknown field, a 100 000-character string, an impossible date, a broken cursor or page
size — applied to every operation of the OpenAPI document (the core's and the three first-party
plugins'), so that a new route is swept the day it is added. One demo world serves the module:
records exist for the ids in the URLs (found through the operations' own list routes), and nothing
is ever deleted (deletes and bodiless actions are only sent ids that name nothing).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select

from xrm_core import migrate, tenants
from xrm_core.app import create_app
from xrm_core.cli import DEMO_TENANT, cli
from xrm_core.config import load_settings
from xrm_core.identity.bootstrap import ensure_administrator
from xrm_core.identity.tokens import create_token
from xrm_core.models import Tenant, TenantStatus, User
from xrm_core.platform import Platform
from xrm_core.plugins.discovery import discover
from xrm_core.problems import PROBLEM_JSON

PLUGINS = ("contacts", "activities", "sales")
WRITES = ("post", "put", "patch", "delete")
SWEEPER = "sweeper@demo.example"

#: An id no record has, yet one every integer column can hold (so the lookup runs and finds nothing).
MISSING_ID = 999_999_999
HUGE = 2**70
LONG_TEXT = "x" * 100_000
HUGE_DECIMAL = "1" + "0" * 70
IMPOSSIBLE_DATE = "2026-13-45"
UNKNOWN_FIELD = "sweep_unknown_field"
LONG_LIST = 66_000
#: Stands for any value of the wrong JSON type where an object is expected, and the reverse.
AN_OBJECT = {"sweep": 1}
A_LIST = [1]


class Administrator:
    """Bearer headers of an administrator of the demo tenant, minted again when a request locked
    them out (a probe may legitimately deactivate a user, suspend a tenant or revoke a token)."""

    def __init__(self, platform: Platform, tenant_id: int) -> None:
        self.platform = platform
        self.tenant_id = tenant_id
        self.headers = self._mint()

    def refresh(self) -> None:
        self.headers = self._mint()

    def _mint(self) -> dict[str, str]:
        with self.platform.db.transaction(all_tenants=True) as session:
            session.get(Tenant, self.tenant_id).status = TenantStatus.ACTIVE
        with self.platform.db.transaction(self.tenant_id) as session:
            user = session.scalar(select(User).where(User.email == SWEEPER))
            if user is None:
                user = ensure_administrator(session, self.platform, SWEEPER, None, "Sweeper")
            user.active = True
            return {"Authorization": f"Bearer {create_token(session, user, 'sweep')[1]}"}


@dataclass
class Operation:
    """One operation of the OpenAPI document, with the URLs the probes send it to."""

    method: str
    template: str
    #: The URL with ids of records that exist (or ``MISSING_ID`` where none could be found).
    url: str
    #: The URL with every path parameter naming nothing.
    missing_url: str
    #: Path variants with an id the database cannot hold or no record can have.
    hostile_urls: list[str]
    #: Properties of the JSON body (resolved), the required ones, or ``None`` without a JSON body.
    body: dict[str, dict] | None = None
    required: list[str] = field(default_factory=list)
    query: list[dict] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.template}"

    @property
    def destructive(self) -> bool:
        """Deletes and bodiless actions (deactivate, erase, revoke…) only ever get ids naming nothing."""
        return self.method == "delete" or (self.method != "get" and self.body is None)


@dataclass
class Sweep:
    client: Any
    administrator: Administrator
    operations: list[Operation]
    #: A party of the demo tenant, for the routes naming a record by ``resource`` and ``record_id``.
    party_id: int
    failures: list[str] = field(default_factory=list)

    def send(self, operation: Operation, url: str, **kwargs: Any):
        """Send a request (again, once, if it locked the administrator out)."""
        for _ in range(2):
            headers = {**self.administrator.headers, "If-Match": "*", **kwargs.pop("headers", {})}
            response = self.client.open(url, method=operation.method.upper(), headers=headers, **kwargs)
            if response.status_code != 401:
                return response
            self.administrator.refresh()
            kwargs["headers"] = {k: v for k, v in headers.items() if k not in ("Authorization", "If-Match")}
        return response

    def check(self, operation: Operation, what: str, response, *, refused: bool = False,
              named: list[str] = ()) -> None:
        """Record what is wrong with ``response`` to a hostile ``what``: a server error, an error that
        is not a complete problem document, an unexpected status, or a field left unnamed."""
        wrong = _wrong(response, refused, named)
        if wrong:
            self.failures.append(f"{operation.label} <- {what}: {response.status_code} {wrong}\n"
                                 f"    {response.get_data(as_text=True)[:300]}")


def _wrong(response, refused: bool, named: list[str]) -> str | None:
    status = response.status_code
    if status >= 500:
        return "server error"
    if refused and status < 400:
        return "accepted"
    if status < 400:
        return None
    if response.mimetype != PROBLEM_JSON:
        return f"client error that is not {PROBLEM_JSON}"
    body = response.get_json(silent=True) or {}
    missing = [member for member in ("type", "title", "status", "detail") if member not in body]
    if missing or body.get("status") != status:
        return f"incomplete problem document (missing {missing})"
    if status == 422 and named:
        keys = " ".join(body.get("errors") or {})
        unnamed = [name for name in named if not re.search(rf"(^|[ .]){re.escape(name)}($|[ .])", keys)]
        if unnamed:
            return f"the problem does not name {unnamed}"
    return None


# -- the world and its operations -------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory, module_database_url) -> Iterator[Sweep]:
    folder = tmp_path_factory.mktemp("hostile-sweep")
    config = load_settings(environ={}, instance_path=folder / "instance", database_url=module_database_url)
    platform = Platform(config, plugins=[info for info in discover() if info.name in PLUGINS])
    migrate.upgrade(platform)
    app = create_app(platform=platform)
    app.config["TESTING"] = True
    result = CliRunner().invoke(cli, ["demo"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    with platform.db.session(all_tenants=True) as session:
        tenant_id = tenants.get_tenant(session, DEMO_TENANT).id
    administrator = Administrator(platform, tenant_id)
    client = app.test_client()
    # The demo has no static list: one gives the member routes a record to find.
    assert client.post("/api/v1/contacts/segments", json={"name": "Sweep", "kind": "static"},
                       headers=administrator.headers).status_code == 201
    document = client.get("/api/v1/openapi.json").get_json()
    operations = list(_operations(document, lambda url: client.get(url, headers=administrator.headers)))
    assert len(operations) > 200  # the core's and the three plugins' resources
    party_id = client.get("/api/v1/parties?limit=1", headers=administrator.headers).get_json()["items"][0]["id"]
    yield Sweep(client, administrator, operations, party_id)
    platform.db.dispose()


@pytest.fixture
def sweep(world: Sweep) -> Sweep:
    """The module's world, with this test's failures only."""
    world.failures.clear()
    return world


def _operations(document: dict, get: Callable[[str], Any]) -> Iterator[Operation]:
    ids: dict[str, str] = {}  # collection URL → the id of its first record
    for template, item in document["paths"].items():
        for method, spec in item.items():
            if method not in ("get", *WRITES):
                continue
            parameters = [*item.get("parameters", []), *spec.get("parameters", [])]
            path = {p["name"]: p for p in parameters if p["in"] == "path"}
            operation = Operation(
                method, template,
                url=_existing_url(template, path, get, ids),
                missing_url=_fill(template, path, lambda name, schema: MISSING_ID if _is_int(schema) else "no-such-name"),
                hostile_urls=[_fill(template, path, lambda name, schema, v=value: v)
                              for value in (-1, HUGE)] if path else [],
                query=[p for p in parameters if p["in"] == "query"])
            content = spec.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                schema = _resolve(document, content["application/json"]["schema"])
                operation.body = {name: _resolve(document, prop) for name, prop in schema.get("properties", {}).items()
                                  if not prop.get("readOnly")}
                operation.required = schema.get("required", [])
            if operation.destructive:
                operation.url = operation.missing_url
            yield operation


def _resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema or len(schema.get("allOf", [])) == 1:
        ref = schema["$ref"] if "$ref" in schema else schema["allOf"][0]["$ref"]
        schema = {**document["components"]["schemas"][ref.rsplit("/", 1)[1]],
                  **{k: v for k, v in schema.items() if k not in ("$ref", "allOf")}}
    return schema


def _is_int(schema: dict) -> bool:
    return schema.get("schema", {}).get("type") == "integer"


def _fill(template: str, path: dict[str, dict], value: Callable[[str, dict], Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(value(m.group(1), path.get(m.group(1), {}))), template)


def _existing_url(template: str, path: dict[str, dict], get: Callable[[str], Any], ids: dict[str, str]) -> str:
    """``template`` with each parameter the first record of the list route before it, if any."""
    url = ""
    for segment in re.split(r"(\{\w+\})", template):
        name = segment[1:-1] if segment.startswith("{") else None
        if name is None:
            url += segment
            continue
        collection = url.rstrip("/")
        if collection not in ids:
            ids[collection] = str(MISSING_ID if _is_int(path.get(name, {})) else "no-such-name")
            response = get(collection)
            listed = response.get_json(silent=True) if response.status_code == 200 else None
            records = listed.get("items") if isinstance(listed, dict) else listed
            if isinstance(records, list) and records and isinstance(records[0], dict):
                key = "id" if name.endswith("_id") or name == "id" else name
                record = records[0]
                if key in record or "id" in record:
                    ids[collection] = str(record.get(key, record.get("id")))
        url += ids[collection]
    return url


# -- values -----------------------------------------------------------------------------------------


def _valid(schema: dict) -> Any:
    """A plausible value of ``schema`` (which the service may still refuse: that is fine too)."""
    if "enum" in schema:
        return next((choice for choice in schema["enum"] if choice is not None), None)
    kind, form = schema.get("type"), schema.get("format")
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    pattern = schema.get("pattern", "")
    if "{3}" in pattern or "{2}" in pattern:  # currency and country codes
        return "EUR" if "{3}" in pattern else "FR"
    return {"date": "2026-01-15", "date-time": "2026-01-15T10:00:00Z", "email": "sweep@example.com",
            "decimal": "1", "uri": "https://example.com/", "url": "https://example.com/"}.get(form, "Sweep")


def _wrong_type(schema: dict) -> Any:
    """A value of another JSON type: a string for a number, an object for a string, a list for an object."""
    kind = schema.get("type")
    if kind in ("integer", "number"):
        return "abc"
    if kind in ("string", "boolean", "array"):
        return AN_OBJECT
    if kind == "object" or "properties" in schema:
        return A_LIST
    return None  # any JSON goes (a raw field): no wrong type


def _base(operation: Operation) -> dict[str, Any]:
    return {name: _valid(operation.body[name]) for name in operation.required if name in operation.body}


def _with(operation: Operation, value: Callable[[str, dict], Any]) -> tuple[dict[str, Any], list[str]]:
    """The base body with every property for which ``value`` gives something replaced; the names."""
    body, changed = _base(operation), []
    for name, schema in operation.body.items():
        replacement = value(name, schema)
        if replacement is not None:
            body[name] = replacement
            changed.append(name)
    return body, changed


def _long_list(schema: dict) -> list | None:
    """Distinct ids beyond PostgreSQL's 65 535 bind parameters (an ``IN`` of them fails there)."""
    if schema.get("type") == "array" and schema.get("items", {}).get("type") == "integer":
        return list(range(1, LONG_LIST + 1))
    return None


def _is_text(schema: dict) -> bool:
    return schema.get("type") == "string" and "enum" not in schema and schema.get("format") in (None, "email")


# -- the probes -------------------------------------------------------------------------------------


def _body_operations(sweep: Sweep) -> list[Operation]:
    return [op for op in sweep.operations if op.body is not None]


def test_wrong_json_types_and_unknown_fields_are_refused_by_name(sweep):
    for op in _body_operations(sweep):
        body, named = _with(op, lambda name, schema: _wrong_type(schema))
        body[UNKNOWN_FIELD] = 1
        sweep.check(op, "wrong types", sweep.send(op, op.url, json=body), refused=True,
                    named=[*named, UNKNOWN_FIELD])
    assert not sweep.failures, f"{len(sweep.failures)} failure(s):\n" + "\n".join(sweep.failures)


def test_numbers_and_dates_no_column_holds_are_refused_by_name(sweep):
    for op in _body_operations(sweep):
        body, named = _with(op, lambda name, schema: HUGE if schema.get("type") == "integer" else (
            IMPOSSIBLE_DATE if schema.get("format") in ("date", "date-time") else None))
        if named:
            sweep.check(op, "huge numbers, impossible dates", sweep.send(op, op.url, json=body),
                        refused=True, named=named)
    assert not sweep.failures, f"{len(sweep.failures)} failure(s):\n" + "\n".join(sweep.failures)


@pytest.mark.parametrize("what, value", [
    ("over-long strings", lambda name, schema: LONG_TEXT if _is_text(schema) else None),
    ("ids naming nothing, decimals no column holds", lambda name, schema: MISSING_ID if schema.get("type") == "integer"
     else HUGE_DECIMAL if schema.get("format") == "decimal" else None),
    ("negative numbers", lambda name, schema: -1 if schema.get("type") == "integer"
     else "-1" if schema.get("format") == "decimal" else None),
    ("lists longer than a statement's parameters", lambda name, schema: _long_list(schema)),
])
def test_otherwise_plausible_bodies_with_hostile_values_never_fail_the_server(sweep, what, value):
    """The rest of the body is plausible, so the value reaches the service and the database."""
    for op in _body_operations(sweep):
        body, changed = _with(op, value)
        if changed:
            sweep.check(op, what, sweep.send(op, op.url, json=body))
    assert not sweep.failures, f"{len(sweep.failures)} failure(s):\n" + "\n".join(sweep.failures)


BODIES = {
    "an empty body": {"data": b"", "content_type": "application/json"},
    "invalid JSON": {"data": b'{"a": ', "content_type": "application/json"},
    "a body that is not JSON": {"data": b"a=1", "content_type": "text/plain"},
    "a JSON list for the object": {"data": json.dumps([AN_OBJECT]), "content_type": "application/json"},
    "a JSON string for the object": {"data": json.dumps("x"), "content_type": "application/json"},
}


def test_malformed_bodies_are_client_errors(sweep):
    """Every write gets one malformed body, the kinds in turn (all of them reach the same parser where
    the body is declared); uploads and bodiless operations with nothing in the URL to find get all."""
    kinds = list(BODIES)
    writes = [op for op in sweep.operations if op.method in WRITES]
    for index, op in enumerate(writes):
        for what in kinds if op.body is None and "{" not in op.template else [kinds[index % len(kinds)]]:
            # Operations without a JSON body may ignore it, but never fail on it.
            sweep.check(op, what, sweep.send(op, op.url, **BODIES[what]), refused=op.body is not None)
    assert not sweep.failures, f"{len(sweep.failures)} failure(s):\n" + "\n".join(sweep.failures)


def test_ids_in_urls_that_name_nothing_are_not_found(sweep):
    for index, op in enumerate(sweep.operations):
        # Ids beyond the column or negative match no route (a 404 before any view): reads suffice.
        hostile = [op.hostile_urls[index % 2]] if op.hostile_urls and op.method == "get" else []
        for url in ([op.missing_url, *hostile] if op.hostile_urls else []):
            sweep.check(op, url, sweep.send(op, url), refused=True)
    assert not sweep.failures, f"{len(sweep.failures)} failure(s):\n" + "\n".join(sweep.failures)


def _query_wrong(parameter: dict) -> str | None:
    schema, name = parameter.get("schema", {}), parameter["name"]
    if name == "cursor":
        return "%%%"
    if "enum" in schema or "enum" in schema.get("items", {}):
        return "zz-not-a-choice"
    kind = schema.get("type")
    if kind == "array":
        kind = schema.get("items", {}).get("type")
        schema = schema.get("items", {})
    if kind in ("integer", "number"):
        return "abc"
    if kind == "boolean":
        return "maybe"
    if schema.get("format") in ("date", "date-time"):
        return IMPOSSIBLE_DATE
    return None


def _query_operations(sweep: Sweep) -> list[Operation]:
    return [op for op in sweep.operations if op.method == "get" and op.query]


def test_wrong_query_parameters_are_refused_by_name(sweep):
    for op in _query_operations(sweep):
        # The cursor is read after the parameters are valid: it has a test of its own.
        values = {p["name"]: _query_wrong(p) for p in op.query if p["name"] != "cursor"}
        values = {name: value for name, value in values.items() if value is not None}
        query = "&".join(f"{name}={value}" for name, value in values.items()) + f"&{UNKNOWN_FIELD}=1"
        sweep.check(op, f"?{query}", sweep.send(op, f"{op.url}?{query}"), refused=True,
                    named=[*values, UNKNOWN_FIELD])
    assert not sweep.failures, f"{len(sweep.failures)} failure(s):\n" + "\n".join(sweep.failures)


def _query_kind(parameter: dict) -> str | None:
    schema = parameter.get("schema", {})
    return schema.get("items", {}).get("type") if schema.get("type") == "array" else schema.get("type")


def _required_query(sweep: Sweep, op: Operation) -> str:
    """Plausible values of the operation's required parameters, and a record for those naming one."""
    names = {p["name"] for p in op.query}
    record = f"&resource=core.party&record_id={sweep.party_id}" if {"resource", "record_id"} <= names else ""
    return record + "".join(f"&{p['name']}={_valid(p.get('schema', {}))}" for p in op.query if p.get("required"))


@pytest.mark.parametrize("what", ["negative", "huge"])
def test_page_sizes_and_ids_beyond_bounds_never_fail_the_server(sweep, what):
    """A negative id filters nothing in; a negative page size or an id no column holds is refused."""
    for op in _query_operations(sweep):
        values = {p["name"]: -1 if what == "negative" else HUGE for p in op.query if _query_kind(p) == "integer"}
        if values:
            query = "&".join(f"{name}={value}" for name, value in values.items())
            named = [name for name in values if what == "huge" or name == "limit"]
            sweep.check(op, f"?{query}", sweep.send(op, f"{op.url}?{query}{_required_query(sweep, op)}"),
                        refused=bool(named), named=named)
    assert not sweep.failures, f"{len(sweep.failures)} failure(s):\n" + "\n".join(sweep.failures)


def test_over_long_query_text_never_fails_the_server(sweep):
    """The first free-text parameter of each list (a search, a name filter), 100 000 characters."""
    for op in _query_operations(sweep):
        text = [p["name"] for p in op.query if _query_kind(p) == "string" and _query_wrong(p) is None
                and p["name"] != "cursor"]
        if text:
            sweep.check(op, f"{text[0]}=<100 000 characters>",
                        sweep.send(op, f"{op.url}?{text[0]}={LONG_TEXT}{_required_query(sweep, op)}"))
    assert not sweep.failures, f"{len(sweep.failures)} failure(s):\n" + "\n".join(sweep.failures)


@pytest.mark.parametrize("cursor", ["%%%", "eyJ" + LONG_TEXT])
def test_a_broken_cursor_alone_is_refused_by_name(sweep, cursor):
    for op in _query_operations(sweep):
        if any(p["name"] == "cursor" for p in op.query):
            response = sweep.send(op, f"{op.url}?cursor={cursor}{_required_query(sweep, op)}")
            sweep.check(op, f"cursor={cursor[:10]}", response, refused=True, named=["cursor"])
    assert not sweep.failures, f"{len(sweep.failures)} failure(s):\n" + "\n".join(sweep.failures)


def test_every_write_route_of_the_app_is_swept(sweep):
    """A route the OpenAPI document leaves out would escape the sweep: every API rule is in it."""
    documented = {(op.method, re.sub(r"\{\w+\}", "{}", op.template)) for op in sweep.operations}
    app = sweep.client.application
    undocumented = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        template = re.sub(r"<[^>]+>", "{}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method != "GET" and (method.lower(), template) not in documented:
                undocumented.append(f"{method} {rule.rule}")
    assert not undocumented, undocumented
