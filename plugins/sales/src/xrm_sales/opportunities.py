"""Pipelines and opportunities: configuring stages, creating, moving, winning, losing, assigning.

Every function takes the caller's tenant- and permission-scoped session, changes nothing outside
it and never commits. Transitions publish their event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import xrm_sdk as xrm
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from .permissions import require
from .pipeline import OUTCOMES, REQUIRABLE_FIELDS, Lead, Opportunity, Pipeline, Stage

#: The stages a tenant gets when it has none yet: name, probability, required fields, outcome.
DEFAULT_STAGES = (
    ("Qualification", Decimal(10), [], None),
    ("Needs analysis", Decimal(25), ["amount"], None),
    ("Proposal", Decimal(50), ["amount", "expected_close_date"], None),
    ("Negotiation", Decimal(75), ["amount", "expected_close_date", "contact_party_ids"], None),
    ("Won", Decimal(100), ["amount"], "won"),
    ("Lost", Decimal(0), [], "lost"),
)


def actor_of(session: Session) -> str:
    """Who the session acts for, as events record it."""
    principal = xrm.principal_of(session)
    return principal.name if principal else "plugin:sales"


def create_pipeline(session: Session, name: str, stages: Iterable[Mapping[str, Any]], *,
                    is_default: bool = False) -> Pipeline:
    """A pipeline with ``stages`` (dicts of ``name``, ``probability``, ``required_fields``, ``outcome``) in order.

    :raises xrm.ValidationError: no open stage, an unknown required field or outcome, a duplicate name.
    :raises xrm.Conflict: a pipeline of that name exists.
    """
    require(session, "sales.pipeline.create")
    stages = list(stages)
    _check_stages(stages)
    if session.scalar(select(Pipeline.id).where(Pipeline.name == name)) is not None:
        raise xrm.Conflict(f"A pipeline named {name!r} already exists.")
    if is_default:
        for other in session.scalars(select(Pipeline).where(Pipeline.is_default.is_(True))):
            other.is_default = False
    pipeline = Pipeline(name=name, is_default=is_default or default_pipeline(session) is None)
    for position, stage in enumerate(stages):
        pipeline.stages.append(Stage(
            name=stage["name"], position=position, probability=Decimal(str(stage["probability"])),
            required_fields=list(stage.get("required_fields") or []), outcome=stage.get("outcome"),
        ))
    session.add(pipeline)
    session.flush()
    return pipeline


def _check_stages(stages: list[Mapping[str, Any]]) -> None:
    errors: dict[str, list[str]] = {}
    names = [stage.get("name") for stage in stages]
    if not stages:
        errors["stages"] = ["A pipeline needs at least one stage."]
    elif not any(stage.get("outcome") is None for stage in stages):
        errors["stages"] = ["A pipeline needs at least one open stage (without an outcome)."]
    if len(set(names)) != len(names):
        errors["stages"] = ["Stage names must be unique within a pipeline."]
    for index, stage in enumerate(stages):
        if not str(stage.get("name") or "").strip():
            errors[f"stages.{index}.name"] = ["Give the stage a name."]
        try:
            in_range = Decimal(0) <= Decimal(str(stage.get("probability"))) <= Decimal(100)
        except InvalidOperation:  # not a number at all (NaN included)
            in_range = False
        if not in_range:
            errors[f"stages.{index}.probability"] = ["A percentage between 0 and 100."]
        unknown = sorted(set(stage.get("required_fields") or []) - set(REQUIRABLE_FIELDS))
        if unknown:
            errors[f"stages.{index}.required_fields"] = [
                f"Unknown field(s): {', '.join(unknown)}; choose among {', '.join(REQUIRABLE_FIELDS)}."]
        if stage.get("outcome") not in (None, *OUTCOMES):
            errors[f"stages.{index}.outcome"] = ["Must be 'won', 'lost' or empty."]
    if errors:
        raise xrm.ValidationError(errors)


def update_pipeline(session: Session, pipeline: Pipeline, name: str, stages: Iterable[Mapping[str, Any]], *,
                    is_default: bool = False) -> Pipeline:
    """Rename ``pipeline`` and replace its stages by ``stages``, in order.

    A stage dict with the ``id`` of one of the pipeline's stages changes that stage; one without
    an ``id`` adds a stage; the pipeline's stages left out are removed. Stages that hold
    opportunities (any, visible to the caller or not) can be changed but neither removed nor have
    their outcome changed: their opportunities would sit in a stage that no longer says what they
    are. The pipeline's version goes up even when only its stages change, so a form or an ETag
    taken before any change is refused afterwards.

    :raises xrm.ValidationError: like :func:`create_pipeline`, plus another pipeline's stage id, or
        a stage holding opportunities removed or closed/reopened (each named by its index).
    :raises xrm.Conflict: another pipeline has that name.
    """
    require(session, "sales.pipeline.create")
    stages = list(stages)
    _check_stages(stages)
    if session.scalar(select(Pipeline.id).where(Pipeline.name == name, Pipeline.id != pipeline.id)) is not None:
        raise xrm.Conflict(f"A pipeline named {name!r} already exists.")
    existing = {stage.id: stage for stage in pipeline.stages}
    in_use = _stages_in_use(session, pipeline)
    errors: dict[str, list[str]] = {}
    for index, stage in enumerate(stages):
        stage_id = stage.get("id")
        if stage_id is not None and stage_id not in existing:
            errors[f"stages.{index}.id"] = [f"Stage {stage_id} is not a stage of the pipeline {pipeline.name!r}."]
        elif stage_id in in_use and stage.get("outcome") != existing[stage_id].outcome:
            errors[f"stages.{index}.outcome"] = [
                f"The stage {existing[stage_id].name!r} holds opportunities: its outcome cannot change."]
    kept = {stage.get("id") for stage in stages}
    removed = [stage for stage_id, stage in existing.items() if stage_id not in kept]
    busy = [stage.name for stage in removed if stage.id in in_use]
    if busy:
        errors["stages"] = [(f"The stage(s) {', '.join(map(repr, busy))} hold opportunities: move them to "
                             "another stage before removing it.")]
    if errors:
        raise xrm.ValidationError(errors)
    for stage in removed:
        pipeline.stages.remove(stage)
    # Stage names are unique per pipeline at every flush: park the renamed ones first, so a swap works.
    renamed = [(existing[s["id"]], s["name"]) for s in stages if s.get("id") is not None
               and existing[s["id"]].name != s["name"]]
    for stage, _new_name in renamed:
        stage.name = f"\u2063{stage.id}"
    session.flush()
    ordered = []
    for position, wanted in enumerate(stages):
        stage = existing[wanted["id"]] if wanted.get("id") is not None else Stage()
        stage.name, stage.position = wanted["name"], position
        stage.probability = Decimal(str(wanted["probability"]))
        stage.required_fields = list(wanted.get("required_fields") or [])
        stage.outcome = wanted.get("outcome")
        ordered.append(stage)
    pipeline.stages = ordered
    if is_default and not pipeline.is_default:
        for other in session.scalars(select(Pipeline).where(Pipeline.is_default.is_(True))):
            other.is_default = False
    pipeline.name, pipeline.is_default = name, is_default
    flag_modified(pipeline, "name")  # a change of stages alone is a new version of the pipeline too
    session.flush()
    return pipeline


def _stages_in_use(session: Session, pipeline: Pipeline) -> set[int]:
    """The ids of ``pipeline``'s stages any opportunity of the tenant is in.

    Read from the table, not the permission-scoped model: an opportunity the administrator may
    not see still holds its stage (the answer is only which stages, never which opportunities).
    """
    table = Opportunity.__table__
    return set(session.scalars(select(table.c.stage_id).distinct().where(
        table.c.tenant_id == pipeline.tenant_id, table.c.pipeline_id == pipeline.id)))


def default_pipeline(session: Session) -> Pipeline | None:
    """The tenant's default pipeline, if it has any."""
    return session.scalars(select(Pipeline).order_by(Pipeline.is_default.desc(), Pipeline.id).limit(1)).first()


