"""``xrm plugin …``: tools for plugin authors, backed by the SDK (scaffold and conformance kit).

This is the one module of the core that imports the SDK: the template and the kit ship with
``xrm_sdk`` so that they are versioned with the API they generate and check code against.
"""

from __future__ import annotations

from pathlib import Path

import click
from xrm_sdk.conformance import check_plugin
from xrm_sdk.scaffold import generate


@click.group("plugin")
def plugin_group() -> None:
    """Create plugins and check them against the platform's contract (see sdk/GUIDE.md)."""


@plugin_group.command("new")
@click.argument("name")
@click.option("--directory", type=click.Path(path_type=Path), default=None,
              help="Where to write the distribution (default: ./xrm-plugin-NAME); must not exist.")
@click.option("--title", default="", help="The plugin's human-readable name (default: NAME, capitalised).")
def plugin_new(name: str, directory: Path | None, title: str) -> None:
    """Generate a pip-installable plugin NAME: model, migration, API, page, event, action, tests."""
    target = generate(name, directory, title)
    click.echo(f"Created plugin {name} in {target}")
    click.echo(f"Next: pip install -e '{target}[test]' && (cd {target} && pytest)")


@plugin_group.command("check")
@click.argument("name")
def plugin_check(name: str) -> None:
    """Run the conformance kit against the installed plugin NAME (on a throwaway database)."""
    check_plugin(name)
    click.echo(f"Plugin {name} passes the conformance kit")
