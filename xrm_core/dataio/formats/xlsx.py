"""Excel workbooks (XLSX): the first sheet, its first row naming the columns.

Reading refuses what could exhaust the server before openpyxl parses anything: an archive whose
parts unpack beyond the limits (zip bombs), and XML with a document type declaration (entity
expansion, external entities). openpyxl parses with defusedxml as well, which is installed with
the core. Writing neutralises cells a spreadsheet would run as formulas.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from typing import Any, BinaryIO
from xml.etree.ElementTree import ParseError

import openpyxl
from openpyxl import Workbook

from . import DEFAULT_LIMITS, FileRejected, Limits, RowProblem, formula_restored, formula_safe, spreadsheet_moment

#: Bytes at the start of each XML part searched for a document type declaration.
PROLOGUE_BYTES = 4096


def check_archive(stream: BinaryIO, limits: Limits) -> None:
    """Refuse a file that is not an XLSX archive, or whose parts unpack too far.

    :raises FileRejected: naming the reason.
    """
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError):
        raise FileRejected("the file is not an XLSX workbook (not a zip archive)") from None
    with archive:
        names = set(archive.namelist())
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise FileRejected("the file is a zip archive but not an XLSX workbook")
        total = 0
        for info in archive.infolist():
            total += info.file_size
            if total > limits.max_unpacked_bytes:
                raise FileRejected(f"the workbook unpacks to more than {limits.max_unpacked_bytes:,} bytes: refused")
            if info.file_size > 1_000_000 and info.file_size > limits.max_compression_ratio * max(info.compress_size, 1):
                raise FileRejected(f"part {info.filename} is compressed {info.file_size // max(info.compress_size, 1)}"
                                   " times: refused as a zip bomb")
        for info in archive.infolist():
            if info.filename.endswith((".xml", ".rels")):
                with archive.open(info) as part:
                    if b"<!DOCTYPE" in part.read(PROLOGUE_BYTES).upper():
                        raise FileRejected(f"part {info.filename} declares a document type: refused (XML attack)")
    stream.seek(0)


def read(stream: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> Iterator[dict[str, Any] | RowProblem]:
    """Yield one dict per non-empty row of the first sheet after the header row."""
    check_archive(stream, limits)
    try:
        book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001  openpyxl raises many kinds on a damaged workbook; all mean "unreadable"
        raise FileRejected(f"the workbook cannot be read: {exc}") from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header_cells = next(rows, None) or ()
        header = [str(cell).strip() if cell is not None else "" for cell in header_cells]
        while header and not header[-1]:
            header.pop()
        if not header:
            raise FileRejected("the first sheet is empty: its first row must name the columns")
        if len(header) > limits.max_columns or any(not name for name in header) or len(set(header)) != len(header):
            raise FileRejected("the first row must name each column once, without gaps")
        for cells in _parsed(rows):
            values = list(cells[: len(header)])
            if any(cell not in (None, "") for cell in cells[len(header):]):
                yield RowProblem(f"the row has values beyond the {len(header)} named columns")
                continue
            if all(cell in (None, "") for cell in values):
                continue
            oversized = next((name for name, cell in zip(header, values)
                              if isinstance(cell, str) and len(cell) > limits.max_cell), None)
            if oversized is not None:
                yield RowProblem(f"the cell is longer than {limits.max_cell:,} characters", oversized)
                continue
            yield {name: _value(cell) for name, cell in zip(header, values)}
    finally:
        book.close()


def _parsed(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """The sheet's rows, parsed as they are read: XML openpyxl cannot parse there makes the workbook
    unreadable, not a server error. (XML cannot hold a NUL character, so no cell read has one.)"""
    try:
        yield from rows
    except ParseError as exc:
        raise FileRejected(f"the workbook cannot be read: {exc}") from None


def _value(cell: Any) -> Any:
    if isinstance(cell, datetime):
        return cell.date() if cell.time() == time(0) else cell
    if isinstance(cell, str):
        return formula_restored(cell)
    return "" if cell is None else cell


def write(stream: BinaryIO, rows: Iterable[dict[str, Any]], columns: list[str]) -> None:
    """Write one sheet: a header row, then the rows; lists joined by ``;``, formulas neutralised."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Export")
    sheet.append(columns)
    for row in rows:
        sheet.append([formula_safe(_cell(row.get(column))) for column in columns])
    book.save(stream)


def _cell(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return "; ".join(str(item) for item in value)
    if isinstance(value, dict):
        return str(value)
    if isinstance(value, (date, datetime, int, float)) or value is None:
        return spreadsheet_moment(value)
    return str(value)
