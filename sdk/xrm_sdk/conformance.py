"""``xrm plugin check NAME``: the conformance kit run against an installed plugin, outside its tests.

The checks are :class:`xrm_sdk.testing.PluginContractTests`; this writes the one-class test module a
plugin author would write and runs it with pytest, so the command and the plugin's own suite can
never disagree.
"""

from __future__ import annotations

import tempfile
from importlib import metadata
from pathlib import Path

from xrm_sdk import XrmError

CONTRACT_MODULE = """\
from xrm_sdk.testing import PluginContractTests


class TestContract(PluginContractTests):
    plugin = {name!r}
"""


class ConformanceError(XrmError):
    """The plugin cannot be checked, or it fails the kit."""


def check_plugin(name: str) -> None:
    """Run the conformance kit against the installed plugin ``name``; pytest reports each check.

    :raises ConformanceError: the plugin is not installed, pytest is missing, or a check fails.
    """
    if not any(ep.name == name for ep in metadata.entry_points(group="xrm.plugins")):
        raise ConformanceError(f"no plugin named {name!r} is installed (entry point group xrm.plugins)")
    try:
        import pytest
    except ImportError:
        raise ConformanceError("the conformance kit needs pytest: pip install 'xrm-sdk[testing]'") from None
    with tempfile.TemporaryDirectory(prefix="xrm-check-") as folder:
        (Path(folder) / "test_contract.py").write_text(CONTRACT_MODULE.format(name=name))
        outcome = pytest.main([folder, "-q", "-p", "no:cacheprovider", "--rootdir", folder, "-c", "/dev/null"])
    if outcome != pytest.ExitCode.OK:
        raise ConformanceError(f"plugin {name!r} fails the conformance kit (see the failures above)")
