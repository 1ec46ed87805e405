"""A plugin exposing a REST resource exactly as a third party would: only through ``xrm_sdk``.

Widgets (with their parts) under ``/api/v1/workshop/widgets``: list, get, create, update, delete
and bulk create/update, following every API convention the platform offers.
"""

from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import xrm_sdk as xrm
from flask import url_for
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

MANIFEST = xrm.Manifest(name="workshop", title="Workshop", description="Widgets and their parts.")


class Widget(xrm.TenantScoped, xrm.Model):
    __tablename__ = "workshop_widgets"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    size: Mapped[int | None]
    #: Optimistic concurrency: SQLAlchemy bumps it on every UPDATE, and the ETag derives from it.
    version: Mapped[int] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=xrm.utcnow, onupdate=xrm.utcnow)
    parts: Mapped[list["Part"]] = relationship(cascade="all, delete-orphan", order_by="Part.id")

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


class Part(xrm.TenantScoped, xrm.Model):
    __tablename__ = "workshop_parts"
    __table_args__ = (UniqueConstraint("widget_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    widget_id: Mapped[int] = mapped_column(ForeignKey("workshop_widgets.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int]


class PartSchema(xrm.Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=20))
    quantity = fields.Integer(required=True, validate=validate.Range(min=1))


class WidgetSchema(xrm.RecordSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    size = fields.Integer(allow_none=True, validate=validate.Range(min=0))
    parts = fields.List(fields.Nested(PartSchema), load_default=list)
    updated_at = fields.DateTime()


WIDGETS = xrm.Listing(
    Widget,
    WidgetSchema,
    sortable=("name", "size", "updated_at"),
    filterable={
        "name": ("eq", "ne", "in", "contains"),
        "size": ("eq", "ne", "lt", "lte", "gt", "gte", "in", "isnull"),
        "updated_at": ("gte", "lt"),
    },
    default_sort="name",
)


def create_widget(data):
    parts = [Part(**part) for part in data.pop("parts")]
    widget = Widget(**data, parts=parts)
    xrm.db_session().add(widget)
    return widget


def update_widget(widget, changes):
    if "parts" in changes:
        widget.parts.clear()
        xrm.db_session().flush()  # the old parts go before new ones reuse their codes
        widget.parts.extend(Part(**part) for part in changes.pop("parts"))
    for name, value in changes.items():
        setattr(widget, name, value)
    widget.updated_at = xrm.utcnow()  # the widget row changes with its parts, so its version does


api = xrm.ApiBlueprint("workshop", __name__, description="Widgets and their parts.")


@api.route("/widgets")
class Widgets(MethodView):
    @api.list_response(WIDGETS)
    def get(self, query):
        """List widgets."""
        return xrm.cursor_paginate(select(Widget), query)

    @api.arguments(WidgetSchema)
    @api.record_response(WidgetSchema, 201)
    def post(self, data):
        """Create a widget."""
        widget = create_widget(data)
        xrm.db_session().commit()
        return widget, {"Location": url_for(".WidgetItem", widget_id=widget.id)}


@api.route("/widgets/<int:widget_id>")
class WidgetItem(MethodView):
    @api.record_response(WidgetSchema)
    def get(self, widget_id):
        """Get a widget."""
        return xrm.get_or_404(Widget, widget_id)

    @api.requires_if_match
    @api.arguments(WidgetSchema(partial=True))
    @api.record_response(WidgetSchema)
    def patch(self, changes, widget_id):
        """Change some of a widget's fields."""
        widget = xrm.get_for_update(Widget, widget_id)
        update_widget(widget, changes)
        xrm.db_session().commit()
        return widget

    @api.requires_if_match
    @api.response(204)
    def delete(self, widget_id):
        """Delete a widget and its parts."""
        session = xrm.db_session()
        session.delete(xrm.get_for_update(Widget, widget_id))
        session.commit()


@api.route("/widgets/bulk")
class WidgetsBulk(MethodView):
    @api.bulk_create(WidgetSchema)
    def post(self, data):
        """Create many widgets; each succeeds or fails on its own."""
        return create_widget(data)

    @api.bulk_update(WidgetSchema, Widget)
    def patch(self, widget, changes):
        """Change many widgets; each item carries its id, etag and changes."""
        update_widget(widget, changes)


@xrm.hookimpl
def xrm_models():
    return [Widget, Part]


@xrm.hookimpl
def xrm_migrations():
    return Path(__file__).parent / "migrations"


@xrm.hookimpl
def xrm_blueprints():
    return [api]
