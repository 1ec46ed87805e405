"""The data import pages: upload, mapping and preview, dry run, import, run page, undo, refusals."""

from __future__ import annotations

import io
import re

import pytest
import ui_world
import ui_world_fixtures
from sqlalchemy import select
from ui_world import csrf_token, sign_in

from xrm_core.customfields.service import define_custom_field
from xrm_core.dataio.models import BatchStatus, ImportBatch
from xrm_core.graph.models import Party, PartyIdentifier
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Department, Scope
from xrm_core.models import User
from xrm_core.ui import imports

PEOPLE = (b"display_name,identifier.email,Favourite colour\n"
          b"Ada Lovelace,ADA@example.org,green\n"
          b"Grace Hopper,grace@example.org,blue\n")


@pytest.fixture
def world(world_platform):
    """The UI world, a party custom field, and a reader who may not import."""
    world = ui_world.build(world_platform)
    with world_platform.db.transaction(world.tenant_id) as session:
        define_custom_field(session, "core.party", "colour", "Favourite colour", "text")
        reader = admin.define_role(session, "Reader", {"core.party.read": Scope.TENANT}, set(all_permissions(world_platform)))
        user = User(email="reader@acme.test", display_name="Rita Reader",
                    password_hash=session.get(User, world.users["sam@acme.test"]).password_hash)
        session.add(user)
        session.flush()
        admin.assign_role(session, user, reader)
    return world


app = ui_world_fixtures.world_app  # the world's app (conftest's ``app`` serves another platform)


def signed_in(app, email, tenant="acme"):
    client = app.test_client()
    sign_in(client, email, tenant)
    return client


def upload(client, data=PEOPLE, name="people.csv", expect=302, **form):
    token = csrf_token(client.get("/parties").get_data(as_text=True))
    response = client.post("/data/import", data={"csrf_token": token, "target": "core.party",
                                                 "file": (io.BytesIO(data), name), **form},
                           content_type="multipart/form-data")
    assert response.status_code == expect, response.get_data(as_text=True)
    return response


def mapping_form(page: str) -> dict[str, str]:
    """The mapping form's current choices, as the browser would submit them."""
    form = {"csrf_token": csrf_token(page)}
    for name, body in re.findall(r'<select id="[^"]+" name="([^"]+)">(.*?)</select>', page, re.DOTALL):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        form[name] = chosen.group(1) if chosen else ""
    form.update(dict(re.findall(r'<input type="hidden" name="(const-[^"]+)" value="([^"]*)">', page)))
    return form


def parties(platform, tenant_id) -> dict[str, Party]:
    with platform.db.session(tenant_id) as session:
        return {p.display_name: p for p in session.scalars(select(Party))}


def test_upload_map_preview_dry_run_import_undo_and_who_sees_the_run(app, world_platform, world):
    client = signed_in(app, "sam@acme.test")
    assert 'id="import-link"' in client.get("/parties").get_data(as_text=True)
    home = client.get("/data/import").get_data(as_text=True)
    assert "How importing works" in home and "No import yet." in home

    mapping_url = upload(client).headers["Location"]
    page = client.get(mapping_url).get_data(as_text=True)
    form = mapping_form(page)
    # columns named like fields are mapped; the custom field is offered and chosen by hand
    assert (form["field-0"], form["field-1"], form["field-2"]) == ("display_name", "identifier.email", "")
    assert '<option value="custom.colour" >Favourite colour (custom field)</option>' in page
    assert "ada@example.org" in page  # the preview shows values as imported (e-mail normalised)

    form["field-2"] = "custom.colour"
    saved = client.post(mapping_url, data={**form, "action": "save_preset", "preset_name": "Colour list"})
    assert "Mapping saved as “Colour list”." in saved.get_data(as_text=True)
    checked = client.post(mapping_url, data={**form, "action": "dry_run"})
    assert checked.status_code == 200
    report = checked.get_data(as_text=True)
    assert "The file is fine: 2 to create, 0 to update, 0 to skip." in report and 'id="commit-button"' in report
    assert "Ada Lovelace" not in parties(world_platform, world.tenant_id)  # a dry run changes nothing

    done = client.post(mapping_url, data={**mapping_form(report), "action": "commit"})
    assert done.status_code == 302 and "/data/import/runs/" in done.headers["Location"]
    run_url = done.headers["Location"]
    run = client.get(run_url).get_data(as_text=True)
    assert 'data-count="created">2<' in run and "Imported: 2 created, 0 updated, 0 skipped." in run
    assert 'id="undo-button"' not in run  # Sam may not delete parties: no undo offered
    found = parties(world_platform, world.tenant_id)
    with world_platform.db.session(world.tenant_id) as session:
        sales = session.scalar(select(Department.id).where(Department.name == "Sales"))
    assert found["Ada Lovelace"].department_id == sales and found["Ada Lovelace"].custom == {"colour": "green"}
    assert f'data-run-id="{run_url.rsplit("/", 1)[1]}"' in client.get("/data/import").get_data(as_text=True)
    assert client.get(mapping_url).status_code == 404  # the upload is forgotten once imported

    # a colleague finds the saved mapping, but neither Sam's upload nor his run
    sue = signed_in(app, "sue@acme.test")
    other_upload = upload(sue).headers["Location"]
    # ...and, importing for her department only, may not replace it (the check below sees it unchanged)
    refused = sue.post(other_upload, data={**mapping_form(sue.get(other_upload).get_data(as_text=True)),
                                           "action": "save_preset", "preset_name": "Colour list"})
    assert "A preset named “Colour list” exists; choose another name." in refused.get_data(as_text=True)
    preset = re.search(r'<option value="(saved:\d+)" >Colour list \(saved\)', sue.get(other_upload).get_data(as_text=True))
    assert mapping_form(sue.get(f"{other_upload}?preset={preset.group(1)}").get_data(as_text=True))["field-2"] == "custom.colour"
    assert sue.get(run_url).status_code == 404
    assert sue.get(upload(client).headers["Location"]).status_code == 404  # uploads are their uploader's alone

    # the administrator may import tenant-wide: every run of the tenant is theirs to see, and undo
    admin_client = signed_in(app, "admin@acme.test")
    assert 'id="undo-button"' in admin_client.get(run_url).get_data(as_text=True)
    assert admin_client.post(f"{run_url}/undo").status_code == 400  # no CSRF token: nothing undone
    assert "Ada Lovelace" in parties(world_platform, world.tenant_id)
    # an import matching on e-mail updates Ada and creates Bob; undoing it restores Ada and deletes Bob
    again = upload(admin_client, b"display_name,identifier.email\nAda King,ada@example.org\nBob Byte,bob@example.org\n",
                   name="again.csv").headers["Location"]
    form = {**mapping_form(admin_client.get(again).get_data(as_text=True)), "match_on": "identifier.email"}
    assert "1 to create, 1 to update" in admin_client.post(again, data={**form, "action": "dry_run"}).get_data(as_text=True)
    second_run = admin_client.post(again, data={**form, "action": "commit"}).headers["Location"]
    assert {"Ada King", "Bob Byte"} <= set(parties(world_platform, world.tenant_id))
    undo_form = {"csrf_token": csrf_token(admin_client.get(second_run).get_data(as_text=True))}
    undone = admin_client.post(f"{second_run}/undo", data=undo_form, follow_redirects=True).get_data(as_text=True)
    assert "The import was undone" in undone and 'id="undo-button"' not in undone
    found = parties(world_platform, world.tenant_id)
    assert found["Ada Lovelace"].custom == {"colour": "green"} and "Grace Hopper" in found
    assert "Ada King" not in found and "Bob Byte" not in found
    twice = admin_client.post(f"{second_run}/undo", data=undo_form, follow_redirects=True).get_data(as_text=True)
    assert "Nothing was undone: import batch" in twice and "already undone" in twice

    globex = signed_in(app, "admin@globex.test", "globex")
    assert globex.get(run_url).status_code == 404
    globex_home = globex.get("/data/import").get_data(as_text=True)
    assert "No import yet." in globex_home
    assert globex.post(f"{run_url}/undo", data={"csrf_token": csrf_token(globex_home)}).status_code == 404

    reader = signed_in(app, "reader@acme.test")
    assert 'id="import-link"' not in reader.get("/parties").get_data(as_text=True)
    assert reader.get("/data/import").status_code == 403
    upload(reader, expect=403)


