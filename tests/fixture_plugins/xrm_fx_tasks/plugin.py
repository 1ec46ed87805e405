"""A plugin that requires another (notes) and contributes to the same hooks."""

from pathlib import Path

import xrm_sdk as xrm
from flask import Blueprint, jsonify
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

MANIFEST = xrm.Manifest(name="tasks", title="Tasks", requires=("notes",))


class Task(xrm.TenantScoped, xrm.Model):
    __tablename__ = "tasks_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    note_id: Mapped[int | None] = mapped_column(ForeignKey("notes_notes.id", ondelete="SET NULL"))


api = Blueprint("tasks_api", __name__)


@api.get("/count")
def count():
    return jsonify(count=xrm.db_session().query(Task).count())


@xrm.hookimpl
def xrm_models():
    return [Task]


@xrm.hookimpl
def xrm_migrations():
    return Path(__file__).parent / "migrations"


@xrm.hookimpl
def xrm_blueprints():
    return [api]


@xrm.hookimpl
def xrm_navigation():
    return [xrm.NavEntry("tasks.board", label="Tasks", url="/api/tasks/count", order=20)]


@xrm.hookimpl
def xrm_demo_data(session):
    session.add(Task(title="Prepare the demo"))
