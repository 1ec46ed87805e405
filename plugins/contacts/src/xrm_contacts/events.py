"""The domain events the plugin publishes; payloads are checked against their schema when published.

Every event names the party it is about in ``related``, so it shows on that party's timeline.
"""

import xrm_sdk as xrm
from marshmallow import fields


class ProfileChangedPayload(xrm.Schema):
    display_name = fields.String(required=True)
    changed = fields.List(fields.String(), load_default=list)


class ConsentChangedPayload(xrm.Schema):
    party_id = fields.Integer(required=True)
    channel = fields.String(required=True)
    status = fields.String(required=True)
    source = fields.String(load_default="")


class InteractionLoggedPayload(xrm.Schema):
    party_id = fields.Integer(required=True)
    channel = fields.String(required=True)
    direction = fields.String(required=True)
    subject = fields.String(load_default="")
    outcome = fields.String(load_default="")
    occurred_at = fields.String(required=True)


class PersonalDataErasedPayload(xrm.Schema):
    party_id = fields.Integer(required=True)


def _profile_events(kind: str) -> list[xrm.EventType]:
    return [
        xrm.EventType(f"contacts.{kind}.created", description=f"A {kind} was added to the contacts.",
                      schema=ProfileChangedPayload),
        xrm.EventType(f"contacts.{kind}.updated", description=f"A {kind}'s contact record changed.",
                      schema=ProfileChangedPayload),
        xrm.EventType(f"contacts.{kind}.deleted", description=f"A {kind} was deleted with its contact record.",
                      schema=ProfileChangedPayload),
    ]


EVENT_TYPES = [
    *_profile_events("person"),
    *_profile_events("organization"),
    xrm.EventType("contacts.consent.changed", description="A party's consent for a channel was recorded.",
                  schema=ConsentChangedPayload),
    xrm.EventType("contacts.interaction.logged", description="An interaction with a party was logged.",
                  schema=InteractionLoggedPayload),
    xrm.EventType("contacts.person.erased", description="A person's contact data was anonymised on request.",
                  schema=PersonalDataErasedPayload),
]
