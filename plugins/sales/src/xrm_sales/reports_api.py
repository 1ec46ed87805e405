"""The sales reports as JSON under ``/api/v1/sales/reports``: revenue, forecast, pipeline, win rates.

The same functions as the report pages (:mod:`xrm_sales.revenue`, :mod:`xrm_sales.analytics`) read
through the caller's permission-scoped session, so a Sales North rep's figures count only the
orders and opportunities their rights reach. Amounts are decimal strings per currency: amounts in
different currencies are never added together, unless ``currency=reporting`` asks for every amount
converted to the tenant's reporting currency (those without a rate listed apart, unconverted). A
bad parameter is a 422 problem naming it.
"""

from __future__ import annotations

import xrm_sdk as xrm
from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema

from . import analytics
from .permissions import require
from .revenue import (
    Period,
    converted_revenue_per_customer,
    converted_revenue_per_product,
    revenue_per_customer,
    revenue_per_product,
)
from .sales_settings import reporting_currency

blueprint = xrm.ApiBlueprint("sales_reports_api", __name__, url_prefix="/reports",
                             description="Sales reports: revenue, forecast, pipeline, win rates")

AMOUNT = {"as_string": True}


class PeriodQuerySchema(xrm.Schema):
    start = fields.Date(load_default=None, metadata={"description": "First day counted (YYYY-MM-DD)."})
    end = fields.Date(load_default=None, metadata={"description": "Day after the last one counted (YYYY-MM-DD)."})

    @validates_schema
    def _ordered(self, data, **_kwargs):
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise ValidationError("Must be after start.", "end")


CURRENCY = fields.String(
    load_default="own", validate=validate.OneOf(("own", "reporting")),
    metadata={"description": "``own``: one row per currency, amounts never added across currencies. "
                             "``reporting``: every amount converted to the tenant's reporting currency (sales "
                             "settings) at the exchange rate valid on its order's (or expected close) date; "
                             "the amounts no stored rate converts are listed apart in ``unconverted``, in their "
                             "own currency. 422 when no reporting currency is set."})


class ForecastQuerySchema(PeriodQuerySchema):
    currency = CURRENCY


class RevenueQuerySchema(PeriodQuerySchema):
    currency = CURRENCY
    by = fields.String(load_default="customer", validate=validate.OneOf(("customer", "product")),
                       metadata={"description": "One row per customer (and currency) or per product."})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=10_000))


class RevenueRowSchema(xrm.Schema):
    customer_id = fields.Integer(metadata={"description": "With by=customer."})
    customer_name = fields.String()
    product_id = fields.Integer(allow_none=True, metadata={"description": "With by=product."})
    code = fields.String()
    name = fields.String()
    quantity = fields.Decimal(**AMOUNT)
    orders = fields.Integer()
    currency = fields.String()
    revenue = fields.Decimal(**AMOUNT, metadata={"description": "Net of tax, in the row's currency."})


class ForecastRowSchema(xrm.Schema):
    month = fields.String(metadata={"description": "YYYY-MM of the expected close date."})
    owner = fields.String()
    currency = fields.String()
    count = fields.Integer()
    amount = fields.Decimal(**AMOUNT)
    weighted = fields.Decimal(**AMOUNT, metadata={"description": "Amount × probability."})


class PipelineQuerySchema(xrm.Schema):
    pipeline_id = fields.Integer(load_default=None)


class StageRowSchema(xrm.Schema):
    pipeline = fields.String()
    stage = fields.String()
    position = fields.Integer()
    currency = fields.String()
    count = fields.Integer()
    amount = fields.Decimal(**AMOUNT)
    weighted = fields.Decimal(**AMOUNT)


class WinRateQuerySchema(PeriodQuerySchema):
    by = fields.String(load_default="source", validate=validate.OneOf(("source", "department")))


