"""The sales settings page (``/sales/settings/reporting``) and resource (``/api/v1/sales/settings``).

Both read and change the tenant's :class:`~xrm_sales.sales_settings.SalesSettings` through
:func:`~xrm_sales.sales_settings.set_reporting_currency`, so the same rule holds. A change must be
made on the current version: the page's form carries it (a stale form is refused, nothing saved),
the API's ``PUT`` needs the settings' ETag in ``If-Match`` (428 without, 412 when stale).
"""

from __future__ import annotations

import xrm_sdk as xrm
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from marshmallow import fields, validate
from sqlalchemy.orm.exc import StaleDataError

from .permissions import allowed, require
from .sales_settings import CONFIGURE, SalesSettings, sales_settings, set_reporting_currency

blueprint = Blueprint("sales_general_settings", __name__, template_folder="templates", url_prefix="/sales/settings")
api_blueprint = xrm.ApiBlueprint("sales_settings_api", __name__, description="The tenant's sales settings")

#: Who may read the settings: whoever reads a report they shape, or may change them.
READERS = ("sales.revenue.read", "sales.opportunity.read", CONFIGURE)


def _require_reader(session) -> None:
    if not any(allowed(session, permission) for permission in READERS):
        require(session, READERS[0])  # refused, naming a permission that would do


def _settings(session) -> SalesSettings:
    settings = sales_settings(session)
    session.commit()  # settings created on this first read keep their id, and so their ETag
    return settings


class SalesSettingsSchema(xrm.RecordSchema):
    reporting_currency = fields.String(
        allow_none=True, validate=validate.Regexp(r"^([A-Z]{3})?$", error="A three-letter currency code such as EUR."),
        metadata={"description": "ISO 4217 code the reports convert every amount to when asked "
                                 "(currency=reporting); null: the reports stay per currency."})


@api_blueprint.route("/settings")
class SalesSettingsResource(MethodView):
    @api_blueprint.record_response(SalesSettingsSchema)
    def get(self):
        """The tenant's sales settings, with their ETag."""
        session = xrm.db_session()
        _require_reader(session)
        return _settings(session)

    @api_blueprint.requires_if_match
    @api_blueprint.arguments(SalesSettingsSchema)
    @api_blueprint.record_response(SalesSettingsSchema)
    def put(self, data):
        """Replace the sales settings (send their ETag in If-Match); needs ``sales.settings.update``."""
        session = xrm.db_session()
        require(session, CONFIGURE)
        settings = xrm.get_for_update(SalesSettings, _settings(session).id)
        set_reporting_currency(session, settings, data.get("reporting_currency"))
        session.commit()
        return settings


@blueprint.route("/reporting", methods=["GET", "POST"])
def reporting():
    """Show and change the reporting currency (refused when the form is stale)."""
    session = xrm.db_session()
    _require_reader(session)
    settings = _settings(session)
    if request.method == "GET":
        return _page({"reporting_currency": settings.reporting_currency or "", "version": str(settings.version)}, {})
    require(session, CONFIGURE)
    form = {"reporting_currency": request.form.get("reporting_currency", "").strip(),
            "version": request.form.get("version", "")}
    if form["version"] != str(settings.version):
        return _page(form, {"_form": [_("Someone else changed these settings after you opened the form; nothing "
                                        "was saved. Reload the page to see their changes.")]}), 409
    try:
        set_reporting_currency(session, settings, form["reporting_currency"])
        session.commit()
    except xrm.ValidationError:
        session.rollback()
        return _page(form, {"reporting_currency": [_("A three-letter currency code such as EUR, or nothing.")]}), 422
    except StaleDataError:  # saved by someone else between the version check and this commit
        session.rollback()
        return _page(form, {"_form": [_("Someone else changed these settings while you were saving; nothing was "
                                        "saved. Reload the page to see their changes.")]}), 409
    flash(_("Sales settings saved."), "success")
    return redirect(url_for(".reporting"))


def _page(form, errors):
    return render_template("sales/sales_settings.html", form=form, errors=errors,
                           may_update=allowed(xrm.db_session(), CONFIGURE))
