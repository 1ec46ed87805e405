"""Each contribution of the ``hello`` example, exercised through the platform (the SDK's harness)."""

import pytest
import xrm_sdk as xrm
from click.testing import CliRunner
from flask.cli import ScriptInfo
from xrm_hello.plugin import HelloSettings, greet

# The plugins the harness loads for these tests. (A plugin of your own can say it once, with
# `xrm_plugins = ["hello"]` under `[tool.pytest.ini_options]` in its pyproject.toml; the examples
# run under the repository's pytest configuration, so each test module says it.)
pytestmark = pytest.mark.xrm_plugins("hello")


def test_xrm_blueprints_xrm_navigation_xrm_permissions_and_xrm_cli_commands(xrm_app, xrm_tenant, xrm_client,
                                                                            xrm_login):
    """The page, its navigation entry, the permission it checks, and the command reading the settings."""
    page = xrm_client.get("/hello/")  # an administrator holds every permission
    assert page.status_code == 200
    assert '<h1 class="hello-greeting">Hello!</h1>' in page.get_data(as_text=True)
    assert 'href="/hello/"' in xrm_client.get("/").get_data(as_text=True)  # the navigation entry
    assert xrm_login("hello.greeting.read").get("/hello/").status_code == 200
    assert xrm_login().get("/hello/").status_code == 403  # signed in, without the permission

    script = ScriptInfo(create_app=lambda: xrm_app)  # what the `xrm` command gives its subcommands
    result = CliRunner().invoke(greet, ["--tenant", xrm_tenant.slug], obj=script)
    assert (result.exit_code, result.output) == (0, "Hello!\n")
    unknown = CliRunner().invoke(greet, ["--tenant", "nobody"], obj=script)
    assert isinstance(unknown.exception, xrm.XrmError)  # the xrm command prints it as one line


def test_xrm_settings_schema_validates_and_fills_defaults():
    assert HelloSettings().load({}) == {"greeting": "Hello", "exclaim": True}
    with pytest.raises(xrm.ValidationError) as refused:
        HelloSettings().load({"greeting": "", "exclaim": "maybe"})
    assert set(refused.value.messages) == {"greeting", "exclaim"}
