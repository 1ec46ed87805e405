"""The catalogue's REST resources under ``/api/v1/sales``: products, categories, tax categories,
price lists with their items, exchange rates, and price resolution (``/prices/resolve``).

Amounts travel as decimal strings (``"12.50"``), never JSON numbers, so no float touches them.
"""

from __future__ import annotations

from decimal import Decimal

import xrm_sdk as xrm
from flask import url_for
from flask.views import MethodView
from marshmallow import fields, validate, validates_schema
from sqlalchemy import select

from .catalogue import ExchangeRate, PriceList, PriceListItem, Product, ProductCategory, TaxCategory
from .permissions import require
from .pricing import resolve_price


def currency_code(*, required: bool = True) -> fields.String:
    """An ISO 4217 currency code (``EUR``)."""
    return fields.String(required=required,
                         validate=validate.Regexp(r"^[A-Z]{3}$", error="An ISO 4217 code such as EUR."))


#: Amounts and quantities are stored with 14 digits (``Numeric(14, places)``), rates as ``Numeric(18, 8)``:
#: a larger value is refused as invalid input rather than overflowing the column.
STORED_DIGITS = 14
RATE_LIMIT = Decimal(10) ** 10


def below_storage_limit(places: int) -> Decimal:
    """The first value a ``Numeric(14, places)`` column cannot hold."""
    return Decimal(10) ** (STORED_DIGITS - places)


def money(places: int = 4, **kwargs) -> fields.Decimal:
    """A non-negative amount as a decimal string in JSON, with the decimals its column stores."""
    return fields.Decimal(as_string=True, places=places, validate=validate.Range(
        min=0, max=below_storage_limit(places), max_inclusive=False), **kwargs)


