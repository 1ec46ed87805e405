"""The signed-in user's own preferences: interface language and time zone (``/account/preferences``).

The language is also switchable from every page's side bar (:func:`xrm_core.ui.shell.change_language`);
the time zone decides in which zone every date the interface shows is written, and what "today"
means in plugins' agendas (``xrm.user_time_zone``). Empty choices follow the browser's language
and the organisation's time zone.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from .. import web
from ..identity.authentication import current_principal
from .i18n import LOCALES, is_time_zone, preference_for_update, stored_locale, stored_time_zone, time_zones

blueprint = Blueprint("account_preferences", __name__)


def _page(errors: dict[str, str], chosen: dict[str, str], status: int = 200):
    return render_template("account/preferences.html", errors=errors, chosen=chosen, locales=LOCALES,
                           time_zones=time_zones(), tenant_zone=web.require_tenant().time_zone or "UTC"), status


@blueprint.route("/account/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    """Show the user's preferences; on POST, check both fields and save them together (or neither)."""
    if request.method == "GET":
        return _page({}, {"locale": stored_locale() or "", "time_zone": stored_time_zone() or ""})
    chosen = {name: request.form.get(name, "").strip() for name in ("locale", "time_zone")}
    errors = {}
    if chosen["locale"] and chosen["locale"] not in LOCALES:
        errors["locale"] = _("Choose a language from the list.")
    if chosen["time_zone"] and not is_time_zone(chosen["time_zone"]):
        errors["time_zone"] = _("“%(zone)s” is not a time zone; choose one from the list, such as Europe/Paris.",
                                zone=chosen["time_zone"])
    if errors:
        return _page(errors, chosen, 400)
    preference = preference_for_update(current_principal().user_id)
    preference.locale = chosen["locale"] or None
    preference.time_zone = chosen["time_zone"] or None
    web.db_session().commit()
    flash(_("Your preferences were saved."), "success")
    return redirect(url_for(".preferences"))
