"""A file format: Markdown tables (``| term | definition |``), for any target's import or export.

``read(stream, limits)`` gets the uploaded file (binary) and yields one dict per record, keyed by
column, or an ``xrm.RowProblem`` for a record it cannot read (the import reports it with its row);
a file it cannot read at all raises ``xrm.FileRejected`` (the import refuses it, in one line).
``write(stream, rows, columns)`` writes dicts. Both stream: files can be large.
"""

import re
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

import xrm_sdk as xrm

#: A cell boundary: a pipe not escaped with a backslash.
_BOUNDARY = re.compile(r"(?<!\\)\|")
_SEPARATOR = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")


def _cells(line: str) -> list[str]:
    inner = line.strip().removeprefix("|").removesuffix("|")
    return [cell.strip().replace("\\|", "|") for cell in _BOUNDARY.split(inner)]


def read(stream: BinaryIO, limits: Any) -> Iterator[dict[str, str] | xrm.RowProblem]:
    """The table's rows, keyed by its header; lines outside the table are ignored.

    ``limits`` are the platform's (``limits.max_cell``: the longest value a cell may hold).
    """
    header: list[str] | None = None
    for number, raw in enumerate(stream, 1):
        try:
            line = raw.decode("utf-8-sig").strip()
        except UnicodeDecodeError:
            raise xrm.FileRejected(f"line {number} is not UTF-8 text: Markdown tables are read as UTF-8") from None
        if not line.startswith("|"):
            continue
        if header is None:
            header = _cells(line)
        elif not _SEPARATOR.match(line):
            cells = _cells(line)
            if len(cells) != len(header):
                yield xrm.RowProblem(f"{len(cells)} cells where the header has {len(header)}")
            elif oversized := next((c for c, v in zip(header, cells) if len(v) > limits.max_cell), None):
                yield xrm.RowProblem(f"the value is longer than {limits.max_cell:,} characters", oversized)
            else:
                yield dict(zip(header, cells, strict=True))


def write(stream: BinaryIO, rows: Iterable[dict[str, Any]], columns: list[str]) -> None:
    """A table with ``columns`` as header; pipes and line breaks in values are escaped."""

    def line(values: Iterable[Any]) -> bytes:
        cells = [("" if v is None else str(v)).replace("|", "\\|").replace("\n", " ") for v in values]
        return ("| " + " | ".join(cells) + " |\n").encode("utf-8")

    stream.write(line(columns))
    stream.write(("|" + "---|" * len(columns) + "\n").encode("utf-8"))
    stream.writelines(line(row.get(column) for column in columns) for row in rows)
