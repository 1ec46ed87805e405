"""Server render time of typical web UI pages at a modest scale (a measurement, not a test).

Builds a throwaway platform (SQLite in a temporary folder, or the database of
``XRM_TEST_DATABASE_URL``) with one tenant of ``--parties`` parties spread over two departments,
signs in as a department member, then renders each page ``--rounds`` times through the Flask test
client (no network, no browser) and prints the median and 95th percentile per page.

    .venv/bin/python scripts/ui_render_time.py --parties 10000
    bash scripts/postgres.sh .venv/bin/python scripts/ui_render_time.py --parties 10000
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

from xrm_core import migrate, tenants
from xrm_core.app import create_app
from xrm_core.config import load_settings
from xrm_core.graph.models import Party
from xrm_core.graph.service import add_role, bulk_create_parties, define_relationship_type, relate
from xrm_core.identity import admin
from xrm_core.identity.bootstrap import ensure_administrator
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Scope
from xrm_core.identity.passwords import hash_password
from xrm_core.models import User
from xrm_core.platform import Platform
from xrm_core.plugins.discovery import discover

PASSWORD = "a long passphrase for measuring"


def build(platform: Platform, parties: int) -> int:
    """The tenant ``bench``; returns the id of a party the measuring user may see."""
    with platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "bench", "Bench Industries").id
    with platform.db.transaction(tenant_id) as session:
        ensure_administrator(session, platform, "admin@bench.test", PASSWORD)
        sales, support = admin.create_department(session, "Sales"), admin.create_department(session, "Support")
        role = admin.define_role(session, "Staff", {f"core.party.{a}": Scope.DEPARTMENT for a in
                                                    ("read", "create", "update", "export")},
                                 set(all_permissions(platform)))
        user = User(email="sam@bench.test", display_name="Sam", department_id=sales.id,
                    password_hash=hash_password(PASSWORD, email="sam@bench.test"))
        session.add(user)
        session.flush()
        admin.assign_role(session, user, role)
        ids = bulk_create_parties(session, (
            {"kind": "person" if n % 3 else "organization", "display_name": f"Party {n:06d}",
             "tags": ["bench"], "department_id": (sales if n % 2 else support).id}
            for n in range(parties)
        ))
        define_relationship_type(session, "knows", "knows", "is known by")
        centre = session.get(Party, ids[1])
        for n, party_id in enumerate(ids[3:60:2]):
            other = session.get(Party, party_id)
            add_role(session, other, "customer")
            if n < 10:
                relate(session, centre, other, "knows")
        add_role(session, centre, "customer")
        return centre.id


def measure(client, url: str, rounds: int) -> tuple[float, float]:
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(environ={}, instance_path=Path(folder),
                                 database_url=os.environ.get("XRM_TEST_DATABASE_URL", ""))
        platform = Platform(settings, plugins=discover(path=[]))
        migrate.upgrade(platform)
        centre = build(platform, args.parties)
        app = create_app(platform=platform)
        client = app.test_client()
        form = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        client.post("/login", data={"csrf_token": token, "tenant": "bench", "email": "sam@bench.test",
                                    "password": PASSWORD})
        second = re.search(r'rel="next" href="([^"]+)"', client.get("/parties").get_data(as_text=True))
        pages = {
            "home": "/",
            "party list (first page)": "/parties",
            "party list (next page)": second.group(1).replace("&amp;", "&"),
            "party list (name filter, newest first)": "/parties?q=Party+0012&sort=-created_at",
            "party list (role filter)": "/parties?role=customer",
            "party list (kind filter)": "/parties?kind=organization",
            "party page": f"/parties/{centre}",
            "search": "/search?q=Party+00123",
        }
        database = platform.db.engine.dialect.name
        print(f"{args.parties} parties, {database}, {args.rounds} renders per page (ms)")
        for name, url in pages.items():
            median, p95 = measure(client, url, args.rounds)
            print(f"  {name:42} median {median:6.1f}   p95 {p95:6.1f}")
        platform.db.dispose()


if __name__ == "__main__":
    main()
