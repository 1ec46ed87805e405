"""Tenant isolation by construction: every ORM statement on a tenant-owned table is scoped."""

import pytest
from sqlalchemy import delete, func, inspect, select, update
from xrm_fx_notes.plugin import Note
from xrm_fx_tasks.plugin import Task

from xrm_core import tenants
from xrm_core.db import Model
from xrm_core.errors import TenantScopeError
from xrm_core.models import PLATFORM_TABLES, User
from xrm_core.tenancy import TenantScoped, scoped_to


@pytest.fixture
def two_tenants(platform):
    with platform.db.transaction(all_tenants=True) as session:
        ids = [tenants.create_tenant(session, slug, slug).id for slug in ("acme", "beta")]
    for tenant_id, prefix in zip(ids, ("acme", "beta")):
        with platform.db.transaction(tenant_id) as session:
            notes = [Note(text=f"{prefix} note {i}") for i in range(3)]
            session.add_all(notes)
            session.flush()
            session.add(Task(title=f"{prefix} task", note_id=notes[0].id))
    return ids


def test_every_tenant_owned_table_is_scoped(platform):
    """Walk every mapped table: a tenant_id column means the model mixes in TenantScoped."""
    mapped = {mapper.local_table.name: mapper.class_ for mapper in Model.registry.mappers}
    assert {"core_users", "notes_notes", "tasks_tasks"} <= set(mapped)
    for table in Model.metadata.sorted_tables:
        if "tenant_id" in table.c:
            assert issubclass(mapped[table.name], TenantScoped), table.name
            assert table.c.tenant_id.nullable is False, table.name
        else:
            assert table.name in PLATFORM_TABLES, f"{table.name} has no tenant_id and is not a platform table"


def test_select_sees_only_the_session_tenant(platform, two_tenants):
    acme, beta = two_tenants
    with platform.db.session(acme) as session:
        assert sorted(session.scalars(select(Note.text))) == ["acme note 0", "acme note 1", "acme note 2"]
        assert session.scalar(select(func.count()).select_from(Note)) == 3


def test_get_by_id_of_another_tenant_finds_nothing(platform, two_tenants):
    acme, beta = two_tenants
    with platform.db.session(beta) as session:
        beta_note = session.scalars(select(Note)).first()
    with platform.db.session(acme) as session:
        assert session.get(Note, beta_note.id) is None


def test_joins_are_scoped_on_every_tenant_owned_table(platform, two_tenants):
    acme, _ = two_tenants
    with platform.db.session(acme) as session:
        rows = session.execute(select(Task.title, Note.text).join(Note, Task.note_id == Note.id)).all()
        # Joining every note (both tenants) still only reaches this tenant's rows.
        crossed = session.execute(select(Task.title, Note.text).join(Note, Note.id > 0)).all()
    assert rows == [("acme task", "acme note 0")]
    assert {text for _, text in crossed} == {"acme note 0", "acme note 1", "acme note 2"}


def test_bulk_update_and_delete_touch_only_the_session_tenant(platform, two_tenants):
    acme, beta = two_tenants
    with platform.db.transaction(acme) as session:
        session.execute(update(Note).values(text="changed"))
        session.execute(delete(Task))
    with platform.db.session(beta) as session:
        assert sorted(session.scalars(select(Note.text))) == ["beta note 0", "beta note 1", "beta note 2"]
        assert session.scalar(select(func.count()).select_from(Task)) == 1
    with platform.db.session(acme) as session:
        assert set(session.scalars(select(Note.text))) == {"changed"}


def test_new_rows_are_stamped_with_the_session_tenant(platform, two_tenants):
    acme, _ = two_tenants
    with platform.db.transaction(acme) as session:
        note = Note(text="stamped")
        session.add(note)
    assert note.tenant_id == acme


def test_writing_into_another_tenant_is_refused(platform, two_tenants):
    acme, beta = two_tenants
    with pytest.raises(TenantScopeError, match="cannot create Note in another tenant"):
        with platform.db.transaction(acme) as session:
            session.add(Note(text="smuggled", tenant_id=beta))
    with pytest.raises(TenantScopeError, match="cannot move to another tenant"):
        with platform.db.transaction(acme) as session:
            session.scalars(select(Note)).first().tenant_id = beta


def test_without_a_tenant_everything_fails_closed(platform, two_tenants):
    with platform.db.session() as session:
        with pytest.raises(TenantScopeError, match="no tenant in scope for a statement on Note"):
            session.scalars(select(Note)).all()
        with pytest.raises(TenantScopeError):
            session.execute(delete(Note))
        with pytest.raises(TenantScopeError, match="cannot create User without a tenant"):
            session.add(User(email="x@example.com", display_name="x", password_hash="x"))
            session.flush()


def test_platform_sessions_see_every_tenant_and_can_narrow_to_one(platform, two_tenants):
    acme, _ = two_tenants
    with platform.db.session(all_tenants=True) as session:
        assert session.scalar(select(func.count()).select_from(Note)) == 6
        with scoped_to(session, acme):
            assert session.scalar(select(func.count()).select_from(Note)) == 3
        assert session.scalar(select(func.count()).select_from(Note)) == 6


def test_foreign_keys_are_enforced_on_every_backend(platform, two_tenants):
    """Foreign keys are enforced (SQLite too): a note cannot point at a missing tenant."""
    acme, _ = two_tenants
    with pytest.raises(Exception) as excinfo, platform.db.transaction(all_tenants=True) as session:
        session.add(Note(text="orphan", tenant_id=999_999))
    assert "foreign key" in str(excinfo.value).lower()
    assert inspect(platform.db.engine).get_foreign_keys("notes_notes")[0]["referred_table"] == "core_tenants"
