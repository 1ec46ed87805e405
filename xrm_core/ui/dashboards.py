"""Department homes: the saved views pinned for a department and its dashboard widgets.

Widgets come from the core (:data:`CORE_WIDGETS`) and from the plugins enabled for the tenant
(``xrm_dashboard_widgets``). Each is rendered on its own: one that raises is logged and shown as a
small error box, and the rest of the page renders. Widgets read through the request's session, so
they only ever show what the signed-in user may read.

A department's home is for its members and the tenant's administrators. Pinning views and choosing
the widgets is for those who may update departments (``core.department.update``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pygal
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import func, or_, select

from .. import web
from ..contributions import DashboardWidget
from ..graph.models import Party, PartyRoleAssignment
from ..graph.service import RoleCatalogue
from ..identity.authentication import current_principal
from ..identity.models import Department
from .models import DepartmentDashboard, DepartmentPin, SavedView, ViewScope
from .session import read_session
from .shell import contributed

log = logging.getLogger("xrm.ui.dashboards")
blueprint = Blueprint("dashboards", __name__, url_prefix="/departments")

#: Parties the "recent parties" widget lists.
RECENT_LENGTH = 8


@dataclass(frozen=True)
class Widget:
    """A widget that can be shown: ``render()`` returns its HTML (escaped by whoever built it)."""

    name: str
    title: str
    render: Callable[[], str]


@dataclass(frozen=True)
class RenderedWidget:
    name: str
    title: str
    #: ``None`` when the widget failed.
    html: Markup | None


@dataclass(frozen=True)
class DepartmentHome:
    department: Department
    pins: list[tuple[DepartmentPin, SavedView]]
    widgets: list[RenderedWidget]
    may_configure: bool


# -- core widgets ----------------------------------------------------------------------------------


def _recent_parties() -> str:
    parties = read_session().execute(
        select(Party.id, Party.display_name).order_by(Party.updated_at.desc(), Party.id.desc()).limit(RECENT_LENGTH)
    ).all()
    if not parties:
        return f'<p class="muted">{escape(_("No party yet."))}</p>'
    items = "".join(f'<li><a href="{url_for("parties.show", party_id=pid)}">{escape(name)}</a></li>'
                    for pid, name in parties)
    return f'<ul class="widget-list">{items}</ul>'


def _parties_by_role() -> str:
    today = date.today()
    counts = read_session().execute(
        select(PartyRoleAssignment.role, func.count(func.distinct(PartyRoleAssignment.party_id))).where(
            or_(PartyRoleAssignment.valid_from.is_(None), PartyRoleAssignment.valid_from <= today),
            or_(PartyRoleAssignment.valid_to.is_(None), PartyRoleAssignment.valid_to >= today),
        ).group_by(PartyRoleAssignment.role).order_by(PartyRoleAssignment.role)
    ).all()
    if not counts:
        return f'<p class="muted">{escape(_("No party holds a role yet."))}</p>'
    roles = RoleCatalogue.from_platform(web.platform()).roles
    chart = pygal.HorizontalBar(show_legend=False, height=60 + 40 * len(counts), width=500,
                                disable_xml_declaration=True, explicit_size=False, js=[])
    chart.x_labels = [_(roles[role].label) if role in roles else role for role, _count in counts]
    chart.add(_("Parties"), [count for _role, count in counts])
    # pygal escapes the labels it writes into the SVG.
    return f'<figure class="chart" role="img" aria-label="{escape(_("Parties by role"))}">{chart.render(is_unicode=True)}</figure>'


def core_widgets() -> list[Widget]:
    """The core's own widgets."""
    return [
        Widget("core.recent_parties", _("Recently changed parties"), _recent_parties),
        Widget("core.parties_by_role", _("Parties by role"), _parties_by_role),
    ]


def available_widgets() -> dict[str, Widget]:
    """Every widget the tenant can show: the core's, then the enabled plugins', by name."""
    widgets = {widget.name: widget for widget in core_widgets()}
    tenant = web.require_tenant()
    for _plugin, contribution in contributed("xrm_dashboard_widgets", DashboardWidget):
        if contribution.render is None or contribution.name in widgets:
            continue
        widgets[contribution.name] = Widget(contribution.name, contribution.title or contribution.name,
                                            lambda render=contribution.render: render(tenant))
    return widgets


def render_widget(widget: Widget) -> RenderedWidget:
    """The widget's HTML, or an error box's place when it raises (logged, the page goes on)."""
    try:
        html = widget.render()
    except Exception:
        log.exception("dashboard widget %s failed", widget.name)
        return RenderedWidget(widget.name, widget.title, None)
    # Widgets are trusted code returning HTML; they escape what they insert into it.
    return RenderedWidget(widget.name, widget.title, Markup(html if isinstance(html, str) else escape(html)))


# -- department homes -------------------------------------------------------------------------------


def chosen_widgets(department_id: int, available: dict[str, Widget]) -> list[Widget]:
    """The widgets a department's home shows: as chosen by an administrator, else every available one."""
    config = read_session().scalar(select(DepartmentDashboard).where(
        DepartmentDashboard.department_id == department_id))
    if config is None:
        return list(available.values())
    return [available[name] for name in config.widgets if name in available]


