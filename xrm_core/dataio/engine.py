"""The import engine: one pipeline for every target and format.

For each record of the file: map columns to fields and transform values
(:mod:`~xrm_core.dataio.mapping`), clean custom fields, match on the natural key, validate with the
target's schema, then create, update or skip. Records go in chunks of ``batch_size``:

* a **dry run** validates and matches every record, reports each one's outcome and every error
  (row, column, reason), and changes nothing (its session is rolled back);
* a **real run** records an :class:`~xrm_core.dataio.models.ImportBatch` and commits once per
  chunk, together with the batch's progress and undo log, so an interrupted run is resumed from
  its last committed chunk (:func:`resume`). A chunk that fails to write is retried record by
  record so the failing ones are named. Any error stops the run and undoes what it committed
  (nothing changed), unless ``skip_errors``: then the valid records are imported and the others
  reported;
* :func:`undo` deletes what a batch created and restores what it updated, refusing (409) when a
  record changed since.

Two records of one file with the same key never make two records: the later one updates the
earlier (``on_match="update"``) or is reported as skipped (``"skip"``).

Every step runs in the importing user's session (tenant- and permission-scoped); the user needs
``<target permission>.create``, and ``.update`` to update matches (with a match key and
``on_match="update"``); each record written is checked against the user's scope as well.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import IO, Any

import marshmallow as ma
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .. import audit
from ..customfields import types as custom_types
from ..customfields.service import definitions
from ..db import utcnow
from ..errors import Conflict, NotFound, XrmError
from ..identity.fieldsecurity import models_of_resource, unreadable_fields
from ..identity.models import Scope
from ..identity.principal import service_principal
from ..identity.scoping import PermissionDenied, act_as, principal_of
from ..models import TenantPlugin
from . import formats, mapping
from .collection import fewer_collections
from .bulk import BulkInsert
from .export_scope import exporting
from .models import BatchStatus, ImportAction, ImportBatch, ImportRecord
from .party_target import PartyTarget
from .targets import HIDDEN_MATCH, ImportField, ImportTarget, as_stored

CUSTOM = "custom."
#: Errors a batch keeps (the CLI's report file and the API's report list them all for a dry run).
MAX_STORED_ERRORS = 1000
DEFAULT_BATCH_SIZE = 5000
#: Created records whose undo log snapshots are told and encoded at a time.
SNAPSHOT_SLICE = 500
#: Custom field type -> the import transform its values go through before the custom field's own
#: checks (the others take the cell as it is: numbers and choices accept text).
CUSTOM_FIELD_TYPES = {custom_types.DATE: "date", custom_types.BOOLEAN: "boolean", custom_types.MULTI_CHOICE: "list"}
#: Write failures that are a record's fault, reported against it rather than stopping the import.
RECORD_ERRORS = (XrmError, ma.ValidationError, IntegrityError, StaleDataError)
#: The undo log's rows, written once per chunk (values in the table's column order).
UNDO_LOG = BulkInsert(ImportRecord.__table__, ("batch_id", "record_id", "action", "previous", "applied", "tenant_id"))


class MappingError(XrmError):
    """The mapping names a field the target does not have, or the match key is not a key."""


@dataclass
class ImportOptions:
    """How to read and apply a file; stored with a batch so that resuming applies the same."""

    #: ``{column: field}``; ``None`` maps every column named like a field (or a preset's columns).
    mapping: dict[str, str] | None = None
    preset: str | None = None
    match_on: str | None = None
    on_match: str = "update"
    skip_errors: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE
    locale: str = "en"
    region: str | None = None

    def __post_init__(self) -> None:
        if self.on_match not in ("update", "skip"):
            raise MappingError(f"on_match must be 'update' or 'skip', not {self.on_match!r}")
        if not 1 <= self.batch_size <= 100_000:
            raise MappingError("batch_size must be between 1 and 100,000")


@dataclass
class Report:
    """What a run did (or, for a dry run, would do)."""

    target: str
    dry_run: bool
    batch_id: int | None = None
    status: str = "completed"
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: Every record's outcome: ``{"row", "outcome", "record_id"?, "reason"?}``; dry runs only (a real
    #: run of a million rows would hold a million of them to report nothing its counts do not).
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def available_targets(platform: Any, session: Session | None = None) -> dict[str, ImportTarget]:
    """The core's targets and those of the plugins (enabled in the session's tenant, when given)."""
    found: dict[str, ImportTarget] = {PartyTarget.name: PartyTarget()}
    enabled = None
    if session is not None and session.info.get("tenant_id") is not None:
        enabled = set(session.scalars(select(TenantPlugin.plugin).where(TenantPlugin.enabled.is_(True))))
    if platform is not None:
        for plugin, target in platform.contributed("xrm_import_targets", ImportTarget):
            if enabled is None or plugin in enabled:
                found.setdefault(target.name, target)
    return found


def get_target(platform: Any, session: Session, name: str) -> ImportTarget:
    targets = available_targets(platform, session)
    if name not in targets:
        raise NotFound(f"no import target {name!r} (known: {', '.join(sorted(targets))})")
    return targets[name]


def require_rights(session: Session, target: ImportTarget, *actions: str) -> None:
    """Refuse at once (403) a user who lacks a right the whole run needs."""
    principal = principal_of(session)
    if principal is None:
        return
    for action in actions:
        if principal.scope_for(f"{target.permission}.{action}") is None:
            raise PermissionDenied(f"{principal.name} may not {action} {target.permission} records")


def file_digest(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


@dataclass(slots=True)
class _Op:
    """One write: a record to create or update, from one or more rows of the file.

    ``rows`` is a tuple: a tuple of numbers is left alone by the garbage collector, where a list per
    row held for a whole chunk made it sweep the heap again every few thousand rows.
    """

    rows: tuple[int, ...]
    action: ImportAction
    data: dict[str, Any]
    record_id: int | None = None
    key: Any = None


class Importer:
    """One import of one file into one target, in the importing user's session."""

    def __init__(self, session: Session, target: ImportTarget, options: ImportOptions,
                 progress: Callable[[int], None] | None = None):
        self.session = session
        self.target = target
        self.options = options
        self.progress = progress or (lambda _rows: None)
        self.transforms = mapping.Transforms(options.locale, options.region)
        self.schema = target.schema()  # one instance: building a schema costs more than loading a row
        self.custom = ({d.code: d for d in definitions(session, target.custom_fields_entity) if d.active}
                       if target.custom_fields_entity else {})
        self._fields: dict[str, ImportField] = {}
        self.mapping: dict[str, str] = {}
        self.columns: dict[str, list[str]] = {}
        self.mapper = mapping.Mapper({}, self.field_of, self.transforms)  # made for the file by resolve_mapping
        self.custom_checked = True
        #: Key value -> the record id it was created as or matched, or ``-row`` while pending.
        self.seen: dict[Any, int] = {}
        if options.match_on is not None and not target.is_key(options.match_on):
            raise MappingError(f"{options.match_on!r} is not a key of {target.name} (keys: {', '.join(target.keys)})")
        updates = options.match_on is not None and options.on_match == "update"
        require_rights(session, target, "create", *(("update",) if updates else ()))

    # -- mapping ------------------------------------------------------------------------------

    def field_of(self, name: str) -> ImportField:
        """The field ``name`` stands for (declared, of a family, or a custom field), looked up once."""
        found = self._fields.get(name)
        if found is None:
            found = self._fields[name] = self._lookup(name)
        return found

    def _lookup(self, name: str) -> ImportField:
        if name.startswith(CUSTOM) and name[len(CUSTOM):] in self.custom:
            definition = self.custom[name[len(CUSTOM):]]
            return ImportField(name, definition.label, CUSTOM_FIELD_TYPES.get(definition.type, "json"))
        found = self.target.field(name)
        if found is None:
            raise MappingError(f"{self.target.name} has no field {name!r}")
        return found

    def resolve_mapping(self, columns: list[str] | None) -> list[str]:
        """Settle the mapping for a file with ``columns``; return the columns left unmapped.

        ``columns`` is ``None`` when no record of the file could be read: every record is then an
        error, and the mapping is taken as given (or field names as columns) to report them.
        """
        if columns is None:
            columns = list(self.options.mapping or {}) or [f.name for f in self.target.fields]
        chosen = self.options.mapping
        if chosen is None and self.options.preset:
            chosen = self.target.presets.get(self.options.preset)
            if chosen is None:
                raise MappingError(f"{self.target.name} has no preset {self.options.preset!r}"
                                   f" (presets: {', '.join(sorted(self.target.presets)) or 'none'})")
        if chosen is None:
            chosen = {c: c for c in columns if self._is_field(c)}
        for column, name in chosen.items():
            names = name[len(mapping.SPLIT):].split(",") if name.startswith(mapping.SPLIT) else [name]
            for one in names:
                self.field_of((column[1:] if column.startswith(mapping.CONSTANT) else one).strip())
        self.mapping = {c: f for c, f in chosen.items() if c.startswith(mapping.CONSTANT) or c in columns}
        if not any(not c.startswith(mapping.CONSTANT) for c in self.mapping):
            raise MappingError(f"no column of the file maps to a field of {self.target.name}"
                               f" (columns: {', '.join(columns[:10])})")
        self.columns = mapping.columns_of_fields(self.mapping)
        self.mapper = mapping.Mapper(self.mapping, self.field_of, self.transforms)
        #: Whether rows have custom fields to clean or to require (most files have none).
        self.custom_checked = any(name.startswith(CUSTOM) for name in self.columns) or any(
            d.required for d in self.custom.values())
        return [c for c in columns if c not in self.mapping]

    def _is_field(self, name: str) -> bool:
        try:
            self.field_of(name)
        except MappingError:
            return False
        return True

    # -- one chunk ----------------------------------------------------------------------------

    def prepare(self, first_row: int, records: list[Any], report: Report) -> list[_Op]:
        """Map, match and validate a chunk of ``records`` from row ``first_row`` on; errors go to ``report``."""
        # rows and their mapped values side by side, not as a pair per row (see _Op on the collector)
        rows: list[int] = []
        mapped: list[dict[str, Any]] = []
        for row, record in enumerate(records, first_row):
            if isinstance(record, formats.RowProblem):
                self._error(report, row, record.column, record.reason)
                continue
            values, problems = self.mapper(record)
            if problems:
                for column, reason in problems:
                    self._error(report, row, column, reason)
                continue
            rows.append(row)
            mapped.append(values)
        key = self.options.match_on
        existing: dict[Any, int] = {}
        if key:
            wanted = list({v[key] for v in mapped if v.get(key) is not None and v[key] not in self.seen})
            existing = self.target.find(self.session, key, wanted) if wanted else {}
        ops: list[_Op] = []
        pending: dict[Any, _Op] = {}
        updating: dict[int, _Op] = {}
        for row, values in zip(rows, mapped, strict=True):
            value = values.get(key) if key else None
            match = pending.get(value) if value is not None else None
            record_id = None
            if value is not None and match is None:
                record_id = self.seen.get(value, existing.get(value))
                if record_id == HIDDEN_MATCH:  # neither update it nor make a duplicate of it
                    self._error(report, row, ", ".join(self.columns.get(key, [])) or key,
                                f"this {key} belongs to a record you may not see")
                    continue
                if record_id is not None and record_id < 0:  # an earlier chunk's row, in a dry run
                    match = _Op((-record_id,), ImportAction.CREATED, {}, key=value)
            if (match is not None or record_id is not None) and self.options.on_match == "skip":
                report.skipped += 1
                reason = (f"same {key} as row {match.rows[0]}" if match is not None
                          else f"matches {self.target.name} #{record_id}")
                _outcome(report, row, "skipped", reason=reason)
                continue
            data = self._validated(report, row, values, partial=match is not None or record_id is not None)
            if data is None:
                continue
            if match is not None:
                match.data.update(data)
                match.rows += (row,)
                _outcome(report, row, "merged", reason=f"same {key} as row {match.rows[0]}")
            elif record_id is not None:
                op = updating.get(record_id)
                if op is None:
                    op = updating[record_id] = _Op((row,), ImportAction.UPDATED, data, record_id, value)
                    ops.append(op)
                else:
                    op.data.update(data)
                    op.rows += (row,)
                _outcome(report, row, "updated", record_id=record_id)
            else:
                op = _Op((row,), ImportAction.CREATED, data, key=value)
                ops.append(op)
                if value is not None:
                    pending[value] = op
                _outcome(report, row, "created")
        return ops

    def _validated(self, report: Report, row: int, values: dict[str, Any], *, partial: bool) -> dict[str, Any] | None:
        errors: list[tuple[str, str]] = []
        cleaned = {}
        if self.custom_checked:
            custom_values = {name[len(CUSTOM):]: values.pop(name) for name in list(values) if name.startswith(CUSTOM)}
            for code, value in custom_values.items():
                definition = self.custom[code]
                try:
                    cleaned[code] = custom_types.clean_value(definition.type, value, definition.choices,
                                                             definition.validation)
                except custom_types.InvalidValue as exc:
                    errors.append((CUSTOM + code, str(exc)))
            if not partial:
                errors.extend((CUSTOM + code, "Missing data for required field.") for code, d in self.custom.items()
                              if d.required and code not in cleaned)
        try:
            data = self.schema.load(values, partial=partial)
        except ma.ValidationError as exc:
            errors.extend(_flatten(exc.messages))
            data = None
        for name, reason in errors:
            self._error(report, row, ", ".join(self.columns.get(name, [])) or name, reason)
        if errors:
            return None
        if cleaned:
            data["custom"] = cleaned
        return data

    def _error(self, report: Report, row: int, column: str | None, reason: str) -> None:
        report.failed += 1 if not report.errors or report.errors[-1]["row"] != row else 0
        report.errors.append({"row": row, "column": column, "reason": reason})
        _outcome(report, row, "failed", reason=reason)

    def write(self, ops: list[_Op], batch: ImportBatch) -> None:
        """Create and update ``ops``, and log them for undo, in the session's transaction."""
        if not ops:
            return
        creates = [op for op in ops if op.action is ImportAction.CREATED]
        updates = {op.record_id: op.data for op in ops if op.action is ImportAction.UPDATED}
        previous = as_stored(self.target.snapshot(self.session, list(updates))) if updates else {}
        if missing := [i for i in updates if i not in previous]:
            raise NotFound(f"{self.target.name} #{missing[0]} is not visible to you")
        rows = [op.data for op in creates]
        ids = self.target.create(self.session, rows) if creates else []
        for op, record_id in zip(creates, ids, strict=True):
            op.record_id = record_id
        # Created records are not read back when the target can tell what it wrote (see
        # ImportTarget.created_snapshot): reading them back cost a fifth of an import. Their
        # snapshots are told and encoded a slice at a time: a whole chunk's snapshots held at once
        # outlived the garbage collector's young generations (see _Op).
        encode = _json_text
        applied: dict[int, str | None] = {}
        for start in range(0, len(creates), SNAPSHOT_SLICE):
            told = self.target.created_snapshot(self.session, ids[start:start + SNAPSHOT_SLICE],
                                                rows[start:start + SNAPSHOT_SLICE])
            applied.update((record_id, encode(snapshot)) for record_id, snapshot in told.items())
        if updates:
            self.target.update(self.session, updates)
            applied.update((record_id, encode(snapshot)) for record_id, snapshot
                           in as_stored(self.target.snapshot(self.session, list(updates))).items())
        # Created records have no previous state (NULL); a record the user cannot read back has no
        # applied state either (NULL: undo then skips its "changed since" check).
        tenant_id, batch_id = batch.tenant_id, batch.id
        UNDO_LOG.run(self.session, [
            (batch_id, op.record_id, op.action.value, encode(previous.get(op.record_id)),
             applied.get(op.record_id), tenant_id) for op in ops])

    def write_each(self, ops: list[_Op], batch: ImportBatch, report: Report) -> list[_Op]:
        """Write ``ops`` one by one (each in a savepoint); report the failing ones, return the others."""
        written = []
        for op in ops:
            try:
                with self.session.begin_nested():
                    self.write([op], batch)
            except RECORD_ERRORS as exc:
                reason = _reason(exc)
                for row in op.rows:
                    self._error(report, row, None, reason)
                if op.action is ImportAction.CREATED:
                    report.created -= 1
                else:
                    report.updated -= 1
            else:
                written.append(op)
        return written

    # -- runs ---------------------------------------------------------------------------------

    def dry_run(self, records: Iterable[Any], columns: list[str] | None) -> Report:
        report = Report(self.target.name, dry_run=True)
        report.ignored_columns = self.resolve_mapping(columns)
        chunks = _chunks(records, self.options.batch_size, 0)
        try:
            while True:
                try:
                    chunk = next(chunks, None)
                except formats.FileRejected as exc:
                    self._error(report, report.rows + 1, None, str(exc))
                    break
                if chunk is None:
                    break
                first_row, chunk_records = chunk
                ops = self.prepare(first_row, chunk_records, report)
                self._count(report, ops)
                for op in ops:
                    if op.key is not None:
                        self.seen.setdefault(op.key, op.record_id if op.record_id is not None else -op.rows[0])
                report.rows = first_row + len(chunk_records) - 1
                self.progress(report.rows)
        finally:
            self.session.rollback()
        report.status = "failed" if report.errors else "valid"
        return report

    def run(self, records: Iterable[Any], columns: list[str] | None, batch: ImportBatch, skip_rows: int = 0) -> Report:
        """Import ``records`` into ``batch`` (already committed as running), from row ``skip_rows + 1``."""
        report = Report(self.target.name, dry_run=False, batch_id=batch.id,
                        created=batch.created, updated=batch.updated, skipped=batch.skipped, failed=batch.failed)
        report.ignored_columns = self.resolve_mapping(columns)
        batch_id, tenant_id = batch.id, batch.tenant_id  # read now: after a rollback they would reopen a transaction
        chunks = _chunks(records, self.options.batch_size, skip_rows)
        with fewer_collections():
            return self._run_chunks(chunks, report, batch, batch_id, tenant_id)

    def _run_chunks(self, chunks: Iterator[tuple[int, list[Any]]], report: Report, batch: ImportBatch,
                    batch_id: int, tenant_id: int) -> Report:
        while True:
            try:
                chunk = next(chunks, None)
            except formats.FileRejected as exc:  # found past the part read up front: nothing is kept
                self.session.rollback()
                self._error(report, report.rows + 1, None, str(exc))
                return self._fail(batch_id, tenant_id, report)
            if chunk is None:
                break
            errors_before = len(report.errors)
            first_row, chunk_records = chunk
            ops = self.prepare(first_row, chunk_records, report)
            self._count(report, ops)
            try:
                with self.session.begin_nested():
                    self.write(ops, batch)
            except RECORD_ERRORS:
                ops = self.write_each(ops, batch, report)
            if len(report.errors) > errors_before and not self.options.skip_errors:
                self.session.rollback()
                return self._fail(batch_id, tenant_id, report)
            for op in ops:
                if op.key is not None:
                    self.seen[op.key] = op.record_id
            report.rows = first_row + len(chunk_records) - 1
            self._save(batch, report, BatchStatus.RUNNING)
            self.session.commit()
            self.progress(report.rows)
        self._save(batch, report, BatchStatus.COMPLETED)
        batch.finished_at = utcnow()
        _audit(self.session, "core.import.completed", batch)
        self.session.commit()
        report.status = BatchStatus.COMPLETED.value
        return report

    def _count(self, report: Report, ops: list[_Op]) -> None:
        report.created += sum(op.action is ImportAction.CREATED for op in ops)
        report.updated += sum(op.action is ImportAction.UPDATED for op in ops)

    def _save(self, batch: ImportBatch, report: Report, status: BatchStatus) -> None:
        batch.rows_done = max(batch.rows_done, report.rows)
        batch.created, batch.updated, batch.skipped, batch.failed = (
            report.created, report.updated, report.skipped, report.failed)
        batch.errors = report.errors[:MAX_STORED_ERRORS]
        batch.status = status

    def _fail(self, batch_id: int, tenant_id: int, report: Report) -> Report:
        """Stop at the first error: undo the chunks already committed, keep the batch as failed.

        The undo acts as the recorded principal ``import:<batch>``, holding only what taking back the
        run's own rows needs (read, update and delete of the target, tenant-wide): "all or nothing"
        must hold for a user who may create records but not delete them.
        """
        platform = self.session.info["platform"]
        resource = self.target.permission
        rollback = service_principal(tenant_id, f"import:{batch_id}", {
            f"{resource}.{action}": Scope.TENANT for action in ("read", "update", "delete")})
        with platform.db.session(tenant_id) as system:
            act_as(system, rollback)
            failed = system.get(ImportBatch, batch_id)
            if failed.rows_done:
                undo(system, self.target, failed, check_rights=False)
            failed.status = BatchStatus.FAILED
            failed.errors = report.errors[:MAX_STORED_ERRORS]
            failed.failed = report.failed
            failed.finished_at = utcnow()
            _audit(system, "core.import.failed", failed, actor=self.session)
            system.commit()
        self.session.expire_all()
        return Report(self.target.name, dry_run=False, batch_id=batch_id, status=BatchStatus.FAILED.value,
                      rows=report.rows, failed=report.failed, errors=report.errors,
                      ignored_columns=report.ignored_columns)


