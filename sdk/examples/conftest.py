"""Load the example plugins in their tests without installing them into the workspace.

`make run` enables every installed plugin, so the examples are never installed (scripts/bootstrap.sh
only puts their ``src/`` folders on the path). Here each example's ``pyproject.toml`` becomes a
``.dist-info`` (metadata and ``xrm.plugins`` entry point) in a temporary site folder, and the SDK
harness is told to look for plugins there only (its ``xrm_plugin_path`` fixture): the tests see the
examples exactly as pip would have installed them, and nothing else ever sees them.

Outside this repository none of this is needed: ``pip install -e sdk/examples/<example>`` and run
``pytest`` in that folder.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent

# scripts/bootstrap.sh puts the examples' packages on the path (a .pth file); an example added since
# it last ran is found all the same.
for source in sorted(EXAMPLES.glob("*/src")):
    if str(source) not in sys.path:
        sys.path.append(str(source))


def write_dist_info(project: Path, site: Path) -> None:
    """Write the ``.dist-info`` pip would install for the distribution of ``project/pyproject.toml``."""
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    info = site / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {meta['name']}", f"Version: {meta['version']}",
             f"Summary: {meta.get('description', '')}"] + [f"Requires-Dist: {r}" for r in meta["dependencies"]]
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    entry_points = meta["entry-points"]["xrm.plugins"]
    (info / "entry_points.txt").write_text(
        "[xrm.plugins]\n" + "".join(f"{name} = {target}\n" for name, target in entry_points.items()))


@pytest.fixture(scope="session")
def example_site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("examples-site-packages")
    for project in sorted(EXAMPLES.glob("*/pyproject.toml")):
        write_dist_info(project.parent, site)
    return site


@pytest.fixture
def xrm_plugin_path(example_site) -> list[str]:
    """The harness finds the examples, and only them."""
    return [str(example_site)]
