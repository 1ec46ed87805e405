"""File formats: every one round-trips, and malformed or hostile files give a clear reason.

Rows are written and read back; what malformed files do to an import (nothing) is in
``test_dataio_engine.py``, with the round trips through the ``core.party`` target.
"""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from xrm_core.dataio import formats
from xrm_core.dataio.formats import FileRejected, Limits, RowProblem, csvfile, jsonl, vcard, xlsx
from xrm_core.dataio.mapping import Transforms, apply
from xrm_core.dataio.targets import ImportField

ROWS = [
    {"name": "Zoë Ångström", "email": "zoe@example.org", "tags": "a; b", "formula": "=1+2", "phone": "+33123456789"},
    {"name": "Bob, \"the\" builder", "email": "", "tags": "", "formula": "@SUM(A1)", "phone": "-5"},
]
COLUMNS = ["name", "email", "tags", "formula", "phone"]


def written(module, rows=ROWS, columns=COLUMNS) -> bytes:
    buffer = io.BytesIO()
    module.write(buffer, rows, columns)
    return buffer.getvalue()


@pytest.mark.parametrize("module", [csvfile, xlsx, jsonl], ids=["csv", "xlsx", "jsonl"])
def test_formats_round_trip(module):
    back = list(module.read(io.BytesIO(written(module))))
    expected = ROWS if module is not jsonl else [{k: v for k, v in row.items() if v != ""} for row in ROWS]
    assert back == expected


def test_vcard_round_trips_in_both_versions():
    people = [{"full_name": "Ana María Pérez", "given_name": "Ana María", "family_name": "Pérez", "prefix": "Dr.",
               "organization": "Acme; Inc", "job_title": "CTO", "emails": ["ana@example.org", "a2@example.org"],
               "phones": ["+34911234567"], "urls": ["https://example.org"],
               "addresses": [{"street": "1 Calle Mayor, 3º", "city": "Madrid", "region": "", "postal_code": "28001",
                              "country": "Spain", "type": "work"}],
               "birthday": "1980-04-30", "note": "line 1\nline 2, with commas; and semicolons"},
              {"full_name": "Bob", "given_name": "", "family_name": "", "prefix": "", "organization": "",
               "job_title": "", "emails": [], "phones": [], "urls": [], "addresses": [], "birthday": None, "note": ""}]
    for version in ("3.0", "4.0"):
        buffer = io.BytesIO()
        vcard.write(buffer, people, version=version)
        assert f"VERSION:{version}" in buffer.getvalue().decode()
        assert list(vcard.read(io.BytesIO(buffer.getvalue()))) == people


def test_csv_detects_delimiter_and_encoding():
    latin = "Nom;Ville\nRené;Besançon\nZoé;Orléans\n".encode("latin-1")
    assert list(csvfile.read(io.BytesIO(latin))) == [{"Nom": "René", "Ville": "Besançon"},
                                                      {"Nom": "Zoé", "Ville": "Orléans"}]
    utf16 = "name\tcity\nJürgen\tKöln\n".encode("utf-16")
    assert list(csvfile.read(io.BytesIO(utf16))) == [{"name": "Jürgen", "city": "Köln"}]


def test_csv_problems_are_reported_per_line_or_refuse_the_file():
    ragged = b"a,b\n1,2\n1,2,3\n4\n5,6\n"
    assert list(csvfile.read(io.BytesIO(ragged))) == [
        {"a": "1", "b": "2"}, RowProblem("the line has 3 cells where the header has 2 columns"),
        RowProblem("the line has 1 cells where the header has 2 columns"), {"a": "5", "b": "6"}]
    with pytest.raises(FileRejected, match="binary"):
        list(csvfile.read(io.BytesIO(b"\x00\x01\x02\xff\xfe" * 100)))
    with pytest.raises(FileRejected, match="appears twice"):
        list(csvfile.read(io.BytesIO(b"a,a\n1,2\n")))
    with pytest.raises(FileRejected, match="empty"):
        list(csvfile.read(io.BytesIO(b"")))
    # valid UTF-8 at the start, then bytes that are not: detected on the sample, refused further on
    mixed = b"name\n" + b"ok\n" * (csvfile.SAMPLE_BYTES // 3) + b"caf\xe9\n"
    with pytest.raises(FileRejected, match="not valid utf-8-sig text"):
        list(csvfile.read(io.BytesIO(mixed)))


def test_a_50_mb_cell_is_a_row_error():
    big = b"name,note\nfirst,ok\nsecond," + b"x" * (50 * 1024 * 1024) + b"\nthird,ok\n"
    assert [r if isinstance(r, RowProblem) else r["name"] for r in csvfile.read(io.BytesIO(big))] == [
        "first", RowProblem("the cell is longer than 1,000,000 characters", "note"), "third"]


def _xlsx_bytes(rows) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_zip_bomb_disguised_as_xlsx_is_refused_before_parsing():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * (20 * 1024 * 1024) + b"/>")
    assert len(buffer.getvalue()) < 100_000
    with pytest.raises(FileRejected, match="zip bomb"):
        list(xlsx.read(io.BytesIO(buffer.getvalue())))
    with pytest.raises(FileRejected, match="unpacks to more than"):
        list(xlsx.read(io.BytesIO(buffer.getvalue()), Limits(max_unpacked_bytes=1_000_000)))


