"""The pages of quotes, orders and invoices, their PDF and XLSX exports, and the party panel."""

from __future__ import annotations

from datetime import timedelta

import xrm_sdk as xrm
from flask import Blueprint, Response, abort, render_template
from sqlalchemy import select

from .clv import customer_values
from .documents import Invoice, Order, Quote
from .documents_service import document_profile
from .pdf import printed_invoice, printed_order, printed_quote, render_pdf, render_xlsx
from .permissions import allowed
from .revenue import Period, revenue_per_customer

blueprint = Blueprint("sales_documents", __name__, template_folder="templates", url_prefix="/sales/documents")

NAVIGATION = [xrm.NavEntry("sales.documents", label="Quotes & invoices", url="/sales/documents/", order=52)]
RECENT = 10
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: The documents that can be exported, by the name in their URLs.
KINDS = {"quotes": (Quote, printed_quote), "orders": (Order, printed_order), "invoices": (Invoice, printed_invoice)}


@blueprint.get("/")
def index():
    """The latest quotes, orders and invoices the user may see."""
    session = xrm.db_session()
    recent = {name: session.scalars(select(model).order_by(model.id.desc()).limit(RECENT)).all()
              for name, (model, _) in KINDS.items()}
    return render_template("sales/doc_index.html", tenant=xrm.current_tenant(),
                           may_configure=allowed(session, "sales.document_settings.read"), **recent)


@blueprint.get("/quotes/<int:quote_id>")
def quote_page(quote_id: int):
    """One quote: its current version's lines and every earlier version."""
    quote = xrm.get_or_404(Quote, quote_id)
    return render_template("sales/doc_quote.html", tenant=xrm.current_tenant(), quote=quote, version=quote.current)


@blueprint.get("/quotes/<int:quote_id>/versions/<int:number>.pdf")
def quote_version_pdf(quote_id: int, number: int):
    """An earlier (or the current) version of a quote as a PDF."""
    quote = xrm.get_or_404(Quote, quote_id)
    version = next((v for v in quote.versions if v.number == number), None)
    if version is None:
        abort(404)
    body = render_pdf(printed_quote(quote, version), document_profile(xrm.db_session()))
    return _download(body, "application/pdf", f"{quote.number}-v{number}.pdf")


@blueprint.get("/<kind>/<int:record_id>.<fmt>")
def export(kind: str, record_id: int, fmt: str):
    """A quote, order or invoice as ``pdf`` or ``xlsx``."""
    if kind not in KINDS or fmt not in ("pdf", "xlsx"):
        abort(404)
    model, printed = KINDS[kind]
    document = printed(xrm.get_or_404(model, record_id))
    if fmt == "pdf":
        return _download(render_pdf(document, document_profile(xrm.db_session())), "application/pdf",
                         f"{document.number}.pdf")
    return _download(render_xlsx(document), XLSX, f"{document.number}.xlsx")


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def render_party_panel(party) -> str:
    """The party's recent quotes, orders and invoices, its revenue over 12 months and its CLV."""
    session = xrm.db_session()
    today = xrm.utcnow().date()
    recent = {name: session.scalars(select(model).where(model.customer_id == party.id)
                                    .order_by(model.id.desc()).limit(5)).all()
              for name, (model, _) in KINDS.items()}
    revenue = (revenue_per_customer(session, Period(start=today - timedelta(days=365)), customer_id=party.id)
               if any(recent.values()) else [])
    values = customer_values(session, today, customer_id=party.id)
    return render_template("sales/doc_party_panel.html", party=party, revenue=revenue,
                           value=values[0] if values else None, **recent)


def party_panels(party) -> list[xrm.Panel]:
    """The panels the documents add to a party's page."""
    return [xrm.Panel("sales.documents", title="Quotes, orders and invoices", render=render_party_panel, order=60)]
