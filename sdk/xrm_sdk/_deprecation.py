"""Deprecated names of the facade: they keep working, with a warning, until their removal version.

The policy (sdk/GUIDE.md, "Versioning"): a public name is never removed or renamed in place. The
new name is added to ``__all__``; the old one moves to ``xrm_sdk.DEPRECATED`` for at least one
minor release, where a module ``__getattr__`` (PEP 562) resolves it to the new object and warns
with a ``DeprecationWarning`` naming the replacement and the version that removes it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Deprecated:
    """An old public name and what replaces it."""

    #: The name to use instead (it is in ``xrm_sdk.__all__``).
    replacement: str
    #: The first xrm-sdk version without the old name.
    removed_in: str


def deprecated_names(
    module: str, namespace: Mapping[str, Any], deprecated: Mapping[str, Deprecated]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving ``deprecated`` names in ``namespace``, with a warning."""

    def __getattr__(name: str) -> Any:
        alias = deprecated.get(name)
        if alias is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(
            f"{module}.{name} is deprecated and will be removed in xrm-sdk {alias.removed_in}; "
            f"use {module}.{alias.replacement} instead",
            DeprecationWarning,
            stacklevel=2,
        )
        return namespace[alias.replacement]

    return __getattr__
