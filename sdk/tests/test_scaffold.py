"""``xrm plugin new``: names are checked, and the generated plugin installs and passes its own tests.

The template can only rot silently if nothing runs what it generates, so the slow test below
installs a freshly generated plugin, with the core and the SDK, into a new empty virtualenv (no
system or repository site-packages: a dependency the plugin, the SDK or the core forgot to
declare fails here) and runs the plugin's own test suite there. ``uv`` does the install: the same
resolution as pip, in seconds instead of a minute.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from xrm_sdk.scaffold import TEMPLATE, compatible_range, generate
from xrm_sdk.testing import PluginContractTests

from xrm_core.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize(("name", "reason"), [
    ("Helpdesk", "invalid plugin name 'Helpdesk'"),
    ("help-desk", "invalid plugin name 'help-desk'"),
    ("9lives", "invalid plugin name '9lives'"),
    ("x", "invalid plugin name 'x'"),
    ("core", "plugin name 'core' is reserved by the platform"),
    ("api", "plugin name 'api' is reserved by the platform"),
    ("class", "plugin name 'class' is reserved by the platform"),
])
def test_a_bad_name_is_one_line_error_and_nothing_is_written(tmp_path, name, reason):
    result = run_cli("plugin", "new", name, "--directory", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {reason}")
    assert result.output.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_an_existing_directory_is_refused_and_left_alone(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    result = run_cli("plugin", "new", "helpdesk", "--directory", str(tmp_path / "taken"))
    assert (result.exit_code, result.output) == (1, f"Error: {tmp_path / 'taken'} already exists; choose another --directory\n")
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]


def test_the_default_directory_is_named_after_the_distribution(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli("plugin", "new", "field_service", "--title", 'Field "service"')
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Created plugin field_service in xrm-plugin-field-service\n")
    target = tmp_path / "xrm-plugin-field-service"
    plugin = (target / "src/xrm_field_service/plugin.py").read_text()
    assert 'MANIFEST = xrm.Manifest(name="field_service", title="Field \\"service\\"", requires=())' in plugin
    assert '[project.entry-points."xrm.plugins"]\nfield_service = "xrm_field_service.plugin"' in (
        target / "pyproject.toml").read_text()


def test_every_generated_python_file_parses_and_nothing_is_left_unrendered(tmp_path):
    target = generate("helpdesk", tmp_path / "p")
    sources = sorted(p for p in target.rglob("*") if p.is_file())
    assert len(sources) == len(list(TEMPLATE.rglob("*.jinja")))
    for path in sources:
        text = path.read_text()
        assert "[[" not in text and "[%" not in text, path
        if path.suffix == ".py":
            ast.parse(text, filename=str(path))


@pytest.mark.parametrize(("version", "expected"), [
    ("0.1.0", ">=0.1,<0.2"), ("0.3.7", ">=0.3,<0.4"), ("1.4.2", ">=1.4,<2"), ("2", ">=2.0,<3"),
])
def test_the_declared_range_follows_semantic_versioning(version, expected):
    assert compatible_range(version) == expected


def test_generated_code_imports_the_core_only_through_the_sdk(tmp_path):
    target = generate("helpdesk", tmp_path / "p")
    config = tmp_path / "importlinter.ini"
    config.write_text(
        "[importlinter]\nroot_packages =\n    xrm_core\n    xrm_sdk\n    xrm_helpdesk\n"
        "include_external_packages = false\n\n"
        "[importlinter:contract:sdk-only]\nname = The plugin imports the core only through xrm_sdk\n"
        "type = forbidden\nsource_modules = xrm_helpdesk\nforbidden_modules = xrm_core\n"
        "allow_indirect_imports = true\n"
    )
    lint = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--config", str(config), "--no-cache"],
        capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(target / "src")}, check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "Contracts: 1 kept, 0 broken." in lint.stdout


def _expected_tests(target: Path) -> int:
    kit = [name for name in dir(PluginContractTests) if name.startswith("test_")]
    own = re.findall(r"^def test_", (target / "tests/test_items.py").read_text(), flags=re.MULTILINE)
    return len(kit) + len(own)


def test_a_generated_plugin_installs_in_a_fresh_environment_and_passes_its_tests(tmp_path):
    env_dir, target = tmp_path / "env", tmp_path / "xrm-plugin-helpdesk"
    python, xrm = env_dir / "bin" / "python", env_dir / "bin" / "xrm"
    uv = [sys.executable, "-m", "uv"]
    quiet = {"capture_output": True, "text": True, "check": False}
    # Outside the repository and with no PYTHONPATH, so only what is installed in the env is found.
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VIRTUAL_ENV", "PYTHONPATH"))}

    def run(*command, cwd=tmp_path):
        done = subprocess.run([str(c) for c in command], cwd=cwd, env=environ, **quiet)
        assert done.returncode == 0, f"{command}:\n{done.stdout[-5000:]}{done.stderr[-3000:]}"
        return done.stdout

    run(*uv, "venv", "--quiet", "--python", sys.executable, env_dir)
    # Not editable, and rebuilt from the working tree (uv would otherwise reuse a cached build of
    # the same version): what a user gets from `pip install`, packaging mistakes included.
    run(*uv, "pip", "install", "--quiet", "--python", python,
        "--refresh-package", "xrm-core", "--refresh-package", "xrm-sdk", ROOT, ROOT / "sdk")
    run(xrm, "plugin", "new", "helpdesk", "--title", "Help desk")
    run(*uv, "pip", "install", "--quiet", "--python", python, "--refresh-package", "xrm-plugin-helpdesk",
        f"{target}[test]")
    where = run(python, "-c", "import xrm_core, xrm_sdk, xrm_helpdesk; print(xrm_core.__file__, xrm_helpdesk.__file__)")
    assert all(path.startswith(str(env_dir)) for path in where.split()), where

    tests = subprocess.run([str(python), "-m", "pytest", "-q"], cwd=target, env=environ, **quiet)
    summary = tests.stdout.strip().splitlines()[-1] if tests.stdout.strip() else tests.stderr
    assert tests.returncode == 0, tests.stdout[-5000:] + tests.stderr[-2000:]
    assert re.fullmatch(rf"{_expected_tests(target)} passed in [\d.]+s( \(.*\))?", summary), summary
