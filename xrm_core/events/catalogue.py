"""The event catalogue: every event type that may be published, with its payload schema.

It holds the core's own ``core.*`` types and the ``EventType`` values plugins return from
``xrm_event_types``. A type is named ``<plugin>.<entity>.<verb>``; a contribution with another
shape, or a name its plugin does not own, is logged and left out. Publishing an unknown type, or a
payload its schema refuses, is an :class:`EventError` raised before anything is written.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields

from ..contributions import EventType
from ..errors import XrmError
from .payloads import fast_loader

log = logging.getLogger("xrm.events")

#: ``<plugin>.<entity>.<verb>``: lower-case words with digits and underscores.
EVENT_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


class EventError(XrmError):
    """An event cannot be published: unknown type, invalid payload, bad subject, no tenant."""


class _Open(Schema):
    class Meta:
        unknown = INCLUDE


class PartyPayload(_Open):
    kind = fields.String(required=True)
    display_name = fields.String(required=True)


class PartyChangePayload(_Open):
    changed = fields.List(fields.String(), load_default=list)


class RelationshipPayload(_Open):
    type = fields.String(required=True)
    from_party_id = fields.Integer(required=True)
    to_party_id = fields.Integer(required=True)


class RolePayload(_Open):
    party_id = fields.Integer(required=True)
    role = fields.String(required=True)


class PluginPayload(_Open):
    plugin = fields.String(required=True)


class CommentPayload(_Open):
    resource = fields.String(required=True)
    record_id = fields.Integer(required=True)
    comment_id = fields.Integer(required=True)
    author_id = fields.Integer(required=True, allow_none=True)
    mentioned_users = fields.List(fields.Integer(), load_default=list)
    mentioned_departments = fields.List(fields.Integer(), load_default=list)


#: The core's own events. Payloads name the fields subscribers can rely on; more may be included.
CORE_EVENT_TYPES = (
    EventType("core.party.created", description="A party was created.", schema=PartyPayload),
    EventType("core.party.updated", description="A party's attributes changed.", schema=PartyChangePayload),
    EventType("core.party.deleted", description="A party was deleted.", schema=_Open),
    EventType("core.party.merged", description="Two parties were merged into the subject.", schema=_Open),
    EventType("core.role.assigned", description="A party started playing a role.", schema=RolePayload),
    EventType("core.role.ended", description="A party stopped playing a role.", schema=RolePayload),
    EventType("core.relationship.created", description="Two parties were linked.", schema=RelationshipPayload),
    EventType("core.relationship.updated", description="A relationship changed.", schema=RelationshipPayload),
    EventType("core.relationship.ended", description="A relationship ended.", schema=RelationshipPayload),
    EventType("core.plugin.enabled", description="A plugin was enabled for the tenant.", schema=PluginPayload),
    EventType("core.plugin.disabled", description="A plugin was disabled for the tenant.", schema=PluginPayload),
    EventType("core.user.created", description="A user was added to the tenant.", schema=_Open),
    EventType("core.workflow.triggered", description="Workflows are to run on an event, or one on request.", schema=_Open),
    EventType("core.notification.created", description="Users were notified (one notification each), directly or through departments or teams.", schema=_Open),
    EventType("core.comment.created", description="Someone commented on a record (the subject), maybe mentioning users and departments.", schema=CommentPayload),
)


class Catalogue:
    """Event types by name, and payload validation against their schemas."""

    def __init__(self, contributed: list[tuple[str, EventType]]):
        self._types: dict[str, EventType] = {}
        self._schemas: dict[str, Schema | None] = {}
        #: Types whose schema loads straight to JSON values, so the dump after the load can be skipped.
        self._loads_json: set[str] = set()
        #: Per type, the payload loader that skips marshmallow for payloads already in loaded form.
        self._fast_loads: dict[str, Any] = {}
        self.owners: dict[str, str] = {}
        for plugin, event_type in [("core", t) for t in CORE_EVENT_TYPES] + list(contributed):
            if not EVENT_TYPE_NAME.match(event_type.name):
                log.error("plugin %s: event type %r must be named '<plugin>.<entity>.<verb>'", plugin, event_type.name)
                continue
            if event_type.name in self._types:
                log.error("plugin %s: event type %r is already declared", plugin, event_type.name)
                continue
            schema = event_type.schema
            if isinstance(schema, type) and issubclass(schema, Schema):
                schema = schema()
            if schema is not None and not isinstance(schema, Schema):
                log.error("plugin %s: event type %r: schema %r is not a marshmallow Schema", plugin, event_type.name, schema)
                continue
            self._types[event_type.name] = event_type
            self._schemas[event_type.name] = schema
            if schema is not None and _loads_json(schema):
                self._loads_json.add(event_type.name)
                if (loader := fast_loader(schema)) is not None:
                    self._fast_loads[event_type.name] = loader
            self.owners[event_type.name] = plugin

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __iter__(self) -> Iterator[EventType]:
        return iter(self._types.values())

    def get(self, name: str) -> EventType | None:
        return self._types.get(name)

    def validate(self, name: str, payload: Mapping[str, Any] | None) -> dict[str, Any]:
        """The payload as it will be stored (loaded then dumped through the schema: plain JSON).

        :raises EventError: the type is unknown or the payload is refused, naming the fields.
        """
        if name not in self._types:
            raise EventError(f"unknown event type {name!r}: declare it with the xrm_event_types hook")
        if payload is None:
            payload = {}
        if not isinstance(payload, Mapping):
            raise EventError(f"the payload of {name} must be a mapping, not {type(payload).__name__}")
        schema = self._schemas[name]
        if schema is not None:
            fast = self._fast_loads.get(name)
            if fast is not None and (loaded := fast(payload)) is not None:
                return loaded
            try:
                loaded = schema.load(payload)
                if name in self._loads_json:  # publishing sits on every write path: no second pass
                    return loaded
                # dump() gives JSON-ready values for declared fields; INCLUDE'd extra keys pass as given.
                payload = {**{k: v for k, v in loaded.items() if k not in schema.fields}, **schema.dump(loaded)}
            except ValidationError as exc:
                raise EventError(f"invalid payload for {name}: {_messages(exc.messages)}") from None
            return payload
        try:  # no schema: the payload must still be JSON, and is copied so later changes do not leak in
            return json.loads(json.dumps(payload))
        except (TypeError, ValueError) as exc:
            raise EventError(f"the payload of {name} is not JSON: {exc}") from None


#: Fields whose loaded value is already what ``dump`` would give back (str, int, float, bool).
_JSON_FIELDS = (fields.String, fields.Integer, fields.Float, fields.Boolean, fields.Email, fields.URL, fields.Raw)


def _loads_json(schema: Schema) -> bool:
    """Whether ``schema.dump(schema.load(x))`` equals ``schema.load(x)`` for every valid ``x``.

    True when the schema has no processing hooks and every field is a plain JSON field (exactly
    one of :data:`_JSON_FIELDS`, or a ``List``/``Dict`` of them) under its own name: ``load`` then
    already yields the JSON values ``dump`` would. Anything else (dates, decimals, UUIDs, nested
    schemas, renamed or one-way fields) keeps the dump.
    """
    hooks = getattr(schema, "_hooks", {})
    if any(hooks.get(kind) for kind in ("pre_load", "post_load", "pre_dump", "post_dump")):
        return False
    return all(_json_field(field) and field.data_key is None and field.attribute is None
               and not field.load_only and not field.dump_only for field in schema.fields.values())


def _json_field(field: fields.Field | None) -> bool:
    if field is None:
        return True
    if type(field) is fields.List:
        return _json_field(field.inner)
    if type(field) is fields.Dict:
        return _json_field(field.key_field) and _json_field(field.value_field)
    return type(field) in _JSON_FIELDS


def _messages(messages: Any) -> str:
    if isinstance(messages, dict):
        return "; ".join(f"{key}: {_messages(value)}" for key, value in sorted(messages.items(), key=lambda kv: str(kv[0])))
    if isinstance(messages, list):
        return " ".join(str(m) for m in messages)
    return str(messages)
