"""The plugin's tables: each is named ``activities_…`` and has a migration in ``migrations/``."""

from datetime import datetime
from typing import Any, ClassVar

import xrm_sdk as xrm
from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column


class Item(xrm.Owned, xrm.TenantScoped, xrm.Model):
    """A record of the plugin; rename it and add fields (then a migration) to make it yours.

    ``TenantScoped``: every query only sees the current tenant's rows. ``Owned``: rows have an
    owner, team and department, and reads and writes follow the ``activities.item.*`` permissions.
    """

    __tablename__ = "activities_items"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    __permission_resource__ = "activities.item"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)
    #: Bumped by SQLAlchemy on every UPDATE; the record's ETag derives from it.
    version: Mapped[int] = mapped_column()

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}
