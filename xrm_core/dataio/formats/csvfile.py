"""CSV in any delimiter and encoding: both detected from the start of the file."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from charset_normalizer import from_bytes

from ...storable import NUL
from . import (
    DEFAULT_LIMITS,
    FileRejected,
    Limits,
    RowProblem,
    formula_restored,
    formula_safe,
    nul_problem,
)

#: Bytes looked at to detect the encoding and the delimiter.
SAMPLE_BYTES = 256 * 1024
DELIMITERS = ",;\t|"
#: csv's own limit, far above ``Limits.max_cell`` so an oversized cell is a row error we report;
#: beyond it the file is refused (the csv module cannot go on after such a field).
FIELD_SIZE_LIMIT = 128 * 1024 * 1024
EAST_ASIAN_MULTIBYTE = frozenset({
    "big5", "big5hkscs", "cp932", "cp949", "cp950", "euc_jis_2004", "euc_jisx0213", "euc_jp", "euc_kr",
    "gb18030", "gb2312", "gbk", "hz", "iso2022_jp", "johab", "shift_jis", "shift_jis_2004", "shift_jisx0213"})


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) when the sample decodes as UTF-8, else charset-normalizer's guess."""
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8-sig"
    if b"\x00" in sample:
        raise FileRejected("the file is binary, not CSV text")
    best = from_bytes(sample).best()
    if best is None or best.encoding in EAST_ASIAN_MULTIBYTE:
        # Short Western samples are often mistaken for East Asian multibyte encodings; what decodes
        # as Windows-1252 (what Western spreadsheet programs write) is read as such.
        try:
            sample.decode("cp1252")
        except UnicodeDecodeError:
            pass
        else:
            return "cp1252"
    if best is None:
        raise FileRejected("cannot tell the file's character encoding: save it as UTF-8")
    return best.encoding


def read(stream: BinaryIO, limits: Limits = DEFAULT_LIMITS, encoding: str | None = None) -> Iterator[dict[str, Any] | RowProblem]:
    """Yield one dict per line after the header (column -> text), or a :class:`RowProblem`."""
    sample = stream.read(SAMPLE_BYTES)
    stream.seek(0)
    encoding = encoding or detect_encoding(sample)
    text_sample = sample.decode(encoding, errors="ignore")
    try:
        dialect = csv.Sniffer().sniff("\n".join(text_sample.splitlines()[:20]), delimiters=DELIMITERS)
    except csv.Error:
        dialect = csv.excel
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_SIZE_LIMIT))
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    reader = csv.reader(text, dialect)
    try:
        header = [name.strip() for name in next(reader, [])]
        if not header or not any(header):
            raise FileRejected("the file is empty: the first line must name the columns")
        _check_header(header, limits)
        width, max_cell = len(header), limits.max_cell
        for cells in reader:
            # Each test below runs in C on the whole line first (a file has millions of lines, and
            # nearly all of them are ordinary); the cell at fault is looked for only when one fails.
            line = "".join(cells)
            if not line.strip():
                continue  # blank lines separate nothing: spreadsheet programs leave them
            if len(cells) != width:
                yield RowProblem(f"the line has {len(cells)} cells where the header has {width} columns")
                continue
            if max(map(len, cells)) > max_cell:
                oversized = next(name for name, cell in zip(header, cells) if len(cell) > max_cell)
                yield RowProblem(f"the cell is longer than {max_cell:,} characters", oversized)
                continue
            if NUL in line:
                yield nul_problem(dict(zip(header, cells)))
                continue
            if "'" in line:  # a quoted formula, perhaps
                yield {name: formula_restored(cell) for name, cell in zip(header, cells)}
            else:
                yield dict(zip(header, cells))
    except UnicodeDecodeError:
        raise FileRejected(f"the file is not valid {encoding} text near line {reader.line_num + 1}: save it as UTF-8") from None
    except csv.Error as exc:
        raise FileRejected(f"line {reader.line_num}: {exc}") from None
    finally:
        if not stream.closed:  # leave the caller's file open (an abandoned reader is closed later)
            text.detach()


def _check_header(header: list[str], limits: Limits) -> None:
    if len(header) > limits.max_columns:
        raise FileRejected(f"the file has {len(header)} columns; at most {limits.max_columns} are read")
    seen: set[str] = set()
    for number, name in enumerate(header, 1):
        if not name:
            raise FileRejected(f"column {number} has no name in the header line")
        if NUL in name:
            raise FileRejected(f"the name of column {number} holds a NUL character (U+0000)")
        if name in seen:
            raise FileRejected(f"column {name!r} appears twice in the header line")
        seen.add(name)


def write(stream: BinaryIO, rows: Iterable[dict[str, Any]], columns: list[str]) -> None:
    """Write UTF-8 CSV (with a BOM, which spreadsheet programs need to read UTF-8); lists joined by ``;``.

    Cells a spreadsheet would take for a formula are neutralised (:func:`formula_safe`).
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([formula_safe(_cell(row.get(column))) for column in columns])
    text.flush()
    text.detach()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "; ".join(str(item) for item in value)
    return str(value)
