"""Notifications are written in each recipient's language, not in the language of the request that
caused them: a French user mentioned by an English-speaking one reads a French title.

The core's catalogues get the new notification titles when the lead updates them; until then the
``lingo`` plugin written here translates them to French (a plugin's words join the catalogue), so
the French titles differ from the English ones whichever catalogue provides them.
"""

from __future__ import annotations

import pytest
import ui_world
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from plugin_dists import CORE, Dist
from sqlalchemy import select
from ui_world import csrf_token, sign_in

from xrm_core import migrate
from xrm_core.app import create_app
from xrm_core.collaboration import service as collaboration
from xrm_core.events import get_bus, load_event_settings
from xrm_core.events.models import OutboxEvent
from xrm_core.graph.models import Party
from xrm_core.identity.principal import load_principal
from xrm_core.identity.scoping import act_as
from xrm_core.models import User
from xrm_core.notifications import N_, Message, Notification, notify
from xrm_core.notifications.messages import translations_for
from xrm_core.ui.models import UserPreference

LINGO = Dist("xrm-fx-lingo", "0.1.0", "lingo", "xrm_fx_lingo.plugin", (CORE,))
FRENCH = {"%(name)s mentioned you": "%(name)s vous a mentionné",
          "%(name)s assigned a record to %(assignee)s": "%(name)s a attribué une fiche à %(assignee)s"}


@pytest.fixture
def lingo_site(tmp_path, monkeypatch):
    """The ``lingo`` plugin's package: a manifest and a French catalogue of the notification titles."""
    package = tmp_path / "lingo" / "xrm_fx_lingo"
    (package / "translations" / "fr" / "LC_MESSAGES").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "plugin.py").write_text('import xrm_sdk as xrm\n\nMANIFEST = xrm.Manifest(name="lingo", title="Lingo")\n')
    catalog = Catalog(locale="fr")
    for msgid, text in FRENCH.items():
        catalog.add(msgid, text)
    with open(package / "translations" / "fr" / "LC_MESSAGES" / "messages.mo", "wb") as mo:
        write_mo(mo, catalog)
    monkeypatch.syspath_prepend(str(tmp_path / "lingo"))


@pytest.fixture
def world_platform(make_platform, lingo_site):
    platform = make_platform("notes", ui_world.SHOWCASE, LINGO)
    migrate.upgrade(platform)
    bus = get_bus(platform, load_event_settings(environ={}))  # notifications publish an event
    yield platform
    bus.stop()


@pytest.fixture
def world(world_platform):
    """ui_world's acme, where Sue reads French, Pat Spanish, Sam English; the admin never chose."""
    world = ui_world.build(world_platform)
    with world_platform.db.transaction(world.tenant_id) as session:
        for email, locale in (("sue@acme.test", "fr"), ("pat@acme.test", "es"), ("sam@acme.test", "en")):
            session.add(UserPreference(user_id=world.users[email], locale=locale))
    return world


def titles(platform, tenant_id) -> dict[str, str]:
    """Each recipient's (e-mail) notification title."""
    with platform.db.session(tenant_id, read_only=True) as session:
        return dict(session.execute(select(User.email, Notification.title).join(
            User, User.id == Notification.user_id)).all())


def rendered(platform, tenant_id, locale: str, msgid: str, **params) -> str:
    with platform.db.session(tenant_id, read_only=True) as session:
        return Message(msgid, params).render(translations_for(session, locale))


def test_a_message_is_written_once_per_recipient_in_their_language(world_platform, world):
    users = [world.users[e] for e in ("sue@acme.test", "pat@acme.test", "sam@acme.test", "admin@acme.test")]
    with world_platform.db.transaction(world.tenant_id) as session:
        # A msgid the core's catalogues translate already.
        notify(session, users=users, title=Message(N_("%(name)s was created."), {"name": "Acme"}), actor="cli")
    assert titles(world_platform, world.tenant_id) == {
        "sue@acme.test": "Acme a été créé.", "pat@acme.test": "Acme se ha creado.",
        "sam@acme.test": "Acme was created.", "admin@acme.test": "Acme was created."}  # no choice: English
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        [event] = session.scalars(select(OutboxEvent).where(OutboxEvent.type == "core.notification.created")).all()
    # The event carries the default language's text, and the message for receivers that translate.
    assert event.payload["title"] == "Acme was created."
    assert (event.payload["title_msgid"], event.payload["title_params"]) == ("%(name)s was created.", {"name": "Acme"})


def test_a_mention_and_an_assignment_by_english_speakers_reach_a_french_reader_in_french(world_platform, world):
    app = create_app(platform=world_platform)
    app.config["TESTING"] = True
    sam = app.test_client()
    sign_in(sam, "sam@acme.test")
    headers = {"X-CSRFToken": csrf_token(sam.get("/parties").get_data(as_text=True)), "Accept-Language": "en"}
    posted = sam.post("/api/v1/comments", headers=headers, json={
        "resource": "core.party", "record_id": world.parties["Sales contact 00"],
        "body": "@sue@acme.test @admin@acme.test please call them"})
    assert posted.status_code == 201, posted.get_json()

    french = rendered(world_platform, world.tenant_id, "fr", "%(name)s mentioned you", name="Sam Seller")
    assert french != "Sam Seller mentioned you"
    assert titles(world_platform, world.tenant_id) == {"sue@acme.test": french,
                                                       "admin@acme.test": "Sam Seller mentioned you"}

    # An assignment by the (English) administrator is announced to Sue in French too.
    with world_platform.db.transaction(world.tenant_id) as session:
        administrator = session.get(User, world.users["admin@acme.test"])
        act_as(session, load_principal(session, administrator))
        assigned = collaboration.assign(session, session.get(Party, world.parties["Sales contact 01"]),
                                        user_id=world.users["sue@acme.test"])
        assert assigned == [world.users["sue@acme.test"]]
        name = administrator.display_name
    french = rendered(world_platform, world.tenant_id, "fr", "%(name)s assigned a record to %(assignee)s",
                      name=name, assignee="Sue Seller")
    assert french != f"{name} assigned a record to Sue Seller"
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        assert session.scalar(select(Notification.title).where(Notification.kind == "assignment")) == french
