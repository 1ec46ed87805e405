"""The REST resources of the pipeline under ``/api/v1/sales``: pipelines with their stages,
opportunities (with stage moves, win/lose and assignment) and leads (with qualification)."""

from __future__ import annotations

import xrm_sdk as xrm
from flask import url_for
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import select

from . import leads, opportunities
from .catalogue_api import currency_code, money
from .permissions import require
from .pipeline import OUTCOMES, REQUIRABLE_FIELDS, Lead, Opportunity, Pipeline

blueprint = xrm.ApiBlueprint("sales_pipeline", __name__, description="Sales pipelines, opportunities and leads")

PERCENTAGE = validate.Range(min=0, max=100)


class StageSchema(xrm.Schema):
    # Named apart from ``id`` (read-only by name in every schema): a stage's id is input when changing a pipeline.
    stage_id = fields.Integer(data_key="id", attribute="id", allow_none=True, load_default=None, metadata={
        "description": "When changing a pipeline: the id of the stage kept; leave out for a new stage."})
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    position = fields.Integer(dump_only=True)
    probability = fields.Decimal(as_string=True, required=True, validate=PERCENTAGE)
    required_fields = fields.List(fields.String(validate=validate.OneOf(REQUIRABLE_FIELDS)), load_default=list)
    outcome = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(OUTCOMES))


