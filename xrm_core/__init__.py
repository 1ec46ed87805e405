"""XRM platform core.

Plugins must not import this package: they use :mod:`xrm_sdk`, the stable facade.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("xrm-core")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
