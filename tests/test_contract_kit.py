"""The SDK's conformance kit, run on the fixture plugins the way a plugin author runs it."""

import pytest
from plugin_dists import DISTS
from xrm_sdk.testing import PluginContractTests


@pytest.fixture
def xrm_plugin_path(tmp_path):
    site = tmp_path / "site-packages"
    for name in ("notes", "tasks", "kitchen"):
        DISTS[name].write(site)
    return [str(site)]


class TestNotesContract(PluginContractTests):
    plugin = "notes"


class TestTasksContract(PluginContractTests):
    plugin = "tasks"


@pytest.mark.xrm_plugins("tasks")
def test_the_marker_loads_a_plugin_with_its_requirements(xrm_platform, xrm_client, xrm_session):
    assert list(xrm_platform.plugins) == ["notes", "tasks"]
    assert xrm_client.get("/api/tasks/count").get_json() == {"count": 0}
    assert xrm_client.get("/notes/").get_json() == {"notes": ["Welcome"]}


def test_the_kit_fails_a_plugin_that_breaks_the_rules(pytester, tmp_path):
    site = tmp_path / "site-packages"
    DISTS["flaky"].write(site)
    pytester.makepyfile(f"""
        import pytest
        from xrm_sdk.testing import PluginContractTests

        @pytest.fixture
        def xrm_plugin_path():
            return [{str(site)!r}]

        class TestFlakyContract(PluginContractTests):
            plugin = "flaky"
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["*test_contributions_are_named_after_the_plugin*",
                                 "*Permission 'notes.note.delete' must be named 'flaky.<*"])
