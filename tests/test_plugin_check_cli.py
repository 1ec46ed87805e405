"""``xrm plugin check NAME`` runs the SDK's conformance kit against an installed plugin."""

import os
import subprocess
import sys
from pathlib import Path

from plugin_dists import DISTS

FIXTURE_PLUGINS = Path(__file__).parent / "fixture_plugins"
XRM = str(Path(sys.executable).with_name("xrm"))


def check(tmp_path, name, *installed):
    site = tmp_path / "site-packages"
    for dist in installed:
        DISTS[dist].write(site)
    environ = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{FIXTURE_PLUGINS}",
               "XRM_INSTANCE_PATH": str(tmp_path / "instance"),
               "XRM_PLUGINS": ",".join(DISTS[dist].entry_point for dist in installed) or "none"}
    return subprocess.run([XRM, "plugin", "check", name], capture_output=True, text=True, env=environ,
                          cwd=tmp_path, check=False)


def test_a_conforming_plugin_passes(tmp_path):
    result = check(tmp_path, "notes", "notes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout
    assert result.stdout.rstrip().endswith("Plugin notes passes the conformance kit")


def test_a_plugin_breaking_the_rules_fails_naming_the_check(tmp_path):
    result = check(tmp_path, "flaky", "notes", "flaky")
    assert result.returncode == 1
    assert "test_contributions_are_named_after_the_plugin" in result.stdout
    assert "Permission 'notes.note.delete' must be named 'flaky.<" in result.stdout
    assert result.stderr.strip() == "Error: plugin 'flaky' fails the conformance kit (see the failures above)"


def test_an_unknown_plugin_is_a_one_line_error(tmp_path):
    result = check(tmp_path, "ghost", "notes")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "Error: no plugin named 'ghost' is installed (entry point group xrm.plugins)\n"
