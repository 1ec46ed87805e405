import xrm_sdk as xrm

MANIFEST = xrm.Manifest(name="typo", title="Typo")


@xrm.hookimpl
def xrm_modles():
    return []
