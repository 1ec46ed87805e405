"""The plugin's web pages, served under ``/activities/``; templates live in ``templates/activities/``."""

import xrm_sdk as xrm
from flask import Blueprint, render_template
from sqlalchemy import select

from .models import Item

blueprint = Blueprint("activities_pages", __name__, template_folder="templates", url_prefix="/activities")


@blueprint.get("/")
def index():
    """The items the signed-in user may see, newest first."""
    items = xrm.db_session().scalars(select(Item).order_by(Item.created_at.desc(), Item.id.desc())).all()
    return render_template("activities/index.html", tenant=xrm.current_tenant(), items=items)
