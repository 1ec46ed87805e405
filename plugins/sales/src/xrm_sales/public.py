"""The customer's side of a quote: a signed public link to read, download, accept or refuse it.

The link is ``/sales/public/<tenant>/quotes/<token>``; the token (see
:func:`xrm_sales.documents_service.public_link_token`) is signed with the platform's secret key
and binds the tenant, the quote id and its version. It expires after the tenant's quote validity
period; a revised quote needs a new link (the old one names an old version). A tampered, expired,
superseded or already-decided link shows a page saying so, never an error.
"""

from __future__ import annotations

from datetime import timedelta

import xrm_sdk as xrm
from flask import Response, render_template, request
from sqlalchemy.orm import Session

from .documents import Quote
from .documents_service import PUBLIC_LINK_PURPOSE, DocumentStateError, decide_quote, document_profile
from .pdf import LABELS, printed_quote, render_pdf

blueprint = xrm.PublicBlueprint("sales_public", __name__, template_folder="templates", url_prefix="/sales/public")

#: The words of the public page, in the quote's language (the customer's, not the interface's).
PAGE_LABELS = {
    "en": {"accept": "Accept this quote", "refuse": "Refuse this quote", "download": "Download the PDF",
           "accepted": "Thank you: you accepted this quote.", "refused": "You refused this quote.",
           "invalid": "This link is not valid.", "expired": "This link has expired.",
           "superseded": "This quote has been revised since this link was sent: ask for the new link."},
    "fr": {"accept": "Accepter ce devis", "refuse": "Refuser ce devis", "download": "Télécharger le PDF",
           "accepted": "Merci : vous avez accepté ce devis.", "refused": "Vous avez refusé ce devis.",
           "invalid": "Ce lien n'est pas valide.", "expired": "Ce lien a expiré.",
           "superseded": "Ce devis a été révisé depuis l'envoi de ce lien : demandez le nouveau lien."},
    "es": {"accept": "Aceptar este presupuesto", "refuse": "Rechazar este presupuesto",
           "download": "Descargar el PDF", "accepted": "Gracias: ha aceptado este presupuesto.",
           "refused": "Ha rechazado este presupuesto.", "invalid": "Este enlace no es válido.",
           "expired": "Este enlace ha caducado.",
           "superseded": "Este presupuesto se ha revisado desde el envío de este enlace: pida el nuevo enlace."},
}


class LinkRefused(Exception):
    """The link cannot be used; ``reason`` is a key of :data:`PAGE_LABELS`, ``status`` the HTTP status."""

    def __init__(self, reason: str, status: int, language: str = "en"):
        super().__init__(reason)
        self.reason, self.status, self.language = reason, status, language


def _quote_of(session: Session, tenant_slug: str, token: str) -> Quote:
    profile = document_profile(session)
    max_age = int(timedelta(days=profile.quote_validity_days).total_seconds())
    try:
        data = xrm.read_signed_token(session, PUBLIC_LINK_PURPOSE, token, max_age)
    except xrm.InvalidSignedToken as refused:
        raise LinkRefused("expired" if refused.expired else "invalid", 410 if refused.expired else 403) from None
    if not isinstance(data, dict) or data.get("tenant") != session.info["tenant_id"]:
        raise LinkRefused("invalid", 403)
    quote = session.get(Quote, data.get("quote"))
    if quote is None:
        raise LinkRefused("invalid", 403)
    if data.get("version") != quote.current_version or quote.status == "draft":
        raise LinkRefused("superseded", 410, quote.language)
    return quote


def _page(tenant_slug: str, token: str, *, outcome: str | None = None, status: int = 200, quote: Quote | None = None,
          refused: LinkRefused | None = None):
    language = quote.language if quote is not None else (refused.language if refused else "en")
    return render_template(
        "sales/public_quote.html", quote=quote, version=quote.current if quote else None, outcome=outcome,
        refused=refused, words=PAGE_LABELS[language], labels=LABELS[language], language=language,
        tenant_slug=tenant_slug, token=token,
    ), status


@blueprint.get("/<tenant_slug>/quotes/<token>")
@xrm.rate_limit("60 per minute")
def quote_page(tenant_slug: str, token: str):
    """The quote as the customer sees it, with accept and refuse buttons while it is open."""
    with xrm.public_session("sales", tenant_slug) as session:
        try:
            quote = _quote_of(session, tenant_slug, token)
        except LinkRefused as refused:
            return _page(tenant_slug, token, refused=refused, status=refused.status)
        outcome = quote.status if quote.status in ("accepted", "refused") else None
        return _page(tenant_slug, token, quote=quote, outcome=outcome)


@blueprint.get("/<tenant_slug>/quotes/<token>/pdf")
@xrm.rate_limit("30 per minute")
def quote_pdf(tenant_slug: str, token: str):
    """The quote's current version as a PDF."""
    with xrm.public_session("sales", tenant_slug) as session:
        try:
            quote = _quote_of(session, tenant_slug, token)
        except LinkRefused as refused:
            return _page(tenant_slug, token, refused=refused, status=refused.status)
        body = render_pdf(printed_quote(quote), document_profile(session))
        return Response(body, mimetype="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{quote.number}.pdf"'})


@blueprint.post("/<tenant_slug>/quotes/<token>")
@xrm.rate_limit("10 per minute")
def decide(tenant_slug: str, token: str):
    """Accept (``decision=accept``) or refuse (``decision=refuse``) the quote, once."""
    decision = request.form.get("decision")
    with xrm.public_session("sales", tenant_slug) as session:
        try:
            quote = _quote_of(session, tenant_slug, token)
        except LinkRefused as refused:
            return _page(tenant_slug, token, refused=refused, status=refused.status)
        if decision not in ("accept", "refuse"):
            return _page(tenant_slug, token, quote=quote, status=400)
        try:
            decide_quote(session, quote, quote.current_version, decision == "accept", actor="public:quote-link")
        except DocumentStateError:
            session.rollback()
            if quote.status in ("accepted", "refused"):
                return _page(tenant_slug, token, quote=quote, outcome=quote.status, status=409)
            return _page(tenant_slug, token, refused=LinkRefused("expired", 410, quote.language), status=410)
        session.commit()
        return _page(tenant_slug, token, quote=quote, outcome=quote.status)
