"""A plugin with a protected field, written only against ``xrm_sdk``: dossiers and their fees.

A dossier's ``fee`` is readable and writable only with ``vault.fee.read``; everything else about
a dossier follows the usual record-level rules (``vault.dossier.<action>``).
"""

from pathlib import Path
from typing import Any, ClassVar

import xrm_sdk as xrm
from flask.views import MethodView
from marshmallow import fields, validate
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

MANIFEST = xrm.Manifest(name="vault", title="Vault", description="Dossiers with a protected fee.")

FEE_PERMISSION = "vault.fee.read"


class Dossier(xrm.Owned, xrm.TenantScoped, xrm.Model):
    __tablename__ = "vault_dossiers"
    __permission_resource__ = "vault.dossier"
    __protected_fields__: ClassVar[dict[str, str]] = {"fee": FEE_PERMISSION}

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    fee: Mapped[int | None]
    version: Mapped[int] = mapped_column()

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}


class DossierSchema(xrm.RecordSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=100))
    fee = fields.Integer(allow_none=True)


DOSSIERS = xrm.Listing(
    Dossier, DossierSchema,
    sortable=("title", "fee"),
    filterable={"title": ("eq",), "fee": ("eq", "gte", "isnull")},
    default_sort="fee",
)

api = xrm.ApiBlueprint("vault", __name__, description="Dossiers.")


@api.route("/dossiers")
class Dossiers(MethodView):
    @api.list_response(DOSSIERS)
    def get(self, query):
        """List dossiers."""
        return xrm.cursor_paginate(select(Dossier), query)

    @api.arguments(DossierSchema)
    @api.record_response(DossierSchema, 201)
    def post(self, data):
        """Create a dossier."""
        dossier = Dossier(**data)
        xrm.db_session().add(dossier)
        xrm.db_session().commit()
        return dossier


@api.route("/dossiers/<int:dossier_id>")
class DossierItem(MethodView):
    @api.record_response(DossierSchema)
    def get(self, dossier_id):
        """Get a dossier."""
        return xrm.get_or_404(Dossier, dossier_id)

    @api.requires_if_match
    @api.arguments(DossierSchema(partial=True))
    @api.record_response(DossierSchema)
    def patch(self, changes, dossier_id):
        """Change some of a dossier's fields."""
        dossier = xrm.get_for_update(Dossier, dossier_id)
        for name, value in changes.items():
            setattr(dossier, name, value)
        xrm.db_session().commit()
        return dossier


@xrm.hookimpl
def xrm_models():
    return [Dossier]


@xrm.hookimpl
def xrm_migrations():
    return Path(__file__).parent / "migrations"


@xrm.hookimpl
def xrm_blueprints():
    return [api]


@xrm.hookimpl
def xrm_permissions():
    actions = ("read", "create", "update", "delete", "assign", "share", "export", "link")
    return [xrm.Permission(f"vault.dossier.{action}", f"{action.capitalize()} dossiers") for action in actions] + [
        xrm.Permission(FEE_PERMISSION, "Read and write dossier fees"),
    ]
