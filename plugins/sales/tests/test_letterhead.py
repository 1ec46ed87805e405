"""The tenant's letterhead: a logo checked by decoding it, legal mentions, both printed on the quote PDF."""

import io
import re
from decimal import Decimal

import pytest
import xrm_sdk as xrm
from PIL import Image
from pypdf import PdfReader
from xrm_sales.catalogue import PriceList, PriceListItem, Product
from xrm_sales.documents_service import LineRequest, create_quote

API = "/api/v1/sales"


def _image(kind: str, size=(120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, kind)
    return out.getvalue()


@pytest.fixture
def quote_pdf(xrm_session, xrm_client):
    """A function returning the current PDF of a one-line quote, as the staff download it."""
    product = Product(code="W", name="Widget")
    xrm_session.add(PriceList(name="List", currency="EUR",
                              items=[PriceListItem(product=product, unit_price=Decimal("12.50"))]))
    customer = xrm.create_party(xrm_session, "organization", "Acme Corp")
    quote = create_quote(xrm_session, customer.id, [LineRequest(product.id, Decimal(2))], currency="EUR")
    xrm_session.commit()
    url = f"/sales/documents/quotes/{quote.id}/versions/1.pdf"

    def download() -> PdfReader:
        response = xrm_client.get(url)
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        return PdfReader(io.BytesIO(response.data))

    return download


def test_the_api_keeps_only_decodable_png_or_jpeg_logos_and_the_pdf_embeds_it(xrm_client, quote_pdf):
    assert list(quote_pdf().pages[0].images) == []
    png = _image("PNG")
    bad = {
        "not an image": b"%PDF-1.4 not a logo",
        "a GIF": _image("GIF"),
        "a truncated PNG": png[: len(png) // 2],
        "too large": b"\x89PNG" + b"\0" * (1024 * 1024 + 1),
        "empty": b"",
    }
    for label, data in bad.items():
        refused = xrm_client.put(f"{API}/document-settings/logo", data={"file": (io.BytesIO(data), "logo.png")},
                                 content_type="multipart/form-data")
        assert refused.status_code == 422, label
        assert refused.mimetype == "application/problem+json" and "logo" in refused.get_json()["errors"], label
    assert xrm_client.get(f"{API}/document-settings").get_json()["has_logo"] is False
    assert xrm_client.get(f"{API}/document-settings/logo").status_code == 404

    kept = xrm_client.put(f"{API}/document-settings/logo", data={"file": (io.BytesIO(png), "logo.png")},
                          content_type="multipart/form-data")
    assert kept.status_code == 204
    served = xrm_client.get(f"{API}/document-settings/logo")
    assert (served.mimetype, served.data) == ("image/png", png)
    tag = xrm_client.get(f"{API}/document-settings").headers["ETag"]
    assert xrm_client.patch(f"{API}/document-settings", json={"legal_mentions": "SIREN 123 456 789 - RCS Lyon"},
                            headers={"If-Match": tag}).status_code == 200
    reader = quote_pdf()
    images = list(reader.pages[0].images)
    assert len(images) == 1 and images[0].image.size == (120, 40)
    assert "SIREN 123 456 789 - RCS Lyon" in reader.pages[-1].extract_text()

    jpeg = _image("JPEG")
    assert xrm_client.put(f"{API}/document-settings/logo", data=jpeg,
                          content_type="image/jpeg").status_code == 204  # a bare body works too
    assert xrm_client.get(f"{API}/document-settings/logo").mimetype == "image/jpeg"
    assert xrm_client.delete(f"{API}/document-settings/logo").status_code == 204
    assert list(quote_pdf().pages[0].images) == []


def test_the_settings_page_saves_texts_and_logo_together_or_nothing(xrm_client, xrm_login, quote_pdf):
    page = xrm_client.get("/sales/settings/documents")
    assert page.status_code == 200 and 'name="legal_mentions"' in page.get_data(as_text=True)
    form = {"company_name": "Vendeur SARL", "company_address": "1 rue de la Paix", "legal_mentions": "TVA FR12",
            "quote_validity_days": "45", "payment_terms_days": "30", "version": _form_version(page)}
    refused = xrm_client.post("/sales/settings/documents", content_type="multipart/form-data", data={
        **form, "logo": (io.BytesIO(b"GIF89a nonsense"), "logo.gif")})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="logo-error">This file is not a PNG or JPEG image.' in html
    wrong_days = xrm_client.post("/sales/settings/documents", data={**form, "quote_validity_days": "0"})
    assert wrong_days.status_code == 422 and 'id="quote_validity_days-error"' in wrong_days.get_data(as_text=True)
    settings = xrm_client.get(f"{API}/document-settings").get_json()
    assert (settings["legal_mentions"], settings["has_logo"]) == ("", False)  # nothing was saved

    saved = xrm_client.post("/sales/settings/documents", content_type="multipart/form-data", data={
        **form, "logo": (io.BytesIO(_image("PNG")), "logo.png")})
    assert saved.status_code == 302
    settings = xrm_client.get(f"{API}/document-settings").get_json()
    assert (settings["legal_mentions"], settings["quote_validity_days"], settings["has_logo"]) == ("TVA FR12", 45, True)
    reader = quote_pdf()
    assert len(list(reader.pages[0].images)) == 1 and "Vendeur SARL" in reader.pages[0].extract_text()
    assert xrm_client.get("/sales/settings/documents/logo").mimetype == "image/png"

    reader_only = xrm_login("sales.document_settings.read")
    assert reader_only.get("/sales/settings/documents").status_code == 200
    assert reader_only.post("/sales/settings/documents", data={**form, "remove_logo": "on"}).status_code == 403
    assert xrm_login("sales.quote.read").get("/sales/settings/documents").status_code == 403
    assert xrm_client.get(f"{API}/document-settings").get_json()["has_logo"] is True


def _form_version(page) -> str:
    return re.search(r'name="version" value="(\d+)"', page.get_data(as_text=True)).group(1)


def test_a_stale_settings_form_is_refused_and_changes_nothing(xrm_client):
    opened = _form_version(xrm_client.get("/sales/settings/documents"))
    form = {"company_name": "First SARL", "company_address": "", "legal_mentions": "First mentions",
            "quote_validity_days": "30", "payment_terms_days": "30"}
    assert xrm_client.post("/sales/settings/documents", data={**form, "version": opened}).status_code == 302
    stale = xrm_client.post("/sales/settings/documents", data={**form, "company_name": "Second SARL",
                                                               "version": opened})
    assert stale.status_code == 409 and "Someone else changed these settings" in stale.get_data(as_text=True)
    incomplete = xrm_client.post("/sales/settings/documents", data={**form, "company_name": "Third SARL"})
    assert incomplete.status_code == 409
    settings = xrm_client.get(f"{API}/document-settings").get_json()
    assert (settings["company_name"], settings["legal_mentions"]) == ("First SARL", "First mentions")
    current = _form_version(xrm_client.get("/sales/settings/documents"))
    assert int(current) == int(opened) + 1
    assert xrm_client.post("/sales/settings/documents", data={**form, "company_name": "Second SARL",
                                                              "version": current}).status_code == 302
