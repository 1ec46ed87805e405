"""Quotes, orders, invoices and credit notes: the sales documents and their lines.

A quote has versions: every revision adds a :class:`QuoteVersion` with its own lines, and the
older versions stay as they were. Orders come from accepted quotes, invoices from orders, and a
credit note is an invoice of kind ``credit_note`` that cancels (part of) another one.

Documents are immutable once issued: orders and invoices are issued when created, and a quote
version is fixed when created (a change is a new version). The amounts, lines, customer, currency
and number of an issued document can never be updated; trying raises :class:`DocumentImmutable`
(a 409). Only the lifecycle fields move: a quote's status, an invoice's payments and status.
Amounts are exact decimals: 4 places for unit prices and quantities, 2 for line and document totals.
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
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    update,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

AMOUNT = Numeric(14, 2)
UNIT_PRICE = Numeric(14, 4)
QUANTITY = Numeric(14, 4)
PERCENT = Numeric(5, 2)
TAX_RATE = Numeric(7, 4)

QUOTE_STATUSES = ("draft", "sent", "accepted", "refused", "expired")
INVOICE_STATUSES = ("issued", "partially_paid", "paid", "credited")
LANGUAGES = ("en", "fr", "es")


class DocumentImmutable(xrm.Conflict):
    """An issued document's amounts or lines were to be changed: corrections are new documents."""


class LineAmounts:
    """The columns every document line has: what is sold, at which price, discount and tax."""

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_price: Mapped[Decimal] = mapped_column(UNIT_PRICE)
    discount_percent: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal(0))
    #: The tax rate as a fraction (0.2 for 20 %), copied from the product's tax category.
    tax_rate: Mapped[Decimal] = mapped_column(TAX_RATE, default=Decimal(0))
    net_amount: Mapped[Decimal] = mapped_column(AMOUNT)
    tax_amount: Mapped[Decimal] = mapped_column(AMOUNT)
    #: Which price rule gave ``unit_price`` (see :func:`xrm_sales.pricing.resolve_price`).
    price_rule: Mapped[str] = mapped_column(Text, default="")

    @declared_attr
    def product_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("sales_products.id", ondelete="SET NULL"), index=True)

    @property
    def gross_amount(self) -> Decimal:
        return self.net_amount + self.tax_amount


class DocumentTotals:
    """The totals of a document: sum of its lines' net amounts, taxes, and both."""

    subtotal: Mapped[Decimal] = mapped_column(AMOUNT)
    tax_total: Mapped[Decimal] = mapped_column(AMOUNT)
    total: Mapped[Decimal] = mapped_column(AMOUNT)


class Quote(xrm.Owned, xrm.TenantScoped, xrm.Model):
    """A priced offer to a customer; its content is in its versions, the newest being current."""

    __tablename__ = "sales_quotes"
    __permission_resource__ = "sales.quote"
    __party_key__ = "customer_id"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)
    __frozen__ = ("number", "customer_id", "currency")

    number: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[int] = mapped_column(ForeignKey(xrm.Party.id, ondelete="RESTRICT"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("sales_opportunities.id", ondelete="SET NULL"), index=True
    )
    currency: Mapped[str] = mapped_column(String(3))
    language: Mapped[str] = mapped_column(String(2), default="en")
    status: Mapped[str] = mapped_column(String(10), default="draft")
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    valid_until: Mapped[date] = mapped_column(Date)
    public_link: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)
    version: Mapped[int] = mapped_column()

    customer: Mapped[xrm.Party] = relationship()
    versions: Mapped[list[QuoteVersion]] = relationship(
        back_populates="quote", order_by="QuoteVersion.number", cascade="all, delete-orphan", passive_deletes=True
    )

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    @property
    def current(self) -> QuoteVersion:
        """The newest version: the one sent, accepted or refused."""
        return next(v for v in self.versions if v.number == self.current_version)


