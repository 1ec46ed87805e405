"""The public web form endpoint: ``POST /sales/forms/<tenant-slug>/<form-key>`` adds a lead.

Websites embed a plain HTML form posting here; no account, no CSRF token. What protects it:

* the form key is a token signed by the platform for this tenant and form (a guessed or altered
  key is a 404), and a form can be switched off (``LeadForm.active``);
* a honeypot field (``website``), hidden from people by the embedding page: a request filling it is
  answered like a success, so a bot learns nothing, and nothing is stored;
* a rate limit per client address (429 beyond it).
"""

from __future__ import annotations

import xrm_sdk as xrm
from flask import jsonify, render_template, request
from marshmallow import EXCLUDE, fields, validate
from sqlalchemy.orm import Session

from .leads import create_lead
from .pipeline import LeadForm

#: What form keys are signed for; a token signed for anything else is refused.
KEY_PURPOSE = "sales.lead_form"
#: Keys are printed into websites and must outlive redesigns; a form is revoked by deactivating it.
KEY_MAX_AGE_SECONDS = 10 * 365 * 24 * 3600
#: Posts allowed per client address.
RATE_LIMIT = "5 per minute"
#: The field people never see and bots fill in.
HONEYPOT = "website"

blueprint = xrm.PublicBlueprint("sales_forms", __name__, template_folder="templates", url_prefix="/sales/forms")


class WebFormSchema(xrm.Schema):
    class Meta:
        unknown = EXCLUDE  # websites add their own fields (submit buttons, tracking)

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True, validate=validate.Length(max=254))
    company = fields.String(load_default="", validate=validate.Length(max=200))
    phone = fields.String(load_default="", validate=validate.Length(max=50))
    message = fields.String(load_default="", validate=validate.Length(max=5000))


def create_form(session: Session, name: str, department_id: int | None = None) -> LeadForm:
    """Add a web form whose leads go to ``department_id``; the caller commits."""
    form = LeadForm(name=name, department_id=department_id, active=True)
    session.add(form)
    session.flush()
    return form


def form_key(session: Session, form: LeadForm) -> str:
    """The signed key to put in the form's public URL."""
    return xrm.sign_token(session, KEY_PURPOSE, {"tenant": form.tenant_id, "form": form.id})


def _form_for_key(session: Session, key: str) -> LeadForm:
    try:
        data = xrm.read_signed_token(session, KEY_PURPOSE, key, KEY_MAX_AGE_SECONDS)
    except xrm.InvalidSignedToken as exc:
        raise xrm.NotFound("There is no such form.") from exc
    form = session.get(LeadForm, data.get("form")) if data.get("tenant") == session.info["tenant_id"] else None
    if form is None or not form.active:
        raise xrm.NotFound("There is no such form.")
    return form


@blueprint.post("/<tenant_slug>/<form_key>")
@xrm.rate_limit(RATE_LIMIT)
def submit(tenant_slug: str, form_key: str):
    """Take a lead from a website's form (form-encoded or JSON); 201 when received."""
    wants_json = request.is_json or request.accept_mimetypes.best == "application/json"
    submitted = (request.get_json(silent=True) if request.is_json else request.form.to_dict()) or {}
    with xrm.public_session("sales", tenant_slug) as session:
        form = _form_for_key(session, form_key)
        if not submitted.get(HONEYPOT):
            try:
                data = WebFormSchema().load(submitted)
            except xrm.ValidationError as exc:
                if not wants_json:
                    raise  # the platform's error page lists the fields
                return _invalid(exc)
            create_lead(session, source="web_form", department_id=form.department_id, **data)
            session.commit()
    if wants_json:
        return jsonify({"status": "received"}), 201
    return render_template("sales/form_received.html"), 201


def _invalid(exc: xrm.ValidationError):
    """A problem+json body naming the offending fields, as the API answers."""
    errors = {name: messages if isinstance(messages, list) else [str(messages)]
              for name, messages in exc.messages.items()}
    response = jsonify({"type": "about:blank", "title": "Unprocessable Entity", "status": 422,
                        "detail": "Some fields are invalid.", "errors": errors})
    response.status_code = 422
    response.mimetype = "application/problem+json"
    return response