def _outcome(report: Report, row: int, outcome: str, **details: Any) -> None:
    if report.dry_run:
        report.outcomes.append({"row": row, "outcome": outcome, **details})


def _chunks(records: Iterable[Any], size: int, skip_rows: int) -> Iterator[tuple[int, list[Any]]]:
    """The records past row ``skip_rows``, ``size`` at a time, each chunk as (its first row's number, its records)."""
    first_row = skip_rows + 1
    chunk: list[Any] = []
    for row, record in enumerate(records, 1):
        if row <= skip_rows:
            continue
        chunk.append(record)
        if len(chunk) == size:
            yield first_row, chunk
            first_row += size
            chunk = []
    if chunk:
        yield first_row, chunk


#: One encoder for every undo log row (``json.dumps`` with ``default`` builds one per call); compact,
#: since a big import's undo log is most of what it writes.
_JSON_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"))


def _json_text(value: Any) -> str | None:
    """``value`` encoded for a JSON column (``None``: SQL NULL), as the column type would encode it."""
    return None if value is None else _JSON_ENCODER.encode(value)


def _flatten(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    """marshmallow's nested messages as ``(field path, message)`` pairs."""
    if isinstance(messages, dict):
        return [pair for name, inner in messages.items()
                for pair in _flatten(inner, f"{prefix}.{name}" if prefix else str(name))]
    if isinstance(messages, list):
        return [pair for inner in messages for pair in _flatten(inner, prefix)]
    return [(prefix, str(messages))]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ma.ValidationError):
        return "; ".join(f"{name}: {reason}" for name, reason in _flatten(exc.messages))
    if isinstance(exc, IntegrityError):
        return "the record clashes with an existing one (duplicate or invalid reference)"
    if isinstance(exc, StaleDataError):
        return "the record was changed by someone else meanwhile"
    return str(exc)


