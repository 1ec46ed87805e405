"""The interface language: English, French or Spanish, chosen per user, formatted per locale.

A signed-in user's stored preference wins; otherwise (or before signing in) the browser's
``Accept-Language``; otherwise English. Dates and numbers go through Flask-Babel's Jinja filters
(``datetimeformat``, ``decimalformat``…), so they follow the same locale as the words. Catalogues
live in ``xrm_core/translations/<locale>/LC_MESSAGES/messages.po`` with their compiled ``.mo``
committed next to them (a test checks they are in step).
"""

from __future__ import annotations

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
    Babel(app, locale_selector=select_locale)
    # Flask-Babel finds the catalogue anew for every string a template translates (a list page
    # translates over a hundred): look it up once per request instead.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )


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


def stored_locale() -> str | None:
    """The signed-in user's chosen locale, or ``None`` (anonymous, or never chosen)."""
    principal = current_principal()
    if principal is None or principal.user_id is None or web.current_tenant() is None:
        return None
    locale = read_session().scalar(select(UserPreference.locale).where(UserPreference.user_id == principal.user_id))
    return locale if locale in LOCALES else None


def store_locale(user_id: int, locale: str | None) -> None:
    """Remember ``locale`` for the user (``None``: follow the browser again); the caller commits."""
    session = web.db_session()
    preference = session.scalar(select(UserPreference).where(UserPreference.user_id == user_id))
    if preference is None:
        preference = UserPreference(user_id=user_id)
        session.add(preference)
    preference.locale = locale
    g.pop("xrm_locale", None)
    g.pop("xrm_translations", None)
