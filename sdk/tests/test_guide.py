"""The author guide cannot go stale: its code is the scaffold's, its hook names are the hook specs."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from xrm_sdk import testing
from xrm_sdk.scaffold import generate

from xrm_core import hookspecs

GUIDE = Path(__file__).resolve().parents[1] / "GUIDE.md"
#: A snippet is a fenced block right after ``<!-- file: PATH -->``, PATH relative to the plugin.
SNIPPET = re.compile(r"<!-- file: (?P<path>\S+) -->\n```\w*\n(?P<code>.*?)\n```", re.DOTALL)
HOOKS = {name for name in dir(hookspecs) if name.startswith("xrm_")}
FIXTURES = {name for name in dir(testing) if name.startswith("xrm_")}
#: ``xrm_*`` words that are neither hooks nor fixtures: packages and the pytest option.
OTHER_NAMES = {"xrm_sdk", "xrm_core", "xrm_helpdesk", "xrm_plugin_helpdesk", "xrm_plugins"}


@pytest.fixture(scope="module")
def plugin(tmp_path_factory) -> Path:
    return generate("helpdesk", tmp_path_factory.mktemp("guide") / "xrm-plugin-helpdesk", title="Help desk")


def test_every_snippet_is_in_the_generated_plugin(plugin):
    snippets = list(SNIPPET.finditer(GUIDE.read_text()))
    assert len(snippets) >= 15
    stale = [f"{m['path']}: {m['code'].splitlines()[0]}" for m in snippets
             if m["code"] not in (plugin / m["path"]).read_text()]
    assert stale == [], "the guide shows code the scaffold no longer generates"


def test_every_xrm_name_in_the_guide_is_a_hook_or_a_fixture():
    used = set(re.findall(r"\bxrm_[a-z_]+\b", GUIDE.read_text()))
    assert used - HOOKS - FIXTURES - OTHER_NAMES == set()


def test_every_hook_spec_is_in_the_guide_with_its_arguments():
    text = GUIDE.read_text()
    missing = [f"{name}({', '.join(inspect.signature(getattr(hookspecs, name)).parameters)})"
               for name in sorted(HOOKS)]
    assert [s for s in missing if f"`{s}`" not in text] == [], "update the hook reference in sdk/GUIDE.md"


def test_every_fixture_of_the_harness_is_in_the_guide():
    public = {name for name in FIXTURES if hasattr(getattr(testing, name), "_fixture_function_marker")
              or "fixture" in type(getattr(testing, name)).__name__.lower()}
    used = set(re.findall(r"`(xrm_[a-z_]+)`", GUIDE.read_text()))
    assert public and public - used == set()
