"""The plugin's entry point: its manifest and the hooks it implements.

The platform imports this module through the ``xrm.plugins`` entry point, reads ``MANIFEST`` and
calls the ``@xrm.hookimpl`` functions. Each hook gathers the lists of the plugin's features (one
module per feature), so a feature plugs in with one line per hook.
"""

from pathlib import Path

import xrm_sdk as xrm
from sqlalchemy.orm import Session

from . import (
    actions,
    api,
    consents,
    dedupe_cli,
    dedupe_models,
    dedupe_queue,
    dedupe_views,
    demo,
    events,
    importing,
    interactions,
    panels,
    people,
    privacy,
    profiles,
    segments_actions,
    segments_conditions,
    segments_models,
    segments_service,
    segments_views,
    views,
)

MANIFEST = xrm.Manifest(name="contacts", title="Contacts", requires=())

_ACTIONS = ("read", "create", "update", "delete", "assign", "export")
PERMISSIONS = [
    *(xrm.Permission(f"contacts.person.{a}", f"{a.capitalize()} contact records of people and organizations")
      for a in _ACTIONS),
    *(xrm.Permission(f"contacts.interaction.{a}", f"{a.capitalize()} interactions") for a in _ACTIONS),
    *(xrm.Permission(f"contacts.consent.{a}", f"{a.capitalize()} consents") for a in ("read", "create", "update",
                                                                                       "delete")),
]


@xrm.hookimpl
def xrm_models():
    return [*profiles.MODELS, *consents.MODELS, *interactions.MODELS,
            *dedupe_models.MODELS, *segments_models.MODELS]


@xrm.hookimpl
def xrm_migrations():
    return Path(__file__).parent / "migrations"


@xrm.hookimpl
def xrm_blueprints():
    return [api.blueprint, views.blueprint, *dedupe_views.BLUEPRINTS, *segments_views.BLUEPRINTS]


@xrm.hookimpl
def xrm_permissions():
    return [*PERMISSIONS, *dedupe_queue.PERMISSIONS, *segments_service.PERMISSIONS]


@xrm.hookimpl
def xrm_relationship_types():
    return [xrm.RelationshipType(people.WORKS_FOR, forward_label="works for", inverse_label="employs")]


@xrm.hookimpl
def xrm_event_types():
    return [*events.EVENT_TYPES, *dedupe_queue.EVENT_TYPES]


@xrm.hookimpl
def xrm_workflow_actions():
    return [*actions.ACTIONS, *segments_actions.ACTIONS]


@xrm.hookimpl
def xrm_workflow_functions():
    return segments_conditions.FUNCTIONS


@xrm.hookimpl
def xrm_import_targets():
    return [*importing.TARGETS]


@xrm.hookimpl
def xrm_navigation(tenant):
    return [*views.NAVIGATION, *segments_views.NAVIGATION, *dedupe_views.NAVIGATION]


@xrm.hookimpl
def xrm_party_panels(tenant, party):
    return [*panels.PANELS]


@xrm.hookimpl
def xrm_dashboard_widgets(tenant):
    return [*panels.WIDGETS]


@xrm.hookimpl
def xrm_contact_consent(session: Session, party_id: int, channel: str):
    """Only a recorded ``granted`` allows contacting; ``refused`` forbids; no answer is no opinion."""
    status = consents.consent_status(session, party_id, channel)
    return {"granted": True, "refused": False}.get(status)


@xrm.hookimpl
def xrm_personal_data(session: Session, party_id: int):
    return privacy.personal_data(session, party_id)


@xrm.hookimpl
def xrm_erase_personal_data(session: Session, party_id: int):
    privacy.erase_personal_data(session, party_id)


@xrm.hookimpl
def xrm_merge_parties(session: Session, survivor_id: int, loser_id: int):
    dedupe_queue.follow_merge(session, survivor_id, loser_id)
    segments_service.follow_merge(session, survivor_id, loser_id)


@xrm.hookimpl
def xrm_cli_commands():
    return [dedupe_cli.dedupe_command]


@xrm.hookimpl
def xrm_demo_data(tenant, session):
    demo.add_demo_data(session)