def _may_configure() -> bool:
    principal = current_principal()
    return bool(current_user.is_admin or principal.scope_for("core.department.update") is not None)


def _pins(department_id: int) -> list[tuple[DepartmentPin, SavedView]]:
    """The views pinned to the department, that the user can open (department and tenant views)."""
    rows = read_session().execute(
        select(DepartmentPin, SavedView).join(SavedView, SavedView.id == DepartmentPin.saved_view_id)
        .where(DepartmentPin.department_id == department_id, _shared_with(department_id))
        .order_by(SavedView.name, SavedView.id)
    ).all()
    return [(pin, view) for pin, view in rows]


def _shared_with(department_id: int):
    """Views everyone in the department can open: its department views and the tenant's."""
    return or_(SavedView.scope == ViewScope.TENANT,
               (SavedView.scope == ViewScope.DEPARTMENT) & (SavedView.department_id == department_id))


def home_of(department: Department) -> DepartmentHome:
    available = available_widgets()
    return DepartmentHome(department, _pins(department.id),
                          [render_widget(widget) for widget in chosen_widgets(department.id, available)],
                          _may_configure())


def own_home() -> DepartmentHome | None:
    """The signed-in user's department home, for the home page; ``None`` without a department."""
    principal = current_principal()
    if principal is None or principal.department_id is None or web.current_tenant() is None:
        return None
    department = read_session().get(Department, principal.department_id)
    return home_of(department) if department is not None else None


def _department(department_id: int) -> Department:
    """The department whose home the user may open: a member's or an administrator's; 404/403 otherwise."""
    department = read_session().get(Department, department_id)
    if department is None:
        abort(404, description=_("There is no department #%(id)s.", id=department_id))
    if current_principal().department_id != department.id and not current_user.is_admin:
        abort(403, description=_("Only members of %(name)s and administrators can open its home.",
                                 name=department.name))
    return department


@blueprint.get("/<int:department_id>")
@login_required
def show(department_id: int):
    """A department's home: its pinned views and its dashboard."""
    department = _department(department_id)
    return render_template("dashboards/home.html", home=home_of(department),
                           pinnable=_pinnable(department.id) if _may_configure() else [])


def _pinnable(department_id: int) -> list[SavedView]:
    pinned = select(DepartmentPin.saved_view_id).where(DepartmentPin.department_id == department_id)
    return list(read_session().scalars(
        select(SavedView).where(_shared_with(department_id), SavedView.id.not_in(pinned))
        .order_by(SavedView.name, SavedView.id)))


def _require_configure(department_id: int) -> Department:
    department = _department(department_id)
    if not _may_configure():
        abort(403, description=_("You may see this home but not change it."))
    return department


@blueprint.post("/<int:department_id>/pins")
@login_required
def pin(department_id: int):
    """Pin a department or organisation view to the department's home."""
    department = _require_configure(department_id)
    session = web.db_session()
    try:
        view_id = int(request.form.get("saved_view_id", ""))
    except ValueError:
        abort(400, description=_("Choose a view to pin."))
    view = session.scalar(select(SavedView).where(SavedView.id == view_id, _shared_with(department.id)))
    if view is None:
        abort(404, description=_("No view #%(id)s is shared with this department.", id=view_id))
    exists = session.scalar(select(DepartmentPin.id).where(DepartmentPin.department_id == department.id,
                                                           DepartmentPin.saved_view_id == view.id))
    if exists is None:
        session.add(DepartmentPin(department_id=department.id, saved_view_id=view.id))
        session.commit()
    flash(_("View %(name)s pinned.", name=view.name), "success")
    return redirect(url_for("dashboards.show", department_id=department.id))


@blueprint.post("/<int:department_id>/pins/<int:pin_id>/delete")
@login_required
def unpin(department_id: int, pin_id: int):
    """Take a view off the department's home (the view itself stays)."""
    department = _require_configure(department_id)
    session = web.db_session()
    pinned = session.scalar(select(DepartmentPin).where(DepartmentPin.id == pin_id,
                                                        DepartmentPin.department_id == department.id))
    if pinned is None:
        abort(404)
    session.delete(pinned)
    session.commit()
    flash(_("View unpinned."), "success")
    return redirect(url_for("dashboards.show", department_id=department.id))


@blueprint.route("/<int:department_id>/dashboard", methods=["GET", "POST"])
@login_required
def configure(department_id: int):
    """Choose which widgets the department's home shows, and in which order."""
    department = _require_configure(department_id)
    available = available_widgets()
    if request.method == "GET":
        shown = [widget.name for widget in chosen_widgets(department.id, available)]
        return render_template("dashboards/configure.html", department=department, available=available, shown=shown)
    chosen = request.form.getlist("widgets")
    unknown = [name for name in chosen if name not in available]
    if unknown:
        abort(400, description=_("Unknown widget %(name)s.", name=unknown[0]))
    session = web.db_session()
    config = session.scalar(select(DepartmentDashboard).where(DepartmentDashboard.department_id == department.id))
    if config is None:
        config = DepartmentDashboard(department_id=department.id)
        session.add(config)
    config.widgets = list(dict.fromkeys(chosen))
    session.commit()
    flash(_("Dashboard saved."), "success")
    return redirect(url_for("dashboards.show", department_id=department.id))
