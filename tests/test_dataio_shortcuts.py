"""The import's shortcuts give exactly what the libraries they stand in for give.

Phones written plainly are converted to E.164 without ``phonenumbers.parse``, and plain rows of a
``core.party`` import are loaded without marshmallow's machinery: on every input, valid or not,
the result (or the refusal) must be the library's.
"""

from __future__ import annotations

import itertools
import random

import marshmallow as ma
import phonenumbers
import pytest

from xrm_core.dataio.mapping import BadValue, Transforms
from xrm_core.dataio.party_target import PartySchema


def library_e164(text: str, region: str) -> str | None:
    """What the import gave before its shortcut: ``phonenumbers`` on the whole text, or ``None`` if refused."""
    text = text.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def converted(transforms: Transforms, text: str) -> str | None:
    try:
        return transforms.phone(text)
    except BadValue:
        return None


def written(rng: random.Random) -> str:
    """A number as people type them: national or international, with or without separators."""
    digits = "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 16)))
    code = rng.choice(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE))
    return rng.choice([
        digits, "+" + digits, f"({digits[:3]}) {digits[3:6]}-{digits[6:]}", f"+{code} {digits}",
        f"00{code}.{digits}", f"{digits[:2]} {digits[2:4]} {digits[4:]}", f"{digits} x12", f"1-800-FLOWERS{digits}",
    ])


@pytest.mark.parametrize("region", ["US", "GB", "FR", "DE", "IT", "AR", "MX", "BR", "IN", "JP", "AU", "CN", "RU", "ZA"])
def test_phones_convert_as_phonenumbers_does(region):
    rng = random.Random(region)
    transforms = Transforms("en", region)
    for text in [written(rng) for _ in range(400)]:
        assert converted(transforms, text) == library_e164(text, region), text


def test_plain_phones_take_the_shortcut_and_the_others_do_not():
    us, gb = Transforms("en", "US"), Transforms("en", "GB")
    assert us._plain_phone("(555) 234-1234") == "+15552341234"
    assert gb._plain_phone("+44 20 7946 0018") == "+442079460018"
    # a trunk prefix, a leading zero, a dialling prefix or letters need the library's rules
    for transforms, text in ((us, "1 555 234 1234"), (gb, "020 7946 0018"), (us, "011 44 20 7946 0018"),
                             (us, "1-800-FLOWERS"), (us, "555 234 1234 ext 5")):
        assert transforms._plain_phone(text) is None
        assert converted(transforms, text) == library_e164(text, transforms.region)


def test_a_refused_phone_is_refused_again_with_the_same_reason():
    transforms = Transforms("en", "US")
    reasons = set()
    for _ in range(2):
        with pytest.raises(BadValue) as refused:
            transforms.phone("12")
        reasons.add(str(refused.value))
    assert reasons == {"'12' is not a possible phone number"}


VALUES = {
    "display_name": ["Ada", "", " ", "x" * 200, "x" * 201, None, 5],
    "kind": ["person", "organization", "robot", None],
    "tags": [["vip"], [], [""], "vip", None, ("vip",), ["vip", 3]],
    "owner": [None, "owner@example.org", "not an e-mail"],
    "department": [None, "", "Sales", "x" * 201],
    "identifier.email": [None, "", "  ", " ada@example.org ", "x" * 201, 3],
    "identifier.": ["a"],
    "identifier." + "s" * 63: ["a"],
    "identifier." + "s" * 64: ["a"],
    "unknown": ["a"],
}


def marshmallow_load(schema: ma.Schema, row: dict, partial: bool):
    try:
        return ma.Schema.load(schema, row, partial=partial)
    except ma.ValidationError as exc:
        return ("refused", exc.messages)


def shortcut_load(schema: ma.Schema, row: dict, partial: bool):
    try:
        return schema.load(row, partial=partial)
    except ma.ValidationError as exc:
        return ("refused", exc.messages)


def test_party_rows_load_as_marshmallow_loads_them():
    schema = PartySchema()
    rng = random.Random(7)
    rows = [{name: rng.choice(values) for name, values in VALUES.items() if rng.random() < 0.4} for _ in range(3000)]
    rows += [{"display_name": "Ada"}, {"display_name": "Ada", "identifier.email": "ada@example.org", "tags": ["a"]}]
    for row, partial in itertools.product(rows, (False, True)):
        assert shortcut_load(schema, row, partial) == marshmallow_load(schema, row, partial), (row, partial)


def test_plain_party_rows_take_the_shortcut():
    row = {"display_name": "Ada", "kind": "person", "identifier.email": "ada@example.org", "identifier.phone": None}
    assert PartySchema._plain(row, False) == {"display_name": "Ada", "kind": "person",
                                               "identifiers": {"email": "ada@example.org", "phone": None}}
    assert PartySchema._plain({"display_name": "Ada", "owner": "o@example.org"}, False) is None
