"""Report pages with server-side SVG charts (pygal), their CSV and XLSX exports, and dashboard widgets.

Everything reads through the request's session: figures, charts and exports only count the
opportunities the user may see.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, fields
from datetime import date
from html import escape

import pygal
import xrm_sdk as xrm
from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup
from openpyxl import Workbook

from . import analytics
from .permissions import require
from .sales_settings import reporting_currency

blueprint = Blueprint("sales_reports", __name__, template_folder="templates", url_prefix="/sales/reports")


def _forecast(session, args) -> tuple[str | None, list[analytics.ForecastRow], list[analytics.ForecastRow]]:
    """``(currency, rows, unconverted rows)`` of the forecast: converted to the reporting currency
    with ``currency=reporting`` when one is set (``currency`` is then that one), else per currency."""
    target = reporting_currency(session) if args.get("currency") == "reporting" else None
    if target is None:
        return None, analytics.forecast(session, _date(args, "from"), _date(args, "to")), []
    converted = analytics.converted_forecast(session, target, _date(args, "from"), _date(args, "to"))
    return target, converted.rows, converted.unconverted


def _forecast_rows(session, args) -> list[analytics.ForecastRow]:
    """The forecast as exported: the rows no rate converted follow, in their own currency."""
    _target, rows, unconverted = _forecast(session, args)
    return [*rows, *unconverted]


#: Report name -> its rows, from the session and the request's arguments (``from``, ``to``, ``currency``).
REPORTS = {
    "pipeline": lambda session, args: analytics.pipeline_by_stage(session),
    "forecast": _forecast_rows,
    "win-rate-by-source": lambda session, args: analytics.win_rates(session, "source", _date(args, "from"),
                                                                    _date(args, "to")),
    "win-rate-by-department": lambda session, args: analytics.win_rates(session, "department", _date(args, "from"),
                                                                        _date(args, "to")),
}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _date(args, name: str) -> date | None:
    value = args.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise xrm.ValidationError({name: [_("Use the form YYYY-MM-DD.")]}) from None


def _chart(chart_class, title: str, labels: list[str], series: dict[str, list]) -> Markup:
    chart = chart_class(height=320, width=720, disable_xml_declaration=True, explicit_size=False, js=[],
                        legend_at_bottom=True, x_label_rotation=20)
    chart.x_labels = labels
    for name, values in series.items():
        chart.add(name, [float(v) for v in values])  # drawing only: the figures shown stay decimals
    # pygal escapes the labels it writes into the SVG.
    return Markup(f'<figure class="chart" role="img" aria-label="{escape(title)}">{chart.render(is_unicode=True)}</figure>')


def pipeline_chart(rows: list[analytics.StageRow]) -> Markup:
    labels = list(dict.fromkeys(f"{r.pipeline}: {r.stage}" for r in rows))
    series = {}
    for currency in sorted({r.currency for r in rows}):
        by_label = {f"{r.pipeline}: {r.stage}": r.weighted for r in rows if r.currency == currency}
        series[_("Weighted %(currency)s", currency=currency)] = [by_label.get(label, 0) for label in labels]
    return _chart(pygal.Bar, _("Pipeline by stage"), labels, series)


def forecast_chart(rows: list[analytics.ForecastRow]) -> Markup:
    months = sorted({r.month for r in rows})
    series = {}
    for owner, currency in sorted({(r.owner, r.currency) for r in rows}):
        by_month = {r.month: r.weighted for r in rows if (r.owner, r.currency) == (owner, currency)}
        series[f"{owner} ({currency})"] = [by_month.get(month, 0) for month in months]
    return _chart(pygal.StackedBar, _("Weighted forecast by month"), months, series)


def win_rate_chart(rows: list[analytics.WinRateRow], title: str) -> Markup:
    return _chart(pygal.Bar, title, [r.key for r in rows], {_("Win rate (%)"): [r.win_rate for r in rows]})


@blueprint.get("/")
def index():
    """Pipeline, forecast and win rates, each with its chart and export links."""
    session = xrm.db_session()
    require(session, "sales.opportunity.read")
    args = request.args
    stages = REPORTS["pipeline"](session, args)
    target, forecast_rows, unconverted = _forecast(session, args)
    by_source = REPORTS["win-rate-by-source"](session, args)
    by_department = REPORTS["win-rate-by-department"](session, args)
    return render_template(
        "sales/reports.html", stages=stages, forecast=forecast_rows, by_source=by_source,
        by_department=by_department, args=args, target=target, unconverted=unconverted,
        reporting_currency=reporting_currency(session),
        charts={"pipeline": pipeline_chart(stages) if stages else None,
                "forecast": forecast_chart(forecast_rows) if forecast_rows else None,
                "source": win_rate_chart(by_source, _("Win rate by source")) if by_source else None,
                "department": win_rate_chart(by_department, _("Win rate by department")) if by_department else None},
    )


@blueprint.get("/<name>.<extension>")
def export(name: str, extension: str):
    """A report's rows as CSV or XLSX (needs ``sales.opportunity.export``)."""
    if name not in REPORTS or extension not in CONTENT_TYPES:
        abort(404)
    session = xrm.db_session()
    require(session, "sales.opportunity.export")
    rows = REPORTS[name](session, request.args)
    body = to_csv(rows, _columns(name)) if extension == "csv" else to_xlsx(rows, _columns(name), name)
    return Response(body, content_type=CONTENT_TYPES[extension],
                    headers={"Content-Disposition": f'attachment; filename="sales-{name}.{extension}"'})


def _columns(name: str) -> list[str]:
    row_type = {"pipeline": analytics.StageRow, "forecast": analytics.ForecastRow}.get(name, analytics.WinRateRow)
    return [field.name for field in fields(row_type)]


def to_csv(rows, columns: list[str]) -> str:
    """The rows as CSV with a header line; decimals written exactly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        values = asdict(row)
        writer.writerow(["" if values[c] is None else str(values[c]) for c in columns])
    return out.getvalue()


def to_xlsx(rows, columns: list[str], title: str) -> bytes:
    """The rows as an XLSX workbook of one sheet (amounts as numbers formatted to two decimals)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    sheet.append(columns)
    for row in rows:
        values = asdict(row)
        sheet.append([values[c] for c in columns])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _forecast_widget(_tenant) -> str:
    rows = analytics.forecast(xrm.db_session())
    if not rows:
        return f'<p class="muted">{escape(_("No open opportunity with an expected close date."))}</p>'
    return str(forecast_chart(rows))


def _pipeline_widget(_tenant) -> str:
    rows = analytics.pipeline_by_stage(xrm.db_session())
    if not rows:
        return f'<p class="muted">{escape(_("No open opportunity."))}</p>'
    return str(pipeline_chart(rows))


def _win_rate_widget(_tenant) -> str:
    rows = analytics.win_rates(xrm.db_session(), "source")
    if not rows:
        return f'<p class="muted">{escape(_("No opportunity closed yet."))}</p>'
    return str(win_rate_chart(rows, _("Win rate by source")))


WIDGETS = [
    xrm.DashboardWidget("sales.forecast", title="Weighted sales forecast", render=_forecast_widget),
    xrm.DashboardWidget("sales.pipeline", title="Sales pipeline by stage", render=_pipeline_widget),
    xrm.DashboardWidget("sales.win_rate", title="Win rate by source", render=_win_rate_widget),
]