class QuoteVersion(DocumentTotals, xrm.TenantScoped, xrm.Model):
    """One version of a quote, fixed once written: a revision adds the next version."""

    __tablename__ = "sales_quote_versions"
    __table_args__ = (UniqueConstraint("quote_id", "number"),)
    __frozen__ = ("quote_id", "number", "subtotal", "tax_total", "total", "valid_until", "note")

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey(Quote.id, ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    valid_until: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)

    quote: Mapped[Quote] = relationship(back_populates="versions")
    lines: Mapped[list[QuoteLine]] = relationship(
        order_by="QuoteLine.position", cascade="all, delete-orphan", passive_deletes=True
    )


class QuoteLine(LineAmounts, xrm.TenantScoped, xrm.Model):
    __tablename__ = "sales_quote_lines"

    quote_version_id: Mapped[int] = mapped_column(ForeignKey(QuoteVersion.id, ondelete="CASCADE"), index=True)


class Order(DocumentTotals, xrm.Owned, xrm.TenantScoped, xrm.Model):
    """A confirmed sale, from an accepted quote; issued (and so immutable) when created."""

    __tablename__ = "sales_orders"
    __permission_resource__ = "sales.order"
    __party_key__ = "customer_id"
    #: The revenue-per-customer report reads this index alone, already in group order: it holds the
    #: columns the readers' scope tests too (SQLite cannot drop a tenant-wide reader's test on them).
    __table_args__ = (UniqueConstraint("tenant_id", "number"),
                      Index("ix_sales_orders_revenue", "tenant_id", "customer_id", "currency", "subtotal",
                            "department_id", "owner_user_id", "owner_team_id"))
    __frozen__ = ("number", "customer_id", "currency", "order_date", "subtotal", "tax_total", "total", "quote_id")

    number: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[int] = mapped_column(ForeignKey(xrm.Party.id, ondelete="RESTRICT"), index=True)
    quote_id: Mapped[int | None] = mapped_column(ForeignKey(Quote.id, ondelete="RESTRICT"), index=True)
    quote_version: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    language: Mapped[str] = mapped_column(String(2), default="en")
    order_date: Mapped[date] = mapped_column(Date, index=True)
    #: ``open`` until invoiced (``invoiced``) or handed to an external invoicing system (``external``).
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)
    version: Mapped[int] = mapped_column()

    customer: Mapped[xrm.Party] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(
        order_by="OrderLine.position", cascade="all, delete-orphan", passive_deletes=True
    )

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


class OrderLine(LineAmounts, xrm.TenantScoped, xrm.Model):
    __tablename__ = "sales_order_lines"
    #: Covers the revenue reports' first step (the net of every order of the tenant, by order).
    __table_args__ = (Index("ix_sales_order_lines_revenue", "tenant_id", "order_id", "net_amount"),)

    order_id: Mapped[int] = mapped_column(ForeignKey(Order.id, ondelete="CASCADE"), index=True)


class Invoice(DocumentTotals, xrm.Owned, xrm.TenantScoped, xrm.Model):
    """An invoice (``kind="invoice"``) or a credit note (``"credit_note"``, negative amounts)."""

    __tablename__ = "sales_invoices"
    __permission_resource__ = "sales.invoice"
    __party_key__ = "customer_id"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        CheckConstraint("kind IN ('invoice', 'credit_note')", name="kind_known"),
    )
    __frozen__ = ("number", "kind", "customer_id", "currency", "issue_date", "due_date", "subtotal", "tax_total",
                  "total", "order_id", "credited_invoice_id")

    number: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12), default="invoice")
    customer_id: Mapped[int] = mapped_column(ForeignKey(xrm.Party.id, ondelete="RESTRICT"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey(Order.id, ondelete="RESTRICT"), index=True)
    credited_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("sales_invoices.id", ondelete="RESTRICT"))
    currency: Mapped[str] = mapped_column(String(3))
    language: Mapped[str] = mapped_column(String(2), default="en")
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(15), default="issued")
    paid_amount: Mapped[Decimal] = mapped_column(AMOUNT, default=Decimal(0))
    created_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)
    version: Mapped[int] = mapped_column()

    customer: Mapped[xrm.Party] = relationship()
    lines: Mapped[list[InvoiceLine]] = relationship(
        order_by="InvoiceLine.position", cascade="all, delete-orphan", passive_deletes=True
    )
    payments: Mapped[list[Payment]] = relationship(
        order_by="Payment.id", cascade="all, delete-orphan", passive_deletes=True
    )

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    @property
    def balance(self) -> Decimal:
        """What is still owed (negative on a credit note: owed to the customer)."""
        return self.total - self.paid_amount