def ensure_default_pipeline(session: Session) -> Pipeline:
    """The default pipeline, created with :data:`DEFAULT_STAGES` when the tenant has none (idempotent)."""
    pipeline = default_pipeline(session)
    if pipeline is not None:
        return pipeline
    stages = [{"name": n, "probability": p, "required_fields": r, "outcome": o} for n, p, r, o in DEFAULT_STAGES]
    pipeline = Pipeline(name="Sales", is_default=True)
    for position, stage in enumerate(stages):
        pipeline.stages.append(Stage(position=position, **stage))
    session.add(pipeline)
    session.flush()
    return pipeline


def create_opportunity(session: Session, *, title: str, customer: xrm.Party, currency: str,
                       pipeline: Pipeline | None = None, stage: Stage | None = None,
                       **fields: Any) -> Opportunity:
    """Add an opportunity in ``stage`` (default: the pipeline's first open stage) and publish ``sales.opportunity.created``.

    ``fields`` are other :class:`Opportunity` attributes (amount, expected_close_date, source…).
    The stage's required fields apply from the start.

    :raises xrm.ValidationError: the stage is not the pipeline's, is a closing one, or lacks required fields.
    :raises xrm.PermissionDenied: the principal may not create it (in that department).
    """
    pipeline = pipeline or default_pipeline(session) or ensure_default_pipeline(session)
    stage = stage or pipeline.open_stages[0]
    if stage.pipeline_id != pipeline.id:
        raise xrm.ValidationError({"stage_id": [f"Stage {stage.id} is not a stage of pipeline {pipeline.name!r}."]})
    if stage.outcome is not None:
        raise xrm.ValidationError({"stage_id": ["A new opportunity starts in an open stage; win or lose it afterwards."]})
    opportunity = Opportunity(title=title, customer_id=customer.id, currency=currency.upper(),
                              pipeline_id=pipeline.id, stage_id=stage.id, status="open", **fields)
    opportunity.stage = stage
    _check_required(opportunity, stage)
    session.add(opportunity)
    session.flush()
    xrm.publish(session, "sales.opportunity.created", opportunity, _payload(opportunity), actor_of(session),
                related=[opportunity.customer_id])
    return opportunity


