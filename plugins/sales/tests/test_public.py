"""The customer's signed link: read, accept or refuse once; tampered, expired and stale links refused."""

import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import xrm_sdk as xrm
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select
from xrm_sales.catalogue import PriceList, PriceListItem, Product
from xrm_sales.documents import Quote
from xrm_sales.documents_service import LineRequest, create_quote, public_link_token, revise_quote

API = "/api/v1/sales"


@pytest.fixture(autouse=True)
def _today(xrm_clock):
    xrm_clock.set(datetime.now(UTC))  # the link's own timestamps use the system clock


@pytest.fixture
def sent(xrm_session, xrm_client):
    """A quote sent through the API: ``(quote id, public path)``."""
    product = Product(code="W", name="Widget")
    xrm_session.add(PriceList(name="List", currency="EUR",
                              items=[PriceListItem(product=product, unit_price=Decimal("12.50"))]))
    customer = xrm.create_party(xrm_session, "organization", "Acme Corp", custom=None)
    quote = create_quote(xrm_session, customer.id, [LineRequest(product.id, Decimal(4))], currency="EUR")
    xrm_session.commit()
    quote_id = quote.id
    xrm_session.close()
    link = xrm_client.post(f"{API}/quotes/{quote_id}/send").get_json()["public_link"]
    return quote_id, link[link.index("/sales/public/"):]


def _status(session, quote_id):
    session.expire_all()
    status = session.get(Quote, quote_id).status
    session.commit()
    return status


def test_the_customer_reads_and_accepts_once(xrm_app, xrm_session, sent, xrm_events):
    quote_id, path = sent
    visitor = xrm_app.test_client()  # not signed in
    page = visitor.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Q-" in html and "50.00 EUR" in html and "Accept this quote" in html
    pdf = visitor.get(f"{path}/pdf")
    assert (pdf.status_code, pdf.mimetype) == (200, "application/pdf")

    accepted = visitor.post(path, data={"decision": "accept"})
    assert accepted.status_code == 200
    assert "you accepted this quote" in accepted.get_data(as_text=True)
    assert _status(xrm_session, quote_id) == "accepted"
    assert [(e.type, e.actor) for e in xrm_events if e.type == "sales.quote.accepted"] == [
        ("sales.quote.accepted", "public:quote-link")]

    again = visitor.post(path, data={"decision": "refuse"})
    assert again.status_code == 409
    assert "you accepted this quote" in again.get_data(as_text=True)
    assert _status(xrm_session, quote_id) == "accepted"
    assert visitor.get(path).get_data(as_text=True).count("Refuse this quote") == 0


def test_the_customer_can_refuse(xrm_app, xrm_session, sent, xrm_events):
    quote_id, path = sent
    refused = xrm_app.test_client().post(path, data={"decision": "refuse"})
    assert refused.status_code == 200 and "You refused this quote" in refused.get_data(as_text=True)
    assert _status(xrm_session, quote_id) == "refused"
    assert "sales.quote.refused" in [e.type for e in xrm_events]


def test_a_tampered_link_is_refused_and_nothing_changes(xrm_app, xrm_session, sent):
    quote_id, path = sent
    visitor = xrm_app.test_client()
    token = path.rsplit("/", 1)[1]
    tampered = path[: -len(token)] + token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for response in (visitor.get(tampered), visitor.post(tampered, data={"decision": "accept"}),
                     visitor.get(f"{tampered}/pdf")):
        assert response.status_code == 403
        assert "This link is not valid." in response.get_data(as_text=True)
    assert visitor.get(path.replace("/public/test/", "/public/nosuchtenant/")).status_code == 404
    assert _status(xrm_session, quote_id) == "sent"


def test_a_link_signed_for_another_tenant_is_refused(xrm_app, xrm_platform, xrm_session, sent):
    from xrm_core import tenants  # the harness's platform API, to make a second tenant

    _, path = sent
    with xrm_platform.db.transaction(all_tenants=True) as session:
        other = tenants.create_tenant(session, "other", "Other tenant")
        tenants.enable_plugin(xrm_platform, session, other, "sales")
    response = xrm_app.test_client().get(path.replace("/public/test/", "/public/other/"))
    assert response.status_code == 403 and "not valid" in response.get_data(as_text=True)


def test_an_expired_link_is_refused(xrm_app, xrm_session, sent, monkeypatch):
    quote_id, _ = sent
    quote = xrm_session.get(Quote, quote_id)
    month_ago = int(time.time()) - 31 * 24 * 3600
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: month_ago)
    token = public_link_token(xrm_session, quote)
    xrm_session.commit()
    monkeypatch.undo()
    visitor = xrm_app.test_client()
    response = visitor.post(f"/sales/public/test/quotes/{token}", data={"decision": "accept"})
    assert response.status_code == 410
    assert "This link has expired." in response.get_data(as_text=True)
    assert _status(xrm_session, quote_id) == "sent"


def test_a_link_to_a_revised_quote_is_refused(xrm_app, xrm_session, sent):
    quote_id, path = sent
    quote = xrm_session.get(Quote, quote_id)
    revise_quote(xrm_session, quote, [LineRequest(quote.current.lines[0].product_id, Decimal(5))])
    xrm_session.commit()
    response = xrm_app.test_client().post(path, data={"decision": "accept"})
    assert response.status_code == 410
    assert "revised since this link was sent" in response.get_data(as_text=True)
    assert _status(xrm_session, quote_id) == "draft"
    assert xrm_session.scalars(select(Quote.current_version)).one() == 2
    xrm_session.commit()


def test_a_quote_past_its_validity_cannot_be_accepted(xrm_app, xrm_session, xrm_clock, sent):
    quote_id, path = sent
    xrm_clock.advance(days=31)
    response = xrm_app.test_client().post(path, data={"decision": "accept"})
    assert response.status_code == 410
    assert _status(xrm_session, quote_id) == "sent"


def test_the_expiry_job_expires_sent_quotes_once_and_the_link_then_refuses(xrm_app, xrm_session, xrm_clock, sent,
                                                                         xrm_run_periodic_jobs, xrm_events):
    quote_id, path = sent
    assert xrm_run_periodic_jobs("sales.quote_expiry") is not None and _status(xrm_session, quote_id) == "sent"
    assert [e for e in xrm_events if e.type == "sales.quote.expired"] == []  # still valid today
    xrm_clock.advance(days=31)
    xrm_run_periodic_jobs("sales.quote_expiry")
    assert _status(xrm_session, quote_id) == "expired"
    expired = [e for e in xrm_events if e.type == "sales.quote.expired"]
    assert len(expired) == 1 and expired[0].payload["status"] == "expired"
    assert expired[0].actor == "job:sales.quote_expiry" and expired[0].payload["valid_until"] < xrm_clock.now().date().isoformat()
    xrm_run_periodic_jobs("sales.quote_expiry")  # idempotent: nothing is sent twice
    assert len([e for e in xrm_events if e.type == "sales.quote.expired"]) == 1
    refused = xrm_app.test_client().post(path, data={"decision": "accept"})
    assert refused.status_code == 410 and "This link has expired." in refused.get_data(as_text=True)
    assert _status(xrm_session, quote_id) == "expired"
