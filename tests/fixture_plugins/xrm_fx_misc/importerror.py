import xrm_sdk as xrm
from xrm_sdk import does_not_exist  # noqa: F401  (the import error is the point)

MANIFEST = xrm.Manifest(name="importerror", title="Import error")
