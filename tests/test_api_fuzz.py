"""Every operation of the OpenAPI document, fed input generated from it (schemathesis): never a
server error, and every client error an RFC 9457 problem document.

The demo tenant with the first-party plugins gives the operations real records to find; the client
is its administrator, so the answers are about the input, not about rights. Generation is
derandomized and its budget fixed (a few examples per operation, valid and invalid), so a run is the
same run every time; a failure lists every operation that failed with the request that did it.
Findings of the exploratory runs (with larger budgets) have their own tests in
``test_api_hostile_input.py``.
"""

from __future__ import annotations

import pytest
import schemathesis
from click.testing import CliRunner
from flask.cli import ScriptInfo
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from sqlalchemy import select

from xrm_core import tenants
from xrm_core.app import create_app
from xrm_core.cli import DEMO_ADMIN, DEMO_TENANT, cli
from xrm_core.identity.tokens import create_token
from xrm_core.models import Tenant, TenantStatus, User
from xrm_core.problems import PROBLEM_JSON

pytestmark = pytest.mark.xrm_plugins("contacts", "activities", "sales")

#: Examples per operation and generation mode: the whole document in well under a minute.
EXAMPLES = 1
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
#: Reads first, deletes last: records the generated ids may name are still there for the others.
METHOD_ORDER = {"get": 0, "delete": 2}


class Administrator:
    """The demo administrator's bearer token, minted again when a generated request revoked it.

    A request may deactivate the administrator, suspend the tenant or revoke the token by naming
    their ids: all legitimate, and all would turn every later request into a 401.
    """

    def __init__(self, platform, tenant_id: int) -> None:
        self.platform = platform
        self.tenant_id = tenant_id
        self.token = self._mint()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def refresh(self) -> None:
        self.token = self._mint()

    def _mint(self) -> str:
        with self.platform.db.transaction(all_tenants=True) as session:
            session.get(Tenant, self.tenant_id).status = TenantStatus.ACTIVE
        with self.platform.db.transaction(self.tenant_id) as session:
            user = session.scalar(select(User).where(User.email == DEMO_ADMIN))
            user.active = True
            return create_token(session, user, "fuzzing")[1]


@pytest.fixture
def demo_app(xrm_platform):
    app = create_app(platform=xrm_platform)
    result = CliRunner().invoke(cli, ["demo"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    with xrm_platform.db.session(all_tenants=True) as session:
        tenant_id = tenants.get_tenant(session, DEMO_TENANT).id
    return app, Administrator(xrm_platform, tenant_id)


def failure(case, response) -> str | None:
    """What is wrong with ``response`` to ``case``, or ``None``."""
    if response.status_code >= 500:
        problem = "server error"
    elif response.status_code >= 400 and PROBLEM_JSON not in response.headers.get("content-type", [""])[0]:
        problem = f"client error that is not {PROBLEM_JSON}"
    else:
        return None
    request = case.as_curl_command(headers={"Authorization": "Bearer …"})
    return f"{case.operation.label}: {response.status_code} {problem}\n    {request}\n    {response.text[:300]}"


def test_no_operation_answers_a_server_error_or_an_error_that_is_not_a_problem(demo_app):
    app, administrator = demo_app
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = sorted((result.ok() for result in schema.get_all_operations()),
                        key=lambda op: (METHOD_ORDER.get(op.method.lower(), 1), op.label))
    assert len(operations) > 200  # the core's and the three plugins' resources
    failures: list[str] = []
    for operation in operations:
        for mode in MODES:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def send(case):
                response = case.call(headers=administrator.headers())
                if response.status_code == 401 and "authorization" not in {k.lower() for k in case.headers or {}}:
                    administrator.refresh()
                found = failure(case, response)
                if found:
                    failures.append(found)

            send()
    assert not failures, f"{len(failures)} failure(s):\n" + "\n".join(failures)