def test_xml_attacks_and_non_workbooks_are_refused():
    good = _xlsx_bytes([["name"], ["Ada"]])
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/workbook.xml":
                data = b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>' + data.split(b"?>", 1)[-1]
            target.writestr(info, data)
    with pytest.raises(FileRejected, match="document type"):
        list(xlsx.read(io.BytesIO(buffer.getvalue())))
    with pytest.raises(FileRejected, match="not a zip archive"):
        list(xlsx.read(io.BytesIO(b"name\nAda\n")))
    assert list(xlsx.read(io.BytesIO(good))) == [{"name": "Ada"}]


def test_xlsx_rows_beyond_the_header_or_oversized_are_row_errors():
    data = _xlsx_bytes([["name", "note"], ["Ada", "ok"], ["Bob", "x" * 2000], ["Cy", "ok", "extra"]])
    assert list(xlsx.read(io.BytesIO(data), Limits(max_cell=1000))) == [
        {"name": "Ada", "note": "ok"}, RowProblem("the cell is longer than 1,000 characters", "note"),
        RowProblem("the row has values beyond the 2 named columns")]


def test_formula_injection_is_neutralised_on_export():
    sheet = openpyxl.load_workbook(io.BytesIO(written(xlsx))).active
    cells = [cell.value for cell in next(sheet.iter_rows(min_row=2, max_row=2))]
    assert cells == ["Zoë Ångström", "zoe@example.org", "a; b", "'=1+2", "'+33123456789"]
    assert sheet.cell(2, 4).data_type == "s"  # text, not a formula
    lines = written(csvfile).decode("utf-8-sig").splitlines()
    assert lines[1].endswith(",'=1+2,'+33123456789") and lines[2].endswith(",'@SUM(A1),'-5")


def test_jsonl_bad_lines_are_row_errors():
    data = b'{"a": 1}\nnot json\n[1, 2]\n\n{"a": 2}\n'
    read = list(jsonl.read(io.BytesIO(data)))
    assert read[0] == {"a": 1} and read[3] == {"a": 2}
    assert "not valid JSON" in read[1].reason and read[2] == RowProblem("each line must hold a JSON object")


def test_vcard_problems():
    with pytest.raises(FileRejected, match="no vCard"):
        list(vcard.read(io.BytesIO(b"hello")))
    cards = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ok\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nFN:Broken\r\n"
    read = list(vcard.read(io.BytesIO(cards)))
    assert read[0]["full_name"] == "Ok" and isinstance(read[1], RowProblem)


def test_split_names_and_list_columns():
    fields = {f.name: f for f in (ImportField("given"), ImportField("family"), ImportField("emails", type="list"))}
    row, problems = apply({"Name": "split:given,family", "Mail 1": "emails", "Mail 2": "emails"},
                          {"Name": "Jean Paul Sartre", "Mail 1": "a@x.org", "Mail 2": "b@x.org; a@x.org"},
                          fields.__getitem__, Transforms())
    assert problems == [] and row == {"given": "Jean Paul", "family": "Sartre", "emails": ["a@x.org", "b@x.org"]}


def test_formats_are_found_by_name_or_extension():
    assert formats.find(None, "vcard").name == "core.vcard"
    assert formats.find(None, filename="export.XLSX").name == "core.xlsx"
    with pytest.raises(FileRejected, match="unknown format"):
        formats.find(None, "dbase")
