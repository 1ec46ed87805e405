"""The plugin's web pages, served under ``/sales/``; templates live in ``templates/sales/``."""

import xrm_sdk as xrm
from flask import Blueprint, render_template
from sqlalchemy import select

from .models import Item

blueprint = Blueprint("sales_pages", __name__, template_folder="templates", url_prefix="/sales")


@blueprint.get("/")
def index():
    """The items the signed-in user may see, newest first."""
    items = xrm.db_session().scalars(select(Item).order_by(Item.created_at.desc(), Item.id.desc())).all()
    return render_template("sales/index.html", tenant=xrm.current_tenant(), items=items)
