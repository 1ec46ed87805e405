"""A plugin whose hooks misbehave: one raises, one returns a name it does not own."""

import xrm_sdk as xrm

MANIFEST = xrm.Manifest(name="flaky", title="Flaky")


class Boom(RuntimeError):
    """What this plugin's navigation hook raises."""


@xrm.hookimpl
def xrm_navigation(tenant):
    raise Boom(f"navigation exploded for {tenant.slug}")


@xrm.hookimpl
def xrm_permissions():
    return [xrm.Permission("flaky.thing.read", "Read things"), xrm.Permission("notes.note.delete", "Not mine")]
