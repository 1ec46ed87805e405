"""Tenant administration from the command line: ``xrm users|roles|departments|teams|tokens|audit``.

Each command works on one tenant (``--tenant``), in one transaction, audited with the actor
``cli``. Users are named by e-mail, roles and teams by name, departments by name or, where a name
is ambiguous, by their path of names (``HQ/Sales``). Errors are one line, with a non-zero exit.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
from flask.cli import ScriptInfo
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit_log, clock
from ..audit import record
from ..cli_support import pass_info, platform_of, tenant_id_of, tenant_option
from ..errors import NotFound, XrmError
from ..graph.models import RelationshipTypeDef
from ..models import AuditEntry, User
from . import admin, operators
from .catalogue import all_permissions
from .models import ApiToken, Department, Role, Team, TeamMember, UserRole
from .principal import load_principal
from .tokens import create_token, revoke_token

#: Output holds names people chose: printed as-is, never as Rich markup or emoji codes.
out = Console(markup=False, emoji=False)

@contextmanager
def tenant_session(info: ScriptInfo, slug: str, *, write: bool = True) -> Iterator[tuple[object, Session]]:
    """The platform and a session of tenant ``slug`` whose changes are audited as ``cli``; committed on success."""
    platform = platform_of(info)
    tenant_id = tenant_id_of(platform, slug)
    if write:
        with platform.db.transaction(tenant_id) as session:
            session.info["audit_actor"] = "cli"
            yield platform, session
    else:
        with platform.db.session(tenant_id, read_only=True) as session:
            yield platform, session


def _user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"there is no user {email!r} in this tenant")
    return user


def _role(session: Session, name: str) -> Role:
    role = session.scalar(select(Role).where(Role.name == name))
    if role is None:
        raise NotFound(f"there is no role {name!r} in this tenant")
    return role


def _team(session: Session, name: str) -> Team:
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        raise NotFound(f"there is no team {name!r} in this tenant")
    return team


def _department(session: Session, reference: str) -> Department:
    """A department by name, or by its path of names from the top (``HQ/Sales``) when a name is ambiguous."""
    names = [part.strip() for part in reference.strip("/").split("/")]
    if len(names) == 1:
        found = session.scalars(select(Department).where(Department.name == names[0])).all()
        if len(found) > 1:
            raise XrmError(f"several departments are named {names[0]!r}: give its path, e.g. "
                           f"{_path_names(session, found[0])}")
        if found:
            return found[0]
        raise NotFound(f"there is no department {reference!r} in this tenant")
    parent_id = None
    department = None
    for name in names:
        department = session.scalar(select(Department).where(
            Department.name == name,
            Department.parent_id.is_(None) if parent_id is None else Department.parent_id == parent_id))
        if department is None:
            raise NotFound(f"there is no department {reference!r} in this tenant")
        parent_id = department.id
    return department


def _path_names(session: Session, department: Department) -> str:
    ids = [int(i) for i in department.path.strip("/").split("/") if i]
    names = dict(session.execute(select(Department.id, Department.name).where(Department.id.in_(ids))).all())
    return "/".join(names[i] for i in ids)


def _moment(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise XrmError(f"{option}: {value!r} is not a date or time (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- users --------------------------------------------------------------------------------------


@click.command("list")
@tenant_option
@click.option("--inactive", is_flag=True, help="Also list deactivated users.")
@pass_info
def users_list(info: ScriptInfo, tenant_slug: str, inactive: bool) -> None:
    """List a tenant's users with their department and roles."""
    table = Table("e-mail", "name", "active", "department", "roles")
    with tenant_session(info, tenant_slug, write=False) as (_platform, session):
        statement = select(User).order_by(User.email)
        for user in session.scalars(statement if inactive else statement.where(User.active.is_(True))):
            department = session.get(Department, user.department_id) if user.department_id else None
            roles = session.scalars(select(Role.name).join(UserRole, UserRole.role_id == Role.id)
                                    .where(UserRole.user_id == user.id).order_by(Role.name))
            table.add_row(user.email, user.display_name, "yes" if user.active else "no",
                          _path_names(session, department) if department else "-", ", ".join(roles))
    out.print(table)


