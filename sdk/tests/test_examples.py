"""The SDK's example plugins (sdk/examples/) cover every kind of contribution, and stay teaching material.

Every hook spec a plugin implements is a kind of contribution; each must be shown by at least one
example, whose tests exercise it. The examples are never installed (``make run`` would enable them
in the demo), and the import contracts keep them on the SDK.
"""

from __future__ import annotations

import importlib
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from xrm_core import hookspecs

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(path.parent for path in (ROOT / "sdk" / "examples").glob("*/pyproject.toml"))

#: Hook specs that are not contributions a plugin makes, with the reason. None today: every hook
#: spec is implemented by plugins. A hook the platform calls for its own purposes would go here.
NOT_CONTRIBUTIONS: dict[str, str] = {}

#: Hooks the conformance kit (``PluginContractTests``) exercises for every plugin, so an example's
#: own tests need not name them: tables against migrations, migrations down and up, enabling (tenant
#: set-up) and demo data.
EXERCISED_BY_THE_KIT = {"xrm_models", "xrm_migrations", "xrm_tenant_setup", "xrm_demo_data"}


def hook_specs() -> set[str]:
    return {name for name in dir(hookspecs) if name.startswith("xrm_")
            and hasattr(getattr(hookspecs, name), f"{hookspecs.PROJECT}_spec")}


def project(example: Path) -> dict:
    return tomllib.loads((example / "pyproject.toml").read_text())["project"]


def plugin_of(example: Path) -> tuple[str, object]:
    """The example's one ``xrm.plugins`` entry point: its plugin name and its imported module."""
    [(name, target)] = project(example)["entry-points"]["xrm.plugins"].items()
    return name, importlib.import_module(target)


def implemented_hooks(module) -> set[str]:
    marker = f"{hookspecs.PROJECT}_impl"
    return {(getattr(fn, marker) or {}).get("specname") or fn.__name__
            for fn in vars(module).values() if callable(fn) and hasattr(fn, marker)}


def text_of_tests(example: Path) -> str:
    return "\n".join(path.read_text() for path in sorted((example / "tests").glob("test_*.py")))


def test_there_are_examples_and_each_is_a_plugin_distribution_built_on_the_sdk():
    assert len(EXAMPLES) >= 5
    for example in EXAMPLES:
        requirements = project(example)["dependencies"]
        assert any(r.startswith("xrm-sdk") for r in requirements), example.name
        name, module = plugin_of(example)
        assert module.MANIFEST.name == name and module.__name__ == f"xrm_{name}.plugin"


def test_every_kind_of_contribution_has_an_example():
    shown = set().union(*(implemented_hooks(plugin_of(example)[1]) for example in EXAMPLES))
    assert len(hook_specs()) > 20
    missing = sorted(hook_specs() - NOT_CONTRIBUTIONS.keys() - shown)
    assert missing == [], "add these hooks to an example plugin in sdk/examples/ (or, if no plugin " \
                          "implements them, to NOT_CONTRIBUTIONS with the reason)"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_each_example_tests_every_hook_it_implements_and_passes_the_kit(example):
    name, module = plugin_of(example)
    text = text_of_tests(example)
    assert "PluginContractTests" in text and f'plugin = "{name}"' in text
    untested = sorted(hook for hook in implemented_hooks(module) - EXERCISED_BY_THE_KIT if hook not in text)
    assert untested == [], f"{example.name}: name each hook its tests exercise (in a test's name or docstring)"


def test_the_examples_are_never_installed_so_the_demo_never_enables_them():
    installed = {dist.metadata["Name"] for dist in metadata.distributions()}
    assert installed & {project(example)["name"] for example in EXAMPLES} == set()


def test_the_import_contracts_keep_every_example_on_the_sdk():
    linter = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts = {contract["name"]: contract for contract in linter["contracts"]}
    packages = {f"xrm_{plugin_of(example)[0]}" for example in EXAMPLES}
    assert packages <= set(linter["root_packages"])
    assert packages <= set(contracts["Plugins import the core only through xrm_sdk"]["source_modules"])
    assert packages <= set(contracts["No plugin imports another plugin's internals"]["modules"])


def test_the_guide_presents_every_example():
    page = (ROOT / "docs" / "examples.md").read_text()
    assert [example.name for example in EXAMPLES if f"sdk/examples/{example.name}/" not in page] == []
