import xrm_sdk as xrm

MANIFEST = xrm.Manifest(name="lonely", title="Lonely", requires=("ghost",))
