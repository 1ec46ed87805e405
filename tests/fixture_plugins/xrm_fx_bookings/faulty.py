"""A plugin whose party panels hook always raises: the party 360 must survive it."""

import xrm_sdk as xrm

MANIFEST = xrm.Manifest(name="faultypanels", title="Faulty panels")


@xrm.hookimpl
def xrm_party_panels(tenant, party):
    raise RuntimeError("faulty panels")
