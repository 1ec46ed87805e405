"""Functions for workflow conditions (``xrm_workflow_functions``): one that reads parties as the
workflow, one with arguments checked when a workflow is saved, and one whose check breaks."""

import xrm_sdk as xrm
from sqlalchemy import select

MANIFEST = xrm.Manifest(name="askme", title="Ask me")


def party_name(session, party_id):
    """The party's name, read through ``session`` (the workflow's principal, in its tenant)."""
    name = session.scalar(select(xrm.Party.display_name).where(xrm.Party.id == party_id))
    if name is None:
        raise xrm.NotFound(f"no party #{party_id} that this workflow can see")
    return name


def check_small(session, arguments):
    [number] = arguments
    if number is not None and not (isinstance(number, int) and 0 <= number < 100):
        return f"{number!r} is not a small number"
    return None


def broken_check(session, arguments):
    raise RuntimeError("this check has a bug")


@xrm.hookimpl
def xrm_workflow_functions():
    return [
        xrm.WorkflowFunction("askme.party_name", params=("party_id",), evaluate=party_name),
        xrm.WorkflowFunction("askme.is_small", params=("number",), evaluate=lambda session, n: n < 100,
                             check_arguments=check_small),
        xrm.WorkflowFunction("askme.broken", params=(), evaluate=lambda session: True, check_arguments=broken_check),
    ]
