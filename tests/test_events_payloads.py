"""Publishing's payload fast path and event ids: same results as marshmallow, real UUIDv7s.

The fast path (:mod:`xrm_core.events.payloads`) must give exactly what ``schema.load`` gives for
every payload it accepts, and leave every other payload (conversions, errors) to marshmallow.
Hypothesis draws payloads mixing values marshmallow keeps, converts and refuses.
"""

from __future__ import annotations

import os
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import EXCLUDE, INCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema

from xrm_core.contributions import EventType
from xrm_core.events import Catalogue, EventError
from xrm_core.events.catalogue import CORE_EVENT_TYPES
from xrm_core.events.outbox import new_event_id
from xrm_core.events.payloads import fast_loader


class Mixed(Schema):
    class Meta:
        unknown = INCLUDE

    name = fields.String(required=True)
    count = fields.Integer()
    score = fields.Float(load_default=0.5)
    flag = fields.Boolean(allow_none=True)
    tags = fields.List(fields.String(), load_default=list)
    ids = fields.List(fields.Integer(allow_none=True))
    extra = fields.Raw()


class Strict(Mixed):
    class Meta:
        unknown = RAISE


class Dropping(Mixed):
    class Meta:
        unknown = EXCLUDE


SCHEMAS = [Mixed(), Strict(), Dropping()] + [t.schema() for t in CORE_EVENT_TYPES if isinstance(t.schema, type)]

_values = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3), st.sampled_from(["7", "1.5", "true", b"bytes"]),
    st.lists(st.one_of(st.text(max_size=2), st.integers(-3, 3), st.none()), max_size=3),
    st.tuples(st.text(max_size=2)), st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)
_keys = st.sampled_from(["name", "count", "score", "flag", "tags", "ids", "extra", "kind", "display_name",
                         "changed", "type", "from_party_id", "to_party_id", "party_id", "role", "plugin",
                         "resource", "record_id", "comment_id", "author_id", "mentioned_users", "other"])


def _outcome(load, payload):
    try:
        return "ok", load(payload)
    except ValidationError as exc:
        return "error", exc.messages


_VALID = {fields.String: st.text(max_size=3), fields.Integer: st.integers(-5, 5), fields.Boolean: st.booleans(),
          fields.Float: st.floats(allow_nan=False, allow_infinity=False)}


def _valid(field):
    base = st.lists(_valid(field.inner), max_size=3) if type(field) is fields.List else _VALID.get(type(field), _values)
    return st.one_of(st.none(), base) if field.allow_none else base


@st.composite
def _schema_and_payload(draw):
    """A schema and a payload: valid values for some of its fields, then a few arbitrary keys and values."""
    schema = draw(st.sampled_from(SCHEMAS))
    payload = draw(st.fixed_dictionaries({}, optional={name: _valid(f) for name, f in schema.load_fields.items()}))
    payload.update(draw(st.dictionaries(_keys, _values, max_size=2)))
    return schema, payload


@settings(max_examples=500, deadline=None)
@given(_schema_and_payload())
def test_the_fast_path_loads_exactly_what_marshmallow_loads(schema_and_payload):
    schema, payload = schema_and_payload
    load = fast_loader(schema)
    assert load is not None
    fast = load(payload)
    if fast is not None:
        assert _outcome(schema.load, payload) == ("ok", fast)


@pytest.mark.parametrize(("payload", "expected"), [
    ({"name": "a"}, {"name": "a", "score": 0.5, "tags": []}),
    ({"name": "a", "count": 3, "flag": None, "ids": [1, None], "extra": {"x": [1]}, "note": "kept"},
     {"name": "a", "count": 3, "flag": None, "ids": [1, None], "extra": {"x": [1]}, "note": "kept", "score": 0.5,
      "tags": []}),
])
def test_plain_payloads_take_the_fast_path(payload, expected):
    loaded = fast_loader(Mixed())(payload)
    assert loaded == expected == Mixed().load(payload)
    if "ids" in payload:
        assert loaded["ids"] is not payload["ids"]  # a copy, like marshmallow's: later changes do not leak in


@pytest.mark.parametrize("payload", [
    {"count": 1},  # required name missing: marshmallow's error
    {"name": "a", "count": "7"},  # converted by marshmallow
    {"name": "a", "count": True},  # refused by marshmallow
    {"name": "a", "score": float("nan")},
    {"name": "a", "tags": ("x",)},
    {"name": None},
])
def test_payloads_marshmallow_would_convert_or_refuse_are_left_to_it(payload):
    assert fast_loader(Mixed())(payload) is None


def test_unknown_fields_follow_the_schema():
    assert fast_loader(Strict())({"name": "a", "other": 1}) is None
    assert fast_loader(Dropping())({"name": "a", "other": 1}) == {"name": "a", "score": 0.5, "tags": []}


class Validated(Schema):
    name = fields.String(validate=validate.Length(max=3))


class Hooked(Schema):
    name = fields.String()

    @validates_schema
    def refuse(self, data, **kwargs):
        raise ValidationError("never")


class Dated(Schema):
    at = fields.DateTime()


@pytest.mark.parametrize("schema", [Validated(), Hooked(), Dated(), Schema.from_dict({"n": fields.Integer(data_key="N")})()])
def test_schemas_with_validators_hooks_or_conversions_always_use_marshmallow(schema):
    assert fast_loader(schema) is None


def test_the_catalogue_still_refuses_what_marshmallow_refuses():
    catalogue = Catalogue([("demo", EventType("demo.thing.happened", schema=Hooked)),
                           ("demo", EventType("demo.thing.counted", schema=Mixed))])
    with pytest.raises(EventError, match="never"):
        catalogue.validate("demo.thing.happened", {"name": "a"})
    with pytest.raises(EventError, match="name: Missing data"):
        catalogue.validate("demo.thing.counted", {"count": 1})
    assert catalogue.validate("demo.thing.counted", {"name": "a", "count": "7"})["count"] == 7
    assert catalogue.validate("core.party.updated", {"changed": ["tags"]}) == {"changed": ["tags"]}


def test_event_ids_are_time_ordered_uuid7s_unique_across_a_fork():
    first = [new_event_id() for _ in range(600)]
    assert len(set(first)) == len(first)
    parsed = uuid.UUID(first[0])
    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    assert str(parsed) == first[0]
    assert [i[:13] for i in first] == sorted(i[:13] for i in first)  # the millisecond prefix never goes back
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child hands out ids too: none may repeat the parent's next ones
        os.close(reader)
        os.write(writer, "\n".join(new_event_id() for _ in range(50)).encode())
        os._exit(0)
    os.close(writer)
    parent_next = {new_event_id()[15:] for _ in range(50)}  # the random bits, after the time and version
    with os.fdopen(reader) as pipe:
        from_child = {i[15:] for i in pipe.read().split("\n")}
    os.waitpid(child, 0)
    assert len(from_child) == 50 and not from_child & parent_next
