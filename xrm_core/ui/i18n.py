"""The interface language and time zone: chosen per user, formatted per locale and zone.

Language: a signed-in user's stored preference wins; otherwise (or before signing in) the
browser's ``Accept-Language``; otherwise English. Time zone: the user's stored one, otherwise the
tenant's, otherwise UTC. Dates and numbers go through Flask-Babel's Jinja filters
(``datetimeformat``, ``decimalformat``…), so they follow the same locale and zone as the words.

Catalogues live in ``xrm_core/translations/<locale>/LC_MESSAGES/messages.po`` with their compiled
``.mo`` committed next to them (a test checks they are in step). Each loaded plugin may ship its
own, in ``<its package>/translations/``: they join the catalogue, the core's words winning where
both translate the same text, so a plugin adds words but never changes the core's.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from zoneinfo import available_timezones

from babel.support import NullTranslations, Translations
from flask import Flask, g, has_app_context, request
from flask_babel import Babel, get_translations
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import web
from ..identity.authentication import current_principal
from .models import UserPreference
from .session import read_session

#: Locale code -> its name, written in that language (how a language menu should show it).
LOCALES = {"en": "English", "fr": "Français", "es": "Español"}
DEFAULT_LOCALE = "en"

#: The built-in role labels (:data:`xrm_core.graph.service.BUILT_IN_ROLES`), listed here so that
#: the catalogues hold them; templates translate any role label with ``_(label)``.
BUILT_IN_ROLE_LABELS = (_l("Customer"), _l("Prospect"), _l("Partner"), _l("Supplier"), _l("Employee"))


def init_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    # Flask-Babel merges the directories in order, a later one overriding: the core's comes last.
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(
        [*plugin_translation_directories(app.extensions["xrm"]), "translations"])
    Babel(app, locale_selector=select_locale, timezone_selector=select_time_zone)
    # Flask-Babel finds the catalogue anew for every string a template translates (a list page
    # translates over a hundred): look it up once per request instead.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )


def plugin_translation_directories(platform) -> list[str]:
    """The ``translations`` folders of the platform's plugins that have one, in dependency order."""
    directories = []
    for info in platform.plugins.values():
        source = getattr(info.module, "__file__", None)  # None for a plugin that is not a file (a stand-in)
        if source is None:
            continue
        folder = Path(source).parent / "translations"  # beside the plugin module, in its package
        if folder.is_dir():
            directories.append(str(folder))
    return directories


def _translations() -> Translations | NullTranslations:
    """The request's catalogue, found once per request (outside one, Flask-Babel's answer)."""
    if not has_app_context():
        return get_translations()
    if "xrm_translations" not in g:
        g.xrm_translations = get_translations()
    return g.xrm_translations


def select_locale() -> str:
    """The request's locale: the user's preference, else the browser's best match, else English."""
    if "xrm_locale" not in g:
        g.xrm_locale = stored_locale() or request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE
    return g.xrm_locale


def select_time_zone() -> str:
    """The request's time zone: the user's choice, else the tenant's, else UTC."""
    if "xrm_time_zone" not in g:
        tenant = web.current_tenant()
        g.xrm_time_zone = stored_time_zone() or (tenant.time_zone if tenant is not None else None) or "UTC"
    return g.xrm_time_zone


def _stored_preference() -> tuple[str | None, str | None]:
    """The signed-in user's saved ``(locale, time_zone)``, read once per request (``None`` each: not saved)."""
    if "xrm_preference" not in g:
        principal = current_principal()
        g.xrm_preference = None
        if principal is not None and principal.user_id is not None and web.current_tenant() is not None:
            g.xrm_preference = read_session().execute(
                select(UserPreference.locale, UserPreference.time_zone)
                .where(UserPreference.user_id == principal.user_id)).first()
    return tuple(g.xrm_preference) if g.xrm_preference is not None else (None, None)


def stored_locale() -> str | None:
    """The signed-in user's chosen locale, or ``None`` (anonymous, or never chosen)."""
    locale, _zone = _stored_preference()
    return locale if locale in LOCALES else None


def stored_time_zone() -> str | None:
    """The signed-in user's chosen time zone, or ``None`` (anonymous, never chosen, or no longer known)."""
    _locale, zone = _stored_preference()
    return zone if is_time_zone(zone) else None


@cache
def time_zones() -> list[str]:
    """The IANA time zones this system knows, sorted (read once: listing them scans the zone files)."""
    return sorted(available_timezones())


def is_time_zone(name: str | None) -> bool:
    """Whether ``name`` is an IANA time zone this system knows (``Europe/Paris``)."""
    return bool(name) and name in _known_zones()


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(time_zones())


def store_locale(user_id: int, locale: str | None) -> None:
    """Remember ``locale`` for the user (``None``: follow the browser again); the caller commits."""
    preference_for_update(user_id).locale = locale
    g.pop("xrm_locale", None)
    g.pop("xrm_translations", None)


def preference_for_update(user_id: int) -> UserPreference:
    """The user's preferences row in the request's session, created if missing; the caller commits."""
    session = web.db_session()
    preference = session.scalar(select(UserPreference).where(UserPreference.user_id == user_id))
    if preference is None:
        preference = UserPreference(user_id=user_id)
        session.add(preference)
    for cached in ("xrm_preference", "xrm_time_zone"):
        g.pop(cached, None)
    return preference
