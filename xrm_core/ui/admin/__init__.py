"""The tenant admin console under ``/admin``: one page per thing an admin configures.

Each section lives in its own module of this package, adds its routes to :data:`blueprint` and
declares itself with :func:`section`; the console's home lists the sections the signed-in user may
open. A section is open to tenant admins and to whoever holds its permission (at any scope): the
section's own routes still check each action, exactly as the API does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from typing import Callable

from flask import Blueprint, abort, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ...identity.authentication import current_principal

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


@dataclass(frozen=True)
class Section:
    endpoint: str
    label: str
    description: str
    permission: str


SECTIONS: list[Section] = []


def section(endpoint: str, label, description, permission: str) -> None:
    """Declare a console section: its landing endpoint, labels and the permission that opens it."""
    SECTIONS.append(Section(endpoint, label, description, permission))


def may_open(permission: str) -> bool:
    """Whether the signed-in user may open a section guarded by ``permission``."""
    principal = current_principal()
    return bool(principal is not None and (current_user.is_admin or principal.scope_for(permission) is not None))


def requires(permission: str) -> Callable:
    """Guard a console view: signed in, and admin or holder of ``permission`` (else 403)."""
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def guarded(*args, **kwargs):
            if not may_open(permission):
                abort(403, description=_l("Only a tenant administrator may open this page."))
            return view(*args, **kwargs)
        return guarded
    return decorate


def open_sections() -> list[Section]:
    """The console sections the signed-in user may open, for the home page and the header link."""
    return [entry for entry in SECTIONS if may_open(entry.permission)]


@blueprint.get("")
@login_required
def index():
    """The console's home: the sections this user may open."""
    sections = open_sections()
    if not sections:
        abort(403, description=_l("Only a tenant administrator may open the admin console."))
    return render_template("admin/index.html", sections=sections)


# Each section registers its routes on import; keep one line per section module.
from . import audit_log  # noqa: E402,F401  (the audit log)
from . import plugins  # noqa: E402,F401  (plugins enabled here and their settings)
from . import workflows  # noqa: E402,F401  (workflows: editor, versions, dry run, backtest, runs)
from . import custom_fields  # noqa: E402,F401  (custom fields of parties and plugins' records)
from . import relationship_types  # noqa: E402,F401  (relationship types)
from . import webhooks  # noqa: E402,F401  (webhook subscriptions and their deliveries)
from . import dead_letters  # noqa: E402,F401  (failed deliveries: retry, discard)
from . import tokens  # noqa: E402,F401  (every user's API tokens, revocation)
from . import users  # noqa: E402,F401  (users: department, roles, language, deactivation)
from . import roles  # noqa: E402,F401  (roles and their grants)
from . import departments  # noqa: E402,F401  (the department tree)
from . import teams  # noqa: E402,F401  (teams and their members)