class InvoiceLine(LineAmounts, xrm.TenantScoped, xrm.Model):
    __tablename__ = "sales_invoice_lines"

    invoice_id: Mapped[int] = mapped_column(ForeignKey(Invoice.id, ondelete="CASCADE"), index=True)


class Payment(xrm.TenantScoped, xrm.Model):
    """Money received against an invoice (or paid back against a credit note)."""

    __tablename__ = "sales_payments"
    __frozen__ = ("invoice_id", "amount", "paid_on")

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey(Invoice.id, ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    paid_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(40), default="")
    reference: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)


class DocumentProfile(xrm.TenantScoped, xrm.Model):
    """The tenant's letterhead and document rules: one row per tenant, created on first use.

    ``external_invoicing``: an ERP (through the ``sales.order.created`` event or the API) does the
    invoicing; the platform then refuses to issue its own invoices, so nothing is invoiced twice.
    """

    __tablename__ = "sales_document_profiles"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_name: Mapped[str] = mapped_column(String(200), default="")
    company_address: Mapped[str] = mapped_column(Text, default="")
    legal_mentions: Mapped[str] = mapped_column(Text, default="")
    #: A PNG or JPEG printed at the top of every document, if any.
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    quote_validity_days: Mapped[int] = mapped_column(Integer, default=30)
    external_invoicing: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Bumped on every change: a settings form or API client working on an older version is refused.
    version: Mapped[int] = mapped_column()

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


LINE_MODELS = (QuoteLine, OrderLine, InvoiceLine)
MODELS = [Quote, QuoteVersion, QuoteLine, Order, OrderLine, Invoice, InvoiceLine, Payment, DocumentProfile]


def merge_parties(session, survivor_id: int, loser_id: int) -> None:
    """Repoint the documents of a party merged away (``xrm_merge_parties``).

    A bulk UPDATE, not the ORM: the customer of an issued document is frozen against edits, but
    a merge says the two parties were one and the same all along.
    """
    for model in (Quote, Order, Invoice):
        session.execute(update(model).where(model.customer_id == loser_id).values(customer_id=survivor_id)
                        .execution_options(synchronize_session=False))


def _refuse_line_change(_mapper, _connection, line) -> None:
    raise DocumentImmutable(
        f"Line {line.position} of an issued document cannot be changed or removed: issue a new document "
        "(a new quote version, or a credit note) instead."
    )


def _refuse_frozen_change(_mapper, _connection, record) -> None:
    state = inspect(record)
    changed = [name for name in record.__frozen__ if state.attrs[name].history.has_changes()]
    if changed:
        raise DocumentImmutable(
            f"{type(record).__name__} {getattr(record, 'number', record.id)} is issued: "
            f"{', '.join(changed)} cannot change. Issue a new document instead."
        )


for _line_model in LINE_MODELS:
    event.listen(_line_model, "before_update", _refuse_line_change)
    event.listen(_line_model, "before_delete", _refuse_line_change)
for _header_model in (Quote, QuoteVersion, Order, Invoice, Payment):
    event.listen(_header_model, "before_update", _refuse_frozen_change)
