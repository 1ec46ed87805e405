"""``HasCustomFields``: the mixin that lets a model carry custom field values."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import JSON, text
from sqlalchemy.orm import Mapped, mapped_column


class HasCustomFields:
    """Mix into a tenant-scoped model whose records take custom field values.

    The values live in one JSON object column, ``custom`` (``{code: value}``), validated against
    the tenant's definitions for ``__custom_fields_entity__`` (``core.party``,
    ``<plugin>.<entity>``) by :func:`xrm_core.customfields.service.clean_values`. A plugin's
    migration adds the column as
    ``sa.Column("custom", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))``.
    """

    #: The name definitions are attached to; a plugin's entities start with the plugin's name.
    __custom_fields_entity__: ClassVar[str] = ""

    custom: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
