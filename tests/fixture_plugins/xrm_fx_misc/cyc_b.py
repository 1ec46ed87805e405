import xrm_sdk as xrm

MANIFEST = xrm.Manifest(name="cyc_b", title="Cycle B", requires=("cyc_a",))