class WinRateRowSchema(xrm.Schema):
    key = fields.String(metadata={"description": "The source or the department."})
    won = fields.Integer()
    lost = fields.Integer()
    win_rate = fields.Decimal(as_string=True, metadata={"description": "Percent, one decimal."})
    average_cycle_days = fields.Decimal(as_string=True, allow_none=True)


def _items(row_schema):
    """``{"items": [rows]}``: an object, so the report can grow other members later."""
    return type(f"{row_schema.__name__}Page", (xrm.Schema,), {"items": fields.List(fields.Nested(row_schema))})


def _converted_items(row_schema):
    """:func:`_items` plus, with ``currency=reporting``, the reporting currency and the unconverted rows."""
    return type(f"{row_schema.__name__}ConvertedPage", (_items(row_schema),), {
        "currency": fields.String(metadata={"description": "With currency=reporting: the currency of ``items``."}),
        "unconverted": fields.List(fields.Nested(row_schema), metadata={
            "description": "With currency=reporting: the amounts without an exchange rate on their date, in "
                           "their own currency (never added to ``items``)."}),
    })


def _reporting_currency(session) -> str:
    """The tenant's reporting currency, for ``currency=reporting``.

    :raises xrm.ValidationError: on ``currency``: the tenant has none.
    """
    target = reporting_currency(session)
    if target is None:
        raise xrm.ValidationError({"currency": ["No reporting currency is set (sales settings)."]})
    return target


def _converted(report) -> dict:
    return {"currency": report.currency, "items": report.rows, "unconverted": report.unconverted}


@blueprint.route("/revenue")
class RevenueReport(MethodView):
    @blueprint.arguments(RevenueQuerySchema, location="query")
    @blueprint.response(200, _converted_items(RevenueRowSchema))
    def get(self, query):
        """Revenue of the orders dated in the period, per customer or per product and currency, biggest first."""
        session = xrm.db_session()
        require(session, "sales.revenue.read")
        period = Period(query["start"], query["end"])
        if query["currency"] == "reporting":
            target = _reporting_currency(session)
            if query["by"] == "product":
                return _converted(converted_revenue_per_product(session, target, period, limit=query["limit"]))
            report = converted_revenue_per_customer(session, target, period, limit=query["limit"])
            return {"currency": report.currency, "items": [row._asdict() for row in report.rows],
                    "unconverted": [row._asdict() for row in report.unconverted]}
        if query["by"] == "product":
            return {"items": revenue_per_product(session, period, limit=query["limit"])}
        return {"items": [row._asdict() for row in revenue_per_customer(session, period, limit=query["limit"])]}


@blueprint.route("/forecast")
class ForecastReport(MethodView):
    @blueprint.arguments(ForecastQuerySchema, location="query")
    @blueprint.response(200, _converted_items(ForecastRowSchema))
    def get(self, query):
        """Open opportunities expected to close in the period, per month, owner and currency (weighted)."""
        session = xrm.db_session()
        require(session, "sales.opportunity.read")
        if query["currency"] == "reporting":
            return _converted(analytics.converted_forecast(session, _reporting_currency(session), query["start"],
                                                           query["end"]))
        return {"items": analytics.forecast(session, query["start"], query["end"])}


@blueprint.route("/pipeline")
class PipelineReport(MethodView):
    @blueprint.arguments(PipelineQuerySchema, location="query")
    @blueprint.response(200, _items(StageRowSchema))
    def get(self, query):
        """Open opportunities per stage, in pipeline order, and currency."""
        session = xrm.db_session()
        require(session, "sales.opportunity.read")
        return {"items": analytics.pipeline_by_stage(session, query["pipeline_id"])}


@blueprint.route("/win-rates")
class WinRateReport(MethodView):
    @blueprint.arguments(WinRateQuerySchema, location="query")
    @blueprint.response(200, _items(WinRateRowSchema))
    def get(self, query):
        """Won and lost opportunities closed in the period, per source or department, with the average cycle."""
        session = xrm.db_session()
        require(session, "sales.opportunity.read")
        return {"items": analytics.win_rates(session, query["by"], query["start"], query["end"])}
