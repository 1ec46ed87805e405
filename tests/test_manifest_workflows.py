"""Tenant manifests carry the tenant's workflows, in the format of ``xrm workflows export``."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner
from flask.cli import ScriptInfo
from plugin_dists import CORE, Dist
from sqlalchemy import select

from xrm_core import manifests, migrate, tenants
from xrm_core.app import create_app
from xrm_core.cli import cli
from xrm_core.errors import ManifestError
from xrm_core.models import Tenant
from xrm_core.workflows.models import Workflow, WorkflowVersion

FLOW = Dist("xrm-fx-flow", "0.1.0", "flow", "xrm_fx_flow.plugin", (CORE,))
TAGGER = {"description": "Tag new parties", "permissions": {"core.party.read": "tenant", "core.party.update": "tenant"},
          "trigger": {"kind": "event", "event": "core.party.created"},
          "steps": [{"action": "core.update_party", "params": {"add_tags": ["new"]}, "retries": 0}]}
ESCALATE = {"description": "", "permissions": {}, "trigger": {"kind": "manual"},
            "steps": [{"action": "flow.escalate", "params": {"level": 2}, "retries": 0}]}


@pytest.fixture
def platform(make_platform):
    platform = make_platform(FLOW)
    migrate.upgrade(platform)
    return platform


def apply(platform, manifest: dict) -> list[str]:
    with platform.db.transaction(all_tenants=True) as session:
        return manifests.apply(platform, session, manifest).changes


def export(platform, slug: str = "acme") -> dict:
    with platform.db.session(all_tenants=True) as session:
        return yaml.safe_load(manifests.export(platform, session, tenants.get_tenant(session, slug)))


def workflows(platform, slug: str = "acme") -> dict[str, tuple[bool, int]]:
    """name -> (enabled, current version), read in the tenant's scope."""
    with platform.db.session(all_tenants=True) as session:
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.slug == slug))
    with platform.db.session(tenant_id) as session:
        return {w.name: (w.enabled, w.current_version) for w in session.scalars(select(Workflow))}


def run_cli(platform, *args):
    info = ScriptInfo(create_app=lambda: create_app(platform=platform))
    return CliRunner().invoke(cli, list(args), obj=info, prog_name="xrm")


def manifest(*documents, plugins=None) -> dict:
    return {"tenant": "acme", "name": "ACME", "plugins": plugins if plugins is not None else {"flow": None},
            "workflows": list(documents)}


def test_apply_creates_the_workflows_after_enabling_the_plugins_they_use_and_is_idempotent(platform):
    wanted = manifest({"name": "Tagger", "definition": TAGGER},
                      {"name": "Escalate", "enabled": False, "definition": ESCALATE})
    changes = apply(platform, wanted)
    assert changes == ["created tenant acme", "enabled flow", "created workflow Escalate", "created workflow Tagger"]
    assert workflows(platform) == {"Tagger": (True, 1), "Escalate": (False, 1)}
    assert apply(platform, wanted) == []


def test_export_carries_the_workflows_as_xrm_workflows_export_writes_them_and_round_trips(platform):
    apply(platform, manifest({"name": "Tagger", "definition": TAGGER},
                             {"name": "Escalate", "enabled": False, "definition": ESCALATE}))
    exported = export(platform)
    cli_export = run_cli(platform, "workflows", "export", "--tenant", "acme")
    assert cli_export.exit_code == 0, cli_export.output
    assert exported["workflows"] == yaml.safe_load(cli_export.output)
    assert [w["name"] for w in exported["workflows"]] == ["Escalate", "Tagger"]
    assert exported["workflows"][1]["definition"] == TAGGER

    assert apply(platform, exported) == []  # export then apply: no change
    copy = {**exported, "tenant": "acme-copy"}
    assert "created workflow Tagger" in apply(platform, copy)
    assert workflows(platform, "acme-copy") == workflows(platform)
    assert export(platform, "acme-copy")["workflows"] == exported["workflows"]


