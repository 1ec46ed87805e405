"""The sales permissions, and the check for records that are not ``Owned``.

Owned records (opportunities, leads) are checked by the platform on every read and flush. The
catalogue and the pipeline configuration are tenant-wide reference data: their views call
:func:`require` before reading or changing them.
"""

from __future__ import annotations

import xrm_sdk as xrm
from sqlalchemy.orm import Session

PERMISSIONS = [
    xrm.Permission("sales.product.read", "See products, categories and tax categories"),
    xrm.Permission("sales.product.create", "Add products, categories and tax categories"),
    xrm.Permission("sales.product.update", "Change products"),
    xrm.Permission("sales.product_cost.read", "See and set products' cost prices (margins)"),
    xrm.Permission("sales.price_list.read", "See price lists, exchange rates and resolved prices"),
    xrm.Permission("sales.price_list.create", "Add price lists, their items and exchange rates"),
    xrm.Permission("sales.price_list.update", "Change price lists"),
    xrm.Permission("sales.pipeline.read", "See pipelines and their stages"),
    xrm.Permission("sales.pipeline.create", "Configure pipelines and their stages"),
    xrm.Permission("sales.opportunity.read", "See opportunities"),
    xrm.Permission("sales.opportunity.create", "Add opportunities"),
    xrm.Permission("sales.opportunity.update", "Change opportunities, move them between stages, win or lose them"),
    xrm.Permission("sales.opportunity.assign", "Give opportunities to another owner or department"),
    xrm.Permission("sales.opportunity.delete", "Delete opportunities"),
    xrm.Permission("sales.opportunity.export", "Export the opportunity reports"),
    xrm.Permission("sales.lead.read", "See leads"),
    xrm.Permission("sales.lead.create", "Add leads and web forms"),
    xrm.Permission("sales.lead.update", "Qualify or disqualify leads"),
    xrm.Permission("sales.lead.delete", "Delete leads"),
    xrm.Permission("sales.settings.update", "Change the sales settings (the reports' reporting currency)"),
]


def allowed(session: Session, permission: str) -> bool:
    """Whether the session's principal holds ``permission`` (any scope); platform sessions may all."""
    principal = xrm.principal_of(session)
    return principal is None or principal.scope_for(permission) is not None


def require(session: Session, permission: str) -> None:
    """Refuse (403) when the session's principal lacks ``permission``.

    :raises xrm.PermissionDenied: naming the permission.
    """
    if not allowed(session, permission):
        principal = xrm.principal_of(session)
        raise xrm.PermissionDenied(f"{principal.name} lacks the permission {permission}")
