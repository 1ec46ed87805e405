"""What an import writes into and an export reads from: the import-target contract.

A target is one kind of record (``core.party``, ``contacts.person``…). The core declares its own
targets; plugins contribute theirs through the ``xrm_import_targets`` hook by subclassing
:class:`ImportTarget` (re-exported as ``xrm_sdk.ImportTarget``). The import engine
(:mod:`xrm_core.dataio.engine`) does everything that is the same for every target: reading the
file, mapping columns to fields, value transforms, custom fields, matching on natural keys,
batches, dry runs, the undo log and permission checks. The target only knows its records.

Contract of the methods, all called with the importing user's tenant- and permission-scoped
session (nothing is committed by the target; the engine commits per batch):

* field names are the target's own (``display_name``, ``emails``…); a name ending in ``.*``
  (``identifier.*``) stands for a family of fields (``identifier.crm``, ``identifier.vat``);
* custom fields are handled by the engine: they reach :meth:`ImportTarget.create` and
  :meth:`ImportTarget.update` as one ``custom`` dict of cleaned values (``{code: value}``), for
  targets whose model has custom fields (``custom_fields_entity``);
* a row given to ``create`` is what :attr:`ImportTarget.schema` loaded from one mapped row; a
  change given to ``update`` is what it loaded with ``partial=True`` (only the mapped fields);
* :meth:`ImportTarget.snapshot` returns JSON-able values in the shape ``update`` accepts, so the
  engine restores a record on undo with ``update(session, {id: snapshot})``;
* :meth:`ImportTarget.created_snapshot` gives the snapshots of records just created, which the
  engine keeps so that undo refuses to delete a record changed since; by default it reads them back,
  a target that knows what it wrote may build them instead (an import writes millions of them).
"""

from __future__ import annotations

import abc
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import marshmallow as ma
from sqlalchemy.orm import Session

#: The field types an import field may declare; the engine picks value transforms from them.
FIELD_TYPES = ("string", "text", "integer", "decimal", "boolean", "date", "email", "phone", "url", "list", "json")


@dataclass(frozen=True)
class ImportField:
    """One field of a target that a column can be mapped to.

    ``type`` is one of :data:`FIELD_TYPES`: ``date`` values are parsed in the user's locale,
    ``phone`` values normalised to E.164, ``list`` values split on ``;`` or ``,`` when they come
    from a single cell. ``name`` ending in ``.*`` declares a family of fields (``identifier.*``).
    """

    name: str
    label: str = ""
    type: str = "string"
    required: bool = False

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"import field {self.name!r}: unknown type {self.type!r} (known: {', '.join(FIELD_TYPES)})")

    def matches(self, name: str) -> bool:
        """Whether the field name ``name`` is this field, or one of its family."""
        if self.name.endswith(".*"):
            prefix = self.name[:-1]
            return name.startswith(prefix) and len(name) > len(prefix)
        return name == self.name


