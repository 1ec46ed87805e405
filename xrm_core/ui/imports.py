"""Data import in the browser: upload a file, map its columns, preview, dry run, import, undo.

The pages are a front to the same services as ``xrm import`` and ``/api/v1/imports``: the import
engine (:mod:`xrm_core.dataio.engine`) runs in the signed-in user's tenant- and permission-scoped
session, so the page needs the same rights (``<target>.create``, ``.update`` to update matches,
``.delete`` and ``.update`` to undo) and the rows land where the user may put them. A real run is
all or nothing: a single bad row and nothing is kept, and the run page lists every row's reason.

The uploaded file is kept in the instance folder, under the tenant and the user, between the
steps (mapping, preview, dry run, import) and deleted once imported; uploads left behind are
removed after :data:`UPLOAD_TTL`.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from .. import web
from ..dataio import access, engine, formats, mapping
from ..dataio.engine import CUSTOM, ImportOptions, MappingError, Report
from ..dataio.models import BatchStatus, ImportRecord, MappingPreset
from ..dataio.targets import ImportTarget
from ..errors import Conflict, NotFound
from ..identity.authentication import current_principal
from ..identity.models import Scope
from .i18n import select_locale
from .session import read_session

log = logging.getLogger("xrm.ui")
blueprint = Blueprint("data_import", __name__, url_prefix="/data/import")

#: Largest file the page accepts (the whole file is checked within the request); bigger files go
#: through ``xrm import``.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Rows of the file shown, mapped, before any check.
PREVIEW_ROWS = 10
#: Runs listed on the import page, newest first.
RECENT_RUNS = 20
#: Row errors and imported records a page lists (the counts always cover them all).
LISTED_ROWS = 200
#: Seconds an upload is kept when its import is never run.
UPLOAD_TTL = 24 * 3600
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
#: Saved presets are offered as ``saved:<id>`` next to the target's own presets.
SAVED = "saved:"
PRESET_NAME_MAX = 100


# -- who may import what -----------------------------------------------------------------------------


def importable_targets(session) -> dict[str, ImportTarget]:
    """The import targets of the tenant's enabled plugins that the signed-in user may create records of."""
    principal = current_principal()
    if principal is None or web.current_tenant() is None:
        return {}
    return {name: target for name, target in engine.available_targets(web.platform(), session).items()
            if principal.scope_for(f"{target.permission}.create") is not None}


@blueprint.app_template_global()
def may_import_data() -> bool:
    """Whether the navigation offers the import page: the user may import into some target.

    Never fails: the page may be the report of a broken database, whose shell must still render.
    """
    if "xrm_may_import" not in g:  # asked by every page's navigation: once per request
        try:
            g.xrm_may_import = bool(importable_targets(read_session()))
        except Exception:
            log.exception("could not tell whether the user may import")
            g.xrm_may_import = False
    return g.xrm_may_import


def _target(name: str) -> ImportTarget:
    """Target ``name``, if the user may import into it: unknown is 404, not allowed is 403."""
    session = web.db_session()
    target = engine.get_target(web.platform(), session, name)
    if name not in importable_targets(session):
        abort(403, description=_("You may not import %(target)s records.", target=target.label or name))
    return target


# -- uploads kept between the steps ----------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A file uploaded for import, kept for the signed-in user until it is imported."""

    token: str
    file_name: str
    format_name: str
    target: str
    directory: Path

    @property
    def path(self) -> Path:
        return self.directory / "file"


def _uploads() -> Path:
    """The signed-in user's upload folder: another user's or tenant's upload is simply not there."""
    principal = current_principal()
    return (web.platform().settings.instance_path / "import-uploads" / str(web.require_tenant().id)
            / str(principal.user_id))


def _keep(data: bytes, file_name: str, format_name: str, target: str) -> Upload:
    folder = _uploads()
    if folder.exists():  # forget abandoned uploads
        for old in folder.iterdir():
            if old.stat().st_mtime < time.time() - UPLOAD_TTL:
                shutil.rmtree(old, ignore_errors=True)
    upload = Upload(secrets.token_hex(16), file_name, format_name, target, folder)
    directory = folder / upload.token
    directory.mkdir(parents=True)
    (directory / "file").write_bytes(data)
    (directory / "meta.json").write_text(json.dumps(
        {"file_name": file_name, "format": format_name, "target": target}), encoding="utf-8")
    return Upload(upload.token, file_name, format_name, target, directory)


