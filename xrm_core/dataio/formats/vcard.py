"""vCard 3.0 and 4.0 (RFC 2426, RFC 6350), read and written with ``vobject``.

Records are flat dicts with these canonical keys, which import targets taking people (the core's
``core.party`` through its ``vcard`` preset, ``contacts.person``) use as their field names:

==============  ==========================================================================
``full_name``   FN, text
``given_name``  N's given name          ``family_name``  N's family name
``prefix``      N's honorific prefix    ``organization`` ORG (first unit), text
``job_title``   TITLE, text             ``note``         NOTE, text
``birthday``    BDAY as an ISO date (``1980-04-30``), or ``None``
``emails``      list of strings (EMAIL)  ``phones`` list of strings (TEL)  ``urls`` list (URL)
``addresses``   list of dicts with ``street``, ``city``, ``region``, ``postal_code``,
                ``country`` and ``type`` (``home``, ``work``… or ``""``) (ADR)
==============  ==========================================================================

Missing text is ``""``, missing lists ``[]``. The writer takes the same dicts and writes vCard 3.0
(``version="4.0"`` for 4.0); both versions are read.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any, BinaryIO

import vobject

from ...storable import NUL
from . import DEFAULT_LIMITS, FileRejected, Limits, RowProblem, nul_problem

COLUMNS = ("full_name", "given_name", "family_name", "prefix", "organization", "job_title", "emails", "phones",
           "urls", "addresses", "birthday", "note")
ADDRESS_KEYS = ("street", "city", "region", "postal_code", "country", "type")
_BDAY = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})")


def read(stream: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> Iterator[dict[str, Any] | RowProblem]:
    """Yield one canonical dict per vCard in the file (see the module docstring)."""
    try:
        text = stream.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRejected("the vCard file is not UTF-8 text") from None
    if "BEGIN:VCARD" not in text.upper():
        raise FileRejected("the file holds no vCard (no BEGIN:VCARD line)")
    for block in re.split(r"(?im)^(?=BEGIN:VCARD)", text):
        if not block.strip():
            continue
        if len(block) > limits.max_cell * 10:
            yield RowProblem(f"the vCard is longer than {limits.max_cell * 10:,} characters")
            continue
        try:
            card = vobject.readOne(block)
        except Exception as exc:  # noqa: BLE001  vobject raises ParseError and plain ValueErrors on malformed cards
            yield RowProblem(f"not a valid vCard: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
            continue
        try:
            record = _record(card, limits)
        except ValueError as exc:
            yield RowProblem(str(exc))
            continue
        yield (nul_problem(record) or record) if NUL in block else record


def _record(card: Any, limits: Limits) -> dict[str, Any]:
    def text(name: str) -> str:
        line = card.contents.get(name)
        if not line:
            return ""
        value = line[0].value
        if isinstance(value, list):
            value = value[0] if value else ""
        value = str(value)
        if len(value) > limits.max_cell:
            raise ValueError(f"{name.upper()} is longer than {limits.max_cell:,} characters")
        return value

    def values(name: str) -> list[str]:
        return [str(line.value).strip() for line in card.contents.get(name, []) if str(line.value).strip()]

    given = family = prefix = ""
    if "n" in card.contents:
        name = card.n.value
        if isinstance(name, vobject.vcard.Name):
            given, family, prefix = _joined(name.given), _joined(name.family), _joined(name.prefix)
        else:  # vCard 4.0 cards may reach us unparsed: family;given;additional;prefix;suffix
            parts = str(name).split(";") + [""] * 5
            family, given, prefix = parts[0], parts[1], parts[3]
    birthday = text("bday")
    match = _BDAY.match(birthday)
    return {
        "full_name": text("fn"), "given_name": given, "family_name": family, "prefix": prefix,
        "organization": text("org"), "job_title": text("title"),
        "emails": values("email"), "phones": values("tel"), "urls": values("url"),
        "addresses": [_address(line) for line in card.contents.get("adr", [])],
        "birthday": date(*map(int, match.groups())).isoformat() if match else None,
        "note": text("note"),
    }


def _joined(value: Any) -> str:
    return " ".join(value) if isinstance(value, list) else str(value or "")


def _address(line: Any) -> dict[str, str]:
    value = line.value
    kinds = [k.lower() for k in line.params.get("TYPE", []) if k.lower() not in ("pref", "internet")]
    if isinstance(value, vobject.vcard.Address):
        parts = [_joined(value.street), _joined(value.city), _joined(value.region), _joined(value.code),
                 _joined(value.country)]
    else:
        fields = str(value).split(";") + [""] * 7
        parts = fields[2:7]
    return dict(zip(ADDRESS_KEYS, [*parts, kinds[0] if kinds else ""], strict=True))


def write(stream: BinaryIO, rows: Iterable[dict[str, Any]], columns: Iterable[str] = COLUMNS,
          version: str = "3.0") -> None:
    """Write one vCard per canonical dict (``columns`` is ignored: a vCard has its own layout)."""
    out = io.StringIO()
    for row in rows:
        card = vobject.vCard()
        full_name = row.get("full_name") or " ".join(
            part for part in (row.get("given_name"), row.get("family_name")) if part) or "-"
        card.add("fn").value = full_name
        card.add("n").value = vobject.vcard.Name(family=row.get("family_name") or "", given=row.get("given_name") or "",
                                                 prefix=row.get("prefix") or "")
        for key, name in (("organization", "org"), ("job_title", "title"), ("note", "note")):
            if row.get(key):
                card.add(name).value = [row[key]] if name == "org" else row[key]
        for key, name in (("emails", "email"), ("phones", "tel"), ("urls", "url")):
            for value in row.get(key) or []:
                card.add(name).value = value
        for address in row.get("addresses") or []:
            line = card.add("adr")
            line.value = vobject.vcard.Address(street=address.get("street") or "", city=address.get("city") or "",
                                               region=address.get("region") or "", code=address.get("postal_code") or "",
                                               country=address.get("country") or "")
            if address.get("type"):
                line.type_param = address["type"]
        if row.get("birthday"):
            card.add("bday").value = str(row["birthday"])
        text = card.serialize()
        if version == "4.0":
            text = text.replace("VERSION:3.0", "VERSION:4.0", 1)
        out.write(text)
    stream.write(out.getvalue().encode("utf-8"))
