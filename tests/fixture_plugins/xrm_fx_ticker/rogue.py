"""A plugin whose periodic jobs break the rules: another plugin's name, no interval."""

import xrm_sdk as xrm

MANIFEST = xrm.Manifest(name="rogue", title="Rogue")


def _noop():
    """Never called: both jobs are refused."""


@xrm.hookimpl
def xrm_periodic_jobs():
    return [xrm.PeriodicJob("ticker.stolen", seconds=60, run=_noop),
            xrm.PeriodicJob("rogue.never", seconds=0, run=_noop)]
