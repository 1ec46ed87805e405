"""From a file's record to a target's fields: the mapping, presets, and value transforms.

A mapping is a dict ``{column: field}``:

* several columns mapped to one text field are joined with a space in mapping order
  ("First Name" + "Last Name" -> ``display_name``); to a ``list`` field, their values are collected;
* ``"split:<given>,<family>"`` as the field splits a full name: the last word goes to ``<family>``,
  the rest to ``<given>``;
* a key ``"=<field>"`` sets a constant (``{"=kind": "person"}``).

Values are transformed by the field's type (:class:`~xrm_core.dataio.targets.ImportField`): phones
normalised to E.164 with ``phonenumbers`` (numbers without a country code read in ``region``),
dates parsed in the user's ``locale`` (ISO dates always work), lists split on ``;`` or ``,``.

Phones are the costly transform at scale (``phonenumbers.parse`` runs its whole rule set on every
value): a number written plainly — digits with spaces, dashes, dots or brackets, ``+`` only in front
— to which none of the rules that look past its first digits apply (no trunk prefix to strip, no
dialling prefix, no leading zero) is converted from the library's own metadata, in the same way;
anything else goes through ``phonenumbers.parse``. Results are also remembered by raw text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from babel.core import Locale, UnknownLocaleError
from babel.dates import parse_date as babel_parse_date

from .targets import ImportField

SPLIT = "split:"
CONSTANT = "="
_LIST_SEPARATORS = re.compile(r"\s*[;,]\s*")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: A phone number written plainly: digits and separators, ``+`` only in front.
_PLAIN_PHONE = re.compile(r"\+?[0-9 ().\-]+")
_PHONE_SEPARATORS = str.maketrans("", "", "+ ().-")
#: Raw phone texts remembered per import (a file repeats switchboards, not most numbers).
_PHONE_CACHE_SIZE = 10_000

#: Google Contacts' CSV export ("Google CSV") and Outlook's, by column, as canonical person fields
#: (the vCard reader's keys, see :mod:`xrm_core.dataio.formats.vcard`).
GOOGLE_CONTACTS = {
    "Given Name": "given_name", "Family Name": "family_name", "Name Prefix": "prefix",
    "Organization 1 - Name": "organization", "Organization 1 - Title": "job_title",
    "E-mail 1 - Value": "emails", "E-mail 2 - Value": "emails", "Phone 1 - Value": "phones",
    "Phone 2 - Value": "phones", "Website 1 - Value": "urls", "Birthday": "birthday", "Notes": "note",
}
OUTLOOK_CONTACTS = {
    "Title": "prefix", "First Name": "given_name", "Last Name": "family_name", "Company": "organization",
    "Job Title": "job_title", "E-mail Address": "emails", "E-mail 2 Address": "emails",
    "Business Phone": "phones", "Mobile Phone": "phones", "Home Phone": "phones", "Web Page": "urls",
    "Birthday": "birthday", "Notes": "note",
}


class BadValue(ValueError):
    """A value that cannot become the field's type; the message is the row error's reason."""


@dataclass
class Transforms:
    """How values are read: the user's locale (dates) and default phone region."""

    locale: str = "en"
    region: str | None = None
    _babel: Locale | None = field(default=None, init=False, repr=False)
    #: Raw text -> ``(E.164 form, None)``, or ``(None, why it is not a phone number)``.
    _phones: dict[str, tuple[str | None, str | None]] = field(default_factory=dict, init=False, repr=False)
    #: (country code, national number length) -> whether ``phonenumbers`` deems such numbers possible.
    _possible: dict[tuple[int, int], bool] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            self._babel = Locale.parse(self.locale.replace("-", "_"))
        except (UnknownLocaleError, ValueError, TypeError):
            self._babel = Locale("en")
        if self.region is None:
            self.region = self._babel.territory or {"en": "US", "fr": "FR", "es": "ES", "de": "DE"}.get(
                self._babel.language, "US")

    def convert(self, import_field: ImportField, value: Any) -> Any:
        """``value`` as ``import_field``'s type; empty values become ``None``.

        :raises BadValue: naming why the value is not of that type.
        """
        if value is None or (isinstance(value, str) and not value.strip()) or value == []:
            return None
        return self.converter(import_field.type)(value)

    def converter(self, kind: str) -> Callable[[Any], Any]:
        """The conversion of a non-empty value to field type ``kind`` (what :meth:`convert` applies).

        A list (a vCard's e-mails) given to a single-valued type is read as its first value.
        """
        return {"list": _as_list, "json": _as_is, "phone": self._phone_cell, "date": self._date_cell,
                "email": _email, "integer": _integer, "decimal": _decimal, "boolean": _boolean}.get(kind, _text)

    def _phone_cell(self, value: Any) -> str:
        return self.phone(_first(value))

    def _date_cell(self, value: Any) -> str:
        return self.date(_first(value))

    def phone(self, value: Any) -> str:
        """``value`` in E.164 (numbers without a country code read in ``region``).

        :raises BadValue: the value is not a phone number, or not a possible one.
        """
        text = str(value).strip()
        if text.startswith("00"):
            text = "+" + text[2:]
        known = self._phones.get(text)
        if known is None:
            try:
                known = (self._plain_phone(text) or self._parsed_phone(text), None)
            except BadValue as exc:
                known = (None, str(exc))
            if len(self._phones) >= _PHONE_CACHE_SIZE:
                self._phones.clear()
            self._phones[text] = known
        number, reason = known
        if number is None:
            raise BadValue(reason)
        return number

    def _parsed_phone(self, text: str) -> str:
        try:
            number = phonenumbers.parse(text, self.region)
        except phonenumbers.NumberParseException:
            raise BadValue(f"{text!r} is not a phone number") from None
        if not phonenumbers.is_possible_number(number):
            raise BadValue(f"{text!r} is not a possible phone number")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def _plain_phone(self, text: str) -> str | None:
        """The E.164 form ``phonenumbers.parse`` would give a plainly written number, or ``None``.

        ``None`` means the number needs the library's full rules (or is not possible: the library
        then names why). The steps below are ``parse``'s for such a number, taken only when their
        outcome depends on nothing but the first digits and the length: a leading ``+`` and country
        code, or the default region's code when neither its dialling prefix nor its own code starts
        the number; no trunk prefix the region's pattern could strip; no leading zero (kept as part
        of the number by some regions); and a length the country's plan allows.
        """
        if not _PLAIN_PHONE.fullmatch(text):
            return None
        digits = text.translate(_PHONE_SEPARATORS)
        if text[0] == "+":
            code, national = _country_code(digits)
            plan = None if code is None else _plan_of_code(code)
        else:
            plan = _plan_of_region(self.region or "")
            if plan is None or digits.startswith(plan.code_text) or (
                    plan.international is not None and plan.international.match(digits)):
                return None
            code, national = plan.code, digits
        if plan is None or not 4 <= len(national) <= 15 or national[0] == "0":
            return None
        if plan.trunk is not None and plan.trunk.match(national):
            return None
        possible = self._possible.get((code, len(national)))
        if possible is None:
            possible = self._possible[code, len(national)] = phonenumbers.is_possible_number(
                phonenumbers.PhoneNumber(country_code=code, national_number=int(national)))
        return f"+{code}{national}" if possible else None

    def date(self, value: Any) -> str:
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        text = str(value).strip()
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            pass
        try:
            parsed = babel_parse_date(text, locale=self._babel)
        except (ValueError, IndexError):
            raise BadValue(f"{text!r} is not a date (as in {date(2026, 12, 31).isoformat()})") from None
        return parsed.isoformat()


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [v for v in _LIST_SEPARATORS.split(str(value).strip()) if v]


