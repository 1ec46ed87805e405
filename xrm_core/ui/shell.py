"""What every page shares: the header (tenant, department), navigation, search, language.

Everything plugins contribute is called through the plugin host, which logs and skips a raising
implementation; what the host cannot see (a generator that raises while being consumed) is caught
here too, so a broken plugin costs its own entries, never the page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import or_, select

from .. import web
from ..contributions import NavEntry, SearchHit
from ..graph.models import Party, PartyIdentifier
from ..identity.authentication import current_principal
from ..identity.models import Department
from ..local_paths import is_local_path
from .i18n import LOCALES, select_locale, store_locale
from .session import read_session

log = logging.getLogger("xrm.ui")
blueprint = Blueprint("ui", __name__)

#: Hits the global search shows per source (parties, then each plugin).
SEARCH_LIMIT = 10


@dataclass(frozen=True)
class Shell:
    """The header and navigation of a page, for one request."""

    tenant_name: str | None = None
    department_name: str | None = None
    nav: list[NavEntry] = field(default_factory=list)
    locale: str = "en"
    locales: dict[str, str] = field(default_factory=lambda: dict(LOCALES))


def shell_context() -> dict[str, Any]:
    """Template context of every page: ``shell``; never fails (an error page must still render)."""
    try:
        return {"shell": _build_shell()}
    except Exception:  # the page being rendered may be the report of this very failure
        log.exception("could not build the page shell")
        return {"shell": Shell()}


def _build_shell() -> Shell:
    locale = select_locale()
    tenant = web.current_tenant()
    if tenant is None:
        return Shell(locale=locale)
    session = read_session()
    principal = current_principal()
    department = None
    if principal is not None and principal.department_id is not None:
        department = session.scalar(select(Department.name).where(Department.id == principal.department_id))
    return Shell(tenant_name=tenant.name, department_name=department, nav=navigation(), locale=locale)


def navigation() -> list[NavEntry]:
    """Navigation entries of the plugins enabled for the request's tenant, in display order.

    Collected once per request, however many times a page asks: each call of a failing plugin
    counts towards its circuit breaker.
    """
    if "xrm_navigation" not in g:
        entries = contributed("xrm_navigation", NavEntry) if web.current_tenant() is not None else []
        g.xrm_navigation = sorted((entry for _plugin, entry in entries), key=lambda e: (e.order, e.label))
    return g.xrm_navigation


def contributed(hook_name: str, kind: type, **kwargs: Any) -> list[tuple[str, Any]]:
    """The enabled plugins' contributions to ``hook_name`` for this request, or none on failure."""
    try:
        return web.platform().contributions_for_tenant(
            hook_name, kind, web.require_tenant(), read_session(), **kwargs)
    except Exception:
        log.exception("collecting %s failed", hook_name)
        return []


# -- global search -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    title: str
    url: str
    source: str


@blueprint.get("/search")
@login_required
def search():
    """Parties by name or identifier, then what plugins find; only what the user may read."""
    query = request.args.get("q", "").strip()
    results = search_everything(query) if query else []
    template = "search_results.html" if request.headers.get("HX-Request") else "search.html"
    return render_template(template, query=query, results=results)


def search_everything(query: str) -> list[Result]:
    session = web.db_session()
    pattern = Party.display_name.icontains(query, autoescape=True)
    by_identifier = Party.id.in_(select(PartyIdentifier.party_id).where(PartyIdentifier.value == query))
    parties = session.execute(
        select(Party.id, Party.display_name, Party.kind).where(or_(pattern, by_identifier))
        .order_by(Party.display_name, Party.id).limit(SEARCH_LIMIT)
    ).all()
    results = [Result(name, url_for("parties.show", party_id=pid), _("Person") if kind == "person"
                      else _("Organization")) for pid, name, kind in parties]
    hits = [hit for _plugin, hit in contributed("xrm_search", SearchHit, query=query, limit=SEARCH_LIMIT)]
    hits.sort(key=lambda hit: -hit.score)
    results += [Result(hit.title, hit.url, hit.name.split(".")[0]) for hit in hits if _local(hit.url)]
    return results


def _local(url: str) -> bool:
    """Plugins link to their own pages: an absolute or protocol-relative URL is dropped."""
    return is_local_path(url)


# -- language ------------------------------------------------------------------------------------


@blueprint.post("/account/language")
@login_required
def change_language():
    """Store the user's interface language (empty: follow the browser) and go back."""
    locale = request.form.get("locale", "")
    if locale and locale not in LOCALES:
        abort(400, description=f"Unknown language {locale!r}; choose one of {', '.join(LOCALES)}.")
    store_locale(current_principal().user_id, locale or None)
    web.db_session().commit()
    flash(_("Language changed."), "success")
    target = request.form.get("next", "")
    return redirect(target if _local(target) else url_for("core.index"))


@blueprint.get("/help")
def help_page():
    """What the application is and how its pages work."""
    return render_template("help.html")
