"""Decide which discovered plugins can run together, and in what order.

Every refusal is a one-line reason naming the plugin and the constraint; refusing one plugin
refuses the plugins that require it, and the rest of the platform still starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from importlib import metadata

from packaging.version import Version

from .discovery import PluginInfo

CORE_DISTRIBUTION = "xrm-core"
SDK_DISTRIBUTION = "xrm-sdk"


@dataclass
class Resolution:
    #: Usable plugins, each after the plugins it requires.
    loaded: list[PluginInfo] = field(default_factory=list)
    #: Plugin name -> why it was refused.
    refused: dict[str, str] = field(default_factory=dict)

    def names(self) -> list[str]:
        return [p.name for p in self.loaded]


def resolve(candidates: list[PluginInfo], core_version: Version) -> Resolution:
    """Check core compatibility, required plugins and their versions, and cycles."""
    by_name = {p.name: p for p in candidates}
    refused: dict[str, str] = {}
    for plugin in candidates:
        reason = (plugin.problem or _core_problem(plugin, core_version) or _sdk_problem(plugin)
                  or _dependency_problem(plugin, by_name))
        if reason:
            refused[plugin.name] = reason
    _refuse_dependents(candidates, refused)

    graph = {p.name: set(p.requires) for p in sorted(candidates, key=lambda p: p.name) if p.name not in refused}
    while True:
        try:
            order = list(TopologicalSorter(graph).static_order())
            break
        except CycleError as exc:
            cycle = exc.args[1]
            for name in cycle[:-1]:
                refused[name] = f"dependency cycle: {' -> '.join(cycle)}"
                graph.pop(name, None)
            _refuse_dependents(candidates, refused)
            graph = {name: deps for name, deps in graph.items() if name not in refused}
    return Resolution(loaded=[by_name[name] for name in order], refused=refused)


def _core_problem(plugin: PluginInfo, core_version: Version) -> str | None:
    requirement = plugin.requirement_on(CORE_DISTRIBUTION)
    if requirement is None:
        return f"declares no {CORE_DISTRIBUTION} version range in its dependencies"
    if not requirement.specifier.contains(core_version, prereleases=True):
        return f"requires {requirement}, but {CORE_DISTRIBUTION} {core_version} is installed"
    return None


def _sdk_problem(plugin: PluginInfo) -> str | None:
    """A plugin may also declare the SDK range it was written for; the installed SDK must match.

    The SDK is read as an installed distribution, never imported (the core does not import it).
    """
    requirement = plugin.requirement_on(SDK_DISTRIBUTION)
    if requirement is None:
        return None
    try:
        installed = Version(metadata.version(SDK_DISTRIBUTION))
    except metadata.PackageNotFoundError:
        return f"requires {requirement}, but {SDK_DISTRIBUTION} is not installed"
    if not requirement.specifier.contains(installed, prereleases=True):
        return f"requires {requirement}, but {SDK_DISTRIBUTION} {installed} is installed"
    return None


def _dependency_problem(plugin: PluginInfo, by_name: dict[str, PluginInfo]) -> str | None:
    for name in plugin.requires:
        required = by_name.get(name)
        if required is None:
            return f"requires plugin {name!r}, which is not installed"
        requirement = plugin.requirement_on(required.distribution)
        if requirement and not requirement.specifier.contains(required.version, prereleases=True):
            return f"requires {requirement}, but plugin {name!r} is version {required.version}"
    return None


def _refuse_dependents(candidates: list[PluginInfo], refused: dict[str, str]) -> None:
    changed = True
    while changed:
        changed = False
        for plugin in candidates:
            if plugin.name in refused:
                continue
            blocked = next((name for name in plugin.requires if name in refused), None)
            if blocked:
                refused[plugin.name] = f"requires plugin {blocked!r}, which was refused"
                changed = True
