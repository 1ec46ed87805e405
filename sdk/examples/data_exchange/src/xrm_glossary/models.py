"""``glossary_terms``: one definition per term."""

import xrm_sdk as xrm
from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column


class Term(xrm.Owned, xrm.TenantScoped, xrm.Model):
    __tablename__ = "glossary_terms"
    __table_args__ = (UniqueConstraint("tenant_id", "term"),)
    __permission_resource__ = "glossary.term"

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(100))
    definition: Mapped[str] = mapped_column(Text, default="")
