"""A plugin that contributes to every declaration hook, some values valid and some not."""

import xrm_sdk as xrm
from marshmallow import Schema, fields

MANIFEST = xrm.Manifest(name="kitchen", title="Kitchen sink")


class ChecklistParams(Schema):
    items = fields.List(fields.String(), required=True)


def _noop(*_args, **_kwargs):
    return None


@xrm.hookimpl
def xrm_party_roles():
    return [xrm.PartyRole("customer", label="Customer"), xrm.PartyRole("supplier", label="Supplier")]


@xrm.hookimpl
def xrm_relationship_types():
    return [xrm.RelationshipType("employs", forward_label="employs", inverse_label="works for")]


@xrm.hookimpl
def xrm_event_types():
    return [xrm.EventType("kitchen.order.placed", description="An order was placed"), xrm.EventType("order.placed")]


@xrm.hookimpl
def xrm_event_handlers():
    return [xrm.EventHandler("kitchen.log_orders", pattern="*.order.*", handle=_noop)]


@xrm.hookimpl
def xrm_workflow_triggers():
    return [xrm.WorkflowTrigger("kitchen.fridge_empty", label="Fridge is empty")]


@xrm.hookimpl
def xrm_workflow_actions():
    return [xrm.WorkflowAction("kitchen.make_list", label="Make a list", params=ChecklistParams, run=_noop)]


@xrm.hookimpl
def xrm_import_export_formats():
    return [xrm.DataFormat("kitchen.recipes_csv", label="Recipes (CSV)", extension="csv", read=_noop, write=_noop)]


@xrm.hookimpl
def xrm_party_panels(tenant, party):
    return [xrm.Panel("kitchen.orders", title=f"Orders of {party}", render=lambda p: f"<p>{p}</p>")]


@xrm.hookimpl
def xrm_dashboard_widgets(tenant):
    return xrm.DashboardWidget("kitchen.stock", title=f"Stock of {tenant.slug}", render=_noop)


@xrm.hookimpl
def xrm_search(query, limit):
    hits = [xrm.SearchHit(f"kitchen.recipe.{i}", title=f"{query} recipe {i}", url=f"/kitchen/{i}") for i in range(5)]
    return hits[:limit]


@xrm.hookimpl
def xrm_tenant_setup(tenant):
    if tenant.slug == "cursed":
        raise RuntimeError("this tenant cannot cook")
