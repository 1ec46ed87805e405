"""The plugin's one table, ``bookmarks_bookmarks`` (named ``<plugin>_…``), created by ``migrations/``."""

from datetime import datetime
from typing import Any, ClassVar

import xrm_sdk as xrm
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column


class Bookmark(xrm.Owned, xrm.TenantScoped, xrm.Model):
    """A link worth keeping, maybe to a party's page.

    ``TenantScoped`` adds ``tenant_id`` and confines every query to the session's tenant;
    ``Owned`` adds owner, team and department, so that reads and writes follow the
    ``bookmarks.bookmark.*`` permissions at the scope each role grants, with no check written here.
    """

    __tablename__ = "bookmarks_bookmarks"
    __permission_resource__ = "bookmarks.bookmark"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500))
    # Bookmarks of a party go when the party goes.
    party_id: Mapped[int | None] = mapped_column(ForeignKey("core_parties.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)
    #: Bumped on every UPDATE; the record's ETag derives from it (optimistic concurrency).
    version: Mapped[int] = mapped_column()

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}
