"""Find installed plugins through the ``xrm.plugins`` entry-point group and read their metadata."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..contributions import PLUGIN_NAME, Manifest
from ..errors import ConfigurationError

ENTRY_POINT_GROUP = "xrm.plugins"


@dataclass
class PluginInfo:
    """An installed plugin, as its distribution and its ``MANIFEST`` describe it."""

    name: str
    distribution: str
    version: Version
    summary: str
    #: The distribution's unconditional ``Requires-Dist`` entries.
    requirements: list[Requirement] = field(default_factory=list)
    module: ModuleType | None = None
    manifest: Manifest | None = None
    #: Why the plugin cannot be used; ``None`` while it can.
    problem: str | None = None

    @property
    def title(self) -> str:
        return self.manifest.title if self.manifest else self.name

    @property
    def description(self) -> str:
        return (self.manifest.description if self.manifest else "") or self.summary

    @property
    def requires(self) -> tuple[str, ...]:
        return self.manifest.requires if self.manifest else ()

    def requirement_on(self, distribution: str) -> Requirement | None:
        wanted = canonicalize_name(distribution)
        return next((r for r in self.requirements if canonicalize_name(r.name) == wanted), None)


def discover(path: list[str] | None = None) -> list[PluginInfo]:
    """Import every installed plugin and describe it; problems are recorded, never raised.

    :param path: Folders to search for distributions instead of ``sys.path``.
    """
    found: dict[str, list[PluginInfo]] = {}
    seen_distributions: set[str] = set()
    for dist in metadata.distributions(**({"path": path} if path is not None else {})):
        dist_name = canonicalize_name(dist.metadata["Name"] or "")
        if dist_name in seen_distributions:  # the same distribution twice on sys.path: first one wins
            continue
        seen_distributions.add(dist_name)
        for entry_point in dist.entry_points:
            if entry_point.group == ENTRY_POINT_GROUP:
                found.setdefault(entry_point.name, []).append(_describe(dist, entry_point))
    plugins = []
    for name, infos in sorted(found.items()):
        if len(infos) > 1:
            dists = ", ".join(sorted(i.distribution for i in infos))
            infos[0].problem = f"plugin name {name!r} is provided by several distributions ({dists})"
        plugins.append(infos[0])
    return plugins


def _describe(dist: metadata.Distribution, entry_point: metadata.EntryPoint) -> PluginInfo:
    info = PluginInfo(
        name=entry_point.name,
        distribution=dist.metadata["Name"],
        version=Version("0"),
        summary=dist.metadata["Summary"] or "",
    )
    try:
        info.version = Version(dist.version)
        info.requirements = [
            req for req in map(Requirement, dist.requires or ()) if req.marker is None or req.marker.evaluate()
        ]
    except (InvalidVersion, InvalidRequirement) as exc:
        info.problem = f"distribution {info.distribution} has invalid metadata: {exc}"
        return info
    if not PLUGIN_NAME.match(info.name):
        info.problem = (
            f"plugin name {info.name!r} is invalid: use 2-40 lower-case letters, digits or underscores"
        )
        return info
    try:
        info.module = entry_point.load()
    except Exception as exc:  # a broken plugin must not stop the platform
        info.problem = f"cannot be imported: {type(exc).__name__}: {exc}"
        return info
    manifest = getattr(info.module, "MANIFEST", None)
    if not isinstance(manifest, Manifest):
        info.problem = f"module {entry_point.value} has no MANIFEST = xrm_sdk.Manifest(...)"
    elif manifest.name != info.name:
        info.problem = f"MANIFEST.name {manifest.name!r} differs from its entry-point name {info.name!r}"
    else:
        info.manifest = manifest
    return info


def only(plugins: list[PluginInfo], wanted: frozenset[str]) -> list[PluginInfo]:
    """The plugins named in ``wanted`` and every plugin they require, transitively.

    :raises ConfigurationError: a wanted plugin is not installed (the message lists those that are).
    """
    by_name = {info.name: info for info in plugins}
    missing = sorted(wanted - by_name.keys())
    if missing:
        raise ConfigurationError(f"XRM_PLUGINS names {', '.join(missing)}, which is not installed "
                                 f"(installed: {', '.join(sorted(by_name)) or 'none'})")
    chosen: set[str] = set()
    pending = list(wanted)
    while pending:
        name = pending.pop()
        if name in chosen or name not in by_name:
            continue  # a missing requirement is the resolver's to report, with the plugin that needs it
        chosen.add(name)
        pending.extend(by_name[name].requires)
    return [info for info in plugins if info.name in chosen]
