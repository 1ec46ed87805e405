import xrm_sdk as xrm

MANIFEST = xrm.Manifest(name="something_else", title="Mismatch")