@click.command("deactivate")
@click.argument("email")
@tenant_option
@pass_info
def users_deactivate(info: ScriptInfo, email: str, tenant_slug: str) -> None:
    """Deactivate user EMAIL: their sessions and API tokens stop working at once."""
    with tenant_session(info, tenant_slug) as (_platform, session):
        admin.deactivate(session, _user(session, email), actor="cli")
    out.print(f"Deactivated {email}")


@click.command("set-department")
@click.argument("email")
@click.argument("department", required=False)
@tenant_option
@pass_info
def users_set_department(info: ScriptInfo, email: str, department: str | None, tenant_slug: str) -> None:
    """Put user EMAIL in DEPARTMENT (a name or a path like HQ/Sales); without it, in none."""
    with tenant_session(info, tenant_slug) as (_platform, session):
        target = _department(session, department) if department else None
        admin.set_department(session, _user(session, email), target, actor="cli")
    out.print(f"{email} is now in {department}" if department else f"{email} is now in no department")


@click.command("grant-role")
@click.argument("email")
@click.argument("role")
@tenant_option
@pass_info
def users_grant_role(info: ScriptInfo, email: str, role: str, tenant_slug: str) -> None:
    """Give user EMAIL the role ROLE (effective on their next request)."""
    with tenant_session(info, tenant_slug) as (_platform, session):
        admin.assign_role(session, _user(session, email), _role(session, role), actor="cli")
    out.print(f"{email} has the role {role}")


@click.command("revoke-role")
@click.argument("email")
@click.argument("role")
@tenant_option
@pass_info
def users_revoke_role(info: ScriptInfo, email: str, role: str, tenant_slug: str) -> None:
    """Take the role ROLE from user EMAIL (effective on their next request)."""
    with tenant_session(info, tenant_slug) as (_platform, session):
        admin.revoke_role(session, _user(session, email), _role(session, role), actor="cli")
    out.print(f"{email} no longer has the role {role}")


# -- roles --------------------------------------------------------------------------------------


@click.group("roles")
def roles_group() -> None:
    """Roles of a tenant and the permissions they grant."""


@roles_group.command("list")
@tenant_option
@pass_info
def roles_list(info: ScriptInfo, tenant_slug: str) -> None:
    """List roles, their users and their grants (permission@scope)."""
    table = Table("role", "users", "grants")
    with tenant_session(info, tenant_slug, write=False) as (_platform, session):
        for role in session.scalars(select(Role).order_by(Role.name)):
            count = session.scalar(select(func.count()).select_from(UserRole).where(UserRole.role_id == role.id))
            table.add_row(role.name, str(count), "\n".join(admin.format_grants(admin.grants_of(session, role))))
    out.print(table)


@roles_group.command("define")
@click.argument("name")
@click.option("--grant", "grants", multiple=True, metavar="PERMISSION@SCOPE",
              help="A grant, e.g. core.party.read@department (repeat; scopes: own, department, subtree, tenant, "
                   "or related:TYPE[,TYPE][/incoming|/both] for the parties related to the user's party).")
@click.option("--description", default=None, help="What the role is for.")
@tenant_option
@pass_info
def roles_define(info: ScriptInfo, name: str, grants: tuple[str, ...], description: str | None, tenant_slug: str) -> None:
    """Create role NAME, or redefine it with exactly the given grants."""
    with tenant_session(info, tenant_slug) as (platform, session):
        known = all_permissions(platform)
        relationship_types = set(session.scalars(select(RelationshipTypeDef.code)))
        parsed = admin.parse_grants(list(grants), known, relationship_types)
        role = admin.define_role(session, name, parsed, set(known), actor="cli")
        if description is not None:
            role.description = description
    out.print(f"Role {name} grants {len(parsed)} permission(s)")


# -- departments --------------------------------------------------------------------------------


@click.group("departments")
def departments_group() -> None:
    """The department tree of a tenant."""


