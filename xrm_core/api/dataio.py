"""``/api/v1/imports`` and ``/api/v1/exports``: files in and out of the tenant, as the calling user.

* ``POST /imports`` (multipart: ``file`` and the options as form fields) checks the file and answers
  the dry-run report (200); with ``dry_run=false`` it imports and answers the batch (201). The
  uploaded file is kept in the instance folder so ``POST /imports/<id>/resume`` can go on with an
  interrupted import.
* ``GET /imports``, ``GET /imports/<id>`` (status and progress), ``GET /imports/<id>/report``
  (the errors: row, column, reason), ``POST /imports/<id>/undo`` (409 naming a record changed since).
* ``GET /exports?target=core.party&format=csv`` downloads what the user may read.

A batch is visible to the user who started it and to those who may create the target's records
tenant-wide; to anyone else it does not exist (404). A file that cannot be read, or a mapping
naming an unknown field, is a 422 naming ``file`` or the option.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from flask import Response, request, url_for
from marshmallow import ValidationError, fields, validate

from .. import web
from ..dataio import access, engine, formats
from ..dataio.engine import ImportOptions, MappingError
from ..dataio.models import ImportBatch
from ..identity.authentication import current_principal
from .blueprint import ApiBlueprint
from .schemas import Schema

blueprint = ApiBlueprint("core_dataio", __name__, description="Imports (with dry runs and undo) and exports of files.")

#: Largest upload accepted; bigger files are imported with ``xrm import``.
MAX_UPLOAD_BYTES = 256 * 1024 * 1024
#: Batches listed by ``GET /imports``, newest first.
LIST_LIMIT = 100


class ImportRequestSchema(Schema):
    """The form fields sent with the file."""

    target = fields.String(load_default="core.party", validate=validate.Length(max=100))
    format = fields.String(load_default=None, validate=validate.Length(max=100))
    preset = fields.String(load_default=None, validate=validate.Length(max=100))
    mapping = fields.String(load_default=None, metadata={"description": 'JSON object {"column": "field"}.'})
    match_on = fields.String(load_default=None, validate=validate.Length(max=100))
    on_match = fields.String(load_default="update", validate=validate.OneOf(("update", "skip")))
    skip_errors = fields.Boolean(load_default=False)
    dry_run = fields.Boolean(load_default=True)
    locale = fields.String(load_default="en", validate=validate.Length(max=20))
    region = fields.String(load_default=None, validate=validate.Length(equal=2))


class BatchSchema(Schema):
    id = fields.Integer(dump_only=True)
    target = fields.String(dump_only=True)
    file_name = fields.String(dump_only=True)
    format = fields.String(dump_only=True)
    status = fields.Function(lambda b: b.status.value, dump_only=True, metadata={
        "description": "running (in progress, or interrupted: resume it), completed, failed (nothing kept), undone."})
    rows_done = fields.Integer(dump_only=True, metadata={"description": "Rows of the file committed so far."})
    created = fields.Integer(dump_only=True)
    updated = fields.Integer(dump_only=True)
    skipped = fields.Integer(dump_only=True)
    failed = fields.Integer(dump_only=True)
    started_at = fields.DateTime(dump_only=True)
    finished_at = fields.DateTime(dump_only=True, allow_none=True)


def _batch(batch_id: int) -> ImportBatch:
    """The batch, if the caller started it or may create the target's records tenant-wide; else 404."""
    return access.visible_batch(web.db_session(), web.platform(), current_principal(), batch_id)


def _kept_file(tenant_id: int, sha256: str) -> Path:
    """Where an upload is kept while its import runs (named by content: resuming checks it)."""
    return web.platform().settings.instance_path / "imports" / str(tenant_id) / sha256


def _unreadable(exc: Exception) -> ValidationError:
    field = "mapping" if isinstance(exc, MappingError) else "file"
    return ValidationError({field: [str(exc)]})


