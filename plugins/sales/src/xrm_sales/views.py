"""The plugin's web pages under ``/sales/``: opportunities, the board of each pipeline, leads,
products; plus the party panel and the navigation entries.

Pages read through the request's session, so each user sees only the opportunities and leads
their rights reach (a Sales North rep's board has no Sales South deal). Changes go through the
same services as the API; a refused change is explained in a message and changes nothing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

import xrm_sdk as xrm
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from . import leads, opportunities
from .analytics import open_summary
from .catalogue import Product
from .permissions import allowed, require
from .pipeline import Lead, Opportunity, Pipeline
from .pipeline_api import OPPORTUNITIES

blueprint = Blueprint("sales", __name__, template_folder="templates", url_prefix="/sales")

#: The opportunities list (:data:`OPPORTUNITY_LIST`) as it opens: the open deals, closing soonest first.
OPPORTUNITIES_URL = "/lists/sales.opportunities?status=open&sort=expected_close_date"
NAVIGATION = [
    xrm.NavEntry("sales.opportunities", label="Sales", url=OPPORTUNITIES_URL, order=50),
    xrm.NavEntry("sales.leads", label="Leads", url="/sales/leads", order=51),
    xrm.NavEntry("sales.reports", label="Sales reports", url="/sales/reports/", order=52),
]


def _refusal(exc: Exception) -> str:
    """A one-line reason for a refused change, naming the fields when there are some."""
    if isinstance(exc, xrm.ValidationError):
        messages = exc.messages if isinstance(exc.messages, dict) else {"": exc.messages}
        return "; ".join(f"{name}: {' '.join(map(str, text if isinstance(text, list) else [text]))}".lstrip(": ")
                         for name, text in messages.items())
    return str(exc)


@blueprint.get("/")
def index():
    """The opportunities list is the core's generic list page (:data:`OPPORTUNITY_LIST`), open ones first."""
    return redirect(OPPORTUNITIES_URL, code=303)


def _list_links(session) -> list[tuple[str, str]]:
    """The list page's buttons: each pipeline's board, and a new opportunity when the user may add one."""
    # Absolute endpoints: the core's list page renders these outside this blueprint.
    boards = [(_("Board: %(name)s", name=p.name), url_for("sales.board", pipeline_id=p.id))
              for p in session.scalars(select(Pipeline).order_by(Pipeline.name))] if allowed(
        session, "sales.pipeline.read") else []
    new = [(_("New opportunity"), url_for("sales.new_opportunity"))] if allowed(session, "sales.opportunity.create") else []
    configure = [(_("Pipelines"), url_for("sales_settings.pipelines"))] if allowed(
        session, "sales.pipeline.create") else []
    return boards + new + configure


#: ``/lists/sales.opportunities``: the core serves it (filters, sort, pages, saved views, export).
OPPORTUNITY_LIST = xrm.ListView(
    "sales.opportunities", title="Opportunities", description="The deals you may see.",
    listing=OPPORTUNITIES,
    columns=(
        xrm.ListColumn("title", "Title"),
        xrm.ListColumn("customer", "Customer", value=lambda o: o.customer.display_name if o.customer else "",
                       field="customer_id"),
        xrm.ListColumn("stage", "Stage", value=lambda o: o.stage.name, field="stage_id"),
        xrm.ListColumn("amount", "Amount"),
        xrm.ListColumn("currency", "Currency"),
        xrm.ListColumn("weighted", "Weighted", value=lambda o: o.weighted_amount, field="amount"),
        xrm.ListColumn("expected_close_date", "Expected close"),
        xrm.ListColumn("status", "Status", default=False),
        xrm.ListColumn("created_at", "Created", default=False),
    ),
    filters=(
        xrm.ListFilter("status", "Status", choices=(("open", "Open"), ("won", "Won"), ("lost", "Lost"))),
        xrm.ListFilter("expected_close_date__gte", "Closing from (YYYY-MM-DD)"),
        xrm.ListFilter("expected_close_date__lt", "Closing before (YYYY-MM-DD)"),
    ),
    permission="sales.opportunity.read",
    detail_url=lambda o: url_for("sales.show_opportunity", opportunity_id=o.id),
    links=_list_links,
)