@departments_group.command("list")
@tenant_option
@pass_info
def departments_list(info: ScriptInfo, tenant_slug: str) -> None:
    """Show the department tree, with each department's number of users."""
    with tenant_session(info, tenant_slug, write=False) as (_platform, session):
        departments = session.scalars(select(Department).order_by(Department.path)).all()
        users = dict(session.execute(select(User.department_id, func.count()).where(User.department_id.is_not(None))
                                     .group_by(User.department_id)).all())
        names = {d.id: d.name for d in departments}
        # Children sort after their parent by path; indentation shows the depth.
        for department in sorted(departments, key=lambda d: [names[int(i)] for i in d.path.strip("/").split("/")]):
            depth = department.path.strip("/").count("/")
            out.print(f"{'  ' * depth}{department.name}  ({users.get(department.id, 0)} user(s))")
        if not departments:
            out.print("No departments")


@departments_group.command("create")
@click.argument("name")
@click.option("--parent", help="The parent department (a name or a path like HQ/Sales); default: top level.")
@tenant_option
@pass_info
def departments_create(info: ScriptInfo, name: str, parent: str | None, tenant_slug: str) -> None:
    """Create department NAME."""
    with tenant_session(info, tenant_slug) as (_platform, session):
        admin.create_department(session, name, _department(session, parent) if parent else None, actor="cli")
    out.print(f"Created department {name}")


@departments_group.command("move")
@click.argument("department")
@click.option("--to", "parent", help="The new parent (a name or a path); omit with --top.")
@click.option("--top", is_flag=True, help="Move it to the top level.")
@tenant_option
@pass_info
def departments_move(info: ScriptInfo, department: str, parent: str | None, top: bool, tenant_slug: str) -> None:
    """Move DEPARTMENT, with everything below it, under another parent."""
    if bool(parent) == top:
        raise click.UsageError("give either --to PARENT or --top")
    with tenant_session(info, tenant_slug) as (_platform, session):
        node = _department(session, department)
        admin.move_department(session, node, None if top else _department(session, parent), actor="cli")
    out.print(f"Moved {department} " + ("to the top level" if top else f"under {parent}"))


# -- teams --------------------------------------------------------------------------------------


@click.group("teams")
def teams_group() -> None:
    """Teams of a tenant and their members."""


@teams_group.command("list")
@tenant_option
@pass_info
def teams_list(info: ScriptInfo, tenant_slug: str) -> None:
    """List teams and their members."""
    table = Table("team", "members")
    with tenant_session(info, tenant_slug, write=False) as (_platform, session):
        for team in session.scalars(select(Team).order_by(Team.name)):
            members = session.scalars(select(User.email).join(TeamMember, TeamMember.user_id == User.id)
                                      .where(TeamMember.team_id == team.id).order_by(User.email))
            table.add_row(team.name, ", ".join(members))
    out.print(table)


@teams_group.command("create")
@click.argument("name")
@click.option("--member", "members", multiple=True, metavar="EMAIL", help="A member (repeat).")
@tenant_option
@pass_info
def teams_create(info: ScriptInfo, name: str, members: tuple[str, ...], tenant_slug: str) -> None:
    """Create team NAME."""
    with tenant_session(info, tenant_slug) as (_platform, session):
        if session.scalar(select(Team.id).where(Team.name == name.strip())) is not None:
            raise XrmError(f"team {name!r} already exists")
        admin.create_team(session, name, [_user(session, email) for email in members], actor="cli")
    out.print(f"Created team {name}")


@teams_group.command("add-member")
@click.argument("team")
@click.argument("email")
@tenant_option
@pass_info
def teams_add_member(info: ScriptInfo, team: str, email: str, tenant_slug: str) -> None:
    """Add user EMAIL to TEAM."""
    with tenant_session(info, tenant_slug) as (_platform, session):
        admin.add_member(session, _team(session, team), _user(session, email), actor="cli")
    out.print(f"{email} is in team {team}")


# -- tokens -------------------------------------------------------------------------------------


