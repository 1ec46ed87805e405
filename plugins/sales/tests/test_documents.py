"""Quotes, orders, invoices: exact totals, versions, immutability, payments, credit notes, events."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import xrm_sdk as xrm
from sqlalchemy import select
from xrm_sales.catalogue import PriceList, PriceListItem, Product, TaxCategory
from xrm_sales.documents import DocumentImmutable, Invoice, Order, Quote, QuoteVersion
from xrm_sales.documents_actions import DOCUMENT_WORKFLOW_ACTIONS
from xrm_sales.documents_service import (
    DocumentStateError,
    LineRequest,
    create_quote,
    credit_invoice,
    decide_quote,
    document_profile,
    invoice_order,
    order_from_quote,
    record_payment,
    revise_quote,
    send_quote,
)

API = "/api/v1/sales"
TODAY = date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _today(xrm_clock):
    xrm_clock.set(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))


def make_shop(session):
    """Two products (20 % and 10 % tax), a EUR price list with a quantity break, two customers."""
    vat20 = TaxCategory(code="VAT20", name="VAT 20 %", rate=Decimal("0.2"))
    vat10 = TaxCategory(code="VAT10", name="VAT 10 %", rate=Decimal("0.1"))
    widget = Product(code="W-1", name="Widget", tax_category=vat20, )
    setup = Product(code="S-1", name="Installation", kind="service", tax_category=vat10)
    session.add(PriceList(name="Standard EUR", currency="EUR", items=[
        PriceListItem(product=widget, min_quantity=Decimal(1), unit_price=Decimal("12.50")),
        PriceListItem(product=widget, min_quantity=Decimal(10), unit_price=Decimal("11.00"),
                      discount_percent=Decimal(5)),
        PriceListItem(product=setup, min_quantity=Decimal(1), unit_price=Decimal("80.00")),
    ]))
    acme = xrm.create_party(session, "organization", "Acme Corp")
    globex = xrm.create_party(session, "organization", "Globex", custom=None)
    session.commit()
    return widget, setup, acme, globex


@pytest.fixture
def shop(xrm_session):
    return make_shop(xrm_session)


def test_a_quote_is_priced_taxed_and_totalled_exactly(xrm_session, shop, xrm_events):
    widget, setup, acme, _ = shop
    quote = create_quote(xrm_session, acme.id, [LineRequest(widget.id, Decimal(3)), LineRequest(setup.id, Decimal(2)),
                                                LineRequest(widget.id, Decimal(10))],
                         currency="eur", on_date=TODAY)
    xrm_session.commit()
    lines = quote.current.lines
    # 3 × 12.50; 2 × 80.00; 10 × 11.00 less 5 % (quantity break) = 104.50
    assert [(line.unit_price, line.discount_percent, line.net_amount, line.tax_amount) for line in lines] == [
        (Decimal("12.5000"), Decimal("0.00"), Decimal("37.50"), Decimal("7.50")),
        (Decimal("80.0000"), Decimal("0.00"), Decimal("160.00"), Decimal("16.00")),
        (Decimal("11.0000"), Decimal("5.00"), Decimal("104.50"), Decimal("20.90")),
    ]
    assert (quote.current.subtotal, quote.current.tax_total, quote.current.total) == (
        Decimal("302.00"), Decimal("44.40"), Decimal("346.40"))
    assert "Standard EUR" in lines[2].price_rule
    assert (quote.number, quote.currency, quote.status, quote.current_version) == ("Q-2026-00001", "EUR", "draft", 1)
    assert quote.valid_until == date(2026, 12, 22)
    assert [(e.type, e.payload["total"]) for e in xrm_events] == [("sales.quote.created", "346.40")]


def test_a_revision_is_a_new_version_and_the_old_one_stays_readable(xrm_session, xrm_client, shop):
    widget, setup, acme, _ = shop
    quote = create_quote(xrm_session, acme.id, [LineRequest(widget.id, Decimal(2))], currency="EUR", on_date=TODAY)
    send_quote(xrm_session, quote, "/sales/public/test/quotes/x")
    xrm_session.commit()
    revise_quote(xrm_session, quote, [LineRequest(setup.id, Decimal(1)), LineRequest(widget.id, Decimal(4))],
                 note="Added installation", on_date=TODAY)
    xrm_session.commit()

    assert (quote.current_version, quote.status, quote.public_link) == (2, "draft", None)
    versions = xrm_session.scalars(select(QuoteVersion).where(QuoteVersion.quote_id == quote.id)
                                   .order_by(QuoteVersion.number)).all()
    assert [(v.number, v.total, [line.description for line in v.lines]) for v in versions] == [
        (1, Decimal("30.00"), ["Widget"]),
        (2, Decimal("148.00"), ["Installation", "Widget"]),
    ]
    xrm_session.commit()  # end the read: on SQLite the request below needs the database
    first = xrm_client.get(f"{API}/quotes/{quote.id}/versions/1").get_json()
    assert (first["total"], [line["quantity"] for line in first["lines"]]) == ("30.00", ["2.0000"])
    current = xrm_client.get(f"{API}/quotes/{quote.id}").get_json()
    assert (current["current_version"], current["current"]["total"]) == (2, "148.00")
    assert xrm_client.get(f"{API}/quotes/{quote.id}/versions/3").status_code == 404

    # A version, once written, is not edited in place.
    versions[0].total = Decimal("1.00")
    with pytest.raises(DocumentImmutable, match="total"):
        xrm_session.flush()


def _accepted_quote(session, widget, customer, quantity=Decimal(2)):
    quote = create_quote(session, customer.id, [LineRequest(widget.id, quantity)], currency="EUR", on_date=TODAY)
    send_quote(session, quote, "/sales/public/test/quotes/x")
    decide_quote(session, quote, quote.current_version, True, actor="test")
    session.commit()
    return quote


def test_orders_and_invoices_follow_accepted_quotes_with_payments_and_credit_notes(xrm_session, shop, xrm_events):
    widget, _, acme, _ = shop
    quote = _accepted_quote(xrm_session, widget, acme)
    order = order_from_quote(xrm_session, quote, on_date=TODAY)
    invoice = invoice_order(xrm_session, order, on_date=TODAY)
    xrm_session.commit()
    assert (order.number, order.total, [line.net_amount for line in order.lines]) == (
        "O-2026-00001", Decimal("30.00"), [Decimal("25.00")])
    assert (invoice.number, invoice.total, invoice.due_date, invoice.status) == (
        "INV-2026-00001", Decimal("30.00"), date(2026, 12, 22), "issued")
    with pytest.raises(DocumentStateError, match="already been ordered"):
        order_from_quote(xrm_session, quote)
    with pytest.raises(DocumentStateError, match="invoiced"):
        invoice_order(xrm_session, order)

    record_payment(xrm_session, invoice, Decimal("10.00"), TODAY)
    assert (invoice.status, invoice.balance) == ("partially_paid", Decimal("20.00"))
    with pytest.raises(xrm.ValidationError, match="balance"):
        record_payment(xrm_session, invoice, Decimal("20.01"), TODAY)
    record_payment(xrm_session, invoice, Decimal("20.00"), TODAY)
    xrm_session.commit()
    assert (invoice.status, invoice.balance, len(invoice.payments)) == ("paid", Decimal("0.00"), 2)

    second = invoice_order(xrm_session, order_from_quote(xrm_session, _accepted_quote(xrm_session, widget, acme)))
    note = credit_invoice(xrm_session, second, on_date=TODAY, reason="damaged")
    xrm_session.commit()
    assert (note.number, note.kind, note.total, note.credited_invoice_id, second.status) == (
        "CN-2026-00001", "credit_note", Decimal("-30.00"), second.id, "credited")
    assert [line.net_amount for line in note.lines] == [Decimal("-25.00")]
    assert [e.type for e in xrm_events if e.type.startswith(("sales.order", "sales.invoice"))] == [
        "sales.order.created", "sales.invoice.issued", "sales.invoice.payment_recorded", "sales.invoice.paid",
        "sales.order.created", "sales.invoice.issued", "sales.invoice.issued",
    ]


def test_issued_documents_are_immutable(xrm_session, xrm_client, shop):
    widget, _, acme, globex = shop
    order = order_from_quote(xrm_session, _accepted_quote(xrm_session, widget, acme), on_date=TODAY)
    invoice = invoice_order(xrm_session, order, on_date=TODAY)
    xrm_session.commit()
    order_id, invoice_id = order.id, invoice.id

    order.lines[0].quantity = Decimal(99)
    with pytest.raises(DocumentImmutable, match="Line 1"):
        xrm_session.flush()
    xrm_session.rollback()
    invoice.customer_id = globex.id
    with pytest.raises(DocumentImmutable, match="customer_id"):
        xrm_session.flush()
    xrm_session.rollback()
    xrm_session.delete(invoice.lines[0])
    with pytest.raises(DocumentImmutable):
        xrm_session.flush()
    xrm_session.rollback()
    xrm_session.close()  # on SQLite the requests below need the database

    refused = xrm_client.patch(f"{API}/orders/{order_id}", json={"total": "1.00"})
    assert refused.status_code == 409, refused.get_json()
    assert refused.mimetype == "application/problem+json"
    assert "total" in refused.get_json()["detail"]
    assert xrm_client.patch(f"{API}/invoices/{invoice_id}", json={"due_date": "2030-01-01"}).status_code == 409
    assert xrm_client.get(f"{API}/invoices/{invoice_id}").get_json()["due_date"] == "2026-12-22"
    assert xrm_client.get(f"{API}/orders/{order_id}").get_json()["total"] == "30.00"


def test_the_api_quotes_orders_invoices_and_records_payments(xrm_client, shop):
    widget, setup, acme, _ = shop
    created = xrm_client.post(f"{API}/quotes", json={
        "customer_id": acme.id, "currency": "EUR", "language": "fr",
        "lines": [{"product_id": widget.id, "quantity": "3"}, {"product_id": setup.id, "quantity": 1}]})
    assert created.status_code == 201, created.get_json()
    quote = created.get_json()
    assert (quote["number"], quote["language"], quote["current"]["total"]) == ("Q-2026-00001", "fr", "133.00")
    sent = xrm_client.post(f"{API}/quotes/{quote['id']}/send").get_json()
    assert sent["status"] == "sent" and "/sales/public/test/quotes/" in sent["public_link"]
    assert xrm_client.post(f"{API}/quotes/{quote['id']}/order").status_code == 409  # not accepted yet
    assert xrm_client.post(f"{API}/quotes/{quote['id']}/decision", json={"accepted": True}).status_code == 200
    order = xrm_client.post(f"{API}/quotes/{quote['id']}/order")
    assert order.status_code == 201, order.get_json()
    invoice = xrm_client.post(f"{API}/orders/{order.get_json()['id']}/invoice").get_json()
    paid = xrm_client.post(f"{API}/invoices/{invoice['id']}/payments", json={"amount": "133.00",
                                                                            "paid_on": "2026-11-30"})
    assert (paid.status_code, paid.get_json()["status"], paid.get_json()["balance"]) == (201, "paid", "0.00")
    listed = xrm_client.get(f"{API}/invoices").get_json()["items"]
    assert [i["number"] for i in listed] == [invoice["number"]]


def test_bad_quote_input_is_a_problem_naming_the_field_and_nothing_is_created(xrm_client, xrm_session, shop):
    widget, _, acme, _ = shop
    response = xrm_client.post(f"{API}/quotes", json={"customer_id": acme.id, "currency": "EURO", "lines": []})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"currency", "lines"}
    unknown = xrm_client.post(f"{API}/quotes", json={"customer_id": acme.id, "currency": "EUR",
                                                     "lines": [{"product_id": 999999, "quantity": 1}]})
    assert (unknown.status_code, list(unknown.get_json()["errors"])) == (422, ["lines.0.product_id"])
    unpriced = xrm_client.post(f"{API}/quotes", json={"customer_id": acme.id, "currency": "USD",
                                                      "lines": [{"product_id": widget.id, "quantity": 1}]})
    assert unpriced.status_code == 404  # no USD list and no EUR→USD rate: the price is not found
    assert xrm_session.scalars(select(Quote)).all() == []
    xrm_session.commit()
    # The failed attempts took no number: the next quote is the first.
    assert xrm_client.post(f"{API}/quotes", json={"customer_id": acme.id, "currency": "EUR", "lines": [
        {"product_id": widget.id, "quantity": 1}]}).get_json()["number"] == "Q-2026-00001"


def test_an_external_invoicing_system_takes_over(xrm_session, xrm_client, shop):
    widget, _, acme, _ = shop
    order = order_from_quote(xrm_session, _accepted_quote(xrm_session, widget, acme))
    document_profile(xrm_session).external_invoicing = True
    xrm_session.commit()
    refused = xrm_client.post(f"{API}/orders/{order.id}/invoice")
    assert refused.status_code == 409
    assert "external" in refused.get_json()["detail"]
    assert xrm_session.scalars(select(Invoice)).all() == []
    xrm_session.commit()


def test_quotes_follow_the_permissions(xrm_session, xrm_login, shop):
    widget, _, acme, _ = shop
    create_quote(xrm_session, acme.id, [LineRequest(widget.id, Decimal(1))], currency="EUR")
    xrm_session.commit()
    acme_id, widget_id = acme.id, widget.id
    reader = xrm_login("sales.quote.read", "core.party.read", "sales.product.read", "sales.price_list.read")
    assert [q["number"] for q in reader.get(f"{API}/quotes").get_json()["items"]] == ["Q-2026-00001"]
    denied = reader.post(f"{API}/quotes", json={"customer_id": acme_id, "currency": "EUR",
                                                "lines": [{"product_id": widget_id, "quantity": 1}]})
    assert denied.status_code == 403
    own_only = xrm_login("sales.quote.read", scope="own")
    assert own_only.get(f"{API}/quotes").get_json()["items"] == []


def test_workflow_actions_create_and_send_a_quote(xrm_session, xrm_tenant, shop, xrm_events):
    widget, _, acme, _ = shop
    create, send = DOCUMENT_WORKFLOW_ACTIONS
    with pytest.raises(xrm.ValidationError) as refused:
        create.params().load({"lines": [{"product_id": widget.id, "quantity": 1}]})
    assert "opportunity_id" in refused.value.messages
    made = create.run(params=create.params().load({"customer_id": acme.id, "currency": "EUR",
                                                   "lines": [{"product_id": widget.id, "quantity": 4}]}),
                      session=xrm_session)
    sent = send.run(params=send.params().load({"quote_id": made["quote_id"]}), session=xrm_session,
                    tenant=xrm_tenant)
    xrm_session.commit()
    assert made["total"] == "60.00"
    assert sent["public_url"].startswith("/sales/public/test/quotes/")
    assert [e.type for e in xrm_events] == ["sales.quote.created", "sales.quote.sent"]
    assert xrm_events[1].payload["public_url"] == sent["public_url"]


def test_merging_parties_moves_their_documents(xrm_session, shop):
    widget, _, acme, globex = shop
    order = order_from_quote(xrm_session, _accepted_quote(xrm_session, widget, globex))
    xrm_session.commit()
    xrm.merge_parties(xrm_session, acme, globex, actor="test")
    xrm_session.commit()
    xrm_session.expire_all()
    assert xrm_session.get(Order, order.id).customer_id == acme.id
    assert {q.customer_id for q in xrm_session.scalars(select(Quote))} == {acme.id}


def test_document_settings_set_terms_and_numbering(xrm_client, xrm_login, shop):
    widget, _, acme, _ = shop
    fetched = xrm_client.get(f"{API}/document-settings")
    settings, tag = fetched.get_json(), {"If-Match": fetched.headers["ETag"]}
    assert (settings["payment_terms_days"], settings["numbering"]["quote"]) == (30, "Q-{year}-{seq:05d}")
    assert xrm_client.get(f"{API}/document-settings").headers["ETag"] == tag["If-Match"]  # stable while unchanged
    bad = xrm_client.patch(f"{API}/document-settings", json={"numbering": {"quote": "Q-{client}"}}, headers=tag)
    assert bad.status_code == 422 and "numbering.quote" in bad.get_json()["errors"]
    unconditional = xrm_client.patch(f"{API}/document-settings", json={"company_name": "Blind Ltd"})
    assert unconditional.status_code == 428
    changed = xrm_client.patch(f"{API}/document-settings", headers=tag, json={
        "company_name": "Seller Ltd", "quote_validity_days": 15, "numbering": {"quote": "DEV{year}-{seq:03d}"}})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["company_name"], changed.get_json()["numbering"]["quote"]) == (
        "Seller Ltd", "DEV{year}-{seq:03d}")
    stale = xrm_client.patch(f"{API}/document-settings", json={"company_name": "Late Ltd"}, headers=tag)
    assert stale.status_code == 412  # the tag of the version before "Seller Ltd"
    only_numbering = xrm_client.patch(f"{API}/document-settings", json={"numbering": {"order": "ORD-{seq}"}},
                                      headers={"If-Match": changed.headers["ETag"]})
    assert only_numbering.status_code == 200 and only_numbering.headers["ETag"] != changed.headers["ETag"]
    assert xrm_client.get(f"{API}/document-settings").get_json()["company_name"] == "Seller Ltd"
    quote = xrm_client.post(f"{API}/quotes", json={"customer_id": acme.id, "currency": "EUR",
                                                   "lines": [{"product_id": widget.id, "quantity": 1}]}).get_json()
    assert (quote["number"], quote["valid_until"]) == ("DEV2026-001", "2026-12-07")
    assert xrm_login("sales.quote.read").patch(f"{API}/document-settings", json={},
                                               headers={"If-Match": "*"}).status_code == 403


def test_the_party_panel_shows_recent_documents_revenue_and_lifetime_value(xrm_session, xrm_client, shop):
    widget, _, acme, globex = shop
    invoice_order(xrm_session, order_from_quote(xrm_session, _accepted_quote(xrm_session, widget, acme)))
    xrm_session.commit()
    acme_id, globex_id = acme.id, globex.id
    xrm_session.close()
    panel = xrm_client.get(f"/parties/{acme_id}/panels/sales.documents")
    assert panel.status_code == 200
    html = panel.get_data(as_text=True)
    for text in ("Q-2026-00001", "O-2026-00001", "INV-2026-00001", "25.00 EUR", "predicted 75.00"):
        assert text in html
    empty = xrm_client.get(f"/parties/{globex_id}/panels/sales.documents").get_data(as_text=True)
    assert "No quotes, orders or invoices yet." in empty
    page = xrm_client.get("/sales/documents/")
    assert page.status_code == 200 and "INV-2026-00001" in page.get_data(as_text=True)


def test_a_quote_whose_total_a_document_cannot_hold_is_refused(xrm_session, shop):
    _, setup, acme, _ = shop
    most = LineRequest(setup.id, Decimal(9999999999))  # 80.00 each, + 10 % tax: 8.8e11 a line
    with pytest.raises(xrm.ValidationError) as refused:
        create_quote(xrm_session, acme.id, [most, most], currency="EUR", on_date=TODAY)
    assert "more than a document can hold" in str(refused.value.messages["lines"])
    xrm_session.rollback()
    assert xrm_session.scalars(select(Quote)).all() == []

