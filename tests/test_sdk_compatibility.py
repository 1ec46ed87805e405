"""A plugin declares the core and SDK ranges it supports; the platform refuses it outside them."""

from dataclasses import replace
from importlib.metadata import version

from plugin_dists import CORE, DISTS

SDK_VERSION = version("xrm-sdk")
CORE_VERSION = version("xrm-core")


def test_a_plugin_for_a_future_core_is_refused_naming_both_versions(make_platform):
    future = replace(DISTS["plain"], requires=("xrm-core>=7,<8",))
    platform = make_platform(future, "notes")
    assert platform.refused == {"plain": f"requires xrm-core<8,>=7, but xrm-core {CORE_VERSION} is installed"}
    assert list(platform.plugins) == ["notes"]


def test_a_plugin_for_another_sdk_is_refused_naming_both_versions(make_platform):
    future = replace(DISTS["plain"], requires=(CORE, "xrm-sdk>=7,<8"))
    old = replace(DISTS["notes"], requires=(CORE, "xrm-sdk<0.0.1"))
    platform = make_platform(future, old, "ledger")
    assert platform.refused == {
        "plain": f"requires xrm-sdk<8,>=7, but xrm-sdk {SDK_VERSION} is installed",
        "notes": f"requires xrm-sdk<0.0.1, but xrm-sdk {SDK_VERSION} is installed",
    }
    assert list(platform.plugins) == ["ledger"]


def test_refusing_a_plugin_for_its_sdk_range_refuses_its_dependents(make_platform):
    platform = make_platform(replace(DISTS["notes"], requires=(CORE, "xrm-sdk>=7")), "tasks")
    assert platform.refused["tasks"] == "requires plugin 'notes', which was refused"


def test_a_plugin_inside_both_ranges_loads(make_platform):
    current = replace(DISTS["plain"], requires=(CORE, f"xrm-sdk=={SDK_VERSION}"))
    platform = make_platform(current)
    assert (platform.refused, list(platform.plugins)) == ({}, ["plain"])