# -- whole runs, as the CLI, the API and the page call them -----------------------------------------


def start(session: Session, platform: Any, target_name: str, stream: IO[bytes], file_name: str,
          options: ImportOptions, *, format_name: str | None = None, dry_run: bool = False,
          limits: formats.Limits = formats.DEFAULT_LIMITS, progress: Callable[[int], None] | None = None) -> Report:
    """Dry-run or import ``stream`` into target ``target_name`` in the user's ``session``."""
    target = get_target(platform, session, target_name)
    fmt = formats.find(platform, format_name, file_name)
    importer = Importer(session, target, options, progress)
    if dry_run:
        return importer.dry_run(*_records(fmt, stream, limits))
    digest = file_digest(stream)
    records, columns = _records(fmt, stream, limits)
    importer.resolve_mapping(columns)  # a bad mapping or unreadable file records no batch
    principal = principal_of(session)
    batch = ImportBatch(target=target.name, file_name=file_name[:255], file_sha256=digest,
                        format=fmt.name, options=asdict(options), status=BatchStatus.RUNNING,
                        rows_done=0, created=0, updated=0, skipped=0, failed=0, errors=[],
                        created_by_user_id=principal.user_id if principal else None)
    session.add(batch)
    session.commit()
    return importer.run(records, columns, batch)


