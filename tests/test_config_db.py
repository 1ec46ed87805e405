"""Configuration safety and the embedded SQLite setup."""

import threading

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError

from xrm_core import migrate, tenants
from xrm_core.config import load_settings
from xrm_core.errors import ConfigurationError
from xrm_core.models import AuditEntry
from xrm_core.platform import Platform


def test_production_refuses_a_missing_or_weak_secret_key(tmp_path):
    with pytest.raises(ConfigurationError, match="XRM_SECRET_KEY is not set"):
        load_settings({"XRM_ENV": "production", "XRM_INSTANCE_PATH": str(tmp_path)})
    with pytest.raises(ConfigurationError, match="well-known default"):
        load_settings({"XRM_ENV": "production", "XRM_SECRET_KEY": "changeme"})
    settings = load_settings({"XRM_ENV": "production", "XRM_SECRET_KEY": "k" * 40})
    assert settings.is_production and settings.secret_key == "k" * 40


def test_development_generates_and_keeps_a_secret_key(tmp_path):
    first = load_settings({"XRM_INSTANCE_PATH": str(tmp_path)})
    second = load_settings({"XRM_INSTANCE_PATH": str(tmp_path)})
    assert len(first.secret_key) >= 48 and first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_bad_values_name_the_variable(tmp_path):
    with pytest.raises(ConfigurationError, match="XRM_PLUGIN_FAILURE_THRESHOLD='many' is not a valid value"):
        load_settings({"XRM_PLUGIN_FAILURE_THRESHOLD": "many"})
    with pytest.raises(ConfigurationError, match="XRM_ENV must be"):
        load_settings({"XRM_ENV": "staging"})


def test_database_url_defaults_to_sqlite_in_the_instance_folder(tmp_path):
    settings = load_settings({"XRM_INSTANCE_PATH": str(tmp_path)})
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'xrm.sqlite3'}"
    assert load_settings({"XRM_DATABASE_URL": "postgresql+psycopg://u@h/db"}).sqlalchemy_url.startswith("postgresql")


@pytest.fixture
def sqlite_platform(tmp_path):
    """Always SQLite, whatever XRM_TEST_DATABASE_URL says: these tests are about the embedded mode."""
    platform = Platform(load_settings({}, instance_path=tmp_path, database_url=""), plugins=[])
    migrate.upgrade(platform)
    yield platform
    platform.db.dispose()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(sqlite_platform):
    with sqlite_platform.db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_concurrent_writers_never_see_database_is_locked(sqlite_platform):
    """Each thread reads then writes in one transaction; BEGIN IMMEDIATE serialises them cleanly."""
    with sqlite_platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "acme", "ACME").id
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(20):
                with sqlite_platform.db.transaction(tenant_id) as session:
                    session.scalar(select(func.count()).select_from(AuditEntry))
                    session.add(AuditEntry(actor=f"thread-{n}", action="test.write", target=str(i)))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sqlite_platform.db.session(tenant_id) as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "test.write")) == 120


def test_read_only_connections_begin_deferred(sqlite_platform):
    statements: list[str] = []
    pool = sqlite_platform.db.engine.pool

    # SQLite's own trace: the BEGIN is emitted on the DBAPI connection, below SQLAlchemy's statement events.
    @event.listens_for(pool, "checkout")
    def _trace(dbapi_connection, _record, _proxy):
        dbapi_connection.set_trace_callback(statements.append)

    with sqlite_platform.db.session(all_tenants=True, read_only=True) as session:
        session.execute(text("SELECT 1"))
    with sqlite_platform.db.session(all_tenants=True) as session:
        session.execute(text("SELECT 1"))
    # A read scope begins once, its Core connection and ORM session joining that transaction.
    with sqlite_platform.db.reader(all_tenants=True) as scope:
        assert scope.orm_session().execute(text("SELECT 1")).scalar() == 1
        assert scope.dbapi_connection.in_transaction
    event.remove(pool, "checkout", _trace)
    assert [s for s in statements if s.startswith("BEGIN")] == ["BEGIN DEFERRED", "BEGIN IMMEDIATE", "BEGIN DEFERRED"]
    assert statements[-1] == "ROLLBACK" and pool.checkedout() == 0


def test_a_writer_waiting_past_the_busy_timeout_fails_with_sqlalchemys_error(tmp_path):
    platform = Platform(load_settings({"XRM_SQLITE_BUSY_TIMEOUT_MS": "50"}, instance_path=tmp_path, database_url=""),
                        plugins=[])
    try:
        with platform.db.session(all_tenants=True) as writer:
            writer.connection()  # BEGIN IMMEDIATE: holds the write lock
            with platform.db.session(all_tenants=True, read_only=True) as reader:
                assert reader.execute(text("SELECT 1")).scalar() == 1  # readers never wait
            with platform.db.reader(all_tenants=True) as scope:
                assert scope.connection().execute(text("SELECT 1")).scalar() == 1
            with pytest.raises(OperationalError, match="database is locked"), \
                    platform.db.session(all_tenants=True) as second:
                second.connection()
    finally:
        platform.db.dispose()