def _upload(token: str) -> Upload:
    directory = _uploads() / token
    if not _TOKEN.match(token) or not (directory / "meta.json").exists():
        raise NotFound(_("This upload is no longer kept: upload the file again."))
    meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    return Upload(token, meta["file_name"], meta["format"], meta["target"], directory)


def _forget(upload: Upload) -> None:
    shutil.rmtree(upload.directory, ignore_errors=True)


# -- reading the file ----------------------------------------------------------------------------------


def _sample(upload: Upload) -> tuple[list[str], list[tuple[int, Any]]]:
    """The file's columns and its first :data:`PREVIEW_ROWS` records as ``(row, record)``.

    :raises formats.FileRejected: the file cannot be read (encoding, empty, not this format).
    """
    fmt = formats.find(web.platform(), upload.format_name)
    with upload.path.open("rb") as stream:
        sample = list(islice(enumerate(fmt.read(stream, formats.DEFAULT_LIMITS), 1), PREVIEW_ROWS))
    if not sample:
        raise formats.FileRejected(_("the file holds no records"))
    fixed = fmt.options.get("columns")
    columns = list(fixed) if fixed else list(dict.fromkeys(
        column for _row, record in sample if isinstance(record, dict) for column in record))
    return columns, sample


# -- the mapping form ----------------------------------------------------------------------------------


@dataclass
class MappingForm:
    """What the mapping page submits: a field per column, constants, the match key, and options."""

    columns: list[str]
    #: column -> field name (absent: the column is ignored)
    fields: dict[str, str] = field(default_factory=dict)
    #: field -> constant value (from a preset, e.g. ``kind = person``)
    constants: dict[str, str] = field(default_factory=dict)
    preset: str = ""
    match_on: str = ""
    on_match: str = "update"
    region: str = ""
    errors: list[str] = field(default_factory=list)

    def mapping(self) -> dict[str, str]:
        return {**self.fields, **{mapping.CONSTANT + name: value for name, value in self.constants.items()}}

    def options(self, locale: str) -> ImportOptions:
        """The engine's options (all or nothing: row errors are never skipped from this page)."""
        return ImportOptions(mapping=self.mapping(), match_on=self.match_on or None, on_match=self.on_match,
                             locale=locale, region=self.region.upper() or None)

    @classmethod
    def posted(cls, columns: list[str], form) -> MappingForm:
        fields = {column: form.get(f"field-{index}", "") for index, column in enumerate(columns)}
        constants = {key[len("const-"):]: value for key, value in form.items() if key.startswith("const-")}
        on_match = form.get("on_match", "update")
        result = cls(columns, {c: f for c, f in fields.items() if f}, constants, form.get("preset", ""),
                     form.get("match_on", ""), on_match if on_match in ("update", "skip") else "update",
                     form.get("region", "").strip()[:2])
        if result.region and not result.region.isalpha():
            result.errors.append(_("A region is a two-letter country code, such as GB or FR."))
            result.region = ""
        return result

    def apply_preset(self, preset: dict[str, str]) -> None:
        """Take the preset's columns (those the file has) and constants instead of the current choices."""
        self.fields = {column: name for column, name in preset.items()
                       if not column.startswith(mapping.CONSTANT) and column in self.columns}
        self.constants = {column[1:]: value for column, value in preset.items() if column.startswith(mapping.CONSTANT)}


def _presets(target: ImportTarget) -> dict[str, tuple[str, dict[str, str]]]:
    """The target's own presets and the tenant's saved ones: ``{value: (label, mapping)}``."""
    found = {name: (name.capitalize(), dict(preset)) for name, preset in sorted(target.presets.items())}
    saved = web.db_session().scalars(select(MappingPreset).where(MappingPreset.target == target.name)
                                     .order_by(MappingPreset.name))
    found.update({f"{SAVED}{p.id}": (_("%(name)s (saved)", name=p.name), dict(p.mapping)) for p in saved})
    return found


