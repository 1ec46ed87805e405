"""The documents' settings page (``/sales/settings/documents``): letterhead, legal mentions, terms, logo.

The page validates with the API's schema and saves through :mod:`xrm_sales.letterhead`, as
``PATCH /document-settings`` and ``PUT /document-settings/logo`` do; a refusal is shown next to the
field it names and nothing is saved (neither the texts nor the logo). The form carries the
settings' version: a form opened before someone else's change is refused rather than overwriting it.
"""

from __future__ import annotations

import marshmallow as ma
import xrm_sdk as xrm
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from . import letterhead
from .documents_api import DocumentSettingsSchema
from .documents_service import document_profile
from .permissions import allowed, require

blueprint = Blueprint("sales_letterhead", __name__, template_folder="templates", url_prefix="/sales/settings")

#: The settings the page shows, validated by the API's schema.
FIELDS = ("company_name", "company_address", "legal_mentions", "quote_validity_days", "payment_terms_days")


@blueprint.route("/documents", methods=["GET", "POST"])
def documents():
    """Show and change the letterhead printed on quotes, orders and invoices."""
    session = xrm.db_session()
    require(session, "sales.document_settings.read")
    profile = document_profile(session)
    if request.method == "GET":
        form = {name: getattr(profile, name) for name in FIELDS}
        session.commit()  # a profile created on this first read keeps the version the form carries
        return _page({**form, "version": str(profile.version)}, {}, profile)
    require(session, "sales.document_settings.update")
    form = {name: request.form.get(name, "") for name in (*FIELDS, "version")}
    if form["version"] != str(profile.version):
        return _page(form, {"_form": [_(
            "Someone else changed these settings after you opened the form; nothing was saved. "
            "Reload the page to see their changes.")]}, profile), 409
    errors: dict[str, list[str]] = {}
    try:
        changes = DocumentSettingsSchema(only=FIELDS).load({name: form[name] for name in FIELDS})
        letterhead.update_letterhead(session, changes)
        upload = request.files.get("logo")
        if upload is not None and upload.filename:
            letterhead.set_logo(session, upload.read(letterhead.MAX_LOGO_BYTES + 1))  # more is refused
        elif request.form.get("remove_logo") == "on":
            letterhead.remove_logo(session)
        session.commit()
    except StaleDataError:  # saved by someone else between the version check and this commit
        session.rollback()
        return _page(form, {"_form": [_(
            "Someone else changed these settings while you were saving; nothing was saved. "
            "Reload the page to see their changes.")]}, document_profile(session)), 409
    except ma.ValidationError as exc:
        session.rollback()
        messages = exc.messages if isinstance(exc.messages, dict) else {"_form": exc.messages}
        errors = {name: [str(m) for m in (found if isinstance(found, list) else [found])]
                  for name, found in messages.items()}
        return _page(form, errors, document_profile(session)), 422
    flash(_("Document settings saved."), "success")
    return redirect(url_for(".documents"))


@blueprint.get("/documents/logo")
def logo():
    """The current logo, for the page's preview."""
    session = xrm.db_session()
    require(session, "sales.document_settings.read")
    data = document_profile(session).logo or abort(404)
    return Response(data, mimetype=letterhead.stored_logo_type(data))


def _page(form, errors, profile):
    return render_template("sales/document_settings.html", form=form, errors=errors, has_logo=profile.logo is not None,
                           may_update=allowed(xrm.db_session(), "sales.document_settings.update"),
                           max_kb=letterhead.MAX_LOGO_BYTES // 1024)