class PipelineSchema(xrm.RecordSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    is_default = fields.Boolean(load_default=False)
    stages = fields.List(fields.Nested(StageSchema), required=True, validate=validate.Length(min=1))


class OpportunitySchema(xrm.RecordSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    customer_id = fields.Integer(required=True)
    contact_party_ids = fields.List(fields.Integer(), load_default=list)
    amount = money(2, allow_none=True, load_default=None)
    currency = currency_code()
    expected_close_date = fields.Date(allow_none=True, load_default=None)
    probability = fields.Decimal(as_string=True, allow_none=True, load_default=None, validate=PERCENTAGE)
    source = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=40))
    referring_partner_id = fields.Integer(allow_none=True, load_default=None)
    pipeline_id = fields.Integer(load_default=None)
    stage_id = fields.Integer(load_default=None)
    status = fields.String(dump_only=True)
    close_reason = fields.String(dump_only=True)
    closed_on = fields.Date(dump_only=True, allow_none=True)
    owner_user_id = fields.Integer()
    department_id = fields.Integer(load_default=None)
    weighted_amount = fields.Decimal(as_string=True, dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class OpportunityChangeSchema(xrm.Schema):
    title = fields.String(validate=validate.Length(min=1, max=200))
    contact_party_ids = fields.List(fields.Integer())
    amount = money(2, allow_none=True)
    currency = currency_code(required=False)
    expected_close_date = fields.Date(allow_none=True)
    probability = fields.Decimal(as_string=True, allow_none=True, validate=PERCENTAGE)
    source = fields.String(allow_none=True, validate=validate.Length(max=40))
    referring_partner_id = fields.Integer(allow_none=True)


class MoveSchema(xrm.Schema):
    stage_id = fields.Integer(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class CloseSchema(xrm.Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class AssignSchema(xrm.Schema):
    user_id = fields.Integer(load_default=None, metadata={"description": "The new owner."})
    department_id = fields.Integer(load_default=None)


class LeadSchema(xrm.RecordSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    company = fields.String(load_default="", validate=validate.Length(max=200))
    email = fields.Email(validate=validate.Length(max=254), metadata={"description": "Optional."})
    phone = fields.String(load_default="", validate=validate.Length(max=50))
    message = fields.String(load_default="", validate=validate.Length(max=10_000))
    source = fields.String(load_default="api", validate=validate.Length(min=1, max=40))
    status = fields.String(dump_only=True)
    party_id = fields.Integer(dump_only=True, allow_none=True)
    opportunity_id = fields.Integer(dump_only=True, allow_none=True)
    department_id = fields.Integer(load_default=None)
    created_at = fields.DateTime(dump_only=True)


class QualifySchema(xrm.Schema):
    title = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    pipeline_id = fields.Integer(load_default=None)
    currency = fields.String(load_default="EUR", validate=validate.Regexp(r"^[A-Z]{3}$"))
    amount = money(2, allow_none=True, load_default=None)
    expected_close_date = fields.Date(allow_none=True, load_default=None)


class QualifiedSchema(xrm.Schema):
    party_id = fields.Integer()
    opportunity_id = fields.Integer()
    matched_existing_party = fields.Boolean()


OPPORTUNITIES = xrm.Listing(
    Opportunity, OpportunitySchema,
    sortable=("title", "amount", "expected_close_date", "created_at"),
    filterable={"status": ("eq",), "pipeline_id": ("eq",), "stage_id": ("eq",), "customer_id": ("eq",),
                "owner_user_id": ("eq",), "department_id": ("eq",), "expected_close_date": ("gte", "lt")},
    default_sort="-created_at",
)
LEADS = xrm.Listing(Lead, LeadSchema, sortable=("name", "created_at"),
                    filterable={"status": ("eq",), "source": ("eq",), "email": ("eq",)}, default_sort="-created_at")


def _visible(model, record_id, field):
    """A referenced record the caller may see, else a 422 naming ``field`` (a 404 would blame the URL)."""
    record = xrm.db_session().get(model, record_id)
    if record is None:
        raise xrm.ValidationError({field: [f"There is no {model.__name__.lower()} {record_id} here."]})
    return record


@blueprint.route("/pipelines")
class Pipelines(MethodView):
    @blueprint.response(200, PipelineSchema(many=True))
    def get(self):
        """The pipelines with their stages in order."""
        session = xrm.db_session()
        require(session, "sales.pipeline.read")
        return session.scalars(select(Pipeline).order_by(Pipeline.name)).all()

    @blueprint.arguments(PipelineSchema)
    @blueprint.record_response(PipelineSchema, 201)
    def post(self, data):
        """Add a pipeline with its stages (probability, required fields, closing outcome)."""
        session = xrm.db_session()
        pipeline = opportunities.create_pipeline(session, data["name"], data["stages"], is_default=data["is_default"])
        session.commit()
        return pipeline, {"Location": url_for(".PipelineDetail", pipeline_id=pipeline.id)}


@blueprint.route("/pipelines/<int:pipeline_id>")
class PipelineDetail(MethodView):
    @blueprint.record_response(PipelineSchema)
    def get(self, pipeline_id):
        """One pipeline."""
        require(xrm.db_session(), "sales.pipeline.read")
        return xrm.get_or_404(Pipeline, pipeline_id)

    @blueprint.requires_if_match
    @blueprint.arguments(PipelineSchema)
    @blueprint.record_response(PipelineSchema)
    def put(self, data, pipeline_id):
        """Rename the pipeline and replace its stages, in order (send its ETag in If-Match).

        A stage with the ``id`` of one of the pipeline's stages changes it, one without adds a
        stage, and the stages left out are removed; a stage holding opportunities can neither be
        removed nor change its outcome (422 naming it).
        """
        session = xrm.db_session()
        require(session, "sales.pipeline.create")
        pipeline = xrm.get_for_update(Pipeline, pipeline_id)
        opportunities.update_pipeline(session, pipeline, data["name"], data["stages"], is_default=data["is_default"])
        session.commit()
        return pipeline


@blueprint.route("/opportunities")
class Opportunities(MethodView):
    @blueprint.list_response(OPPORTUNITIES)
    def get(self, query):
        """The opportunities the caller may see."""
        return xrm.cursor_paginate(select(Opportunity), query)

    @blueprint.arguments(OpportunitySchema)
    @blueprint.record_response(OpportunitySchema, 201)
    def post(self, data):
        """Add an opportunity (in its pipeline's first open stage unless a stage is given)."""
        session = xrm.db_session()
        customer = _visible(xrm.Party, data.pop("customer_id"), "customer_id")
        pipeline_id, stage_id = data.pop("pipeline_id"), data.pop("stage_id")
        pipeline = _visible(Pipeline, pipeline_id, "pipeline_id") if pipeline_id is not None else None
        stage = None
        if stage_id is not None:
            stage = opportunities.stage_of(session, stage_id)
            pipeline = pipeline or stage.pipeline
        _check_parties(data)
        opportunity = opportunities.create_opportunity(
            session, customer=customer, pipeline=pipeline, stage=stage, **data)
        session.commit()
        return opportunity, {"Location": url_for(".OpportunityDetail", opportunity_id=opportunity.id)}


def _check_parties(data) -> None:
    if data.get("referring_partner_id") is not None:
        _visible(xrm.Party, data["referring_partner_id"], "referring_partner_id")
    for index, party_id in enumerate(data.get("contact_party_ids") or []):
        _visible(xrm.Party, party_id, f"contact_party_ids.{index}")


@blueprint.route("/opportunities/<int:opportunity_id>")
class OpportunityDetail(MethodView):
    @blueprint.record_response(OpportunitySchema)
    def get(self, opportunity_id):
        """One opportunity (404 when the caller may not see it)."""
        return xrm.get_or_404(Opportunity, opportunity_id)

    @blueprint.requires_if_match
    @blueprint.arguments(OpportunityChangeSchema)
    @blueprint.record_response(OpportunitySchema)
    def patch(self, data, opportunity_id):
        """Change an opportunity's details (send its ETag in If-Match); stages move with ``/move``."""
        session = xrm.db_session()
        opportunity = xrm.get_for_update(Opportunity, opportunity_id)
        _check_parties(data)
        opportunities.update(session, opportunity, data)
        session.commit()
        return opportunity


@blueprint.route("/opportunities/<int:opportunity_id>/move")
class OpportunityMove(MethodView):
    @blueprint.arguments(MoveSchema)
    @blueprint.record_response(OpportunitySchema)
    def post(self, data, opportunity_id):
        """Move to another stage of the pipeline; a 422 names the fields the stage requires and lacks."""
        session = xrm.db_session()
        opportunity = xrm.get_or_404(Opportunity, opportunity_id)
        stage = opportunities.stage_of(session, data["stage_id"])
        opportunities.move_stage(session, opportunity, stage, reason=data["reason"])
        session.commit()
        return opportunity


@blueprint.route("/opportunities/<int:opportunity_id>/close")
class OpportunityClose(MethodView):
    @blueprint.arguments(CloseSchema)
    @blueprint.record_response(OpportunitySchema)
    def post(self, data, opportunity_id):
        """Win or lose the opportunity, with the reason."""
        session = xrm.db_session()
        opportunity = xrm.get_or_404(Opportunity, opportunity_id)
        opportunities.close(session, opportunity, data["outcome"], data["reason"])
        session.commit()
        return opportunity


@blueprint.route("/opportunities/<int:opportunity_id>/assign")
class OpportunityAssign(MethodView):
    @blueprint.arguments(AssignSchema)
    @blueprint.record_response(OpportunitySchema)
    def post(self, data, opportunity_id):
        """Give the opportunity to another owner and/or department (needs ``sales.opportunity.assign``)."""
        session = xrm.db_session()
        opportunity = xrm.get_or_404(Opportunity, opportunity_id)
        opportunities.assign(session, opportunity, owner_user_id=data["user_id"], department_id=data["department_id"])
        session.commit()
        return opportunity


@blueprint.route("/leads")
class Leads(MethodView):
    @blueprint.list_response(LEADS)
    def get(self, query):
        """The leads the caller may see."""
        return xrm.cursor_paginate(select(Lead), query)

    @blueprint.arguments(LeadSchema)
    @blueprint.record_response(LeadSchema, 201)
    def post(self, data):
        """Add a lead."""
        session = xrm.db_session()
        lead = leads.create_lead(session, **data)
        session.commit()
        return lead, {"Location": url_for(".LeadDetail", lead_id=lead.id)}


@blueprint.route("/leads/<int:lead_id>")
class LeadDetail(MethodView):
    @blueprint.record_response(LeadSchema)
    def get(self, lead_id):
        """One lead."""
        return xrm.get_or_404(Lead, lead_id)


@blueprint.route("/leads/<int:lead_id>/qualify")
class LeadQualify(MethodView):
    @blueprint.arguments(QualifySchema)
    @blueprint.response(201, QualifiedSchema)
    def post(self, data, lead_id):
        """Turn the lead into its party (an existing one when it matches) and an opportunity."""
        session = xrm.db_session()
        lead = xrm.get_or_404(Lead, lead_id)
        pipeline = _visible(Pipeline, data["pipeline_id"], "pipeline_id") if data["pipeline_id"] else None
        fields_ = {k: data[k] for k in ("amount", "expected_close_date") if data[k] is not None}
        party, opportunity, matched = leads.qualify(session, lead, title=data["title"], pipeline=pipeline,
                                                    currency=data["currency"], opportunity_fields=fields_)
        session.commit()
        return {"party_id": party.id, "opportunity_id": opportunity.id, "matched_existing_party": matched}
