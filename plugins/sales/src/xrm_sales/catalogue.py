"""The catalogue: products and services, their categories and tax categories, price lists with
their items (quantity breaks, discounts) and the exchange rates prices are converted with.

Amounts are ``Numeric`` columns read as :class:`~decimal.Decimal`: never floats. The catalogue is
reference data of the whole tenant (not owned by a department); the API and pages check the
``sales.product.*`` and ``sales.price_list.*`` permissions, and a product's cost price is a
protected field (``sales.product_cost.read``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

import xrm_sdk as xrm
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

#: Money: 4 decimals so unit prices of cheap items and converted prices keep their precision.
MONEY = Numeric(14, 4)
#: A percentage such as 12.50.
PERCENT = Numeric(5, 2)
#: Quantities can be fractional (hours, kilograms).
QUANTITY = Numeric(14, 4)
#: Exchange rates: 1 unit of the base currency is worth ``rate`` units of the quote currency.
RATE = Numeric(18, 8)


class TaxCategory(xrm.TenantScoped, xrm.Model):
    """A tax treatment (standard VAT, reduced, exempt) with its rate as a fraction (0.2 for 20 %)."""

    __tablename__ = "sales_tax_categories"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    rate: Mapped[Decimal] = mapped_column(Numeric(7, 4))


class ProductCategory(xrm.TenantScoped, xrm.Model):
    """A group of products, for browsing and reports."""

    __tablename__ = "sales_product_categories"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Product(xrm.TenantScoped, xrm.Model):
    """Something the tenant sells: a ``product`` (goods) or a ``service``, with a code unique per tenant."""

    __tablename__ = "sales_products"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)
    #: Cost price (and so the margin) only for those holding ``sales.product_cost.read``.
    __protected_fields__: ClassVar[dict[str, str]] = {"cost_price": "sales.product_cost.read"}

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20), default="product")
    unit: Mapped[str] = mapped_column(String(20), default="unit")
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey(ProductCategory.id, ondelete="SET NULL"), index=True
    )
    tax_category_id: Mapped[int | None] = mapped_column(
        ForeignKey(TaxCategory.id, ondelete="RESTRICT"), index=True
    )
    cost_price: Mapped[Decimal | None] = mapped_column(MONEY)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)
    version: Mapped[int] = mapped_column()

    category: Mapped[ProductCategory | None] = relationship()
    tax_category: Mapped[TaxCategory | None] = relationship()

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Product {self.code} {self.name!r}>"


class PriceList(xrm.TenantScoped, xrm.Model):
    """Prices in one currency, for every customer or only those tagged ``party_tag``, over a period.

    ``party_tag`` names a party tag standing for a customer segment or a partner tier (``gold``,
    ``reseller``). Among the lists that apply, the most specific wins, then the higher
    ``priority``, then the latest ``valid_from`` (see :mod:`xrm_sales.pricing`).
    """

    __tablename__ = "sales_price_lists"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_from <= valid_to", name="valid_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    party_tag: Mapped[str | None] = mapped_column(String(63))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column()

    items: Mapped[list[PriceListItem]] = relationship(
        back_populates="price_list", cascade="all, delete-orphan", passive_deletes=True
    )

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


class PriceListItem(xrm.TenantScoped, xrm.Model):
    """A product's unit price in a list from ``min_quantity`` on (several rows make quantity breaks)."""

    __tablename__ = "sales_price_list_items"
    __table_args__ = (
        UniqueConstraint("price_list_id", "product_id", "min_quantity"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint("discount_percent >= 0 AND discount_percent <= 100", name="discount_percent_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    price_list_id: Mapped[int] = mapped_column(ForeignKey(PriceList.id, ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey(Product.id, ondelete="CASCADE"), index=True)
    min_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(1))
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    discount_percent: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal(0))

    price_list: Mapped[PriceList] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()


class ExchangeRate(xrm.TenantScoped, xrm.Model):
    """1 ``base_currency`` = ``rate`` ``quote_currency``, from ``valid_on`` until the next rate of the pair."""

    __tablename__ = "sales_exchange_rates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "base_currency", "quote_currency", "valid_on"),
        CheckConstraint("rate > 0", name="rate_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    base_currency: Mapped[str] = mapped_column(String(3))
    quote_currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(RATE)
    valid_on: Mapped[date] = mapped_column(Date)


MODELS = [TaxCategory, ProductCategory, Product, PriceList, PriceListItem, ExchangeRate]
