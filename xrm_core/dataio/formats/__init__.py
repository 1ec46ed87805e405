"""File formats for import and export, and the limits every reader enforces.

A format is a :class:`~xrm_core.contributions.DataFormat`: ``read(stream, limits)`` takes a binary
file and yields one item per record: a ``dict`` (column name -> value), or a :class:`RowProblem`
for a record it could not read (a cell over the size limit, a ragged CSV line, a line that is not
JSON, a value holding a NUL character: :func:`nul_problem`); a file it cannot read at all raises
:class:`FileRejected`. ``write(stream, rows, columns)`` writes dicts to a binary file. The core's
formats are ``core.csv``, ``core.xlsx``, ``core.vcard`` and ``core.jsonl``; plugins add theirs
through ``xrm_import_export_formats`` (their records are checked for NUL characters as they come).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any

from ...contributions import DataFormat
from ...errors import XrmError
from ...storable import has_nul

if TYPE_CHECKING:
    from ...platform import Platform


class FileRejected(XrmError):
    """The file cannot be read at all (not this format, unreadable text, too big, an attack)."""


@dataclass(frozen=True)
class RowProblem:
    """Why one record of a file could not be read: ``column`` is ``None`` for the whole record."""

    reason: str
    column: str | None = None


@dataclass(frozen=True)
class Limits:
    """What a file may hold before it is refused; the defaults suit an interactive upload."""

    #: A longer cell is an error for its row (characters of text, or bytes of a binary cell).
    max_cell: int = 1_000_000
    #: Unpacked size of a whole XLSX archive.
    max_unpacked_bytes: int = 512 * 1024 * 1024
    #: Unpacked/packed size ratio beyond which an XLSX part is taken for a zip bomb.
    max_compression_ratio: int = 100
    #: Columns a record may have.
    max_columns: int = 1000


DEFAULT_LIMITS = Limits()

#: Why a record holding a NUL character fails: PostgreSQL cannot store it (SQLite would, silently).
NUL_REASON = "the value holds a NUL character (U+0000), which cannot be stored"


def nul_problem(record: dict[str, Any]) -> RowProblem | None:
    """A problem naming the first column of ``record`` whose value (or name) holds a NUL character.

    Readers call it only when their cheap whole-line test finds a NUL, so ordinary records cost nothing.
    """
    for column, value in record.items():
        if has_nul(column):
            return RowProblem("a column's name holds a NUL character (U+0000), which cannot be stored")
        if has_nul(value):
            return RowProblem(NUL_REASON, str(column))
    return None


def refusing_nul(read: Callable[..., Iterable[Any]]) -> Callable[..., Iterator[Any]]:
    """A plugin format's ``read`` whose records holding a NUL character become :class:`RowProblem` s
    (the core's readers check as they read, more cheaply)."""

    @functools.wraps(read)
    def checked(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for record in read(*args, **kwargs):
            yield (nul_problem(record) or record) if isinstance(record, dict) else record

    return checked


#: What a spreadsheet takes for the start of a formula (CSV/XLSX injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: Any) -> Any:
    """``value`` with a leading apostrophe when a spreadsheet would run it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_moment(value: Any) -> Any:
    """An aware datetime as naive UTC (spreadsheets keep no time zone; stored moments are UTC);
    any other value unchanged."""
    if getattr(value, "tzinfo", None) is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def formula_restored(value: Any) -> Any:
    """Undo :func:`formula_safe` on a cell read back, so exporting then importing changes nothing."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def _builtin() -> list[DataFormat]:
    from . import csvfile, jsonl, vcard, xlsx

    return [
        DataFormat("core.csv", label="CSV", extension="csv", read=csvfile.read, write=csvfile.write),
        DataFormat("core.xlsx", label="Excel (XLSX)", extension="xlsx", read=xlsx.read, write=xlsx.write),
        DataFormat("core.vcard", label="vCard", extension="vcf", read=vcard.read, write=vcard.write,
                   options={"columns": vcard.COLUMNS}),
        DataFormat("core.jsonl", label="JSON lines", extension="jsonl", read=jsonl.read, write=jsonl.write),
    ]


def available(platform: Platform | None = None) -> dict[str, DataFormat]:
    """The formats on offer: the core's, then those of the platform's plugins, by name."""
    formats = {fmt.name: fmt for fmt in _builtin()}
    if platform is not None:
        for _plugin, fmt in platform.contributed("xrm_import_export_formats", DataFormat):
            if fmt.read is not None:
                fmt = dataclasses.replace(fmt, read=refusing_nul(fmt.read))
            formats.setdefault(fmt.name, fmt)
    return formats


#: Short names accepted for the core's formats (``--format csv``).
SHORT_NAMES = {"csv": "core.csv", "xlsx": "core.xlsx", "vcard": "core.vcard", "vcf": "core.vcard",
               "jsonl": "core.jsonl"}


def find(platform: Platform | None, name: str | None = None, filename: str | None = None) -> DataFormat:
    """The format called ``name`` (or a short name), else the one whose extension ``filename`` has.

    :raises FileRejected: no such format.
    """
    formats = available(platform)
    if name:
        fmt = formats.get(SHORT_NAMES.get(name, name))
        if fmt is None:
            raise FileRejected(f"unknown format {name!r} (known: {', '.join(sorted(formats))})")
        return fmt
    extension = (filename or "").rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""
    for fmt in formats.values():
        if extension and fmt.extension == extension:
            return fmt
    raise FileRejected(f"cannot tell the format of {filename!r} from its extension: name the format")
