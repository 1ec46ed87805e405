"""JSON lines: one JSON object per line, in UTF-8."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO

from . import DEFAULT_LIMITS, FileRejected, Limits, RowProblem, nul_problem


def read(stream: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> Iterator[dict[str, Any] | RowProblem]:
    """Yield one dict per non-blank line, or a :class:`RowProblem` for a line that is not an object."""
    for number, raw in enumerate(stream, 1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise FileRejected(f"line {number} is not UTF-8 text: JSON lines files are UTF-8") from None
        if not line.strip():
            continue
        if len(line) > limits.max_cell * 10:
            yield RowProblem(f"the line is longer than {limits.max_cell * 10:,} characters")
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            yield RowProblem(f"not valid JSON: {exc}")
            continue
        if not isinstance(record, dict):
            yield RowProblem("each line must hold a JSON object")
            continue
        if len(record) > limits.max_columns:
            yield RowProblem(f"the object has more than {limits.max_columns} members")
            continue
        oversized = next((k for k, v in record.items() if isinstance(v, str) and len(v) > limits.max_cell), None)
        if oversized is not None:
            yield RowProblem(f"the value is longer than {limits.max_cell:,} characters", oversized)
            continue
        # JSON writes a NUL only as an escape; the record is searched only when the line has one.
        yield (nul_problem(record) or record) if "\\u0000" in line else record


def write(stream: BinaryIO, rows: Iterable[dict[str, Any]], columns: list[str]) -> None:
    """Write one object per row, with the given columns that have a value."""
    for row in rows:
        record = {column: row[column] for column in columns if row.get(column) not in (None, "", [])}
        stream.write(json.dumps(record, ensure_ascii=False, default=_plain).encode("utf-8") + b"\n")


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
