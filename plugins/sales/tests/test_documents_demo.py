"""Demo documents on top of the core demo and the sales demo: a history of paid orders, open quotes."""

from decimal import Decimal

from sqlalchemy import func, select
from xrm_sales import plugin
from xrm_sales.clv import rfm_scores
from xrm_sales.documents import Invoice, Order, Quote


def test_demo_documents_are_added_once(xrm_platform, xrm_tenant, xrm_session):
    from xrm_core import demo  # the core demo's parties and staff, as `xrm demo` seeds them first

    demo.seed(xrm_session, xrm_platform, "demo-password-123")
    plugin.xrm_demo_data(tenant=xrm_tenant, session=xrm_session)
    plugin.xrm_demo_data(tenant=xrm_tenant, session=xrm_session)
    xrm_session.commit()
    statuses = dict(xrm_session.execute(select(Quote.status, func.count()).group_by(Quote.status)).all())
    assert statuses == {"accepted": 8, "sent": 2}  # 7 past orders and the won opportunity; 2 proposals
    assert xrm_session.scalar(select(func.count()).select_from(Order)) == 8
    invoices = xrm_session.scalars(select(Invoice)).all()
    assert sorted(i.status for i in invoices) == ["issued"] + ["paid"] * 7
    assert all(i.total == i.subtotal * Decimal("1.2") for i in invoices)  # the demo's 20 % VAT
    assert {s.segment for s in rfm_scores(xrm_session)}  # the customers with orders are scored
    xrm_session.commit()
