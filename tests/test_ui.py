"""The web UI through the Flask test client: shell, search, languages, party pages, exports, views."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
import ui_world
import ui_world_fixtures
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from openpyxl import load_workbook
from sqlalchemy import select
from ui_world import csrf_token, sign_in

from xrm_core import migrate
from xrm_core.graph.models import Party
from xrm_core.ui.models import SavedView, UserPreference

TRANSLATIONS = Path(__file__).parents[1] / "xrm_core" / "translations"


@pytest.fixture
def world_platform(make_platform):
    platform = make_platform("notes", "flaky", ui_world.SHOWCASE)
    migrate.upgrade(platform)
    return platform


app = ui_world_fixtures.world_app  # the world's app (conftest's ``app`` serves another platform)


def signed_in(app, email: str, tenant: str = "acme"):
    client = app.test_client()
    sign_in(client, email, tenant)
    return client


def party_names(html: str) -> list[str]:
    return re.findall(r'<tr data-party-id="\d+">\s*<td><a href="[^"]+">([^<]+)</a>', html)


# -- shell -----------------------------------------------------------------------------------------


def test_the_header_names_the_tenant_and_department_and_the_navigation_has_only_enabled_plugins(app):
    html = signed_in(app, "sam@acme.test").get("/parties").get_data(as_text=True)

    assert 'data-testid="tenant-name">ACME Corporation<' in html
    assert 'data-testid="department-name">Sales<' in html
    main_nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.DOTALL).group(1)
    assert re.findall(r'href="([^"]*)"', main_nav) == ["/showcase/tickets", "/notes/"]
    assert 'class="skip-link" href="#content"' in html
    assert "/static/vendor/htmx/htmx.min.js" in html and "https://" not in html.split("<body")[0]


def test_a_plugin_whose_navigation_raises_costs_only_its_own_entries(app, world_platform, world):
    from xrm_core import tenants
    with world_platform.db.transaction(all_tenants=True) as session:
        tenants.enable_plugin(world_platform, session, tenants.get_tenant(session, "acme"), "flaky")

    response = signed_in(app, "sam@acme.test").get("/parties?q=Zenith")

    assert response.status_code == 200
    assert "Zenith Industries" in response.get_data(as_text=True)
    assert "/showcase/tickets" in response.get_data(as_text=True)


def test_htmx_is_served_locally(app):
    response = app.test_client().get("/static/vendor/htmx/htmx.min.js")

    assert response.status_code == 200
    assert b"htmx" in response.data[:2000]


def test_pages_need_a_signed_in_user(app):
    response = app.test_client().get("/parties")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# -- search ------------------------------------------------------------------------------------------


def test_search_finds_visible_parties_and_plugin_hits_but_not_other_departments_or_offsite_links(app):
    client = signed_in(app, "sam@acme.test")

    html = client.get("/search?q=Zenith").get_data(as_text=True)
    assert "Zenith Industries" in html
    assert "Ticket about Zenith" in html and 'href="/showcase/tickets/7"' in html
    assert "elsewhere.example" not in html

    assert "Support Secret" not in client.get("/search?q=Secret").get_data(as_text=True)
    assert "Support Secret Ltd" in signed_in(app, "pat@acme.test").get("/search?q=Secret").get_data(as_text=True)


def test_search_answers_htmx_with_a_fragment(app):
    response = signed_in(app, "sam@acme.test").get("/search?q=Alice", headers={"HX-Request": "true"})

    html = response.get_data(as_text=True)
    assert "<html" not in html and "Alice Martin" in html


# -- languages -----------------------------------------------------------------------------------------


def test_the_browser_language_is_used_until_the_user_chooses_one(app, world_platform, world):
    client = signed_in(app, "sam@acme.test")
    assert "Parties" in client.get("/parties", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert ">Terceros<" in client.get("/parties", headers={"Accept-Language": "es-ES,es;q=0.9"}).get_data(as_text=True)

    page = client.get("/parties").get_data(as_text=True)
    response = client.post("/account/language", data={"csrf_token": csrf_token(page), "locale": "fr",
                                                      "next": "/parties"})
    assert response.status_code == 302 and response.headers["Location"] == "/parties"

    html = client.get("/parties", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="fr">' in html and ">Tiers<" in html
    with world_platform.db.session(world.tenant_id) as session:
        assert session.scalar(select(UserPreference.locale).where(
            UserPreference.user_id == world.users["sam@acme.test"])) == "fr"


def test_dates_are_formatted_for_the_locale(app):
    client = signed_in(app, "sam@acme.test")
    party = client.get("/parties?q=Zenith").get_data(as_text=True)
    link = re.search(r'href="(/parties/\d+)"', party).group(1)
    english = client.get(link, headers={"Accept-Language": "en"}).get_data(as_text=True)
    french = client.get(link, headers={"Accept-Language": "fr"}).get_data(as_text=True)

    month_en = re.search(r"<dt>Created</dt><dd>([^<]+)</dd>", english).group(1)
    month_fr = re.search(r"<dt>Créé le</dt><dd>([^<]+)</dd>", french).group(1)
    assert month_en != month_fr and re.search(r"\d{4}", month_fr)


def test_an_unknown_language_is_refused(app):
    client = signed_in(app, "sam@acme.test")
    token = csrf_token(client.get("/parties").get_data(as_text=True))

    response = client.post("/account/language", data={"csrf_token": token, "locale": "xx"})

    assert response.status_code == 400
    assert "Unknown language" in response.get_data(as_text=True)


def test_changing_the_language_needs_the_csrf_token(app):
    response = signed_in(app, "sam@acme.test").post("/account/language", data={"locale": "fr"})

    assert response.status_code == 400


def test_the_compiled_catalogues_are_in_step_with_their_sources(tmp_path):
    compiled = {}
    for po in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as source:
            catalogue = read_po(source)
        untranslated = [m.id for m in catalogue if m.id and not all(m.string if isinstance(m.string, tuple)
                                                                    else [m.string])]
        assert untranslated == [], f"{po}: untranslated strings"
        fresh = io.BytesIO()
        write_mo(fresh, catalogue)
        compiled[po.parts[-3]] = fresh.getvalue() == po.with_suffix(".mo").read_bytes()
    assert compiled == {"fr": True, "es": True}, "a .mo differs from its .po: run scripts/translations.sh compile"


def test_every_interface_string_is_in_the_catalogues(tmp_path):
    template = tmp_path / "messages.pot"
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "extract", "-F", str(TRANSLATIONS / "babel.cfg"),
                    "-k", "_l", "-o", str(template), str(TRANSLATIONS.parent)], check=True, capture_output=True)
    with template.open("rb") as source:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(source) if m.id}
    for locale in ("fr", "es"):
        with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as source:
            have = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(source) if m.id}
        assert wanted - have == set(), f"{locale}: run scripts/translations.sh and translate the new strings"


# -- party list ------------------------------------------------------------------------------------------


def test_the_list_shows_only_the_users_department_and_pages_through_all_of_it(app, world):
    client = signed_in(app, "sam@acme.test")
    seen: list[str] = []
    url = "/parties"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += party_names(html)
        found = re.search(r'rel="next" href="([^"]+)"', html)
        url = found.group(1).replace("&amp;", "&") if found else None

    assert len(seen) == ui_world.MANY + 2 == len(set(seen))
    assert seen == sorted(seen)
    assert "Support Secret Ltd" not in seen


def test_filters_and_sort_narrow_and_order_the_list(app):
    client = signed_in(app, "sam@acme.test")

    assert party_names(client.get("/parties?kind=organization").get_data(as_text=True)) == ["Zenith Industries"]
    assert party_names(client.get("/parties?role=prospect").get_data(as_text=True)) == ["Alice Martin"]
    names = party_names(client.get("/parties?q=contact&sort=-display_name").get_data(as_text=True))
    assert names[:2] == ["Sales contact 29", "Sales contact 28"] and len(names) == 25


def test_an_invalid_filter_is_reported_on_the_page(app):
    response = signed_in(app, "sam@acme.test").get("/parties?sort=password")

    assert response.status_code == 200
    assert "Unknown sort" in response.get_data(as_text=True)


def test_htmx_list_requests_get_only_the_results(app):
    response = signed_in(app, "sam@acme.test").get(
        "/parties?kind=person", headers={"HX-Request": "true", "HX-Target": "party-results"})

    html = response.get_data(as_text=True)
    assert "<html" not in html and "Alice Martin" in html and "Zenith" not in html


def test_export_csv_and_xlsx_contain_the_view_and_only_what_the_user_may_export(app):
    client = signed_in(app, "sam@acme.test")

    text = client.get("/parties/export.csv?kind=person&q=Alice").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["ID", "Kind", "Name"]
    assert [row[2] for row in rows[1:]] == ["Alice Martin"]
    assert rows[1][4] == "prospect"

    book = load_workbook(io.BytesIO(client.get("/parties/export.xlsx").data))
    names = [row[2] for row in book.active.iter_rows(min_row=2, values_only=True)]
    assert len(names) == ui_world.MANY + 2 and "Support Secret Ltd" not in names


def test_export_needs_the_export_permission(app, world_platform, world):
    from xrm_core.identity import admin
    from xrm_core.identity.catalogue import all_permissions
    from xrm_core.identity.models import Scope
    with world_platform.db.transaction(world.tenant_id) as session:
        admin.define_role(session, "Staff", {"core.party.read": Scope.DEPARTMENT},
                          set(all_permissions(world_platform)))

    client = signed_in(app, "sam@acme.test")

    assert client.get("/parties/export.csv").status_code == 403
    assert "Export CSV" not in client.get("/parties").get_data(as_text=True)


def test_csv_export_neutralises_formulas(app, world_platform, world):
    client = signed_in(app, "sam@acme.test")
    token = csrf_token(client.get("/parties/new").get_data(as_text=True))
    client.post("/parties/new", data={"csrf_token": token, "kind": "person", "display_name": "=HYPERLINK(1)"})

    text = client.get("/parties/export.csv?q=HYPERLINK").data.decode("utf-8-sig")

    assert "'=HYPERLINK(1)" in text


# -- party page -------------------------------------------------------------------------------------------


def test_the_party_page_shows_roles_relationships_and_lazy_plugin_panels(app, world):
    client = signed_in(app, "sam@acme.test")
    party_id = world.parties["Zenith Industries"]

    html = client.get(f"/parties/{party_id}").get_data(as_text=True)
    assert "Customer" in html and "employs" in html and "Alice Martin" in html
    assert f'hx-get="/parties/{party_id}/panels/showcase.summary"' in html
    assert "Showcase summary of" not in html  # loaded after the page

    panel = client.get(f"/parties/{party_id}/panels/showcase.summary")
    assert "Showcase summary of Zenith Industries" in panel.get_data(as_text=True)
    broken = client.get(f"/parties/{party_id}/panels/showcase.broken")
    assert broken.status_code == 200 and "could not be shown" in broken.get_data(as_text=True)
    assert client.get(f"/parties/{party_id}/panels/showcase.nothing").status_code == 404

    alice = client.get(f"/parties/{world.parties['Alice Martin']}").get_data(as_text=True)
    assert "works for" in alice and "Zenith Industries" in alice


@pytest.mark.parametrize("email, tenant", [("pat@acme.test", "acme"), ("admin@globex.test", "globex")])
def test_a_party_out_of_reach_answers_404_like_a_missing_one(app, world, email, tenant):
    client = signed_in(app, email, tenant)
    party_id = world.parties["Zenith Industries"]

    for url in (f"/parties/{party_id}", f"/parties/{party_id}/edit", f"/parties/{party_id}/panels/showcase.summary"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Zenith" not in response.get_data(as_text=True)
    assert client.get("/parties/999999").status_code == 404


# -- forms ---------------------------------------------------------------------------------------------------


def test_create_shows_field_errors_and_saves_nothing(app, world_platform, world):
    client = signed_in(app, "sam@acme.test")
    token = csrf_token(client.get("/parties/new").get_data(as_text=True))

    response = client.post("/parties/new", data={"csrf_token": token, "kind": "robot", "display_name": "  ",
                                                  "identifier_value": "FR123"})

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a name." in html and "Choose whether this is a person or an organization." in html
    assert "Say which system this identifier comes from." in html
    assert 'aria-invalid="true" aria-describedby="display_name-error"' in html
    with world_platform.db.session(world.tenant_id) as session:
        assert session.scalar(select(Party).where(Party.kind == "robot")) is None


def test_create_then_edit_a_party(app, world_platform, world):
    client = signed_in(app, "sam@acme.test")
    token = csrf_token(client.get("/parties/new").get_data(as_text=True))

    response = client.post("/parties/new", data={"csrf_token": token, "kind": "organization",
                                                  "display_name": "Umbrella Co", "tags": "vip, vip, b2b",
                                                  "role": "supplier", "identifier_source": "vat",
                                                  "identifier_value": "FR42"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Umbrella Co was created." in page and "Supplier" in page and "FR42" in page

    edit_url = response.headers["Location"] + "/edit"
    form = client.get(edit_url).get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    saved = client.post(edit_url, data={"csrf_token": token, "kind": "organization",
                                         "display_name": "Umbrella Corporation", "tags": "b2b", "version": version})
    assert saved.status_code == 302
    stale = client.post(edit_url, data={"csrf_token": token, "kind": "organization",
                                         "display_name": "Umbrella Again", "tags": "", "version": version})
    assert stale.status_code == 422 and "Someone else changed this party" in stale.get_data(as_text=True)
    with world_platform.db.session(world.tenant_id) as session:
        party = session.scalar(select(Party).where(Party.display_name.startswith("Umbrella")))
        assert (party.display_name, party.tags, party.department_id is not None) == ("Umbrella Corporation", ["b2b"], True)


def test_a_duplicate_identifier_is_reported_on_the_form(app):
    client = signed_in(app, "sam@acme.test")
    token = csrf_token(client.get("/parties/new").get_data(as_text=True))
    data = {"csrf_token": token, "kind": "person", "display_name": "Twin", "identifier_source": "erp",
            "identifier_value": "E-1"}
    assert client.post("/parties/new", data=data).status_code == 302

    response = client.post("/parties/new", data=data)

    assert response.status_code == 422
    assert "already belongs to party" in response.get_data(as_text=True)


def test_creating_without_the_right_is_forbidden(app, world_platform, world):
    from xrm_core.identity import admin
    from xrm_core.identity.catalogue import all_permissions
    from xrm_core.identity.models import Scope
    with world_platform.db.transaction(world.tenant_id) as session:
        admin.define_role(session, "Staff", {"core.party.read": Scope.DEPARTMENT},
                          set(all_permissions(world_platform)))
    client = signed_in(app, "sam@acme.test")

    assert client.get("/parties/new").status_code == 403
    assert client.get(f"/parties/{world.parties['Alice Martin']}/edit").status_code == 403
    assert "New party" not in client.get("/parties").get_data(as_text=True)


# -- saved views -----------------------------------------------------------------------------------------------


def test_a_department_view_is_seen_by_colleagues_but_not_by_other_departments(app, world_platform, world):
    sam = signed_in(app, "sam@acme.test")
    token = csrf_token(sam.get("/parties").get_data(as_text=True))
    response = sam.post("/views/parties", data={"csrf_token": token, "name": "Prospects", "scope": "department",
                                                "role": "prospect", "sort": "-created_at"})
    assert response.status_code == 302

    sue_page = signed_in(app, "sue@acme.test").get("/parties").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)">Prospects</a>', sue_page).group(1).replace("&amp;", "&")
    shown = signed_in(app, "sue@acme.test").get(link).get_data(as_text=True)
    assert party_names(shown) == ["Alice Martin"]
    assert 'aria-current="true" class="current-view">Prospects<' in shown
    assert "Prospects" not in signed_in(app, "pat@acme.test").get("/parties").get_data(as_text=True)
    assert "Prospects" in signed_in(app, "sue@acme.test").get("/").get_data(as_text=True)


def test_saving_for_the_tenant_is_for_administrators(app, world_platform, world):
    sam = signed_in(app, "sam@acme.test")
    token = csrf_token(sam.get("/parties").get_data(as_text=True))

    response = sam.post("/views/parties", data={"csrf_token": token, "name": "All", "scope": "tenant"})

    assert "Only administrators" in sam.get(response.headers["Location"]).get_data(as_text=True)
    with world_platform.db.session(world.tenant_id) as session:
        assert session.scalars(select(SavedView)).all() == []


def test_form_keys_that_url_for_would_take_as_its_own_do_not_shape_the_way_back(app, world_platform, world):
    sam = signed_in(app, "sam@acme.test")
    token = csrf_token(sam.get("/parties").get_data(as_text=True))

    response = sam.post("/views/parties", data={"csrf_token": token, "name": "Mine", "scope": "me", "kind": "person",
                                                "endpoint": "admin.index", "_external": "1", "_anchor": "x"})

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/parties?") and "kind=person" in response.headers["Location"]
    assert "admin" not in response.headers["Location"] and "#" not in response.headers["Location"]


def test_only_the_author_deletes_a_shared_view(app, world_platform, world):
    sam = signed_in(app, "sam@acme.test")
    token = csrf_token(sam.get("/parties").get_data(as_text=True))
    sam.post("/views/parties", data={"csrf_token": token, "name": "Mine too", "scope": "department"})
    with world_platform.db.session(world.tenant_id) as session:
        view_id = session.scalar(select(SavedView.id))

    sue = signed_in(app, "sue@acme.test")
    sue_token = csrf_token(sue.get("/parties").get_data(as_text=True))
    assert sue.post(f"/views/{view_id}/delete", data={"csrf_token": sue_token}).status_code == 403
    pat = signed_in(app, "pat@acme.test")
    pat_token = csrf_token(pat.get("/parties").get_data(as_text=True))
    assert pat.post(f"/views/{view_id}/delete", data={"csrf_token": pat_token}).status_code == 404
    assert sam.post(f"/views/{view_id}/delete", data={"csrf_token": token}).status_code == 302
    with world_platform.db.session(world.tenant_id) as session:
        assert session.scalar(select(SavedView.id)) is None


def test_the_party_page_shows_the_latest_timeline_entries(app, world_platform, world):
    from xrm_core.graph.history import TimelineEntry
    party_id = world.parties["Alice Martin"]
    with world_platform.db.transaction(world.tenant_id) as session:
        session.add(TimelineEntry(party_id=party_id, event_id="e-1", event_type="sales.quote.sent", source="sales",
                                  actor="user:2", subject_type="sales_quotes", subject_id="9", payload={}))

    html = signed_in(app, "sam@acme.test").get(f"/parties/{party_id}").get_data(as_text=True)

    timeline = html[html.index('id="timeline-heading"'):]
    assert "sales.quote.sent" in timeline and "Nothing has happened" not in timeline
