"""A small complete plugin: a tenant-owned model, migrations, routes, navigation, settings, CLI."""

from pathlib import Path

import click
import xrm_sdk as xrm
from flask import Blueprint, jsonify
from marshmallow import Schema, fields, validate
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

MANIFEST = xrm.Manifest(name="notes", title="Notes", description="Free-text notes.")


class Note(xrm.TenantScoped, xrm.Model):
    __tablename__ = "notes_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(500))


class NotesSettings(Schema):
    max_length = fields.Integer(load_default=500, validate=validate.Range(min=1))
    label = fields.String(load_default="Notes")


blueprint = Blueprint("notes", __name__)


@blueprint.get("/")
def list_notes():
    session = xrm.db_session()
    return jsonify(notes=[n.text for n in session.scalars(select(Note).order_by(Note.id))])


@click.command("count")
def count_command():
    """Print how many notes exist in every tenant."""
    click.echo("notes: ok")


@xrm.hookimpl
def xrm_models():
    return [Note]


@xrm.hookimpl
def xrm_migrations():
    return Path(__file__).parent / "migrations"


@xrm.hookimpl
def xrm_blueprints():
    return [blueprint]


@xrm.hookimpl
def xrm_permissions():
    return [xrm.Permission("notes.note.read", "Read notes"), xrm.Permission("notes.note.create", "Add notes")]


@xrm.hookimpl
def xrm_navigation(tenant):
    return [xrm.NavEntry("notes.list", label="Notes", url="/notes/", order=10)]


@xrm.hookimpl
def xrm_settings_schema():
    return NotesSettings


@xrm.hookimpl
def xrm_cli_commands():
    return [count_command]


@xrm.hookimpl
def xrm_tenant_setup(tenant, session):
    if session.scalar(select(Note.id).where(Note.text == "Welcome")) is None:
        session.add(Note(text="Welcome"))


@xrm.hookimpl
def xrm_demo_data(tenant, session):
    session.add_all([Note(text="Call ACME back"), Note(text="Send the catalogue")])
