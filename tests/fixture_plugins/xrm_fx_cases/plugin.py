"""Support cases listed by the core's generic list page, written only against ``xrm_sdk``.

The test plugin of ``xrm_list_views``: cases are department records (``cases.case.<action>``)
with custom fields and a protected ``budget`` (``cases.case_budget.read``); the list ``cases.cases``
filters by status and title, sorts by title, budget or creation, and closes cases in bulk.
"""

from datetime import datetime
from pathlib import Path
from typing import ClassVar

import xrm_sdk as xrm
from marshmallow import fields
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

MANIFEST = xrm.Manifest(name="cases", title="Cases", description="Support cases on a generic list.")


class Case(xrm.HasCustomFields, xrm.Owned, xrm.TenantScoped, xrm.Model):
    __tablename__ = "cases_cases"
    __permission_resource__ = "cases.case"
    __custom_fields_entity__ = "cases.case"
    __protected_fields__: ClassVar[dict[str, str]] = {"budget": "cases.case_budget.read"}

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="open")
    budget: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=xrm.utcnow)


class CaseSchema(xrm.RecordSchema):
    title = fields.String()
    status = fields.String()
    budget = fields.Integer(allow_none=True)
    created_at = fields.DateTime(dump_only=True)


CASES = xrm.Listing(Case, CaseSchema, sortable=("title", "budget", "created_at"),
                    filterable={"status": ("eq",), "title": ("contains",), "budget": ("gte",)}, default_sort="title")


def _close(session, case: Case) -> None:
    if case.status == "closed":
        raise xrm.Conflict(f"{case.title} is already closed.")
    case.status = "closed"


LIST = xrm.ListView(
    "cases.cases", title="Cases", description="The support cases you may see.", listing=CASES,
    columns=(xrm.ListColumn("title", "Title"), xrm.ListColumn("status", "Status"),
             xrm.ListColumn("budget", "Budget"),
             xrm.ListColumn("shout", "Shouted title", value=lambda case: case.title.upper(), field="title",
                            default=False)),
    filters=(xrm.ListFilter("status", "Status", choices=(("open", "Open"), ("closed", "Closed"))),
             xrm.ListFilter("title__contains", "Title contains"), xrm.ListFilter("budget__gte", "Budget at least")),
    permission="cases.case.read", detail_url=lambda case: f"/cases/{case.id}",
    actions=(xrm.ListAction("close", "Close", permission="update", apply=_close),),
    links=lambda session: [("Help", "/help")],
)


@xrm.hookimpl
def xrm_models():
    return [Case]


@xrm.hookimpl
def xrm_migrations():
    return Path(__file__).parent / "migrations"


@xrm.hookimpl
def xrm_permissions():
    actions = ("read", "create", "update", "delete", "assign", "share", "export", "link")
    return [xrm.Permission(f"cases.case.{action}", f"{action.capitalize()} cases") for action in actions] + [
        xrm.Permission("cases.case_budget.read", "See and set the budgets of cases")]


@xrm.hookimpl
def xrm_list_views(tenant):
    return [LIST]
