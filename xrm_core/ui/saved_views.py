"""Saved views: a list's filters and sort, named and shared with me, my department or the tenant.

Who sees a view: its author always; a ``department`` view, every member of the department it was
saved for; a ``tenant`` view, everyone in the tenant. Saving for the department needs a
department; saving for the tenant is for tenant administrators.

Views are saved for the party list (resource ``parties``) and for the plugins' lists
(:mod:`.entity_lists`, resource ``<plugin>.<list>``, served while the plugin is enabled).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import urlencode

import marshmallow as ma
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from .. import web
from ..identity.authentication import current_principal
from . import entity_lists
from .listing import parse_view
from .models import SavedView, ViewScope

blueprint = Blueprint("saved_views", __name__, url_prefix="/views")

NAME_MAX = 100
#: Form fields of the save form that are not part of the view.
FORM_FIELDS = frozenset({"csrf_token", "name", "scope"})


def list_url(resource: str, **args: str) -> str:
    """The page of the list ``resource`` (``parties``, ``sales.opportunities``) with query ``args``.

    Arguments ``url_for`` would read as its own (``endpoint``, ``name``, ``_external``…) are dropped:
    they come from a posted form.
    """
    args = {key: value for key, value in args.items() if not key.startswith("_") and key not in ("endpoint", "name")}
    if resource == "parties":
        return url_for("parties.index", **args)
    return url_for("entity_lists.index", name=resource, **args)


def _view_values(resource: str) -> Callable[[Mapping[str, str]], Mapping[str, str]] | None:
    """How the list ``resource`` reads a view from a form, or ``None`` for no list served here.

    The returned function raises :class:`marshmallow.ValidationError` for values the list refuses.
    """
    if resource == "parties":
        return lambda form: parse_view(form, paged=False).values
    return entity_lists.view_values(resource)


def visible_views(resource: str | None) -> list[SavedView]:
    """The saved views of ``resource`` (``None``: of every list) the user may see, by scope then name."""
    principal = current_principal()
    conditions = [SavedView.owner_user_id == principal.user_id, SavedView.scope == ViewScope.TENANT]
    if principal.department_id is not None:
        conditions.append(and_(SavedView.scope == ViewScope.DEPARTMENT,
                               SavedView.department_id == principal.department_id))
    statement = select(SavedView).where(or_(*conditions))
    if resource is not None:
        statement = statement.where(SavedView.resource == resource)
    views = web.db_session().scalars(statement).all()
    order = list(ViewScope)
    return sorted(views, key=lambda v: (order.index(v.scope), v.name.lower(), v.id))


def view_url(view: SavedView) -> str:
    """The list page showing ``view`` (``saved`` marks it as the current view there)."""
    url = list_url(view.resource, saved=str(view.id))
    return url + "&" + view.query if view.query else url


@blueprint.post("/<resource>")
@login_required
def save(resource: str):
    """Save the list's current filters and sort under a name, at the chosen scope."""
    read_values = _view_values(resource)
    if read_values is None:
        abort(404)
    principal = current_principal()
    back = list_url(resource, **{k: v for k, v in request.form.items() if k not in FORM_FIELDS and v.strip()})
    name = request.form.get("name", "").strip()
    scope_value = request.form.get("scope", ViewScope.ME.value)
    problem = None
    if not name:
        problem = _("Give the view a name.")
    elif len(name) > NAME_MAX:
        problem = _("Use at most %(max)s characters for the name.", max=NAME_MAX)
    elif scope_value not in {s.value for s in ViewScope}:
        problem = _("Choose who the view is for.")
    elif scope_value == ViewScope.DEPARTMENT and principal.department_id is None:
        problem = _("You are in no department: save the view for yourself instead.")
    elif scope_value == ViewScope.TENANT and not current_user.is_admin:
        problem = _("Only administrators can save views for the whole organisation.")
    if problem is None:
        try:
            values = read_values(request.form)
        except ma.ValidationError:  # a tampered form: the page only offers valid values
            problem = _("The current filters are invalid; fix them before saving the view.")
    if problem:
        flash(problem, "error")
        return redirect(back)
    scope = ViewScope(scope_value)
    session = web.db_session()
    saved = SavedView(
        resource=resource, name=name, scope=scope, owner_user_id=principal.user_id,
        department_id=principal.department_id if scope is ViewScope.DEPARTMENT else None,
        query=urlencode({k: v for k, v in values.items() if v}),
    )
    session.add(saved)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        flash(_("You already have a view named %(name)s.", name=name), "error")
        return redirect(back)
    flash(_("View %(name)s saved.", name=name), "success")
    return redirect(view_url(saved))


@blueprint.post("/<int:view_id>/delete")
@login_required
def delete(view_id: int):
    """Delete a view: its author may, and administrators may delete shared ones."""
    session = web.db_session()
    view = next((v for v in visible_views(None) if v.id == view_id), None)
    if view is None:
        abort(404)
    if view.owner_user_id != current_principal().user_id and not current_user.is_admin:
        abort(403, description=_("Only the author of this view or an administrator can delete it."))
    session.delete(view)
    session.commit()
    flash(_("View %(name)s deleted.", name=view.name), "success")
    return redirect(list_url(view.resource))
