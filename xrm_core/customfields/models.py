"""The definitions of custom fields, per tenant and entity."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Model, utcnow
from ..tenancy import TenantScoped


class CustomFieldDefinition(TenantScoped, Model):
    """One custom field of an entity (``core.party``, ``workshop.widget``) in one tenant.

    ``validation`` holds the type's optional rules: ``min``/``max`` (numbers as decimal strings,
    dates as ISO dates), ``max_length`` and ``regex`` (text). An inactive field keeps its stored
    values but takes no new ones and cannot be filtered on.
    """

    __tablename__ = "core_custom_fields"
    __table_args__ = (UniqueConstraint("tenant_id", "entity", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(63))
    label: Mapped[str] = mapped_column(String(200))
    #: One of :data:`xrm_core.customfields.types.FIELD_TYPES`.
    type: Mapped[str] = mapped_column(String(20))
    required: Mapped[bool] = mapped_column(default=False)
    #: The allowed values of ``choice`` and ``multi_choice`` fields, in display order.
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    validation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Display order among the entity's fields.
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column()

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<CustomFieldDefinition {self.entity}.{self.code} ({self.type})>"