def missing_fields(opportunity: Opportunity, stage: Stage) -> list[str]:
    """The fields ``stage`` requires that ``opportunity`` has empty."""
    return [name for name in stage.required_fields if getattr(opportunity, name) in (None, "", [])]


def _check_required(opportunity: Opportunity, stage: Stage) -> None:
    missing = missing_fields(opportunity, stage)
    if missing:
        raise xrm.ValidationError({name: [f"Required to enter the stage {stage.name!r}."] for name in missing})


def move_stage(session: Session, opportunity: Opportunity, stage: Stage, *, reason: str = "") -> Opportunity:
    """Move ``opportunity`` to ``stage`` of its pipeline; a closing stage wins or loses it.

    Publishes ``sales.opportunity.stage_changed``, plus ``won`` or ``lost`` on a closing stage.

    :raises xrm.ValidationError: the stage is another pipeline's, required fields are empty
        (each named), a closing stage without a reason, or the opportunity is already closed.
    """
    if stage.pipeline_id != opportunity.pipeline_id:
        raise xrm.ValidationError({"stage_id": [f"Stage {stage.id} is not a stage of this opportunity's pipeline."]})
    if opportunity.status != "open":
        raise xrm.ValidationError({"stage_id": [f"The opportunity is already {opportunity.status}; reopen it first."]})
    if stage.id == opportunity.stage_id:
        return opportunity
    _check_required(opportunity, stage)
    if stage.outcome is not None and not reason.strip():
        raise xrm.ValidationError({"reason": [f"Say why the opportunity is {stage.outcome}."]})
    before = opportunity.stage
    opportunity.stage_id = stage.id
    opportunity.stage = stage
    opportunity.stage_changed_at = xrm.utcnow()
    if stage.outcome is not None:
        opportunity.status = stage.outcome
        opportunity.close_reason = reason.strip()
        opportunity.closed_on = xrm.utcnow().date()
    session.flush()
    payload = {**_payload(opportunity), "from_stage_id": before.id, "from_stage": before.name}
    actor = actor_of(session)
    xrm.publish(session, "sales.opportunity.stage_changed", opportunity, payload, actor, related=[opportunity.customer_id])
    if stage.outcome is not None:
        xrm.publish(session, f"sales.opportunity.{stage.outcome}", opportunity,
                    {**_payload(opportunity), "reason": opportunity.close_reason}, actor,
                    related=[opportunity.customer_id])
    return opportunity


