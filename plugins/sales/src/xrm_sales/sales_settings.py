"""The tenant's sales settings: today the reporting currency the revenue and forecast reports can
convert every amount into (with the exchange rates stored in the catalogue).

One row per tenant, created on first use; its ``version`` is bumped on every change, so the
settings page and ``PUT /api/v1/sales/settings`` refuse a change made on an older version.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import xrm_sdk as xrm
from sqlalchemy import String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .permissions import require
from .tenant_rows import tenant_row

#: Changing the sales settings (the pipelines have their own permission).
CONFIGURE = "sales.settings.update"
_CURRENCY = re.compile(r"[A-Z]{3}")


class SalesSettings(xrm.TenantScoped, xrm.Model):
    """The tenant's sales settings (one row per tenant)."""

    __tablename__ = "sales_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ISO 4217 code the reports convert to on request; ``None``: reports stay per currency.
    reporting_currency: Mapped[str | None] = mapped_column(String(3))
    version: Mapped[int] = mapped_column()

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


def sales_settings(session: Session) -> SalesSettings:
    """The tenant's sales settings, created with defaults on first use."""
    return tenant_row(session, SalesSettings)


def reporting_currency(session: Session) -> str | None:
    """The tenant's reporting currency, if one is set (read without creating the settings)."""
    return session.scalar(select(SalesSettings.reporting_currency))


def set_reporting_currency(session: Session, settings: SalesSettings, currency: str | None) -> SalesSettings:
    """Set (or clear, with ``None`` or ``""``) the reporting currency (needs ``sales.settings.update``).

    :raises xrm.ValidationError: on ``reporting_currency``: not a three-letter ISO 4217 code.
    """
    require(session, CONFIGURE)
    code = (currency or "").strip().upper() or None
    if code is not None and not _CURRENCY.fullmatch(code):
        raise xrm.ValidationError({"reporting_currency": ["A three-letter currency code such as EUR, or nothing."]})
    settings.reporting_currency = code
    session.flush()
    return settings
