"""The ``hello`` example: a page under ``/hello/`` and its entry in the main navigation.

What it teaches, one hook each:

* ``xrm_permissions``: the page checks ``hello.greeting.read``, so the plugin declares it (admins
  grant it to roles; tenant administrators hold every permission);
* ``xrm_blueprints``: a plain Flask blueprint for the page (templates extend the shell's ``base.html``);
* ``xrm_navigation``: the entry in the main navigation;
* ``xrm_settings_schema``: a per-tenant setting (the greeting), validated with defaults filled in;
* ``xrm_cli_commands``: ``xrm hello greet --tenant acme``, which reads the same setting.
"""

import click
import xrm_sdk as xrm
from flask import Blueprint, abort, render_template
from marshmallow import fields, validate

MANIFEST = xrm.Manifest(name="hello", title="Hello", description="SDK example: a page with settings.")

READ_GREETING = "hello.greeting.read"

# A blueprint named after the plugin; its URL prefix is the plugin's name too.
blueprint = Blueprint("hello", __name__, template_folder="templates", url_prefix="/hello")


class HelloSettings(xrm.Schema):
    """The plugin's settings in one tenant; ``load`` validates them and fills the defaults."""

    greeting = fields.String(load_default="Hello", validate=validate.Length(min=1, max=80))
    exclaim = fields.Boolean(load_default=True)


def greeting_for(session) -> str:
    """The tenant's greeting, as its settings say."""
    settings = xrm.plugin_settings(session, "hello")
    return settings["greeting"] + ("!" if settings["exclaim"] else ".")


@blueprint.get("/")
def index():
    """The greeting page. The request's session knows who asks; check the permission ourselves,
    since this page shows no records (record-level checks come free with ``xrm.Owned`` models)."""
    session = xrm.db_session()
    principal = xrm.principal_of(session)
    if principal is None or principal.scope_for(READ_GREETING) is None:
        abort(403)
    return render_template("hello/index.html", greeting=greeting_for(session), tenant=xrm.current_tenant())


@click.command("greet")
@click.option("--tenant", "tenant_slug", required=True, help="Tenant slug.")
def greet(tenant_slug):
    """Print the tenant's greeting (an unknown tenant is a one-line error)."""
    with xrm.tenant_transaction(tenant_slug) as session:
        click.echo(greeting_for(session))


@xrm.hookimpl
def xrm_permissions():
    return [xrm.Permission(READ_GREETING, "See the greeting page")]


@xrm.hookimpl
def xrm_blueprints():
    return [blueprint]


@xrm.hookimpl
def xrm_navigation(tenant):
    return [xrm.NavEntry("hello.page", label="Hello", url="/hello/", order=90)]


@xrm.hookimpl
def xrm_settings_schema():
    return HelloSettings


@xrm.hookimpl
def xrm_cli_commands():
    return [greet]  # appears as `xrm hello greet`
