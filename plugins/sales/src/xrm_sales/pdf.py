"""Quotes, orders, invoices and credit notes as PDF (fpdf2) and XLSX (openpyxl).

The layout is the tenant's :class:`~xrm_sales.documents.DocumentProfile`: optional logo, company
name and address, legal mentions at the bottom; labels are in the document's language (the
customer's: English, French or Spanish). PDFs use the built-in Helvetica font, so text outside
Latin-1 is replaced rather than failing the rendering.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from fpdf import FPDF
from openpyxl import Workbook

from .documents import DocumentProfile, Invoice, LineAmounts, Order, Quote, QuoteVersion

LABELS = {
    "en": {"quote": "Quote", "order": "Order confirmation", "invoice": "Invoice", "credit_note": "Credit note",
           "number": "Number", "date": "Date", "valid_until": "Valid until", "due_date": "Due date",
           "version": "Version", "customer": "Customer", "description": "Description", "quantity": "Qty",
           "unit_price": "Unit price", "discount": "Disc. %", "tax": "Tax %", "net": "Net",
           "subtotal": "Subtotal", "tax_total": "Tax", "total": "Total", "paid": "Paid", "balance": "Balance due"},
    "fr": {"quote": "Devis", "order": "Confirmation de commande", "invoice": "Facture", "credit_note": "Avoir",
           "number": "Numéro", "date": "Date", "valid_until": "Valable jusqu'au", "due_date": "Échéance",
           "version": "Version", "customer": "Client", "description": "Désignation", "quantity": "Qté",
           "unit_price": "Prix unitaire", "discount": "Remise %", "tax": "TVA %", "net": "Montant HT",
           "subtotal": "Total HT", "tax_total": "TVA", "total": "Total TTC", "paid": "Payé",
           "balance": "Reste à payer"},
    "es": {"quote": "Presupuesto", "order": "Confirmación de pedido", "invoice": "Factura",
           "credit_note": "Nota de crédito", "number": "Número", "date": "Fecha", "valid_until": "Válido hasta",
           "due_date": "Vencimiento", "version": "Versión", "customer": "Cliente", "description": "Descripción",
           "quantity": "Cant.", "unit_price": "Precio unitario", "discount": "Dto. %", "tax": "IVA %",
           "net": "Neto", "subtotal": "Base imponible", "tax_total": "IVA", "total": "Total", "paid": "Pagado",
           "balance": "Saldo pendiente"},
}


@dataclass(frozen=True)
class PrintedDocument:
    """What a printed document shows, whatever its kind."""

    kind: str
    number: str
    language: str
    customer_name: str
    currency: str
    dates: tuple[tuple[str, date | int], ...]
    lines: tuple[LineAmounts, ...]
    totals: tuple[tuple[str, Decimal], ...]

    @property
    def labels(self) -> dict[str, str]:
        return LABELS.get(self.language, LABELS["en"])


def printed_quote(quote: Quote, version: QuoteVersion | None = None) -> PrintedDocument:
    """A version of the quote (by default the current one), as printed."""
    current = version or quote.current
    return PrintedDocument(
        "quote", quote.number, quote.language, quote.customer.display_name, quote.currency,
        (("date", current.created_at.date()), ("valid_until", current.valid_until), ("version", current.number)),
        tuple(current.lines),
        (("subtotal", current.subtotal), ("tax_total", current.tax_total), ("total", current.total)),
    )


def printed_order(order: Order) -> PrintedDocument:
    return PrintedDocument(
        "order", order.number, order.language, order.customer.display_name, order.currency,
        (("date", order.order_date),), tuple(order.lines),
        (("subtotal", order.subtotal), ("tax_total", order.tax_total), ("total", order.total)),
    )


def printed_invoice(invoice: Invoice) -> PrintedDocument:
    totals = [("subtotal", invoice.subtotal), ("tax_total", invoice.tax_total), ("total", invoice.total)]
    if invoice.kind == "invoice":
        totals += [("paid", invoice.paid_amount), ("balance", invoice.balance)]
    return PrintedDocument(
        invoice.kind, invoice.number, invoice.language, invoice.customer.display_name, invoice.currency,
        (("date", invoice.issue_date), ("due_date", invoice.due_date)), tuple(invoice.lines), tuple(totals),
    )


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def _amount(value: Decimal) -> str:
    return f"{value:,.2f}"


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


#: Column widths (mm) of the lines table, which spans the 180 mm between the margins.
COLUMNS = (("description", 68), ("quantity", 16), ("unit_price", 26), ("discount", 18), ("tax", 16), ("net", 36))


def render_pdf(document: PrintedDocument, profile: DocumentProfile) -> bytes:
    """The document as a PDF file."""
    labels = document.labels
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=25)
    pdf.set_title(_latin1(f"{labels[document.kind]} {document.number}"))
    pdf.add_page()
    if profile.logo:
        pdf.image(io.BytesIO(profile.logo), x=15, y=12, h=18)
        pdf.set_y(34)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 6, _latin1(profile.company_name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    if profile.company_address:
        pdf.multi_cell(90, 4.5, _latin1(profile.company_address), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, _latin1(f"{labels[document.kind]} {document.number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 6, _latin1(f"{labels['customer']}: {document.customer_name}"), new_x="LMARGIN", new_y="NEXT")
    for key, value in document.dates:
        shown = value.isoformat() if isinstance(value, date) else str(value)
        pdf.cell(0, 5, _latin1(f"{labels[key]}: {shown}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 9)
    pdf.set_fill_color(235, 235, 235)
    for key, width in COLUMNS:
        pdf.cell(width, 7, _latin1(labels[key]), border="B", fill=True, align="L" if key == "description" else "R")
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    for line in document.lines:
        cells = (line.description, _plain(line.quantity), _amount(line.unit_price),
                 _plain(line.discount_percent), _plain(line.tax_rate * 100), _amount(line.net_amount))
        for (key, width), text in zip(COLUMNS, cells, strict=True):
            pdf.cell(width, 6, _latin1(text), align="L" if key == "description" else "R")
        pdf.ln()
    pdf.ln(3)
    for key, value in document.totals:
        pdf.set_font("Helvetica", "B" if key in ("total", "balance") else "", 10)
        pdf.cell(144, 6, _latin1(labels[key]), align="R")
        pdf.cell(36, 6, f"{_amount(value)} {document.currency}", align="R", new_x="LMARGIN", new_y="NEXT")
    if profile.legal_mentions:
        pdf.ln(8)
        pdf.set_font("Helvetica", "", 7.5)
        pdf.multi_cell(0, 4, _latin1(profile.legal_mentions))
    return bytes(pdf.output())


def render_xlsx(document: PrintedDocument) -> bytes:
    """The document as a one-sheet workbook: header, lines, totals; amounts as numbers."""
    labels = document.labels
    book = Workbook()
    sheet = book.active
    sheet.title = document.number[:31]
    sheet.append([labels[document.kind], document.number])
    sheet.append([labels["customer"], document.customer_name])
    for key, value in document.dates:
        sheet.append([labels[key], value])
    sheet.append([])
    sheet.append([labels[key] for key, _ in COLUMNS] + ["currency"])
    for line in document.lines:
        sheet.append([line.description, line.quantity, line.unit_price, line.discount_percent, line.tax_rate * 100,
                      line.net_amount, document.currency])
    sheet.append([])
    for key, value in document.totals:
        sheet.append([labels[key], None, None, None, None, value, document.currency])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
