"""Each contribution of the ``glossary`` example, exercised through the core's import and export API."""

import io
from types import SimpleNamespace

import pytest
import xrm_sdk as xrm
from xrm_glossary import markdown

pytestmark = pytest.mark.xrm_plugins("glossary")  # see hello_page/tests/test_hello.py

TERMS_MD = b"""# Our glossary

| term | definition |
|------|------------|
| CLV | Customer lifetime value |
| RFM | Recency, frequency \\| monetary |
"""


def upload(client, content, name="terms.md", **form):
    data = {"target": "glossary.term", "file": (io.BytesIO(content), name), **form}
    return client.post("/api/v1/imports", data=data, content_type="multipart/form-data")


def test_xrm_import_export_formats_reads_and_writes_markdown_tables():
    rows = [{"term": "A|B", "definition": "two\nlines"}, {"term": "C", "definition": None}]
    written = io.BytesIO()
    markdown.write(written, rows, ["term", "definition"])
    assert written.getvalue().decode() == "| term | definition |\n|---|---|\n| A\\|B | two lines |\n| C |  |\n"
    limits = SimpleNamespace(max_cell=20)
    read = list(markdown.read(io.BytesIO(written.getvalue() + b"| too | many | cells |\n"), limits))
    assert read[:2] == [{"term": "A|B", "definition": "two lines"}, {"term": "C", "definition": ""}]
    assert isinstance(read[2], xrm.RowProblem)
    with pytest.raises(xrm.FileRejected):
        list(markdown.read(io.BytesIO(b"| term |\n|---|\n| \xff |\n"), limits))


def test_xrm_import_targets_through_the_import_and_export_api(xrm_client, xrm_login):
    """The target, in the plugin's format and the core's; ``xrm_permissions`` decide who may import."""
    checked = upload(xrm_client, TERMS_MD + b"| | nameless |\n")  # a dry run, the default
    assert checked.status_code == 200, checked.get_json()
    assert [(e["row"], e["column"]) for e in checked.get_json()["errors"]] == [(3, "term")]

    imported = upload(xrm_client, TERMS_MD, dry_run="false")
    assert imported.status_code == 201, imported.get_json()
    assert imported.get_json()["batch"]["created"] == 2

    # Imported again, matched on the target's key: the two terms are updated, none added.
    again = upload(xrm_client, TERMS_MD.replace(b"Customer lifetime value", b"Lifetime value"), dry_run="false",
                   match_on="term")
    assert (again.get_json()["batch"]["created"], again.get_json()["batch"]["updated"]) == (0, 2)

    exported = xrm_client.get("/api/v1/exports?target=glossary.term&format=glossary.markdown")
    assert exported.get_data(as_text=True) == (
        "| term | definition |\n|---|---|\n| CLV | Lifetime value |\n| RFM | Recency, frequency \\| monetary |\n")
    as_csv = xrm_client.get("/api/v1/exports?target=glossary.term&format=csv").data.decode("utf-8-sig")
    assert as_csv.splitlines()[:2] == ["term,definition", "CLV,Lifetime value"]  # the core's formats work too
    assert upload(xrm_login("glossary.term.read"), TERMS_MD, dry_run="false").status_code == 403