def _field_choices(importer: engine.Importer, form: MappingForm) -> list[tuple[str, str]]:
    """What a column can be mapped to: the target's fields, its custom fields, and values already chosen."""
    target = importer.target
    choices = [(f.name, f.label or f.name) for f in target.fields if not f.name.endswith(".*")]
    choices += [(CUSTOM + code, _("%(label)s (custom field)", label=d.label)) for code, d in importer.custom.items()]
    known = {name for name, _label in choices}
    for chosen in dict.fromkeys(form.fields.values()):
        if chosen not in known:
            label = (_("First words / last word: %(fields)s", fields=chosen[len(mapping.SPLIT):])
                     if chosen.startswith(mapping.SPLIT) else chosen)
            choices.append((chosen, label))
    return choices


def _key_choices(target: ImportTarget, form: MappingForm) -> list[str]:
    """Fields to match existing records on: declared keys and the key fields the mapping uses."""
    declared = [f.name for f in target.fields if not f.name.endswith(".*") and target.is_key(f.name)]
    return list(dict.fromkeys(declared + [name for name in form.fields.values() if target.is_key(name)]))


@dataclass
class PreviewRow:
    row: int
    values: dict[str, Any]
    problems: list[tuple[str | None, str]]


def _preview(importer: engine.Importer, columns: list[str], sample: list[tuple[int, Any]]
             ) -> tuple[list[str], list[PreviewRow], list[str]]:
    """The mapped fields, the first rows as they will be imported, and the columns left out.

    :raises MappingError: the mapping names an unknown field or maps no column.
    """
    ignored = importer.resolve_mapping(columns)
    names = list(dict.fromkeys([*importer.columns, *(c[1:] for c in importer.mapping if c.startswith(mapping.CONSTANT))]))
    rows = []
    for row, record in sample:
        if isinstance(record, formats.RowProblem):
            rows.append(PreviewRow(row, {}, [(record.column, record.reason)]))
            continue
        values, problems = mapping.apply(importer.mapping, record, importer.field_of, importer.transforms)
        rows.append(PreviewRow(row, {name: _shown(values.get(name)) for name in names}, problems))
    return names, rows, ignored


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return str(value)


# -- pages ---------------------------------------------------------------------------------------------


@blueprint.get("")
@login_required
def index(errors: dict[str, str] | None = None, status: int = 200):
    """The upload form and the recent runs the user may see."""
    session = web.db_session()
    targets = importable_targets(session)
    if not targets:
        abort(403, description=_("You may not import records."))
    runs = access.visible_batches(session, web.platform(), current_principal(), RECENT_RUNS)
    return render_template("imports/index.html", targets=targets, formats=formats.available(web.platform()),
                           runs=runs, errors=errors or {}, form=request.form, max_mb=MAX_UPLOAD_BYTES // (1024 * 1024),
                           presets={name: _presets(target) for name, target in targets.items()}), status


@blueprint.post("")
@login_required
def upload():
    """Keep the uploaded file, check it can be read, and go on to its mapping."""
    if not importable_targets(web.db_session()):
        abort(403, description=_("You may not import records."))
    if request.content_length and request.content_length > MAX_UPLOAD_BYTES:
        return _too_large()
    target_name = request.form.get("target", "")
    if target_name not in importable_targets(web.db_session()):
        return index({"target": _("Choose what the rows of the file are.")}, 422)
    file = request.files.get("file")
    if file is None or not file.filename:
        return index({"file": _("Choose a file to import.")}, 422)
    data = file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:  # a client that sent no length
        return _too_large()
    try:
        fmt = formats.find(web.platform(), request.form.get("format") or None, file.filename)
    except formats.FileRejected as exc:
        return index({"format": _("Cannot read this file: %(reason)s.", reason=exc)}, 422)
    kept = _keep(data, file.filename, fmt.name, target_name)
    try:
        _sample(kept)
    except formats.FileRejected as exc:
        _forget(kept)
        return index({"file": _("Cannot read this file: %(reason)s.", reason=exc)}, 422)
    preset = request.form.get("preset", "")
    return redirect(url_for(".mapping_page", token=kept.token, **({"preset": preset} if preset else {})))


