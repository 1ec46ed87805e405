"""Discovery through real entry points, and the refusals of dependency resolution."""

from dataclasses import replace

from plugin_dists import DISTS

from xrm_core import migrate


def test_discovery_reads_name_version_and_description_from_the_distribution(make_platform):
    platform = make_platform("notes", "tasks")
    notes = platform.plugins["notes"]
    assert (notes.distribution, str(notes.version), notes.title) == ("xrm-fx-notes", "0.1.0", "Notes")
    assert notes.description == "Free-text notes."
    assert platform.plugins["tasks"].description == "A test plugin."  # falls back to the summary
    assert platform.refused == {}


def test_plugins_load_in_dependency_order(make_platform):
    assert list(make_platform("tasks", "notes", "plain").plugins) == ["notes", "plain", "tasks"]


def test_missing_dependency_is_refused_and_the_rest_starts(make_platform):
    platform = make_platform("tasks", "plain")
    assert platform.refused == {"tasks": "requires plugin 'notes', which is not installed"}
    assert list(platform.plugins) == ["plain"]


def test_version_conflict_names_the_constraint(make_platform):
    old_notes = replace(DISTS["notes"], version="1.2.0")
    platform = make_platform(old_notes, "tasks")
    assert platform.refused == {"tasks": "requires xrm-fx-notes<1,>=0.1, but plugin 'notes' is version 1.2.0"}
    assert list(platform.plugins) == ["notes"]


def test_incompatible_core_version_is_refused(make_platform):
    future = replace(DISTS["plain"], requires=("xrm-core>=7",))
    platform = make_platform(future, "notes")
    assert platform.refused["plain"].startswith("requires xrm-core>=7, but xrm-core ")
    assert "notes" in platform.plugins


def test_a_plugin_must_declare_its_core_range(make_platform):
    platform = make_platform(replace(DISTS["plain"], requires=()))
    assert platform.refused == {"plain": "declares no xrm-core version range in its dependencies"}


def test_cycle_is_refused_with_its_path(make_platform):
    platform = make_platform("cyc_a", "cyc_b", "plain")
    assert set(platform.refused) == {"cyc_a", "cyc_b"}
    assert all(reason.startswith("dependency cycle: ") for reason in platform.refused.values())
    assert "cyc_a" in platform.refused["cyc_a"] and "cyc_b" in platform.refused["cyc_a"]
    assert list(platform.plugins) == ["plain"]


def test_refusal_propagates_to_dependents(make_platform):
    broken_notes = replace(DISTS["notes"], requires=("xrm-core>=9",))
    platform = make_platform(broken_notes, "tasks")
    assert platform.refused["tasks"] == "requires plugin 'notes', which was refused"


def test_broken_plugins_are_refused_with_one_line_reasons(make_platform):
    platform = make_platform("nomanifest", "mismatch", "importerror", "typo", "badtable", "lonely", "plain")
    refused = platform.refused
    assert refused["nomanifest"] == "module xrm_fx_misc.nomanifest has no MANIFEST = xrm_sdk.Manifest(...)"
    assert refused["mismatch"] == "MANIFEST.name 'something_else' differs from its entry-point name 'mismatch'"
    assert refused["importerror"].startswith("cannot be imported: ImportError: ")
    assert refused["typo"].startswith("implements unknown hook(s) xrm_modles")
    assert refused["badtable"] == "models must be xrm_sdk.Model tables named 'badtable_…': things_of_someone_else"
    assert refused["lonely"] == "requires plugin 'ghost', which is not installed"
    assert all("\n" not in reason for reason in refused.values())
    assert list(platform.plugins) == ["plain"]
    assert platform.host.pm.get_plugin("typo") is None


def test_invalid_plugin_name_is_refused(make_platform):
    platform = make_platform(replace(DISTS["plain"], entry_point="Bad-Name"))
    assert "plugin name 'Bad-Name' is invalid" in platform.refused["Bad-Name"]


def test_two_distributions_claiming_one_name_are_refused(make_platform):
    impostor = replace(DISTS["notes"], distribution="xrm-fx-notes-fork")
    platform = make_platform("notes", impostor)
    assert platform.refused == {"notes": "plugin name 'notes' is provided by several distributions (xrm-fx-notes, xrm-fx-notes-fork)"}


def test_upgrade_is_refused_before_any_migration_when_a_plugin_is_refused(make_platform):
    platform = make_platform("tasks")
    try:
        migrate.upgrade(platform)
    except migrate.MigrationError as exc:
        assert "tasks: requires plugin 'notes', which is not installed" in str(exc)
    else:
        raise AssertionError("upgrade ran despite a refused plugin")
    assert migrate.table_names(platform) == set()