@click.group("tokens")
def tokens_group() -> None:
    """Personal API tokens of a tenant's users."""


@tokens_group.command("create")
@click.option("--user", "email", required=True, help="Whose token (e-mail).")
@click.option("--name", required=True, help="What the token is for (e.g. the machine using it).")
@click.option("--permission", "permissions", multiple=True,
              help="Limit the token to this permission of the user's (repeat); default: all of them.")
@click.option("--expires", help="When it stops working (ISO 8601, UTC unless given); default: never.")
@tenant_option
@pass_info
def tokens_create(info: ScriptInfo, email: str, name: str, permissions: tuple[str, ...], expires: str | None,
                  tenant_slug: str) -> None:
    """Create a token and print it: this is the only time it is shown."""
    expires_at = _moment(expires, "--expires")
    if expires_at is not None and expires_at <= clock.now():
        raise XrmError("--expires must be in the future")
    with tenant_session(info, tenant_slug) as (_platform, session):
        user = _user(session, email)
        if not user.active:
            raise XrmError(f"{user.email} is deactivated")
        beyond = sorted(set(permissions) - set(load_principal(session, user).grants))
        if beyond:
            raise XrmError(f"{user.email} does not hold {', '.join(beyond)}: a token cannot carry more than its user")
        row, token = create_token(session, user, name, list(permissions), expires_at)
        record(session, "cli", "token.created", f"core.token#{row.id}", user=user.email, name=row.name,
               permissions=row.permissions, expires_at=expires_at.isoformat() if expires_at else None)
        token_id = row.id
    console = Console(stderr=True)
    console.print(f"Token {token_id} for {email} (shown once: store it now):")
    click.echo(token)


@tokens_group.command("list")
@click.option("--user", "email", help="Only this user's tokens.")
@tenant_option
@pass_info
def tokens_list(info: ScriptInfo, email: str | None, tenant_slug: str) -> None:
    """List tokens (never their text): id, user, name, permissions, expiry, last use, revocation."""
    table = Table("id", "user", "name", "permissions", "expires", "last used", "revoked")
    with tenant_session(info, tenant_slug, write=False) as (_platform, session):
        statement = select(ApiToken, User.email).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
        if email:
            statement = statement.where(ApiToken.user_id == _user(session, email).id)
        for token, owner in session.execute(statement):
            table.add_row(str(token.id), owner, token.name, ", ".join(token.permissions) or "all",
                          _when(token.expires_at), _when(token.last_used_at), _when(token.revoked_at))
    out.print(table)


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@tenant_option
@pass_info
def tokens_revoke(info: ScriptInfo, token_id: int, tenant_slug: str) -> None:
    """Revoke token TOKEN_ID (from 'xrm tokens list'): refused from the next request on."""
    with tenant_session(info, tenant_slug) as (_platform, session):
        token = session.get(ApiToken, token_id)
        if token is None:
            raise NotFound(f"there is no token {token_id} in this tenant")
        revoke_token(token)
        record(session, "cli", "token.revoked", f"core.token#{token.id}", user_id=token.user_id,
               name=token.name)
    out.print(f"Revoked token {token_id}")


# -- audit --------------------------------------------------------------------------------------


@click.group("audit")
def audit_group() -> None:
    """The tenant's audit log: list and export (it cannot be changed)."""


def audit_filters(f):
    for option in reversed((
        click.option("--target", help="Only entries about this target (e.g. core.party#12)."),
        click.option("--actor", help="Only entries by this actor (user:<id>, cli, platform)."),
        click.option("--action", help="Only this action, or a family: core.user.*"),
        click.option("--since", help="At or after this date/time (ISO 8601, UTC unless given)."),
        click.option("--until", help="Before this date/time."),
    )):
        f = option(f)
    return f


def _matching(target, actor, action, since, until):
    return audit_log.matching(target=target, actor=actor, action=action,
                              since=_moment(since, "--since"), until=_moment(until, "--until"))