def resume(session: Session, platform: Any, batch_id: int, stream: IO[bytes], *,
           limits: formats.Limits = formats.DEFAULT_LIMITS, progress: Callable[[int], None] | None = None) -> Report:
    """Go on with an interrupted batch from its last committed chunk; the file must be the same."""
    batch = get_batch(session, batch_id)
    if batch.status is not BatchStatus.RUNNING:
        raise Conflict(f"import batch {batch.id} is {batch.status.value}: only an interrupted batch can be resumed")
    if file_digest(stream) != batch.file_sha256:
        raise Conflict(f"this is not the file import batch {batch.id} was started with")
    target = get_target(platform, session, batch.target)
    importer = Importer(session, target, ImportOptions(**batch.options), progress)
    records, columns = _records(formats.find(platform, batch.format), stream, limits)
    return importer.run(records, columns, batch, skip_rows=batch.rows_done)


def _records(fmt: Any, stream: IO[bytes], limits: formats.Limits) -> tuple[Iterator[Any], list[str] | None]:
    """The format's records and the file's columns (read from the first records)."""
    stream.seek(0)
    fixed = fmt.options.get("columns")
    iterator = iter(fmt.read(stream, limits))
    if fixed:
        return iterator, list(fixed)
    first = next(iterator, None)
    if first is None:
        raise formats.FileRejected("the file holds no records")
    columns = list(first) if isinstance(first, dict) else []
    if not columns:  # the first record could not be read: its columns come from the next readable one
        rest = list(iterator)
        columns = next((list(r) for r in rest if isinstance(r, dict)), None)
        return iter([first, *rest]), columns
    return _prepend(first, iterator), columns


