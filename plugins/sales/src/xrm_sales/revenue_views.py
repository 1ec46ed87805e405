"""The revenue page (per customer, per product, lifetime value, RFM) with charts and exports."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pygal
import xrm_sdk as xrm
from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup

from .clv import EXPECTED_LIFESPAN_YEARS, SEGMENTS, customer_values, rfm_scores
from .permissions import allowed, require
from .revenue import (
    Period,
    converted_revenue_per_customer,
    converted_revenue_per_product,
    revenue_per_customer,
    revenue_per_product,
    to_csv,
    to_xlsx,
)
from .sales_settings import CONFIGURE, reporting_currency

blueprint = Blueprint("sales_revenue", __name__, template_folder="templates", url_prefix="/sales/revenue")

TOP = 20
WIDGET_TOP = 8
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORTS = ("customers", "products", "clv", "rfm")


def _period() -> Period:
    try:
        return Period(*(date.fromisoformat(request.args[key]) if request.args.get(key) else None
                        for key in ("start", "end")))
    except ValueError:
        abort(400, "start and end must be dates written YYYY-MM-DD.")


def _chart(chart) -> Markup:
    chart.config.disable_xml_declaration = True
    chart.config.js = []  # no script fetched from the internet: a static SVG
    return Markup(chart.render(is_unicode=True))


def reporting_target(session) -> str | None:
    """The reporting currency when the request asks for it (``currency=reporting``) and one is set."""
    return reporting_currency(session) if request.args.get("currency") == "reporting" else None


@blueprint.get("/")
def index():
    """The revenue reports of the orders the user may see, with a chart each."""
    session = xrm.db_session()
    require(session, "sales.revenue.read")
    period, today = _period(), xrm.utcnow().date()
    target = reporting_target(session)
    unconverted = {"customers": [], "products": []}
    if target:
        by_customer = converted_revenue_per_customer(session, target, period, limit=TOP)
        by_product = converted_revenue_per_product(session, target, period, limit=TOP)
        customers, products = by_customer.rows, by_product.rows
        unconverted = {"customers": by_customer.unconverted, "products": by_product.unconverted}
    else:
        customers = revenue_per_customer(session, period, limit=TOP)
        products = revenue_per_product(session, period, limit=TOP)
    values = customer_values(session, today)[:TOP]
    segments = Counter(score.segment for score in rfm_scores(session))
    customer_chart = pygal.HorizontalBar(height=360, show_legend=False, title=_("Revenue per customer"))
    customer_chart.x_labels = [row.customer_name for row in customers]
    customer_chart.add("Revenue", [float(row.revenue) for row in customers])
    product_chart = pygal.HorizontalBar(height=360, show_legend=False, title=_("Revenue per product"))
    product_chart.x_labels = [f"{row.code} {row.name}" for row in products]
    product_chart.add("Revenue", [float(row.revenue) for row in products])
    segment_chart = pygal.Pie(height=320, title=_("RFM segments"))
    for name in SEGMENTS:
        segment_chart.add(name, segments.get(name, 0))
    return render_template(
        "sales/revenue.html", tenant=xrm.current_tenant(), period=period, customers=customers, products=products,
        target=target, unconverted=unconverted, reporting_currency=reporting_currency(session),
        may_configure=allowed(session, CONFIGURE),
        values=values, segments=[(name, segments.get(name, 0)) for name in SEGMENTS],
        lifespan=EXPECTED_LIFESPAN_YEARS, customer_chart=_chart(customer_chart),
        product_chart=_chart(product_chart), segment_chart=_chart(segment_chart),
    )


def _revenue_widget(_tenant) -> str:
    """The top customers of the last 12 months, as a chart (what the reader may see)."""
    session = xrm.db_session()
    since = xrm.utcnow().date() - timedelta(days=365)
    rows = revenue_per_customer(session, Period(start=since), limit=WIDGET_TOP)
    if not rows:
        return render_template("sales/revenue_widget.html", chart=None)
    chart = pygal.HorizontalBar(height=260, show_legend=False)
    chart.x_labels = [f"{row.customer_name} ({row.currency})" for row in rows]
    chart.add("Revenue", [float(row.revenue) for row in rows])
    return render_template("sales/revenue_widget.html", chart=_chart(chart))


WIDGETS = [xrm.DashboardWidget("sales.revenue", title="Top customers, last 12 months", render=_revenue_widget)]


def report_rows(session, report: str, period: Period, target: str | None = None) -> tuple[list[str], list[list]]:
    """The header and rows of one report, as exported.

    With a reporting currency ``target``, the revenue reports' converted rows come first, then the
    amounts no rate converted, in their own currency (the currency column tells them apart).
    """
    if report == "customers":
        if target:
            converted = converted_revenue_per_customer(session, target, period)
            customers = [*converted.rows, *converted.unconverted]
        else:
            customers = revenue_per_customer(session, period)
        return (["customer_id", "customer", "currency", "revenue", "orders"],
                [[r.customer_id, r.customer_name, r.currency, r.revenue, r.orders] for r in customers])
    if report == "products":
        if target:
            converted = converted_revenue_per_product(session, target, period)
            products = [*converted.rows, *converted.unconverted]
        else:
            products = revenue_per_product(session, period)
        return (["product_id", "code", "product", "currency", "quantity", "revenue"],
                [[r.product_id, r.code, r.name, r.currency, r.quantity, r.revenue] for r in products])
    if report == "clv":
        return (["customer_id", "orders", "historic_clv", "first_order", "last_order", "average_order_value",
                 "orders_per_year", "predicted_clv"],
                [[v.customer_id, v.orders, v.historic_clv, v.first_order, v.last_order, v.average_order_value,
                  v.purchase_frequency, v.predicted_clv] for v in customer_values(session, xrm.utcnow().date())])
    return (["customer_id", "last_order", "orders", "revenue", "r", "f", "m", "segment"],
            [[s.customer_id, s.last_order, s.orders, s.revenue, s.recency, s.frequency, s.monetary, s.segment]
             for s in rfm_scores(session)])


@blueprint.get("/<report>.<fmt>")
def export(report: str, fmt: str):
    """A report as ``csv`` or ``xlsx`` (``customers``, ``products``, ``clv``, ``rfm``)."""
    if report not in REPORTS or fmt not in ("csv", "xlsx"):
        abort(404)
    session = xrm.db_session()
    require(session, "sales.revenue.read")
    header, rows = report_rows(session, report, _period(), reporting_target(session))
    if fmt == "csv":
        body, mimetype = to_csv(header, rows), "text/csv"
    else:
        body, mimetype = to_xlsx(report, header, rows), XLSX
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="sales-{report}.{fmt}"'})
