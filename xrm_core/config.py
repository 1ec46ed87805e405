"""Settings read from ``XRM_*`` environment variables, with safe embedded defaults."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .errors import ConfigurationError

#: Environment variable prefix for every setting.
PREFIX = "XRM_"


@dataclass(frozen=True)
class Settings:
    """The platform's configuration; build it with :func:`load_settings`."""

    #: ``development`` (default) or ``production``; production refuses unsafe defaults.
    env: str = "development"
    #: Folder for the SQLite database, the generated secret key, backups and purge archives.
    instance_path: Path = field(default_factory=lambda: Path.cwd() / "instance")
    #: SQLAlchemy URL; empty means a SQLite file inside the instance folder.
    database_url: str = ""
    #: Celery broker URL; empty means the embedded in-process dispatcher.
    broker_url: str = ""
    secret_key: str = ""
    #: Consecutive failures of one plugin for one tenant before it is disabled for that tenant.
    plugin_failure_threshold: int = 5
    #: Milliseconds a SQLite connection waits for the write lock before giving up.
    sqlite_busy_timeout_ms: int = 5000
    #: The installed plugins to load (with the plugins they require); ``None``: every installed one.
    plugins: frozenset[str] | None = None

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.instance_path / 'xrm.sqlite3'}"


def load_settings(environ: dict[str, str] | None = None, **overrides) -> Settings:
    """Read settings from ``environ`` (default: the process environment), then apply ``overrides``.

    In production a missing secret key is an error; in development one is generated once and kept
    in the instance folder, so sessions survive restarts without anyone choosing a weak default.
    """
    environ = os.environ if environ is None else environ
    values: dict = {}
    for name, converter in (
        ("env", str),
        ("instance_path", lambda v: Path(v).resolve()),
        ("database_url", str),
        ("broker_url", str),
        ("secret_key", str),
        ("plugin_failure_threshold", int),
        ("sqlite_busy_timeout_ms", int),
        ("plugins", _plugin_names),
    ):
        raw = environ.get(PREFIX + name.upper())
        if raw is not None and raw != "":
            try:
                values[name] = converter(raw)
            except ValueError:
                raise ConfigurationError(f"{PREFIX}{name.upper()}={raw!r} is not a valid value") from None
    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = Settings(**values)
    if settings.database_url:
        try:
            make_url(settings.database_url)
        except ArgumentError:
            raise ConfigurationError(f"{PREFIX}DATABASE_URL is not a database URL (postgresql+psycopg://user:password@host/db)") from None
    if settings.env not in ("development", "production"):
        raise ConfigurationError(f"{PREFIX}ENV must be 'development' or 'production', not {settings.env!r}")
    if not settings.secret_key:
        if settings.is_production:
            raise ConfigurationError(
                f"{PREFIX}SECRET_KEY is not set: a production start needs a secret key of its own"
            )
        settings = _with_generated_secret(settings)
    elif settings.is_production and settings.secret_key in WEAK_SECRET_KEYS:
        raise ConfigurationError(f"{PREFIX}SECRET_KEY is a well-known default: choose a secret of your own")
    return settings


def _plugin_names(raw: str) -> frozenset[str]:
    """``XRM_PLUGINS``: comma-separated plugin names, or ``none`` to load no plugin at all."""
    names = frozenset(name.strip() for name in raw.split(",") if name.strip())
    return frozenset() if names == {"none"} else names


#: Values copied from tutorials that must never guard a production instance.
WEAK_SECRET_KEYS = frozenset({"dev", "secret", "changeme", "change-me", "development", "xrm"})


def _with_generated_secret(settings: Settings) -> Settings:
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    key_file = settings.instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return Settings(**{**settings.__dict__, "secret_key": key_file.read_text().strip()})