def test_a_changed_definition_is_a_new_version_and_unlisted_workflows_are_disabled_not_deleted(platform):
    apply(platform, manifest({"name": "Tagger", "definition": TAGGER}, {"name": "Escalate", "definition": ESCALATE}))
    louder = {**ESCALATE, "steps": [{"action": "flow.escalate", "params": {"level": 3}}]}
    assert apply(platform, manifest({"name": "Escalate", "definition": louder})) == [
        "updated workflow Escalate", "disabled workflow Tagger"]
    assert workflows(platform) == {"Tagger": (False, 1), "Escalate": (True, 2)}
    with platform.db.session(all_tenants=True) as session:
        levels = session.execute(select(WorkflowVersion.number, WorkflowVersion.definition).join(
            Workflow, Workflow.id == WorkflowVersion.workflow_id).where(Workflow.name == "Escalate")).all()
    assert sorted((n, d["steps"][0]["params"]["level"]) for n, d in levels) == [(1, 2), (2, 3)]  # history kept
    assert apply(platform, manifest({"name": "Tagger", "definition": TAGGER},
                                    {"name": "Escalate", "definition": louder})) == ["enabled workflow Tagger"]


def test_a_manifest_without_workflows_leaves_them_alone_and_an_empty_list_disables_them(platform):
    apply(platform, manifest({"name": "Tagger", "definition": TAGGER}))
    assert apply(platform, {"tenant": "acme", "plugins": {"flow": None}}) == []
    assert workflows(platform) == {"Tagger": (True, 1)}
    assert apply(platform, manifest()) == ["disabled workflow Tagger"]


def test_workflows_stay_within_their_tenant(platform):
    apply(platform, manifest({"name": "Tagger", "definition": TAGGER}))
    apply(platform, {"tenant": "beta", "plugins": {}, "workflows": []})
    assert workflows(platform) == {"Tagger": (True, 1)}  # beta's empty list disabled nothing of acme's
    assert "workflows" not in export(platform, "beta")


@pytest.mark.parametrize(("workflows_value", "named"), [
    ("not a list", "workflows: must be a list"),
    ([{"name": "A"}], "workflows.0: expected a mapping with 'name' and 'definition'"),
    ([{"name": "A", "definition": TAGGER, "colour": "red"}], "workflows.0: unknown key(s) colour"),
    ([{"name": "A", "definition": TAGGER, "enabled": "yes"}], "workflows.0.enabled"),
    ([{"name": "A", "definition": TAGGER}, {"name": "A", "definition": TAGGER}], "workflows.1.name"),
    ([{"name": "A", "definition": {**TAGGER, "trigger": {"kind": "sometimes"}}}],
     "workflows.0.definition.trigger.kind"),
])
def test_an_invalid_workflow_names_its_place_and_changes_nothing(platform, workflows_value, named):
    with pytest.raises(ManifestError) as refused:
        apply(platform, {"tenant": "acme", "plugins": {}, "workflows": workflows_value})
    assert named in str(refused.value)
    with platform.db.session(all_tenants=True) as session:
        assert session.scalars(select(Tenant)).all() == []


def test_a_workflow_using_a_plugin_the_manifest_does_not_enable_is_refused(platform):
    apply(platform, manifest())
    with pytest.raises(ManifestError, match=r"workflows\.0\.definition\.steps\.0\.action: unknown action 'flow.escalate'"):
        apply(platform, manifest({"name": "Escalate", "definition": ESCALATE}, plugins={}))
    assert tenants_plugin_enabled(platform) is True  # rolled back: flow is still enabled


def tenants_plugin_enabled(platform) -> bool:
    with platform.db.session(all_tenants=True) as session:
        return tenants.plugin_states(session, tenants.get_tenant(session, "acme"))["flow"].enabled


def test_the_cli_applies_and_reports_in_one_line_errors(platform, tmp_path):
    path = tmp_path / "acme.yaml"
    path.write_text(yaml.safe_dump(manifest({"name": "Tagger", "definition": TAGGER})))
    applied = run_cli(platform, "tenants", "apply", str(path))
    assert applied.exit_code == 0, applied.output
    assert "created workflow Tagger" in applied.output
    path.write_text(yaml.safe_dump(manifest({"name": "Tagger", "definition": {**TAGGER, "steps": "many"}})))
    refused = run_cli(platform, "tenants", "apply", str(path))
    assert refused.exit_code != 0
    assert refused.output.startswith("Error: workflows.0.definition.steps") and len(refused.output.splitlines()) == 1