@audit_group.command("list")
@tenant_option
@audit_filters
@click.option("--limit", default=50, show_default=True, help="Most entries shown (the newest).")
@pass_info
def audit_list(info: ScriptInfo, tenant_slug: str, target, actor, action, since, until, limit: int) -> None:
    """The newest audit entries, one a line: time, actor, action, target, changes or details."""
    statement = _matching(target, actor, action, since, until)
    newest = statement.order_by(None).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    with tenant_session(info, tenant_slug, write=False) as (_platform, session):
        entries = list(reversed(session.scalars(newest).all()))
    for entry in entries:
        what = entry.changes or entry.details or ""
        out.print(f"{entry.at:%Y-%m-%d %H:%M:%S}  {entry.actor}  {entry.action}  {entry.target}  {what}",
                  soft_wrap=True)
    if not entries:
        out.print("No audit entries")


@audit_group.command("export")
@tenant_option
@audit_filters
@click.option("--format", "fmt", type=click.Choice(audit_log.FORMATS), default="csv", show_default=True,
              help="CSV with a header line, or JSON Lines.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
@pass_info
def audit_export(info: ScriptInfo, tenant_slug: str, target, actor, action, since, until, fmt: str,
                 output: Path | None) -> None:
    """Export the matching entries, oldest first (streamed: any size)."""
    statement = _matching(target, actor, action, since, until)
    with tenant_session(info, tenant_slug, write=False) as (_platform, session):
        if output is None:
            for chunk in audit_log.export(session, statement, fmt):
                sys.stdout.write(chunk)
        else:
            with output.open("w", encoding="utf-8", newline="") as file:
                for chunk in audit_log.export(session, statement, fmt):
                    file.write(chunk)


@click.group("operators")
def operators_group() -> None:
    """Platform operators: they manage tenants (/api/v1/platform) and read a tenant only under its grant."""


@operators_group.command("create")
@click.argument("email")
@click.option("--name", default="", help="Display name (defaults to the e-mail).")
@pass_info
def operators_create(info: ScriptInfo, email: str, name: str) -> None:
    """Create operator EMAIL and print its token (shown this once)."""
    with platform_of(info).db.transaction(all_tenants=True) as session:
        operator, token = operators.create_operator(session, email, name)
    out.print(f"Created operator {operator.email}; token (shown once): {token}")


@operators_group.command("list")
@pass_info
def operators_list(info: ScriptInfo) -> None:
    """List operators, active or not, with their last use."""
    table = Table("email", "name", "active", "last used")
    with platform_of(info).db.session(all_tenants=True, read_only=True) as session:
        for operator in session.scalars(select(operators.Operator).order_by(operators.Operator.email)):
            table.add_row(operator.email, operator.display_name, "yes" if operator.active else "no",
                          f"{operator.last_used_at:%Y-%m-%d %H:%M}" if operator.last_used_at else "never")
    out.print(table)


@operators_group.command("rotate")
@click.argument("email")
@pass_info
def operators_rotate(info: ScriptInfo, email: str) -> None:
    """Give operator EMAIL a new token (the old one stops working) and reactivate it."""
    with platform_of(info).db.transaction(all_tenants=True) as session:
        token = operators.rotate_token(operators.get_operator(session, email))
    out.print(f"New token for {email} (shown once): {token}")


@operators_group.command("deactivate")
@click.argument("email")
@pass_info
def operators_deactivate(info: ScriptInfo, email: str) -> None:
    """Stop operator EMAIL's token from working anywhere (its support grants lapse with it)."""
    with platform_of(info).db.transaction(all_tenants=True) as session:
        operators.get_operator(session, email).active = False
    out.print(f"Deactivated operator {email}")


USER_COMMANDS = (users_list, users_deactivate, users_set_department, users_grant_role, users_revoke_role)
GROUPS = (roles_group, departments_group, teams_group, tokens_group, audit_group, operators_group)


def register(cli: click.Group, users: click.Group) -> None:
    """Add these commands to the ``xrm`` command (and its ``users`` group)."""
    for command in USER_COMMANDS:
        users.add_command(command)
    for group in GROUPS:
        cli.add_command(group)