def _pipeline(session, pipeline_id: int) -> Pipeline:
    require(session, "sales.pipeline.read")
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise xrm.NotFound(_("No pipeline %(id)s.", id=pipeline_id))
    return pipeline


def _board_columns(session, pipeline_id: int) -> list[xrm.BoardColumn]:
    """The pipeline's open stages; opportunities are won or lost from their own page (with a reason)."""
    return [xrm.BoardColumn(stage.id, stage.name, badge=f"{int(stage.probability)} %", description=_(
        "Requires: %(fields)s", fields=", ".join(stage.required_fields)) if stage.required_fields else "")
        for stage in _pipeline(session, pipeline_id).open_stages]


def _board_cards(session, pipeline_id: int) -> list[xrm.BoardCard]:
    """The pipeline's open opportunities the user may see (with their customer when the user may see it too)."""
    found = session.scalars(select(Opportunity).where(Opportunity.pipeline_id == pipeline_id,
                                                      Opportunity.status == "open").order_by(Opportunity.id))
    return [xrm.BoardCard(o.id, o.stage_id, o.title, url=url_for(".show_opportunity", opportunity_id=o.id), details=[
        " · ".join(([o.customer.display_name] if o.customer else []) + [
            f"{o.amount if o.amount is not None else '—'} {o.currency}"])]) for o in found]


def _board_move(session, card: str, column: str, pipeline_id: int) -> None:
    """The stage change of the API (``opportunities.move_stage``): required fields, events, rights."""
    opportunity = session.get(Opportunity, int(card)) if card.isdigit() else None
    if opportunity is None or opportunity.pipeline_id != pipeline_id:
        raise xrm.NotFound(_("No opportunity %(id)s on this board.", id=card))
    opportunities.move_stage(session, opportunity, opportunities.stage_of(session, int(column)))


#: ``/sales/pipelines/<id>/board`` (endpoint ``sales.board``) and its moves.
BOARD = xrm.Board(
    "board", title=lambda session, pipeline_id: _("Board: %(name)s", name=_pipeline(session, pipeline_id).name),
    columns=_board_columns, cards=_board_cards, move=_board_move, permission="sales.opportunity.update",
    crumbs=lambda session, pipeline_id: [(_("Opportunities"), url_for(".index"))])
BOARD.register(blueprint, "/pipelines/<int:pipeline_id>/board")


@blueprint.route("/opportunities/new", methods=["GET", "POST"])
def new_opportunity():
    """Add an opportunity for a party the user may see."""
    session = xrm.db_session()
    pipelines = session.scalars(select(Pipeline).order_by(Pipeline.name)).all()
    form = request.form.to_dict() if request.method == "POST" else {"currency": "EUR",
                                                                     "customer_id": request.args.get("party", "")}
    if request.method == "POST":
        try:
            opportunity = _create_from_form(session, form)
            session.commit()
            return redirect(url_for(".show_opportunity", opportunity_id=opportunity.id))
        except (xrm.ValidationError, xrm.XrmError, xrm.PermissionDenied) as exc:
            session.rollback()
            flash(_refusal(exc), "error")
    return render_template("sales/opportunity_form.html", form=form, pipelines=pipelines), (
        422 if request.method == "POST" else 200)


def _create_from_form(session, form):
    customer = session.get(xrm.Party, int(form["customer_id"])) if form.get("customer_id", "").isdigit() else None
    if customer is None:
        raise xrm.ValidationError({"customer_id": [_("Choose a party you may see.")]})
    pipeline = session.get(Pipeline, int(form["pipeline_id"])) if form.get("pipeline_id", "").isdigit() else None
    try:
        amount = Decimal(form["amount"]) if form.get("amount") else None
    except InvalidOperation:
        raise xrm.ValidationError({"amount": [_("Not a number.")]}) from None
    if not form.get("title", "").strip():
        raise xrm.ValidationError({"title": [_("Give the opportunity a title.")]})
    expected = form.get("expected_close_date") or None
    return opportunities.create_opportunity(
        session, title=form["title"].strip(), customer=customer, currency=(form.get("currency") or "EUR")[:3],
        pipeline=pipeline, amount=amount, source=form.get("source") or None,
        expected_close_date=_date(expected) if expected else None)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise xrm.ValidationError({"expected_close_date": [_("Use the form YYYY-MM-DD.")]}) from None


