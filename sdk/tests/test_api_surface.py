"""The SDK's public surface is recorded in sdk/api.txt; changing one without the other fails here."""

from pathlib import Path

import xrm_sdk

SDK = Path(xrm_sdk.__file__).parent


def test_public_names_match_the_recorded_surface():
    recorded = (SDK.parent / "api.txt").read_text().split()
    assert sorted(xrm_sdk.__all__) == recorded, "update sdk/api.txt (and the changelog) when the SDK surface changes"


def test_every_public_name_resolves():
    missing = [name for name in xrm_sdk.__all__ if not hasattr(xrm_sdk, name)]
    assert missing == []


def test_the_package_ships_type_information():
    assert (SDK / "py.typed").exists()