def _too_large():
    return index({"file": _("The file is larger than %(max)s MB: split it, or import it with “xrm import”.",
                            max=MAX_UPLOAD_BYTES // (1024 * 1024))}, 413)


@blueprint.get("/<token>")
@login_required
def mapping_page(token: str):
    """Map the file's columns to fields (a preset, or by name), with a preview of the first rows."""
    kept = _upload(token)
    target = _target(kept.target)
    columns, sample = _read_or_404(kept)
    form = MappingForm(columns, preset=request.args.get("preset", ""))
    presets = _presets(target)
    if form.preset and form.preset not in presets:
        form.errors.append(_("There is no mapping preset “%(name)s” for %(target)s; known: %(known)s.",
                             name=form.preset, target=target.label or target.name,
                             known=", ".join(label for label, _m in presets.values()) or _("none")))
        form.preset = ""
    if form.preset:
        form.apply_preset(presets[form.preset][1])
    else:  # columns named like a field are mapped to it
        importer = _importer(target, form)
        form.fields = {column: column for column in columns if _is_field(importer, column)}
    return _render_mapping(kept, target, form, columns, sample, None, 200 if not form.errors else 422)


@blueprint.post("/<token>")
@login_required
def mapping_submit(token: str):
    """The mapping form's buttons: apply a preset, refresh the preview, save the mapping, dry run, import."""
    kept = _upload(token)
    target = _target(kept.target)
    columns, sample = _read_or_404(kept)
    form = MappingForm.posted(columns, request.form)
    action = request.form.get("action", "preview")
    presets = _presets(target)
    if action == "apply_preset":
        if form.preset and form.preset not in presets:
            form.errors.append(_("There is no mapping preset “%(name)s” for %(target)s.", name=form.preset,
                                 target=target.label or target.name))
        elif form.preset:
            form.apply_preset(presets[form.preset][1])
    if action == "save_preset" and not form.errors:
        _save_preset(target, form, request.form.get("preset_name", "").strip())
    report = None
    if action in ("dry_run", "commit") and not form.errors:
        report = _run(kept, target, form, dry_run=action == "dry_run")
        if report is not None and not report.dry_run:
            if report.status == BatchStatus.COMPLETED.value:
                _forget(kept)
                flash(_("Imported: %(created)d created, %(updated)d updated, %(skipped)d skipped.",
                        created=report.created, updated=report.updated, skipped=report.skipped), "success")
            else:
                flash(_("Nothing was imported: %(failed)d row(s) have errors, listed below.",
                        failed=report.failed), "error")
            return redirect(url_for(".run", batch_id=report.batch_id))
    status = 422 if form.errors or (report is not None and report.errors) else 200
    return _render_mapping(kept, target, form, columns, sample, report, status)


def _read_or_404(kept: Upload) -> tuple[list[str], list[tuple[int, Any]]]:
    try:
        return _sample(kept)
    except formats.FileRejected as exc:  # checked on upload: only a file changed since gets here
        raise NotFound(str(exc)) from None


def _importer(target: ImportTarget, form: MappingForm) -> engine.Importer:
    """The engine's importer for this user (403 without the rights the options need)."""
    try:
        return engine.Importer(web.db_session(), target, form.options(select_locale()))
    except MappingError as exc:  # a match key that is not a key of the target
        if str(exc) not in form.errors:  # a run may have said so already
            form.errors.append(str(exc))
        form.match_on = ""
        return engine.Importer(web.db_session(), target, form.options(select_locale()))


def _is_field(importer: engine.Importer, name: str) -> bool:
    try:
        importer.field_of(name)
    except MappingError:
        return False
    return True


def _save_preset(target: ImportTarget, form: MappingForm, name: str) -> None:
    """Save the form's mapping as a preset of the tenant (a preset of that name is replaced, by who
    may import for the whole tenant)."""
    if not name or len(name) > PRESET_NAME_MAX:
        form.errors.append(_("Name the preset (at most %(max)d characters).", max=PRESET_NAME_MAX))
        return
    if not form.fields:
        form.errors.append(_("Map at least one column before saving the mapping."))
        return
    session = web.db_session()
    preset = session.scalar(select(MappingPreset).where(MappingPreset.target == target.name, MappingPreset.name == name))
    if preset is None:
        preset = MappingPreset(target=target.name, name=name)
        session.add(preset)
    elif current_principal().scope_for(f"{target.permission}.create") is not Scope.TENANT:
        # Presets serve the whole tenant: only who imports for the whole tenant may change one.
        form.errors.append(_("A preset named “%(name)s” exists; choose another name.", name=name))
        return
    preset.mapping = form.mapping()
    session.commit()
    form.preset = f"{SAVED}{preset.id}"
    flash(_("Mapping saved as “%(name)s”.", name=name), "success")


def _run(kept: Upload, target: ImportTarget, form: MappingForm, *, dry_run: bool) -> Report | None:
    """Dry-run or import the kept file with the engine; ``None`` (and a form error) if it cannot start."""
    if not form.fields:
        form.errors.append(_("Map at least one column of the file to a field."))
        return None
    with kept.path.open("rb") as stream:
        try:
            return engine.start(web.db_session(), web.platform(), target.name, stream, kept.file_name,
                                form.options(select_locale()), format_name=kept.format_name, dry_run=dry_run)
        except (formats.FileRejected, MappingError) as exc:
            web.db_session().rollback()
            form.errors.append(str(exc))
            return None


def _render_mapping(kept: Upload, target: ImportTarget, form: MappingForm, columns: list[str],
                    sample: list[tuple[int, Any]], report: Report | None, status: int):
    importer = _importer(target, form)
    names: list[str] = []
    rows: list[PreviewRow] = []
    ignored: list[str] = []
    if form.fields:
        try:
            names, rows, ignored = _preview(importer, columns, sample)
        except MappingError as exc:
            form.errors.append(str(exc))
            status = 422
    choices = _field_choices(importer, form)
    labels = dict(choices)
    first = next((record for _row, record in sample if isinstance(record, dict)), {})
    return render_template(
        "imports/mapping.html", upload=kept, target=target, form=form, columns=columns,
        first_values={column: _shown(value) for column, value in first.items()},
        choices=choices, keys=_key_choices(target, form), presets=_presets(target),
        preview_fields=[(name, labels.get(name, name)) for name in names], preview=rows, ignored=ignored,
        report=report, listed=LISTED_ROWS), status


# -- runs ----------------------------------------------------------------------------------------------


@blueprint.get("/runs/<int:batch_id>")
@login_required
def run(batch_id: int):
    """One run: its counts, its row report, what it created or updated, and undo."""
    session = web.db_session()
    principal = current_principal()
    batch = access.visible_batch(session, web.platform(), principal, batch_id)
    target = engine.available_targets(web.platform(), session).get(batch.target)
    records = list(session.scalars(select(ImportRecord).where(ImportRecord.batch_id == batch.id)
                                   .order_by(ImportRecord.id).limit(LISTED_ROWS)))
    may_undo = (target is not None and batch.status is BatchStatus.COMPLETED
                and all(principal.scope_for(f"{target.permission}.{action}") is not None for action in ("update", "delete")))
    return render_template("imports/run.html", batch=batch, target=target, records=records, may_undo=may_undo,
                           listed=LISTED_ROWS)


@blueprint.post("/runs/<int:batch_id>/undo")
@login_required
def undo(batch_id: int):
    """Undo a run with the engine's undo: created records deleted, updated ones restored (or a reason)."""
    session = web.db_session()
    batch = access.visible_batch(session, web.platform(), current_principal(), batch_id)
    try:
        engine.undo_batch(session, web.platform(), batch.id)
    except (Conflict, NotFound) as exc:
        session.rollback()
        flash(_("Nothing was undone: %(reason)s.", reason=exc), "error")
    else:
        flash(_("The import was undone: what it created is deleted, what it updated is restored."), "success")
    return redirect(url_for(".run", batch_id=batch_id))