def _as_is(value: Any) -> Any:
    return value


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def _text(value: Any) -> str:
    return str(_first(value)).strip()


def _email(value: Any) -> str:
    text = str(_first(value)).strip().lower()
    if not _EMAIL.match(text):
        raise BadValue(f"{text!r} is not an e-mail address")
    return text


def _integer(value: Any) -> int:
    try:
        return int(str(_first(value)).strip())
    except ValueError:
        raise BadValue(f"{_first(value)!r} is not a whole number") from None


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(_first(value)).strip().replace(",", "."))
    except InvalidOperation:
        raise BadValue(f"{_first(value)!r} is not a number") from None


def _boolean(value: Any) -> bool:
    text = str(_first(value)).strip().lower()
    if text in ("1", "true", "yes", "y", "x", "oui", "sí", "si"):
        return True
    if text in ("0", "false", "no", "n", "non"):
        return False
    raise BadValue(f"{_first(value)!r} is not yes or no")


def _country_code(digits: str) -> tuple[int | None, str]:
    """The country calling code ``digits`` (after a ``+``) start with and the rest, as ``phonenumbers`` splits them."""
    if digits.startswith("0"):
        return None, digits
    for length in range(1, min(len(digits), 3) + 1):
        if int(digits[:length]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return int(digits[:length]), digits[length:]
    return None, digits


@dataclass(frozen=True)
class _Plan:
    """What :meth:`Transforms._plain_phone` reads of a numbering plan, looked up and compiled once."""

    code: int
    code_text: str
    #: The dialling prefix for calls abroad, and the trunk prefix ``parse`` would strip (if any).
    international: re.Pattern[str] | None
    trunk: re.Pattern[str] | None


def _plan(metadata: phonenumbers.PhoneMetadata, code: int) -> _Plan:
    international, trunk = metadata.international_prefix, metadata.national_prefix_for_parsing
    return _Plan(code, str(code), re.compile(international) if international else None,
                 re.compile(trunk) if trunk else None)


@functools.lru_cache(maxsize=256)
def _plan_of_region(region: str) -> _Plan | None:
    """The plan of numbers written without a country code in ``region``."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper(), None)
    if metadata is None or metadata.country_code is None:
        return None
    return _plan(metadata, metadata.country_code)


@functools.lru_cache(maxsize=512)
def _plan_of_code(code: int) -> _Plan | None:
    """The plan of numbers written with ``+`` and country calling code ``code``."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
        code, phonenumbers.region_code_for_country_code(code))
    return None if metadata is None else _plan(metadata, code)


