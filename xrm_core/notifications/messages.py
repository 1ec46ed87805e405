"""Notification titles in each recipient's language, not in the language of whoever caused them.

A notification is read by one user, so its title is written in that user's language: their stored
preference (``/account/preferences``), English when they never chose one. A French user mentioned
by an English-speaking one reads the French title. Senders pass a :class:`Message` — a msgid
marked with :func:`N_` and its named parameters — instead of a string, and
:func:`~.service.notify` renders it once per language among the recipients, with the same
catalogues as the pages (the core's, and the plugins' for words the core does not have).

Rendering happens when the notification is written, outside any request (a workflow run in a
worker notifies too), so the catalogues are loaded here rather than through Flask-Babel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.support import Translations
from sqlalchemy import select
from sqlalchemy.orm import Session

#: The core's catalogues (the pages' too).
CORE_TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def N_(msgid: str) -> str:
    """Mark ``msgid`` for the catalogues (``pybabel extract`` knows ``N_``) without translating it now."""
    return msgid


@dataclass(frozen=True)
class Message:
    """A text to write in each reader's language: a msgid (marked with :func:`N_`) and its named parameters."""

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, translations: Translations) -> str:
        """The text in the language of ``translations``, parameters filled in (like Flask-Babel's ``gettext``)."""
        text = translations.ugettext(self.msgid)
        return text % dict(self.params) if self.params else text


@lru_cache(maxsize=32)
def _catalogue(locale: str, directories: tuple[str, ...]) -> Translations:
    merged = Translations()
    for directory in directories:  # a later directory wins: the core's comes last, like the pages'
        merged.merge(Translations.load(directory, [locale]))
    return merged


def translations_for(session: Session, locale: str) -> Translations:
    """The catalogue of ``locale`` for notifications: the plugins' (of the session's platform), then the core's."""
    from ..ui.i18n import plugin_translation_directories

    platform = session.info.get("platform")
    plugins = plugin_translation_directories(platform) if platform is not None else []
    return _catalogue(locale, (*plugins, str(CORE_TRANSLATIONS)))


def locales_of(session: Session, user_ids: Iterable[int]) -> dict[int, str]:
    """Each user's language for what is written to them: their stored choice, else the default (English)."""
    from ..ui.i18n import DEFAULT_LOCALE, LOCALES
    from ..ui.models import UserPreference

    wanted = list(user_ids)
    chosen = dict(session.execute(select(UserPreference.user_id, UserPreference.locale)
                                  .where(UserPreference.user_id.in_(wanted))).all()) if wanted else {}
    return {user_id: chosen.get(user_id) if chosen.get(user_id) in LOCALES else DEFAULT_LOCALE for user_id in wanted}


def render_for(session: Session, message: Message, user_ids: Iterable[int]) -> dict[int, str]:
    """``message`` as each user reads it, by user id (rendered once per language)."""
    by_locale: dict[str, str] = {}
    texts = {}
    for user_id, locale in locales_of(session, user_ids).items():
        if locale not in by_locale:
            by_locale[locale] = message.render(translations_for(session, locale))
        texts[user_id] = by_locale[locale]
    return texts


def default_text(session: Session, message: Message) -> str:
    """``message`` in the default language: what the ``core.notification.created`` event carries."""
    from ..ui.i18n import DEFAULT_LOCALE

    return message.render(translations_for(session, DEFAULT_LOCALE))