class TaxCategorySchema(xrm.Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    rate = fields.Decimal(as_string=True, required=True, validate=validate.Range(min=0, max=1),
                          metadata={"description": "A fraction: 0.2 for 20 %."})


class ProductCategorySchema(xrm.Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class ProductSchema(xrm.RecordSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=10_000))
    kind = fields.String(load_default="product", validate=validate.OneOf(("product", "service")))
    unit = fields.String(load_default="unit", validate=validate.Length(min=1, max=20))
    category_id = fields.Integer(allow_none=True)
    tax_category_id = fields.Integer(allow_none=True)
    cost_price = money(allow_none=True, metadata={"description": "Needs sales.product_cost.read."})
    active = fields.Boolean(load_default=True)
    created_at = fields.DateTime(dump_only=True)


class PriceListItemSchema(xrm.Schema):
    id = fields.Integer(dump_only=True)
    product_id = fields.Integer(required=True)
    min_quantity = fields.Decimal(as_string=True, load_default=Decimal(1), validate=validate.Range(
        min=0, max=below_storage_limit(4), max_inclusive=False))
    unit_price = money(required=True)
    discount_percent = fields.Decimal(as_string=True, load_default=Decimal(0), validate=validate.Range(min=0, max=100))


class PriceListSchema(xrm.RecordSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    currency = currency_code()
    party_tag = fields.String(allow_none=True, load_default=None, validate=validate.Length(min=1, max=63),
                              metadata={"description": "Only for parties with this tag (segment or partner tier)."})
    valid_from = fields.Date(allow_none=True, load_default=None)
    valid_to = fields.Date(allow_none=True, load_default=None)
    priority = fields.Integer(load_default=0)
    active = fields.Boolean(load_default=True)
    items = fields.List(fields.Nested(PriceListItemSchema), load_default=list)

    @validates_schema
    def _period(self, data, **_kwargs):
        if data.get("valid_from") and data.get("valid_to") and data["valid_from"] > data["valid_to"]:
            raise xrm.ValidationError({"valid_to": ["Must not be before valid_from."]})


class ExchangeRateSchema(xrm.Schema):
    id = fields.Integer(dump_only=True)
    base_currency = currency_code()
    quote_currency = currency_code()
    rate = fields.Decimal(as_string=True, required=True, validate=validate.Range(
        min=0, min_inclusive=False, max=RATE_LIMIT, max_inclusive=False))
    valid_on = fields.Date(required=True)


class PriceQuerySchema(xrm.Schema):
    product_id = fields.Integer(required=True)
    party_id = fields.Integer(load_default=None)
    quantity = fields.Decimal(load_default=Decimal(1), validate=validate.Range(
        min=0, min_inclusive=False, max=below_storage_limit(4), max_inclusive=False))
    currency = currency_code()
    on = fields.Date(required=True)


class PriceResolutionSchema(xrm.Schema):
    unit_price = fields.Decimal(as_string=True)
    discount = fields.Decimal(as_string=True)
    net = fields.Decimal(as_string=True)
    currency = fields.String()
    rule = fields.String()
    price_list_id = fields.Integer()


PRODUCTS = xrm.Listing(
    Product, ProductSchema, sortable=("code", "name", "created_at"),
    filterable={"code": ("eq", "contains"), "name": ("eq", "contains"), "active": ("eq",), "category_id": ("eq",)},
    default_sort="code",
)
PRICE_LISTS = xrm.Listing(PriceList, PriceListSchema, sortable=("name", "priority", "valid_from"),
                          filterable={"currency": ("eq",), "active": ("eq",)}, default_sort="name")

blueprint = xrm.ApiBlueprint("sales_catalogue", __name__, description="Sales catalogue and prices")


def _check_references(session, data) -> None:
    for field, model in (("category_id", ProductCategory), ("tax_category_id", TaxCategory)):
        if data.get(field) is not None and session.get(model, data[field]) is None:
            raise xrm.ValidationError({field: [f"There is no {model.__tablename__[6:-1].replace('_', ' ')} {data[field]}."]})


@blueprint.route("/products")
class Products(MethodView):
    @blueprint.list_response(PRODUCTS)
    def get(self, query):
        """List the products and services."""
        require(xrm.db_session(), "sales.product.read")
        return xrm.cursor_paginate(select(Product), query)

    @blueprint.arguments(ProductSchema)
    @blueprint.record_response(ProductSchema, 201)
    def post(self, data):
        """Add a product or service (its code must be new)."""
        session = xrm.db_session()
        require(session, "sales.product.create")
        _check_references(session, data)
        if session.scalar(select(Product.id).where(Product.code == data["code"])) is not None:
            raise xrm.Conflict(f"A product with code {data['code']!r} exists.")
        product = Product(**data)
        session.add(product)
        session.commit()
        return product, {"Location": url_for(".ProductDetail", product_id=product.id)}


@blueprint.route("/products/<int:product_id>")
class ProductDetail(MethodView):
    @blueprint.record_response(ProductSchema)
    def get(self, product_id):
        """One product."""
        require(xrm.db_session(), "sales.product.read")
        return xrm.get_or_404(Product, product_id)

    @blueprint.requires_if_match
    @blueprint.arguments(ProductSchema(partial=True))
    @blueprint.record_response(ProductSchema)
    def patch(self, data, product_id):
        """Change a product (send its ETag in If-Match)."""
        session = xrm.db_session()
        require(session, "sales.product.update")
        product = xrm.get_for_update(Product, product_id)
        _check_references(session, data)
        for name, value in data.items():
            setattr(product, name, value)
        session.commit()
        return product


@blueprint.route("/tax-categories")
class TaxCategories(MethodView):
    @blueprint.response(200, TaxCategorySchema(many=True))
    def get(self):
        """The tax categories, by code."""
        session = xrm.db_session()
        require(session, "sales.product.read")
        return session.scalars(select(TaxCategory).order_by(TaxCategory.code)).all()

    @blueprint.arguments(TaxCategorySchema)
    @blueprint.response(201, TaxCategorySchema)
    def post(self, data):
        """Add a tax category."""
        session = xrm.db_session()
        require(session, "sales.product.create")
        category = TaxCategory(**data)
        session.add(category)
        session.commit()
        return category


@blueprint.route("/product-categories")
class ProductCategories(MethodView):
    @blueprint.response(200, ProductCategorySchema(many=True))
    def get(self):
        """The product categories, by name."""
        session = xrm.db_session()
        require(session, "sales.product.read")
        return session.scalars(select(ProductCategory).order_by(ProductCategory.name)).all()

    @blueprint.arguments(ProductCategorySchema)
    @blueprint.response(201, ProductCategorySchema)
    def post(self, data):
        """Add a product category."""
        session = xrm.db_session()
        require(session, "sales.product.create")
        category = ProductCategory(**data)
        session.add(category)
        session.commit()
        return category


@blueprint.route("/price-lists")
class PriceLists(MethodView):
    @blueprint.list_response(PRICE_LISTS)
    def get(self, query):
        """List the price lists with their items."""
        require(xrm.db_session(), "sales.price_list.read")
        return xrm.cursor_paginate(select(PriceList), query)

    @blueprint.arguments(PriceListSchema)
    @blueprint.record_response(PriceListSchema, 201)
    def post(self, data):
        """Add a price list with its items (several items of a product make quantity breaks)."""
        session = xrm.db_session()
        require(session, "sales.price_list.create")
        items = data.pop("items")
        price_list = PriceList(**data)
        for index, item in enumerate(items):
            if session.get(Product, item["product_id"]) is None:
                raise xrm.ValidationError({f"items.{index}.product_id": [f"There is no product {item['product_id']}."]})
            price_list.items.append(PriceListItem(**item))
        session.add(price_list)
        session.commit()
        return price_list, {"Location": url_for(".PriceListDetail", price_list_id=price_list.id)}


@blueprint.route("/price-lists/<int:price_list_id>")
class PriceListDetail(MethodView):
    @blueprint.record_response(PriceListSchema)
    def get(self, price_list_id):
        """One price list with its items."""
        require(xrm.db_session(), "sales.price_list.read")
        return xrm.get_or_404(PriceList, price_list_id)


@blueprint.route("/exchange-rates")
class ExchangeRates(MethodView):
    @blueprint.response(200, ExchangeRateSchema(many=True))
    def get(self):
        """The stored exchange rates, newest first."""
        session = xrm.db_session()
        require(session, "sales.price_list.read")
        return session.scalars(select(ExchangeRate).order_by(ExchangeRate.valid_on.desc(), ExchangeRate.id)).all()

    @blueprint.arguments(ExchangeRateSchema)
    @blueprint.response(201, ExchangeRateSchema)
    def post(self, data):
        """Record a rate: 1 base_currency = rate quote_currency from valid_on."""
        session = xrm.db_session()
        require(session, "sales.price_list.create")
        if data["base_currency"] == data["quote_currency"]:
            raise xrm.ValidationError({"quote_currency": ["Must differ from base_currency."]})
        rate = ExchangeRate(**data)
        session.add(rate)
        session.commit()
        return rate


@blueprint.route("/prices/resolve")
class PriceResolutionResource(MethodView):
    @blueprint.arguments(PriceQuerySchema, location="query")
    @blueprint.response(200, PriceResolutionSchema)
    def get(self, query):
        """The price of a product for a party, quantity, currency and day, with the rule that gave it."""
        session = xrm.db_session()
        require(session, "sales.price_list.read")
        product = xrm.get_or_404(Product, query["product_id"])
        party = xrm.get_or_404(xrm.Party, query["party_id"]) if query["party_id"] is not None else None
        return resolve_price(session, product, party=party, quantity=query["quantity"],
                             currency=query["currency"], on_date=query["on"])
