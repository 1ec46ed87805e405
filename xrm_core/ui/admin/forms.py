"""What the console's forms share: errors next to their fields, the record's version, saving, rights.

The services raise marshmallow ``ValidationError`` keyed by input field, exactly as the API answers
them; a page shows each message next to the field it names, and any message about a field the form
does not show (or about the whole record) at the top of the form.

A form carries the ``version`` of the record it was opened on (the API's ETag); if the record has
changed since, the form is refused with a message and nothing is changed. The version is checked
when the form arrives and again by the database when it is saved (someone may save in between).

Administration rights count only when held for the whole tenant, as the API requires them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import marshmallow as ma
from flask import abort
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from ... import web
from ...api.admin import require
from ...identity.scoping import PermissionDenied

#: Key of the messages shown at the top of a form rather than next to a field.
WHOLE_FORM = "_form"
#: The errors of a form: field name -> messages; ``WHOLE_FORM`` for the form as a whole.
Errors = dict[str, list[str]]


def field_errors(exc: ma.ValidationError, shown: Iterable[str]) -> Errors:
    """The messages of ``exc`` by form field; those about fields not in ``shown`` go to the top."""
    fields = set(shown)
    messages = exc.messages if isinstance(exc.messages, Mapping) else {WHOLE_FORM: exc.messages}
    errors: Errors = {}
    for name, found in messages.items():
        key = name if name in fields else WHOLE_FORM
        errors.setdefault(key, []).extend(_flatten(found, "" if key == name else f"{name}: "))
    return errors


def _flatten(messages: Any, prefix: str) -> list[str]:
    if isinstance(messages, Mapping):
        return [text for name, inner in messages.items() for text in _flatten(inner, f"{prefix}{name}: ")]
    if isinstance(messages, (list, tuple)):
        return [text for inner in messages for text in _flatten(inner, prefix)]
    return [f"{prefix}{messages}"]


def stale(record: Any, form: Mapping[str, str]) -> Errors:
    """An error for the whole form if ``record`` is no longer at the version the form was opened on."""
    version = form.get("version", "")
    if not version.isdigit():
        return {WHOLE_FORM: [_("The form is incomplete; reload the page and try again.")]}
    if int(version) != record.version:
        return {WHOLE_FORM: [_("Someone else changed this record after you opened the form; nothing was saved. "
                               "Reload the page to see their changes.")]}
    return {}


def commit() -> Errors:
    """Commit the request's session; a concurrent change is rolled back and reported as a form error."""
    session = web.db_session()
    try:
        session.commit()
    except StaleDataError:
        session.rollback()
        return {WHOLE_FORM: [_("Someone else changed this record while you were saving; nothing was saved. "
                               "Reload the page to see their changes.")]}
    return {}


def visible(model: type, record_id: int) -> Any:
    """The tenant's record ``record_id`` of ``model``, or a 404 (another tenant's ids do not exist here)."""
    found = web.db_session().get(model, record_id)
    if found is None:
        abort(404, description=_("There is no such record here."))
    return found


def holds(permission: str) -> bool:
    """Whether the signed-in user holds ``permission`` for the whole tenant (to show or hide an action)."""
    try:
        require(permission)
    except PermissionDenied:
        return False
    return True


def require_tenant_wide(permission: str) -> None:
    """403 unless the signed-in user holds ``permission`` for the whole tenant."""
    if not holds(permission):
        abort(403, description=_("You may not do this: it needs %(permission)s for the whole organisation.",
                                 permission=permission))