class ImportTarget(abc.ABC):
    """A kind of record imports create or update and exports read; subclass it per entity.

    Class attributes describe the target; the abstract methods do the work on the caller's
    session (see the module docstring for the contract).
    """

    #: ``"<plugin>.<entity>"``, e.g. ``"core.party"``, ``"contacts.person"``.
    name: ClassVar[str]
    label: ClassVar[str] = ""
    #: The permission resource: importing needs ``<permission>.create`` (and ``.update`` to update
    #: matches); undoing needs ``.delete`` too; exporting needs ``.read`` and ``.export``, and gives
    #: only the records the user may export (the engine's session sees no others of this resource).
    permission: ClassVar[str]
    fields: ClassVar[tuple[ImportField, ...]] = ()
    #: Field names usable as natural keys for matching (``email``, ``external_id``, ``identifier.*``).
    keys: ClassVar[tuple[str, ...]] = ()
    #: Validates and converts ONE mapped row (a dict by field name, custom fields left out).
    schema: ClassVar[type[ma.Schema]]
    #: The custom field entity whose fields the engine offers as ``custom.<code>``; ``None``: none.
    custom_fields_entity: ClassVar[str | None] = None
    #: Ready mappings by name (``"google"``, ``"outlook"``…): ``{column: field}`` as in
    #: :mod:`xrm_core.dataio.mapping`.
    presets: ClassVar[dict[str, dict[str, str]]] = {}

    def check(self, plugin: str) -> str | None:
        """Why this target is invalid for ``plugin`` (as for contributions), or ``None``."""
        if not getattr(self, "name", "").startswith(plugin + "."):
            return f"import target {getattr(self, 'name', None)!r} must be named '{plugin}.<entity>'"
        if not getattr(self, "permission", None) or not isinstance(getattr(self, "schema", None), type):
            return f"import target {self.name!r} needs a permission resource and a marshmallow schema class"
        if unknown := [key for key in self.keys if self.field(key) is None]:
            return f"import target {self.name!r}: key(s) {', '.join(unknown)} are not among its fields"
        return None

    def field(self, name: str) -> ImportField | None:
        """The declared field ``name`` is, or belongs to (family fields); ``None`` if unknown."""
        return next((f for f in self.fields if f.matches(name)), None)

    def is_key(self, name: str) -> bool:
        """Whether field ``name`` may be used as a natural key."""
        return any(ImportField(key).matches(name) for key in self.keys)

    def export_columns(self, session: Session) -> list[str]:
        """The columns of an export, in order (custom fields are added by the engine).

        Defaults to the declared fields that are not families; override to list a family's members.
        """
        return [f.name for f in self.fields if not f.name.endswith(".*")]

    @abc.abstractmethod
    def find(self, session: Session, key: str, values: list[Any]) -> dict[Any, int]:
        """The ids of the existing records whose key field ``key`` has one of ``values``.

        :returns: ``{value: record id}`` for the values that match (values as given);
            :data:`HIDDEN_MATCH` instead of the id when the matching record is one the session's
            user may not see (the row then fails without revealing which record it is).
        """

    @abc.abstractmethod
    def snapshot(self, session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
        """The current, JSON-able values of records ``ids``, in the shape :meth:`update` accepts.

        Records the session cannot see are absent from the result.
        """

    def created_snapshot(self, session: Session, ids: list[int], rows: list[dict[str, Any]]
                         ) -> dict[int, dict[str, Any]]:
        """The snapshots of records ``ids`` that :meth:`create` just made from ``rows``, as stored.

        Equal to :meth:`snapshot` of those records after a JSON round trip (:func:`as_stored`); records
        the session cannot read may be left out. This default reads the records back; override it
        when the target can tell the result from ``rows`` alone.
        """
        return as_stored(self.snapshot(session, ids))

    @abc.abstractmethod
    def create(self, session: Session, rows: list[dict[str, Any]]) -> list[int]:
        """Create one record per loaded row; return their ids in the order of ``rows``."""

    @abc.abstractmethod
    def update(self, session: Session, changes: dict[int, dict[str, Any]]) -> None:
        """Apply ``{id: {field: value}}`` (partial rows, or snapshots being restored on undo)."""

    @abc.abstractmethod
    def delete(self, session: Session, ids: list[int]) -> None:
        """Delete records ``ids`` (undo of their creation)."""

    @abc.abstractmethod
    def export_rows(self, session: Session, ids: list[int] | None = None) -> Iterator[dict[str, Any]]:
        """Yield one row per visible record (all of them when ``ids`` is ``None``), keyed by field name.

        The session given keeps only the records of :attr:`permission` the user may export, so
        reading them through it as usual is all a target does for the export right.

        Rows use the same field names and value shapes an import accepts, so exporting then
        importing gives the same data; custom field values come as one ``custom`` dict, which the
        engine writes as ``custom.<code>`` columns.
        """


#: What :meth:`ImportTarget.find` gives for a match the user may not see (never a record id).
HIDDEN_MATCH = 0


def as_stored(snapshots: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """``snapshots`` as they read back from a JSON column, so that they compare equal after a round trip."""
    return {int(record_id): value for record_id, value in json.loads(json.dumps(snapshots, default=str)).items()}
