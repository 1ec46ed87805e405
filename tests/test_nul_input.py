"""A NUL character (U+0000) in an import file or a form is invalid input, never a server error.

PostgreSQL cannot store it (SQLite would, silently): an import row holding one fails with its row,
column and reason, dry run or not, and nothing of it is written; a page's form or query holding one
answers 422 naming the field, and nothing changes.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from ui_world import PASSWORD, csrf_token, sign_in

from xrm_core import migrate, tenants
from xrm_core.app import create_app
from xrm_core.config import load_settings
from xrm_core.dataio import formats
from xrm_core.graph.models import Party
from xrm_core.identity.bootstrap import ensure_administrator
from xrm_core.identity.tokens import create_token
from xrm_core.platform import Platform
from xrm_core.plugins.discovery import discover

IMPORTS = "/api/v1/imports"
ADMIN = "admin@acme.test"
REASON = "the value holds a NUL character (U+0000), which cannot be stored"


@pytest.fixture(scope="module")
def world_platform(tmp_path_factory, module_database_url):
    """A platform of the core alone, built once for the module (its tests only add records)."""
    folder = tmp_path_factory.mktemp("nul-input")
    config = load_settings(environ={}, instance_path=folder / "instance", database_url=module_database_url)
    platform = Platform(config, plugins=discover(path=[str(folder / "site-packages")]))
    migrate.upgrade(platform)
    yield platform
    platform.db.dispose()


@dataclass
class World:
    tenant_id: int
    #: An API token of the tenant's administrator (who signs in to the pages with ``PASSWORD``).
    token: str


@pytest.fixture(scope="module")
def world(world_platform):
    with world_platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "acme", "ACME").id
    with world_platform.db.transaction(tenant_id) as session:
        administrator = ensure_administrator(session, world_platform, ADMIN, PASSWORD, "Ada Admin")
        return World(tenant_id, create_token(session, administrator, "tests")[1])


@pytest.fixture(scope="module")
def app(world_platform, world):
    app = create_app(platform=world_platform)
    app.config["TESTING"] = True
    return app


def names(platform, tenant_id) -> set[str]:
    with platform.db.session(tenant_id) as session:
        return set(session.scalars(select(Party.display_name)))


def upload(client, world, data: bytes, name: str, **form):
    fields = {"file": (io.BytesIO(data), name), **{k: str(v).lower() if isinstance(v, bool) else v
                                                  for k, v in form.items()}}
    return client.post(IMPORTS, data=fields, headers={"Authorization": f"Bearer {world.token}"},
                       content_type="multipart/form-data")


@pytest.mark.parametrize(("name", "data", "column", "preset"), [
    ("people.csv", b"display_name,kind\nNul\x00Person,person\nClean Csv,person\n", "display_name", None),
    ("people.jsonl", (b'{"display_name": "Nul\\u0000Person", "kind": "person"}\n'
                     b'{"display_name": "Clean Jsonl", "kind": "person"}\n'), "display_name", None),
    ("people.vcf", (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Nul\x00Person\r\nEND:VCARD\r\n"
                   b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Clean Vcard\r\nEND:VCARD\r\n"), "full_name", "vcard"),
])
def test_an_import_row_with_nul_fails_with_its_row_and_column(app, world_platform, world, name, data, column, preset):
    client = app.test_client()
    before = names(world_platform, world.tenant_id)
    options = {"preset": preset} if preset else {}
    dry = upload(client, world, data, name, **options)
    assert dry.status_code == 200, dry.get_data(as_text=True)
    assert dry.get_json()["errors"] == [{"row": 1, "column": column, "reason": REASON}]
    assert dry.get_json()["created"] == 1
    # A real run keeping the valid rows writes the clean one only; the report names the other.
    done = upload(client, world, data, name, dry_run=False, skip_errors=True, **options)
    assert done.status_code == 201, done.get_data(as_text=True)
    batch = done.get_json()["batch"]
    assert (batch["status"], batch["created"], batch["failed"]) == ("completed", 1, 1)
    assert done.get_json()["errors"] == [{"row": 1, "column": column, "reason": REASON}]
    added = names(world_platform, world.tenant_id) - before
    assert len(added) == 1 and "\x00" not in next(iter(added))


def test_an_xlsx_sheet_holding_a_nul_byte_is_an_unreadable_file(app, world_platform, world):
    book = Workbook()
    book.active.append(["display_name", "kind"])
    book.active.append(["NULMARK", "person"])
    plain = io.BytesIO()
    book.save(plain)
    crafted = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(crafted, "w") as target:
        for info in source.infolist():  # what openpyxl refuses to write, written into the sheet's XML
            target.writestr(info, source.read(info.filename).replace(b"NULMARK", b"Nul\x00Person"))
    before = names(world_platform, world.tenant_id)
    answer = upload(app.test_client(), world, crafted.getvalue(), "people.xlsx")
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert "the workbook cannot be read" in answer.get_json()["errors"]["file"][0]
    assert names(world_platform, world.tenant_id) == before


def test_a_form_or_a_page_query_with_nul_is_refused_naming_the_field(app, world_platform, world):
    client = app.test_client()
    sign_in(client, ADMIN)
    before = names(world_platform, world.tenant_id)
    token = csrf_token(client.get("/parties/new").get_data(as_text=True))
    created = client.post("/parties/new", data={"csrf_token": token, "kind": "person",
                                                "display_name": "Nul\x00Person", "tags": ""})
    assert created.status_code == 422
    page = created.get_data(as_text=True)
    assert "display_name" in page and "NUL character" in page
    assert names(world_platform, world.tenant_id) == before
    searched = client.get("/parties?q=a%00b")
    assert searched.status_code == 422 and "NUL character" in searched.get_data(as_text=True)
    # An API form field: a 422 problem naming it.
    refused = upload(client, world, b"display_name\nAda\n", "people.csv", match_on="display\x00name")
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"match_on": ["Text cannot contain the NUL character (U+0000)."]}
    # The same forms without the NUL still work.
    ok = client.post("/parties/new", data={"csrf_token": token, "kind": "person", "display_name": "Clean Form",
                                           "tags": ""})
    assert ok.status_code == 302
    assert names(world_platform, world.tenant_id) - before == {"Clean Form"}


def test_the_sign_in_form_with_nul_is_refused_before_anyone_signs_in(app):
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", data={"csrf_token": token, "tenant": "acme", "email": ADMIN + "\x00",
                                         "password": PASSWORD})
    assert answer.status_code == 422 and "email" in answer.get_data(as_text=True)
    assert client.get("/parties").status_code == 302  # not signed in: sent to the sign-in page


def test_a_plugin_formats_records_with_nul_become_row_problems():
    def read(_stream, _limits):
        yield {"name": "Nul\x00Person"}
        yield {"name": "Clean", "tags": ["a", "b"]}
        yield {"name": "Nested", "address": {"city": "x\x00"}}
        yield formats.RowProblem("the plugin's own problem")

    assert list(formats.refusing_nul(read)(None, formats.DEFAULT_LIMITS)) == [
        formats.RowProblem(REASON, "name"), {"name": "Clean", "tags": ["a", "b"]},
        formats.RowProblem(REASON, "address"), formats.RowProblem("the plugin's own problem")]
