"""The UI's read-only session for what surrounds every page's content."""

from __future__ import annotations

from flask import g, request
from sqlalchemy.orm import Session

from .. import web
from ..identity.authentication import current_principal
from ..identity.scoping import act_as


def read_session() -> Session:
    """A session for what every page shows around its content (header, navigation, language).

    On safe requests, the request's own (read-only) session. Otherwise a separate read-only one,
    scoped alike: a page rendered inside a write transaction (a form redisplayed with its errors)
    must not queue for the writer lock that very transaction holds on SQLite.
    """
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return web.db_session()
    if "xrm_ui_read_session" not in g:
        tenant = web.require_tenant()
        session = web.platform().db.session(tenant.id, read_only=True)
        act_as(session, current_principal())
        g.xrm_ui_read_session = session
    return g.xrm_ui_read_session


def close_read_session(_exc: BaseException | None = None) -> None:
    session = g.pop("xrm_ui_read_session", None)
    if session is not None:
        session.close()