def close(session: Session, opportunity: Opportunity, outcome: str, reason: str) -> Opportunity:
    """Win or lose ``opportunity``: move it to its pipeline's first stage with that outcome.

    :raises xrm.ValidationError: unknown outcome, or the pipeline has no such stage.
    """
    if outcome not in OUTCOMES:
        raise xrm.ValidationError({"outcome": ["Must be 'won' or 'lost'."]})
    stage = next((s for s in opportunity.pipeline.stages if s.outcome == outcome), None)
    if stage is None:
        raise xrm.ValidationError({"outcome": [f"The pipeline {opportunity.pipeline.name!r} has no {outcome} stage."]})
    return move_stage(session, opportunity, stage, reason=reason)


def assign(session: Session, opportunity: Opportunity, *, owner_user_id: int | None = None,
           department_id: int | None = None) -> Opportunity:
    """Give ``opportunity`` to another owner and/or department (needs ``sales.opportunity.assign``).

    The platform checks the assignment right and that the new department is within reach on flush.
    """
    if owner_user_id is None and department_id is None:
        raise xrm.ValidationError({"user_id": ["Give an owner, a department or both."]})
    if owner_user_id is not None:
        opportunity.owner_user_id = owner_user_id
    if department_id is not None:
        opportunity.department_id = department_id
    session.flush()
    return opportunity


def update(session: Session, opportunity: Opportunity, changes: Mapping[str, Any]) -> Opportunity:
    """Change plain attributes; the current stage's required fields must stay filled."""
    for name, value in changes.items():
        setattr(opportunity, name, value)
    _check_required(opportunity, opportunity.stage)
    session.flush()
    return opportunity


def _payload(opportunity: Opportunity) -> dict[str, Any]:
    return {
        "title": opportunity.title, "customer_id": opportunity.customer_id,
        "pipeline_id": opportunity.pipeline_id, "stage_id": opportunity.stage_id, "stage": opportunity.stage.name,
        "amount": opportunity.amount, "currency": opportunity.currency,
        "owner_user_id": opportunity.owner_user_id, "department_id": opportunity.department_id,
    }


def stage_of(session: Session, stage_id: int) -> Stage:
    """The stage ``stage_id`` of the tenant (a 404 naming it when there is none)."""
    stage = session.get(Stage, stage_id)
    if stage is None:
        raise xrm.NotFound(f"No stage {stage_id}.")
    return stage




def merge_parties(session: Session, survivor_id: int, loser_id: int) -> None:
    """Repoint opportunities and leads from a party merged away to the one it was merged into."""
    for opportunity in session.scalars(select(Opportunity).where(
            (Opportunity.customer_id == loser_id) | (Opportunity.referring_partner_id == loser_id))):
        if opportunity.customer_id == loser_id:
            opportunity.customer_id = survivor_id
        if opportunity.referring_partner_id == loser_id:
            opportunity.referring_partner_id = survivor_id
    for opportunity in session.scalars(select(Opportunity)):
        if loser_id in (opportunity.contact_party_ids or []):
            contacts = [survivor_id if p == loser_id else p for p in opportunity.contact_party_ids]
            opportunity.contact_party_ids = list(dict.fromkeys(contacts))
    for lead in session.scalars(select(Lead).where(Lead.party_id == loser_id)):
        lead.party_id = survivor_id
    session.flush()
