"""Console section: teams — create, rename, delete, and their members added or removed.

The same services and checks as ``/api/v1/teams`` (:mod:`xrm_core.api.admin`): ``core.team.*`` for
the whole tenant; renaming and deleting carry the team's version, adding and removing members are
idempotent like the API's PUT and DELETE.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ... import web
from ...api.admin import require
from ...identity import admin
from ...identity.models import Team, TeamMember
from ...models import User
from . import blueprint, requires, section
from .forms import Errors, commit, holds, stale, visible

section("admin.teams", _l("Teams"), _l("Groups of users, across departments, that can own records."), "core.team.read")

NAME_MAX = 200


def _checked_name(raw: str) -> tuple[Errors, str]:
    name = raw.strip()
    if not name:
        return {"name": [_("Enter a name.")]}, name
    if len(name) > NAME_MAX:
        return {"name": [_("Use at most %(max)s characters.", max=NAME_MAX)]}, name
    return {}, name


def _name_taken(name: str, team: Team | None) -> bool:
    clash = select(Team.id).where(Team.name == name)
    if team is not None:
        clash = clash.where(Team.id != team.id)
    return web.db_session().scalar(clash) is not None


def _list_page(values, errors: Errors) -> str:
    session = web.db_session()
    teams = session.scalars(select(Team).order_by(Team.name)).all()
    sizes = dict(session.execute(select(TeamMember.team_id, func.count()).group_by(TeamMember.team_id)).all())
    return render_template("admin/teams.html", teams=teams, sizes=sizes, form=values, errors=errors,
                           may_create=holds("core.team.create"))


@blueprint.route("/teams", methods=["GET", "POST"])
@requires("core.team.read")
def teams():
    """Every team with its number of members; and the form to create one."""
    require("core.team.read")
    if request.method == "GET":
        return _list_page({}, {})
    principal = require("core.team.create")
    errors, name = _checked_name(request.form.get("name", ""))
    if not errors and _name_taken(name, None):
        errors = {"name": [_("There is already a team with this name.")]}
    if errors:
        return _list_page(request.form, errors), 422
    team = admin.create_team(web.db_session(), name, actor=principal.name)
    web.db_session().commit()
    flash(_("The team %(name)s was created.", name=team.name), "success")
    return redirect(url_for("admin.edit_team", team_id=team.id))


def _team_page(team: Team, values, errors: Errors) -> str:
    session = web.db_session()
    members = session.scalars(select(User).join(TeamMember, TeamMember.user_id == User.id)
                              .where(TeamMember.team_id == team.id).order_by(User.email)).all()
    others = session.scalars(select(User).where(User.id.not_in([m.id for m in members]), User.active.is_(True))
                             .order_by(User.email)).all()
    return render_template("admin/team_form.html", team=team, members=members, others=others, form=values,
                           errors=errors, may_change=holds("core.team.update"), may_delete=holds("core.team.delete"))


@blueprint.route("/teams/<int:team_id>", methods=["GET", "POST"])
@requires("core.team.read")
def edit_team(team_id: int):
    """A team's members, and renaming it; a stale form is refused and nothing changes."""
    require("core.team.read")
    team = visible(Team, team_id)
    if request.method == "GET":
        return _team_page(team, {"name": team.name, "version": team.version}, {})
    principal = require("core.team.update")
    errors = stale(team, request.form)
    if errors:
        return _team_page(team, request.form, errors), 409
    errors, name = _checked_name(request.form.get("name", ""))
    if not errors and _name_taken(name, team):
        errors = {"name": [_("There is already a team with this name.")]}
    if errors:
        return _team_page(team, request.form, errors), 422
    if name != team.name:
        admin.rename_team(web.db_session(), team, name, actor=principal.name)
    errors = commit()
    if errors:
        return _team_page(visible(Team, team_id), request.form, errors), 409
    flash(_("The team %(name)s was saved.", name=team.name), "success")
    return redirect(url_for("admin.edit_team", team_id=team.id))


@blueprint.post("/teams/<int:team_id>/members")
@requires("core.team.read")
def team_members(team_id: int):
    """Add (``add=<user id>``) or remove (``remove=<user id>``) one member; both idempotent."""
    principal = require("core.team.update")
    session = web.db_session()
    team = visible(Team, team_id)
    adding = request.form.get("add", "")
    user_id = adding or request.form.get("remove", "")
    user = session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None:
        flash(_("Choose a user from the list."), "error")
        return redirect(url_for("admin.edit_team", team_id=team.id))
    if adding:
        admin.add_member(session, team, user, actor=principal.name)
        message = _("%(user)s was added to %(team)s.", user=user.display_name, team=team.name)
    else:
        admin.remove_member(session, team, user, actor=principal.name)
        message = _("%(user)s was removed from %(team)s.", user=user.display_name, team=team.name)
    errors = commit()
    flash(" ".join(errors["_form"]) if errors else message, "error" if errors else "success")
    return redirect(url_for("admin.edit_team", team_id=team_id))


@blueprint.post("/teams/<int:team_id>/delete")
@requires("core.team.read")
def delete_team(team_id: int):
    """Delete a team (shares to it are withdrawn); a stale form is refused."""
    principal = require("core.team.delete")
    team = visible(Team, team_id)
    name = team.name
    errors = stale(team, request.form)
    if not errors:
        admin.delete_team(web.db_session(), team, actor=principal.name)
        errors = commit()
    if errors:
        flash(" ".join(errors["_form"]), "error")
        return redirect(url_for("admin.edit_team", team_id=team_id))
    flash(_("The team %(name)s was deleted.", name=name), "success")
    return redirect(url_for("admin.teams"))
