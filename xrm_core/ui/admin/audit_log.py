"""Console section: the tenant's audit log, filtered, newest first, with its export."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import lazy_gettext as _l

from ... import audit_log, web
from ...models import AuditEntry
from . import blueprint, may_open, requires, section

#: Entries per page.
PAGE_LENGTH = 100

section("admin.audit", _l("Audit log"), _l("Who changed what, when and from where."), "core.audit.read")


@blueprint.get("/audit")
@requires("core.audit.read")
def audit():
    """The audit log; filters by target, actor and action (``core.user.*`` for a family); older pages by id."""
    filters = {name: request.args.get(name, "").strip() or None for name in ("target", "actor", "action")}
    statement = audit_log.matching(**filters).order_by(None).order_by(AuditEntry.id.desc())
    before = request.args.get("before", type=int)
    if before is not None:
        statement = statement.where(AuditEntry.id < before)
    entries = web.db_session().scalars(statement.limit(PAGE_LENGTH + 1)).all()
    older = entries[PAGE_LENGTH - 1].id if len(entries) > PAGE_LENGTH else None
    return render_template("admin/audit.html", entries=entries[:PAGE_LENGTH], filters=filters, older=older,
                           may_export=may_open("core.audit.export"))
