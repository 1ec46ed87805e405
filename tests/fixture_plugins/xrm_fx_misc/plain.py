import xrm_sdk as xrm

MANIFEST = xrm.Manifest(name="plain", title="Plain")