@blueprint.get("/opportunities/<int:opportunity_id>")
def show_opportunity(opportunity_id: int):
    """One opportunity with its stage buttons (404 when the user may not see it)."""
    opportunity = xrm.db_session().get(Opportunity, opportunity_id) or abort(404)
    return render_template("sales/opportunity.html", opportunity=opportunity)


@blueprint.post("/opportunities/<int:opportunity_id>/move")
def move(opportunity_id: int):
    """Move to the stage posted on the opportunity's page (closing ones with the reason); back to the page."""
    session = xrm.db_session()
    opportunity = session.get(Opportunity, opportunity_id) or abort(404)
    back = url_for(".show_opportunity", opportunity_id=opportunity.id)
    try:
        stage = opportunities.stage_of(session, int(request.form.get("stage_id", "0")))
        opportunities.move_stage(session, opportunity, stage, reason=request.form.get("reason", ""))
        session.commit()
        flash(_("Moved to %(stage)s.", stage=stage.name), "success")
    except (xrm.ValidationError, xrm.XrmError, xrm.PermissionDenied, ValueError) as exc:
        session.rollback()
        flash(_("Not moved: %(reason)s", reason=_refusal(exc)), "error")
    return redirect(back)


@blueprint.get("/leads")
def leads_index():
    """The leads the user may see, newest first."""
    session = xrm.db_session()
    found = session.scalars(select(Lead).order_by(Lead.created_at.desc(), Lead.id.desc()).limit(200)).all()
    return render_template("sales/leads.html", leads=found, may_create=allowed(session, "sales.lead.create"))


@blueprint.post("/leads")
def add_lead():
    """Add a lead typed in by a user."""
    session = xrm.db_session()
    name = request.form.get("name", "").strip()
    if not name:
        flash(_("Not added: give the lead a name."), "error")
        return redirect(url_for(".leads_index"))
    leads.create_lead(session, name=name, company=request.form.get("company", ""),
                      email=request.form.get("email", ""), phone=request.form.get("phone", ""), source="manual")
    session.commit()
    return redirect(url_for(".leads_index"))


@blueprint.post("/leads/<int:lead_id>/qualify")
def qualify_lead(lead_id: int):
    """Qualify a lead: its party (found or created) and an opportunity; then show the opportunity."""
    session = xrm.db_session()
    lead = session.get(Lead, lead_id) or abort(404)
    try:
        _party, opportunity, matched = leads.qualify(session, lead)
        session.commit()
    except (xrm.ValidationError, xrm.XrmError, xrm.PermissionDenied) as exc:
        session.rollback()
        flash(_("Not qualified: %(reason)s", reason=_refusal(exc)), "error")
        return redirect(url_for(".leads_index"))
    flash(_("Qualified for an existing party.") if matched else _("Qualified: a new party was created."), "success")
    return redirect(url_for(".show_opportunity", opportunity_id=opportunity.id))


@blueprint.get("/products")
def products():
    """The catalogue."""
    session = xrm.db_session()
    require(session, "sales.product.read")
    found = session.scalars(select(Product).order_by(Product.code)).all()
    return render_template("sales/products.html", products=found, show_cost=allowed(session, "sales.product_cost.read"))


def _opportunities_panel(party) -> str:
    found, weighted = open_summary(xrm.db_session(), party.id)
    return render_template("sales/_party_panel.html", party=party, opportunities=found, weighted=weighted)


def party_panels(_party) -> list[xrm.Panel]:
    """The party page's panel of open opportunities and their weighted amount."""
    return [xrm.Panel("sales.opportunities", title="Open opportunities", render=_opportunities_panel, order=40)]
