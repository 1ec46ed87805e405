"""The ``Owned`` mixin: records whose visibility follows owner, team, department and shares."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column


class Owned:
    """Mix into a tenant-scoped model to put it under record-level permissions.

    ``__permission_resource__`` names it in permissions (``core.party`` → ``core.party.read``,
    ``core.party.update``, …). Reads through a session that carries a principal only return the
    rows that principal may read; flushes check create, update and delete rights.
    """

    #: Empty on the mixin itself (SQLAlchemy evaluates the read criteria once against it).
    __permission_resource__: ClassVar[str] = ""
    #: The attribute holding the party a record is about (``"id"`` on parties themselves, a
    #: ``customer_id`` on a deal): ``related`` grants reach the records whose party is related to
    #: the party the user stands for. ``None``: such grants add nothing beyond ``own`` here.
    __party_key__: ClassVar[str | None] = None

    #: Shares point at records by this integer key.
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_users.id", ondelete="SET NULL"), index=True
    )
    owner_team_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_teams.id", ondelete="SET NULL"), index=True
    )
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("core_departments.id", ondelete="SET NULL"), index=True
    )