def columns_of_fields(mapping: Mapping[str, str]) -> dict[str, list[str]]:
    """Field -> the columns mapped to it (for reporting an invalid field under its column)."""
    fields: dict[str, list[str]] = {}
    for column, target in mapping.items():
        if column.startswith(CONSTANT):
            continue
        names = target[len(SPLIT):].split(",") if target.startswith(SPLIT) else [target]
        for name in names:
            fields.setdefault(name.strip(), []).append(column)
    return fields


class Mapper:
    """A mapping made ready for one import: calling it maps one record (see :func:`apply`).

    Each column's field and conversion are looked up, and each constant converted, once rather
    than per record: an import maps every record of its file with the same mapping.
    """

    def __init__(self, mapping: Mapping[str, str], field_of: Callable[[str], ImportField], transforms: Transforms):
        #: In mapping order (it decides which value of a field wins or comes first), one of:
        #: ``(None, field name, constant value or the BadValue converting it raised, None)``;
        #: ``(column, None, None, (given name field, family name field))`` for a split name;
        #: ``(column, field name, conversion, whether the field is a list)``.
        self.steps: list[tuple[str | None, str | None, Any, Any]] = []
        for column, target in mapping.items():
            if column.startswith(CONSTANT):
                try:
                    constant: Any = transforms.convert(field_of(column[1:]), target)
                except BadValue as exc:
                    constant = exc
                self.steps.append((None, column[1:], constant, None))
            elif target.startswith(SPLIT):
                given, _, family = (name.strip() for name in target[len(SPLIT):].partition(","))
                self.steps.append((column, None, None, (field_of(given).name, field_of(family).name)))
            else:
                kind = field_of(target).type
                self.steps.append((column, target, transforms.converter(kind), kind == "list"))

    def __call__(self, record: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """The mapped, converted row of ``record`` and its problems as ``(column, reason)`` pairs."""
        row: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        for column, name, convert, extra in self.steps:
            if column is None:
                if isinstance(convert, BadValue):
                    raise convert
                row.setdefault(name, convert)
                continue
            raw = record.get(column)
            if raw is None:
                continue
            if isinstance(raw, str):  # most cells: blank without copying the text (raw.strip())
                if not raw or raw.isspace():
                    continue
            elif raw == []:
                continue
            if name is None:  # a full name split into given and family names
                words = str(raw).split()
                _put(row, extra[0], " ".join(words[:-1]) if len(words) > 1 else "")
                _put(row, extra[1], words[-1])
                continue
            try:
                value = convert(raw)
            except BadValue as exc:
                problems.append((column, str(exc)))
                continue
            if extra:  # a list field: the values of every column mapped to it, each once
                held = row.setdefault(name, [])
                held.extend(v for v in value if v not in held)
            elif name in row:
                _put(row, name, value)
            elif value is not None and value != "":  # _put's first value, inline: it is most of them
                row[name] = value
        return row, problems


def apply(mapping: Mapping[str, str], record: Mapping[str, Any], field_of: Callable[[str], ImportField],
          transforms: Transforms) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The mapped, converted row of ``record`` and its problems as ``(column, reason)`` pairs.

    ``field_of(name)`` returns the :class:`ImportField` a field name stands for. To map many records
    with one mapping, make a :class:`Mapper` once instead.
    """
    return Mapper(mapping, field_of, transforms)(record)


def _put(row: dict[str, Any], key: str, value: Any) -> None:
    """Set ``row[key]``; a text already there and a text value are joined with a space."""
    if value is None or value == "":
        return
    held = row.get(key)
    row[key] = f"{held} {value}" if isinstance(held, str) and isinstance(value, str) else value