def _prepend(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def get_batch(session: Session, batch_id: int) -> ImportBatch:
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound(f"no import batch {batch_id}")
    return batch


def undo(session: Session, target: ImportTarget, batch: ImportBatch, *, check_rights: bool = True) -> None:
    """Delete what ``batch`` created and restore what it updated, in the caller's transaction.

    :raises Conflict: the batch was undone already, or a record changed since (naming it).
    :raises PermissionDenied: the user may not delete or update the target's records.
    """
    if batch.status is BatchStatus.UNDONE:
        raise Conflict(f"import batch {batch.id} is already undone")
    if check_rights:
        require_rights(session, target, "delete", "update")
    first: dict[int, ImportRecord] = {}
    last: dict[int, ImportRecord] = {}
    for record in session.scalars(select(ImportRecord).where(ImportRecord.batch_id == batch.id).order_by(ImportRecord.id)):
        first.setdefault(record.record_id, record)
        last[record.record_id] = record
    current = as_stored(target.snapshot(session, list(first)))
    for record_id, record in last.items():
        if record_id not in current:
            raise Conflict(f"{target.name} #{record_id} no longer exists or is hidden from you: undo refused")
        # ``applied`` is None when the importer could create the record but not read it back
        if record.applied is not None and current[record_id] != record.applied:
            raise Conflict(f"{target.name} #{record_id} changed since import batch {batch.id}: undo refused")
    created = [i for i, r in first.items() if r.action is ImportAction.CREATED]
    restored = {i: _restoring(r.previous, last[i].applied) for i, r in first.items() if r.action is ImportAction.UPDATED}
    if restored:
        target.update(session, restored)
    if created:
        target.delete(session, created)
    batch.status = BatchStatus.UNDONE
    batch.finished_at = utcnow()
    _audit(session, "core.import.undone", batch)


def _audit(session: Session, action: str, batch: ImportBatch, *, actor: Session | None = None) -> None:
    """One audit entry per import run (its rows are recorded one by one in the batch's records)."""
    principal = principal_of(actor or session)
    audit.record(session, principal.name if principal else "cli", action, f"import:{batch.id}",
                 target_resource=batch.target, file=batch.file_name, created=batch.created,
                 updated=batch.updated, skipped=batch.skipped, failed=batch.failed)


def _restoring(previous: dict[str, Any], applied: dict[str, Any]) -> dict[str, Any]:
    """The change turning ``applied`` back into ``previous``: dict members the import added are removed."""
    change = dict(previous)
    for name, value in applied.items():
        if isinstance(value, dict) and isinstance(previous.get(name), dict):
            change[name] = {**{k: None for k in value if k not in previous[name]}, **previous[name]}
    return change


def undo_batch(session: Session, platform: Any, batch_id: int) -> None:
    """Undo batch ``batch_id`` and commit."""
    batch = get_batch(session, batch_id)
    undo(session, get_target(platform, session, batch.target), batch)
    session.commit()


# -- export -------------------------------------------------------------------------------------------


def export(session: Session, platform: Any, target_name: str, format_name: str, stream: IO[bytes],
           ids: list[int] | None = None) -> int:
    """Write the target's records the user may read and export (or those of ``ids``) to ``stream``;
    return how many.

    The export right applies per record (:mod:`.export_scope`): reading a record is not enough.
    Fields the user may not read (field security) are left out of the columns and the rows.
    """
    target = get_target(platform, session, target_name)
    require_rights(session, target, "read", "export")  # as the list pages' exports: reading is not enough
    fmt = formats.find(platform, format_name)
    custom_codes = [d.code for d in definitions(session, target.custom_fields_entity)] if target.custom_fields_entity else []
    hidden = _unreadable(session, target)
    columns = [c for c in target.export_columns(session) + [CUSTOM + code for code in custom_codes] if c not in hidden]
    count = 0

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal count
        for row in target.export_rows(session, ids):
            count += 1
            for name in hidden.intersection(row):
                del row[name]
            for code, value in (row.pop("custom", None) or {}).items():
                row[CUSTOM + code] = value
            yield row

    fixed = fmt.options.get("columns")
    with exporting(session, target.permission):
        if fixed:
            fmt.write(stream, (_to_layout(target, row, fixed) for row in rows()), list(fixed))
        else:
            fmt.write(stream, rows(), columns)
    return count


def _unreadable(session: Session, target: ImportTarget) -> frozenset[str]:
    """The protected fields of the target's records that the session's user may not read (none without a user)."""
    principal = principal_of(session)
    if principal is None:
        return frozenset()
    return frozenset().union(*(unreadable_fields(principal, model) for model in models_of_resource(target.permission)))


def _to_layout(target: ImportTarget, row: dict[str, Any], layout: Iterable[str]) -> dict[str, Any]:
    """A target's row in a fixed layout (vCard), through the target's preset of that layout, reversed."""
    preset = target.presets.get("vcard", {})
    out: dict[str, Any] = {column: [] if column in ("emails", "phones", "urls", "addresses") else "" for column in layout}
    for column, name in preset.items():
        if column.startswith(mapping.CONSTANT) or column not in out:
            continue
        value = row.get(name)
        if isinstance(out[column], list):
            out[column] = value if isinstance(value, list) else ([value] if value else [])
        else:
            out[column] = value or ""
    return out