def test_bad_files_and_rows_are_explained_on_the_page_and_nothing_is_imported(app, world_platform, world, monkeypatch):
    client = signed_in(app, "sam@acme.test")
    binary = upload(client, b"\x00\x01\x02\xff\xfe\x00garbage", expect=422).get_data(as_text=True)
    assert "Cannot read this file: the file is binary, not CSV text." in binary
    unknown = upload(client, b"a,b\n1,2\n", name="people.txt", expect=422).get_data(as_text=True)
    assert "cannot tell the format of &#39;people.txt&#39;" in unknown
    empty = upload(client, b"display_name\n", expect=422).get_data(as_text=True)
    assert "the file holds no records" in empty
    monkeypatch.setattr(imports, "MAX_UPLOAD_BYTES", 1024 * 1024)
    too_big = upload(client, PEOPLE + b"Ada Lovelace,ada@example.org,green\n" * 40_000, expect=413)
    assert "The file is larger than 1 MB" in too_big.get_data(as_text=True)
    monkeypatch.undo()

    bad = (b"display_name,identifier.email\nAda Lovelace,ada@example.org\nNo Mail,not-an-address\n"
           b"Too,many,cells\n,empty@example.org\n")
    mapping_url = upload(client, bad).headers["Location"]
    no_preset = client.get(f"{mapping_url}?preset=nope")
    assert no_preset.status_code == 422
    assert "There is no mapping preset “nope” for Parties; known: Google, Outlook, Vcard." in no_preset.get_data(as_text=True)
    google = client.get(f"{mapping_url}?preset=google").get_data(as_text=True)
    assert '<input type="hidden" name="const-kind" value="person">' in google
    nothing = client.post(mapping_url, data={"csrf_token": csrf_token(google), "action": "dry_run"})
    assert nothing.status_code == 422 and "Map at least one column" in nothing.get_data(as_text=True)

    form = mapping_form(client.get(mapping_url).get_data(as_text=True))
    checked = client.post(mapping_url, data={**form, "action": "dry_run"})
    assert checked.status_code == 422
    page = checked.get_data(as_text=True)
    rows = dict(re.findall(r'data-error-row="(\d+)"><td>\d+</td><td>[^<]*</td><td>([^<]+)</td>', page))
    assert set(rows) == {"2", "3", "4"}
    assert "is not an e-mail address" in rows["2"] and "3 cells where the header has 2" in rows["3"]
    assert "Missing data for required field" in rows["4"]
    assert 'id="commit-button"' not in page

    # an import forced through anyway: all or nothing, and the run page says why
    failed = client.post(mapping_url, data={**form, "action": "commit"})
    run = client.get(failed.headers["Location"]).get_data(as_text=True)
    assert "Nothing was imported: 3 row(s) have errors" in run and 'data-error-row="3"' in run
    assert "Ada Lovelace" not in parties(world_platform, world.tenant_id)
    with world_platform.db.session(world.tenant_id) as session:
        assert session.scalar(select(ImportBatch.status)) is BatchStatus.FAILED
        assert session.scalar(select(PartyIdentifier.id)) is None
