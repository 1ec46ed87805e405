"""``followups_followups``: what to do about a party, and when."""

from datetime import datetime

import xrm_sdk as xrm
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column


class FollowUp(xrm.Owned, xrm.TenantScoped, xrm.Model):
    __tablename__ = "followups_followups"
    __permission_resource__ = "followups.followup"

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("core_parties.id", ondelete="CASCADE"), index=True)
    note: Mapped[str] = mapped_column(String(500))
    due_at: Mapped[datetime] = mapped_column()
    #: Set once the periodic job has announced that it fell due (so it is announced once).
    announced: Mapped[bool] = mapped_column(default=False)
