"""``xrm plugin new``: generate a pip-installable plugin distribution from the SDK's template.

The template is rendered with plain Jinja2 rather than copier or cookiecutter: Jinja2 already comes
with Flask, so the scaffold adds no dependency to the platform, and the generator is
non-interactive (every value comes from validated command-line options), which is the only part of
those tools we would use. The template uses ``[[ … ]]`` / ``[% … %]`` delimiters so that the
generated plugin's own Jinja pages (``{{ … }}``) pass through untouched; files and folders named
with ``[[name]]`` are renamed, and the ``.jinja`` suffix keeps template files out of the SDK's own
imports, linters and test collection.
"""

from __future__ import annotations

import json
import keyword
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from packaging.version import Version

from xrm_sdk import XrmError

TEMPLATE = Path(__file__).parent / "template"
SUFFIX = ".jinja"

#: ``[a-z][a-z0-9_]{1,39}``: the plugin name is also a table prefix, URL segment and branch label.
_FIRST = "abcdefghijklmnopqrstuvwxyz"
_REST = _FIRST + "0123456789_"

#: Names a plugin cannot take: the core's own namespace (tables ``core_*``, permissions ``core.*``),
#: the URL segments the core serves, and the ``xrm`` sub-commands a plugin's commands would shadow.
RESERVED_NAMES = frozenset({
    "core", "xrm", "sdk", "api", "static", "admin", "login", "logout", "health", "identity",
    "init", "serve", "worker", "demo", "db", "tenants", "plugins", "plugin", "users", "events",
    "routes", "run", "shell",
})


class ScaffoldError(XrmError):
    """The plugin cannot be generated (invalid or taken name, existing directory)."""


@dataclass(frozen=True)
class PluginSpec:
    """Everything the template needs; built and checked by :func:`plugin_spec`."""

    #: The plugin's one identifier (entry-point name, table prefix, permission prefix, …).
    name: str
    title: str
    #: ``xrm_<name>``: the import package.
    package: str
    #: ``xrm-plugin-<name>``: the distribution on PyPI.
    distribution: str
    #: Version ranges the plugin declares on the core and the SDK it was generated with.
    core_range: str
    sdk_range: str


def compatible_range(version: str) -> str:
    """The range of releases semantic versioning promises are compatible with ``version``.

    Before 1.0 a minor release may break, so ``0.3.1`` gives ``>=0.3,<0.4``; from 1.0 on only a
    major one may, so ``1.4.2`` gives ``>=1.4,<2``.
    """
    release = Version(version).release + (0, 0)
    major, minor = release[0], release[1]
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f">={major}.{minor},<{upper}"


def check_name(name: str) -> None:
    """Raise :class:`ScaffoldError` with a one-line reason unless ``name`` can be a new plugin's name."""
    if not (2 <= len(name) <= 40 and name[0] in _FIRST and all(c in _REST for c in name)):
        raise ScaffoldError(
            f"invalid plugin name {name!r}: use 2-40 lower-case letters, digits or underscores, starting with a letter"
        )
    if name in RESERVED_NAMES or keyword.iskeyword(name):
        raise ScaffoldError(f"plugin name {name!r} is reserved by the platform; choose another")
    taken = next((ep for ep in metadata.entry_points(group="xrm.plugins") if ep.name == name), None)
    if taken is not None:
        raise ScaffoldError(f"a plugin named {name!r} is already installed ({taken.value}); choose another")


def plugin_spec(name: str, title: str = "") -> PluginSpec:
    """Check ``name`` and derive the package, distribution and version ranges from it."""
    check_name(name)
    title = " ".join(title.split()) or name.replace("_", " ").capitalize()
    return PluginSpec(
        name=name,
        title=title,
        package=f"xrm_{name}",
        distribution=f"xrm-plugin-{name.replace('_', '-')}",
        core_range=compatible_range(metadata.version("xrm-core")),
        sdk_range=compatible_range(metadata.version("xrm-sdk")),
    )


def generate(name: str, directory: Path | None = None, title: str = "") -> Path:
    """Write a new plugin distribution into ``directory`` (default ``./xrm-plugin-<name>``).

    :param name: The plugin's name; see :func:`check_name`.
    :param directory: Where to write it; must not exist yet.
    :param title: The human-readable name (defaults to the name, capitalised).
    :returns: The directory written.
    :raises ScaffoldError: invalid or reserved name, or the directory exists. Nothing is written.
    """
    spec = plugin_spec(name, title)
    target = Path(directory) if directory is not None else Path(spec.distribution)
    if target.exists():
        raise ScaffoldError(f"{target} already exists; choose another --directory")
    files = render(spec)
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target


def render(spec: PluginSpec) -> dict[Path, str]:
    """The generated distribution in memory: relative path -> file content."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        variable_start_string="[[",
        variable_end_string="]]",
        block_start_string="[%",
        block_end_string="%]",
        comment_start_string="[#",
        comment_end_string="#]",
    )
    #: A string literal valid in Python and TOML alike (JSON strings are both).
    env.filters["quoted"] = lambda value: json.dumps(value, ensure_ascii=False)
    context = vars(spec)
    files: dict[Path, str] = {}
    for source in sorted(TEMPLATE.rglob("*" + SUFFIX)):
        relative = source.relative_to(TEMPLATE).as_posix()
        target = env.from_string(relative[: -len(SUFFIX)]).render(context)
        files[Path(target)] = env.get_template(relative).render(context)
    return files
