"""A user's own preferences: language and time zone, and every date of the interface in that zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import ui_world
from sqlalchemy import select
from ui_world import csrf_token, sign_in

from xrm_core import clock, migrate
from xrm_core.app import create_app
from xrm_core.identity.tokens import create_token
from xrm_core.models import Tenant, User
from xrm_core.ui.models import UserPreference

#: 08:00 in UTC is 09:00 in Paris and 04:00 in New York on that day.
MOMENT = datetime(2026, 3, 24, 8, 0, tzinfo=UTC)


@pytest.fixture
def site(make_platform):
    platform = make_platform("notes", ui_world.SHOWCASE)
    migrate.upgrade(platform)
    world = ui_world.build(platform)
    with platform.db.transaction(world.tenant_id) as session, clock.frozen(MOMENT):
        create_token(session, session.get(User, world.users["sam@acme.test"]), "dated")
    app = create_app(platform=platform)
    app.config["TESTING"] = True
    return platform, world, app


def save(client, **form):
    token = csrf_token(client.get("/account/preferences").get_data(as_text=True))
    return client.post("/account/preferences", data={"csrf_token": token, **form})


def stored(platform, world):
    with platform.db.session(world.tenant_id) as session:
        return session.execute(select(UserPreference.locale, UserPreference.time_zone).where(
            UserPreference.user_id == world.users["sam@acme.test"])).first()


def test_dates_follow_the_users_zone_else_the_tenants_and_bad_choices_change_nothing(site):
    platform, world, app = site
    client = app.test_client()
    sign_in(client, "sam@acme.test")
    assert 'href="/account/preferences"' in client.get("/parties").get_data(as_text=True)
    assert "3/24/26, 8:00" in client.get("/account/tokens").get_data(as_text=True)  # the tenant's zone: UTC

    with platform.db.transaction(all_tenants=True) as session:
        session.get(Tenant, world.tenant_id).time_zone = "America/New_York"
    assert "3/24/26, 4:00" in client.get("/account/tokens").get_data(as_text=True)
    page = client.get("/account/preferences").get_data(as_text=True)
    assert "(America/New_York)" in page and "<option >Europe/Paris</option>" in page

    saved = save(client, locale="fr", time_zone="Europe/Paris")
    assert saved.status_code == 302
    assert stored(platform, world) == ("fr", "Europe/Paris")
    tokens_page = client.get("/account/tokens").get_data(as_text=True)
    assert "24/03/2026 09:00" in tokens_page
    assert "<option selected>Europe/Paris</option>" in client.get("/account/preferences").get_data(as_text=True)

    for form, field in (({"locale": "fr", "time_zone": "Mars/Olympus_Mons"}, "pref-time-zone-error"),
                        ({"locale": "tlh", "time_zone": "Asia/Tokyo"}, "pref-locale-error")):
        refused = save(client, **form)
        assert refused.status_code == 400 and f'id="{field}"' in refused.get_data(as_text=True)
    assert stored(platform, world) == ("fr", "Europe/Paris")

    assert save(client, locale="", time_zone="").status_code == 302  # back to the browser's and the tenant's
    assert stored(platform, world) == (None, None)
    assert "3/24/26, 4:00" in client.get("/account/tokens").get_data(as_text=True)
