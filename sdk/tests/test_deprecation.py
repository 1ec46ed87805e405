"""Deprecated facade names keep working with a warning naming the replacement and removal version."""

import warnings

import pytest
import xrm_sdk
from packaging.version import Version
from xrm_sdk._deprecation import Deprecated


@pytest.fixture
def old_name(monkeypatch):
    monkeypatch.setitem(xrm_sdk.DEPRECATED, "PluginManifest", Deprecated("Manifest", removed_in="0.3"))
    return "PluginManifest"


def test_a_deprecated_name_returns_its_replacement_and_warns(old_name):
    with pytest.warns(DeprecationWarning) as caught:
        value = getattr(xrm_sdk, old_name)
    assert value is xrm_sdk.Manifest
    assert str(caught[0].message) == (
        "xrm_sdk.PluginManifest is deprecated and will be removed in xrm-sdk 0.3; use xrm_sdk.Manifest instead"
    )
    assert caught[0].filename == __file__  # the warning points at the caller's line, not the SDK


def test_from_import_of_a_deprecated_name_warns_too(old_name):
    with pytest.warns(DeprecationWarning, match="use xrm_sdk.Manifest instead"):
        from xrm_sdk import PluginManifest  # noqa: F401


def test_public_names_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert xrm_sdk.Manifest is not None


def test_an_unknown_name_is_still_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'xrm_sdk' has no attribute 'Manifset'"):
        xrm_sdk.Manifset  # noqa: B018


def test_every_deprecation_names_a_public_replacement_and_a_future_removal():
    current = Version(xrm_sdk.__version__)
    for old, alias in xrm_sdk.DEPRECATED.items():
        assert old not in xrm_sdk.__all__, f"{old} is deprecated: take it out of __all__ and sdk/api.txt"
        assert alias.replacement in xrm_sdk.__all__, f"{old}: replacement {alias.replacement} is not public"
        assert Version(alias.removed_in) > current, f"{old} was due for removal in {alias.removed_in}: remove it"