@blueprint.route("/imports", methods=["POST"])
@blueprint.response(200)
def create_import():
    """Check a file (dry run, the default) or import it (``dry_run=false``).

    A dry run answers every row's outcome and every error (row, column, reason) and changes
    nothing; an import answers 201 with the batch, its counts and its errors.
    """
    if request.content_length and request.content_length > MAX_UPLOAD_BYTES:
        raise ValidationError({"file": [f"Files over {MAX_UPLOAD_BYTES // (1024 * 1024)} MB are imported with 'xrm import'."]})
    data = ImportRequestSchema().load(request.form.to_dict())
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationError({"file": ["Missing data for required field."]})
    try:
        mapping = json.loads(data["mapping"]) if data["mapping"] else None
    except ValueError:
        raise ValidationError({"mapping": ["Not valid JSON."]}) from None
    if mapping is not None and not (isinstance(mapping, dict) and all(isinstance(v, str) for v in mapping.values())):
        raise ValidationError({"mapping": ['A JSON object {"column": "field"} is expected.']})
    try:
        options = ImportOptions(mapping=mapping, preset=data["preset"], match_on=data["match_on"],
                                on_match=data["on_match"], skip_errors=data["skip_errors"], locale=data["locale"],
                                region=data["region"])
    except MappingError as exc:
        raise _unreadable(exc) from None
    stream = io.BytesIO(upload.read())
    session = web.db_session()
    kept = None
    if not data["dry_run"]:  # kept before the run, so that an interrupted run can be resumed
        kept = _kept_file(web.current_tenant().id, engine.file_digest(stream))
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_bytes(stream.getvalue())
    try:
        report = engine.start(session, web.platform(), data["target"], stream, upload.filename, options,
                              format_name=data["format"], dry_run=data["dry_run"])
    except (formats.FileRejected, MappingError) as exc:
        if kept is not None:
            kept.unlink(missing_ok=True)
        raise _unreadable(exc) from None
    if report.dry_run:
        return report.as_dict()
    kept.unlink(missing_ok=True)  # the run finished (completed, or failed with nothing kept)
    batch = session.get(ImportBatch, report.batch_id)
    body = {**report.as_dict(), "batch": BatchSchema().dump(batch)}
    body.pop("outcomes")
    return body, 201, {"Location": url_for(".import_item", batch_id=batch.id)}


@blueprint.route("/imports", methods=["GET"])
@blueprint.response(200)
def list_imports():
    """The caller's import batches (all of them for who may create the targets' records tenant-wide)."""
    batches = access.visible_batches(web.db_session(), web.platform(), current_principal(), LIST_LIMIT)
    return {"items": BatchSchema(many=True).dump(batches)}


@blueprint.route("/imports/<int:batch_id>", methods=["GET"])
@blueprint.response(200, BatchSchema)
def import_item(batch_id: int):
    """A batch's status and progress (poll it while an import runs)."""
    return _batch(batch_id)


@blueprint.route("/imports/<int:batch_id>/report", methods=["GET"])
@blueprint.response(200)
def import_report(batch_id: int):
    """The batch's row errors: ``{"errors": [{"row", "column", "reason"}]}`` (the first 1,000)."""
    batch = _batch(batch_id)
    return {"batch": BatchSchema().dump(batch), "errors": batch.errors}


@blueprint.route("/imports/<int:batch_id>/undo", methods=["POST"])
@blueprint.response(200, BatchSchema)
def undo_import(batch_id: int):
    """Delete what the batch created and restore what it updated; 409 if a record changed since."""
    batch = _batch(batch_id)
    engine.undo_batch(web.db_session(), web.platform(), batch.id)
    return batch


@blueprint.route("/imports/<int:batch_id>/resume", methods=["POST"])
@blueprint.response(200)
def resume_import(batch_id: int):
    """Go on with an interrupted import (status ``running`` but not running) from its last committed rows."""
    batch = _batch(batch_id)
    path = _kept_file(batch.tenant_id, batch.file_sha256)
    if not path.exists():
        raise ValidationError({"file": ["The uploaded file is no longer kept: import it again."]})
    with path.open("rb") as stream:
        report = engine.resume(web.db_session(), web.platform(), batch.id, stream)
    path.unlink(missing_ok=True)
    body = report.as_dict()
    body.pop("outcomes")
    return body


@blueprint.route("/exports", methods=["GET"])
def export_records():
    """Download the target's records the caller may read and export:
    ``?target=core.party&format=csv|xlsx|vcard|jsonl``."""
    target = request.args.get("target", "core.party")
    format_name = request.args.get("format", "csv")
    unknown = sorted(set(request.args) - {"target", "format"})
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in unknown})
    try:
        fmt = formats.find(web.platform(), format_name)
    except formats.FileRejected as exc:
        raise ValidationError({"format": [str(exc)]}) from None
    buffer = io.BytesIO()
    engine.export(web.db_session(), web.platform(), target, fmt.name, buffer)
    filename = f"{target.replace('.', '-')}.{fmt.extension}"
    return Response(buffer.getvalue(), mimetype=_MIMETYPES.get(fmt.extension, "application/octet-stream"),
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


_MIMETYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
              "vcf": "text/vcard", "jsonl": "application/x-ndjson"}

