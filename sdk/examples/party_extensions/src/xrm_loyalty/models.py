"""``loyalty_cards``: at most one card per party."""

import xrm_sdk as xrm
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column


class LoyaltyCard(xrm.Owned, xrm.TenantScoped, xrm.Model):
    """A party's card: its number, points and whether the member wants the newsletter (e-mail).

    ``Owned``: who may read or change cards follows the ``loyalty.card.*`` permissions, so panels,
    widgets, search and exports built on the caller's session only ever show what they may see.
    """

    __tablename__ = "loyalty_cards"
    __table_args__ = (UniqueConstraint("tenant_id", "party_id"), UniqueConstraint("tenant_id", "number"))
    __permission_resource__ = "loyalty.card"

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("core_parties.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(20))
    points: Mapped[int] = mapped_column(default=0)
    newsletter: Mapped[bool] = mapped_column(default=False)
