"""Bulk actions on the rows selected in the party list: tag, assign an owner or department, delete.

Each party is checked and changed on its own (a savepoint each), with the signed-in user's rights
on that very record: a party they may not see is refused as not found, one they may see but not
change is refused with the reason, and the others are done. The page then says how many were done
and which were refused, and why. Nothing outside the selection is touched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import marshmallow as ma
from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import web
from ..db import utcnow
from ..errors import XrmError
from ..events import publish
from ..graph.models import Party
from ..identity.authentication import current_principal
from ..identity.models import Department
from ..identity.scoping import PermissionDenied, can
from ..models import User

blueprint = Blueprint("party_bulk", __name__, url_prefix="/parties")

#: Parties one bulk action may change: a page of the list holds at most 100.
MAX_SELECTED = 100
TAG_MAX = 50


@dataclass
class Outcome:
    """What a bulk action did: the parties done, and those refused with their reason."""

    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class BulkAction:
    #: The record action it needs on each party (``update``, ``assign``, ``delete``).
    permission: str
    #: Applies the action to one party (the target already checked).
    apply: Callable[[Party, object], None]


def _add_tag(party: Party, tag: object) -> None:
    if tag not in (party.tags or []):
        party.tags = [*(party.tags or []), tag]
        party.updated_at = utcnow()
        _changed(party, ["tags"])


def _set_owner(party: Party, user_id: object) -> None:
    if party.owner_user_id != user_id:
        party.owner_user_id, party.owner_team_id = user_id, None
        _changed(party, ["owner_team_id", "owner_user_id"])


def _set_department(party: Party, department_id: object) -> None:
    if party.department_id != department_id:
        party.department_id = department_id
        _changed(party, ["department_id"])


def _delete(party: Party, _value: object) -> None:
    session = web.db_session()
    publish(session, "core.party.deleted", party, {"kind": party.kind, "display_name": party.display_name},
            current_principal().name)
    session.delete(party)


def _changed(party: Party, names: list[str]) -> None:
    web.db_session().flush()  # the write guard checks the change before the event says it happened
    publish(web.db_session(), "core.party.updated", party, {"changed": names}, current_principal().name)


ACTIONS = {
    "tag": BulkAction("update", _add_tag),
    "owner": BulkAction("assign", _set_owner),
    "department": BulkAction("assign", _set_department),
    "delete": BulkAction("delete", _delete),
}


def _target(action: str, raw: str) -> object:
    """The action's value from the form, checked; a 400 names what is wrong."""
    session = web.db_session()
    if action == "tag":
        tag = raw.strip()
        if not tag or len(tag) > TAG_MAX:
            abort(400, description=_("Give a tag of 1 to %(max)s characters.", max=TAG_MAX))
        return tag
    if action in ("owner", "department"):
        model = User if action == "owner" else Department
        try:
            ident = int(raw)
        except ValueError:
            abort(400, description=_("Choose whom to assign the parties to."))
        found = session.scalar(select(model.id).where(model.id == ident, *(
            (User.active.is_(True),) if model is User else ())))
        if found is None:
            abort(400, description=_("There is no such user or department to assign to."))
        return ident
    return None


@blueprint.post("/bulk")
@login_required
def apply():
    """Apply one action to the selected parties, each checked on its own; show what was done."""
    action_name = request.form.get("action", "")
    action = ACTIONS.get(action_name)
    if action is None:
        abort(400, description=_("Choose an action."))
    ids = selected_ids(_("Select at least one party."), _("Select at most %(max)s parties at a time.", max=MAX_SELECTED))
    value = _target(action_name, request.form.get(action_name, ""))  # each action has its own field
    outcome = run(action, ids, value)
    web.db_session().commit()
    return render_template("parties/bulk_result.html", outcome=outcome, action=action_name,
                           back=request.form.get("back", ""))


def selected_ids(none_selected: str, too_many: str) -> list[int]:
    """The distinct ids ticked in the form (``ids``), at most :data:`MAX_SELECTED`; else a 400 saying why."""
    try:
        ids = list(dict.fromkeys(int(value) for value in request.form.getlist("ids")))
    except ValueError:
        abort(400, description=_("The selection is invalid."))
    if not ids:
        abort(400, description=none_selected)
    if len(ids) > MAX_SELECTED:
        abort(400, description=too_many)
    return ids


def run(action: BulkAction, ids: list[int], value: object) -> Outcome:
    """Apply ``action`` to each party of ``ids`` the user may act on; nothing is committed."""
    session = web.db_session()
    parties = {p.id: p for p in session.scalars(select(Party).where(Party.id.in_(ids)))}
    return run_each(parties, ids, action.permission, lambda party: action.apply(party, value),
                    label=lambda party: party.display_name, missing=_("there is no such party that you may see"),
                    forbidden=lambda verb: _("you may see this party but not %(action)s it", action=verb))


def run_each(records: Mapping[int, Any], ids: list[int], permission: str, apply: Callable[[Any], None], *,
             label: Callable[[Any], str], missing: str, forbidden: Callable[[str], str]) -> Outcome:
    """Apply ``apply`` to each record of ``ids`` (among the visible ``records``), each in a savepoint.

    A record the user may not see is refused with ``missing``; one they may see but not
    ``permission`` (a record action), with ``forbidden(<the action's verb>)``; one whose change is
    refused on flush, with the cause. Nothing is committed.
    """
    session, principal = web.db_session(), current_principal()
    outcome = Outcome()
    for record_id in ids:
        record = records.get(record_id)
        if record is None:
            outcome.refused.append((f"#{record_id}", missing))
            continue
        name = label(record)
        if not can(session, principal, permission, record):
            outcome.refused.append((name, forbidden(_permission_label(permission))))
            continue
        try:
            with session.begin_nested():
                apply(record)
                session.flush()
        except PermissionDenied:
            outcome.refused.append((name, _("the result would be outside what you may manage")))
        except IntegrityError:
            outcome.refused.append((name, _("other records still depend on it")))
        except XrmError as exc:  # a plugin's rule refusing this record (a conflict, a missing record)
            outcome.refused.append((name, str(exc)))
        except ma.ValidationError as exc:  # a plugin's validation refusing this record
            outcome.refused.append((name, "; ".join(
                f"{key}: {' '.join(map(str, text))}" if isinstance(text, list) else f"{key}: {text}"
                for key, text in exc.normalized_messages().items())))
        else:
            outcome.done.append(name)
    return outcome


def _permission_label(permission: str) -> str:
    return {"update": _("change"), "assign": _("assign"), "delete": _("delete")}.get(permission, permission)
