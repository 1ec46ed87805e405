import xrm_sdk as xrm

MANIFEST = xrm.Manifest(name="cyc_a", title="Cycle A", requires=("cyc_b",))
