"""Documents as PDF and XLSX: the text read back from the files has the lines, totals and customer."""

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import xrm_sdk as xrm
from openpyxl import load_workbook
from pypdf import PdfReader
from xrm_sales.catalogue import PriceList, PriceListItem, Product, TaxCategory
from xrm_sales.documents_service import (
    LineRequest,
    create_quote,
    decide_quote,
    document_profile,
    invoice_order,
    order_from_quote,
    send_quote,
)
from xrm_sales.pdf import printed_invoice, printed_quote, render_pdf, render_xlsx

LINES = 20


@pytest.fixture(autouse=True)
def _today(xrm_clock):
    xrm_clock.set(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))


@pytest.fixture
def quote(xrm_session):
    """A 20-line quote in French for « Société Générale d'Équipement »; product i costs i + 0.25 EUR."""
    vat = TaxCategory(code="TVA20", name="TVA 20 %", rate=Decimal("0.2"))
    products = [Product(code=f"P{i:02d}", name=f"Article numéro {i}", tax_category=vat) for i in range(1, LINES + 1)]
    xrm_session.add(PriceList(name="Tarif", currency="EUR", items=[
        PriceListItem(product=p, unit_price=Decimal(i) + Decimal("0.25")) for i, p in enumerate(products, 1)]))
    customer = xrm.create_party(xrm_session, "organization", "Société Générale d'Équipement")
    profile = document_profile(xrm_session)
    profile.company_name, profile.legal_mentions = "Vendeur SARL", "SIREN 123 456 789 - TVA FR12345678901"
    quote = create_quote(xrm_session, customer.id, [LineRequest(p.id, Decimal(2)) for p in products],
                         currency="EUR", language="fr")
    xrm_session.commit()
    return quote


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_quote_pdf_has_the_customer_lines_totals_and_legal_mentions_in_its_language(xrm_session, quote):
    text = _text(render_pdf(printed_quote(quote), document_profile(xrm_session)))
    # 2 × (i + 0.25) for i = 1..20: 2 × (210 + 5) = 430.00 net, 86.00 VAT, 516.00 in all.
    assert (quote.current.subtotal, quote.current.tax_total, quote.current.total) == (
        Decimal("430.00"), Decimal("86.00"), Decimal("516.00"))
    assert "Devis Q-2026-00001" in text
    assert "Client: Société Générale d'Équipement" in text
    for i in range(1, LINES + 1):
        assert f"Article numéro {i}" in text
        assert f"{2 * (i + 0.25):,.2f}" in text  # the line's net amount
    assert "Total HT" in text and "430.00 EUR" in text
    assert "Total TTC" in text and "516.00 EUR" in text
    assert "Valable jusqu'au: 2026-12-22" in text
    assert "SIREN 123 456 789" in text and "Vendeur SARL" in text


def test_labels_follow_the_customer_language(xrm_session, quote):
    quote.language = "es"
    spanish = _text(render_pdf(printed_quote(quote), document_profile(xrm_session)))
    assert "Presupuesto Q-2026-00001" in spanish and "Base imponible" in spanish
    quote.language = "en"
    english = _text(render_pdf(printed_quote(quote), document_profile(xrm_session)))
    assert "Quote Q-2026-00001" in english and "Subtotal" in english and "Devis" not in english
    xrm_session.rollback()


def test_an_invoice_exports_to_pdf_and_xlsx_through_the_pages(xrm_session, xrm_client, quote):
    send_quote(xrm_session, quote, "/x")
    decide_quote(xrm_session, quote, 1, True, actor="test")
    invoice = invoice_order(xrm_session, order_from_quote(xrm_session, quote))
    xrm_session.commit()
    invoice_id, number = invoice.id, invoice.number
    assert "Facture INV-2026-00001" in _text(render_pdf(printed_invoice(invoice), document_profile(xrm_session)))
    xrm_session.commit()

    pdf = xrm_client.get(f"/sales/documents/invoices/{invoice_id}.pdf")
    assert (pdf.status_code, pdf.mimetype) == (200, "application/pdf")
    assert "Reste à payer" in _text(pdf.data) and "516.00 EUR" in _text(pdf.data)
    xlsx = xrm_client.get(f"/sales/documents/invoices/{invoice_id}.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("Facture", number)
    assert rows[1][:2] == ("Client", "Société Générale d'Équipement")
    line_rows = [row for row in rows if isinstance(row[0], str) and row[0].startswith("Article")]
    assert len(line_rows) == LINES
    assert line_rows[0][5] == pytest.approx(2.5) and line_rows[0][6] == "EUR"
    assert ("Total TTC", None, None, None, None, 516, "EUR") in rows
    assert xrm_client.get(f"/sales/documents/invoices/{invoice_id}.doc").status_code == 404
    assert xrm_client.get("/sales/documents/invoices/999999.pdf").status_code == 404


def test_every_version_of_a_quote_stays_printable(xrm_session, xrm_client, quote):
    quote_id = quote.id
    xrm_session.close()
    page = xrm_client.get(f"/sales/documents/quotes/{quote_id}")
    assert page.status_code == 200 and "Article numéro 20" in page.get_data(as_text=True)
    old = xrm_client.get(f"/sales/documents/quotes/{quote_id}/versions/1.pdf")
    assert old.status_code == 200 and "516.00 EUR" in _text(old.data)
    assert xrm_client.get(f"/sales/documents/quotes/{quote_id}/versions/2.pdf").status_code == 404


def test_render_xlsx_keeps_amounts_as_numbers(quote):
    sheet = load_workbook(io.BytesIO(render_xlsx(printed_quote(quote)))).active
    totals = {row[0]: row[5] for row in sheet.iter_rows(values_only=True) if row and row[0] in ("Total HT", "TVA")}
    assert totals == {"Total HT": 430, "TVA": 86}
