"""Document numbers: patterns, per type and tenant, no gap after a rollback, none lost or doubled
when many workers create documents at once (threads with sessions of their own)."""

import threading
from datetime import date
from decimal import Decimal

import pytest
import xrm_sdk as xrm
from sqlalchemy import select
from xrm_sales.catalogue import PriceList, PriceListItem, Product
from xrm_sales.documents import Quote
from xrm_sales.documents_service import LineRequest, create_quote
from xrm_sales.numbering import DocumentSequence, NumberingError, check_pattern, next_number, set_pattern

WORKERS = 6
QUOTES_PER_WORKER = 5


def test_numbers_follow_the_pattern_per_document_type(xrm_session):
    assert [next_number(xrm_session, "quote", date(2026, 3, 1)) for _ in range(3)] == [
        "Q-2026-00001", "Q-2026-00002", "Q-2026-00003"]
    assert next_number(xrm_session, "invoice", date(2026, 3, 1)) == "INV-2026-00001"
    set_pattern(xrm_session, "invoice", "F{year}{month:02d}/{seq}")
    assert next_number(xrm_session, "invoice", date(2027, 1, 5)) == "F202701/2"
    xrm_session.commit()


@pytest.mark.parametrize(("pattern", "problem"), [
    ("Q-{year}", "no {seq}"), ("Q-{seq}-{client}", "unknown fields: client"), ("Q-{seq", "not valid"),
    ("Q-{seq:d}-{0}", "unknown fields: 0"),
])
def test_a_bad_pattern_is_refused_naming_the_problem(pattern, problem):
    with pytest.raises(NumberingError, match=problem.replace("{", r"\{")):
        check_pattern(pattern)


def test_an_unknown_document_type_is_refused(xrm_session):
    with pytest.raises(NumberingError, match="receipt"):
        next_number(xrm_session, "receipt")


def test_a_rolled_back_document_gives_its_number_back(xrm_session):
    assert next_number(xrm_session, "order", date(2026, 1, 1)) == "O-2026-00001"
    xrm_session.commit()
    assert next_number(xrm_session, "order", date(2026, 1, 1)) == "O-2026-00002"
    xrm_session.rollback()
    assert next_number(xrm_session, "order", date(2026, 1, 1)) == "O-2026-00002"
    xrm_session.commit()


def test_each_tenant_counts_on_its_own(xrm_platform, xrm_tenant):
    from xrm_core import tenants  # the harness's own platform API, to make a second tenant

    with xrm_platform.db.transaction(all_tenants=True) as session:
        other = tenants.create_tenant(session, "other", "Other tenant")
    for tenant_id in (xrm_tenant.id, other.id, xrm_tenant.id):
        with xrm_platform.db.transaction(tenant_id) as session:
            next_number(session, "quote", date(2026, 1, 1))
    with xrm_platform.db.session(all_tenants=True) as session:
        counters = session.execute(select(DocumentSequence.tenant_id, DocumentSequence.last_value)
                                   .order_by(DocumentSequence.tenant_id)).all()
    assert [tuple(row) for row in counters] == [(xrm_tenant.id, 2), (other.id, 1)]


def test_concurrent_workers_get_every_number_exactly_once(xrm_platform, xrm_tenant, xrm_session):
    product = Product(code="P", name="Product")
    xrm_session.add(PriceList(name="List", currency="EUR",
                              items=[PriceListItem(product=product, unit_price=Decimal("10.00"))]))
    customer = xrm.create_party(xrm_session, "organization", "Customer")
    xrm_session.commit()
    product_id, customer_id = product.id, customer.id
    xrm_session.close()
    start = threading.Barrier(WORKERS)
    failures: list[BaseException] = []

    def worker():
        try:
            start.wait()
            for _ in range(QUOTES_PER_WORKER):
                with xrm_platform.db.transaction(xrm_tenant.id) as session:
                    create_quote(session, customer_id, [LineRequest(product_id, Decimal(1))], currency="EUR",
                                 on_date=date(2026, 6, 1))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with xrm_platform.db.session(xrm_tenant.id) as session:
        numbers = sorted(session.scalars(select(Quote.number)))
    total = WORKERS * QUOTES_PER_WORKER
    assert numbers == [f"Q-2026-{n:05d}" for n in range(1, total + 1)]
