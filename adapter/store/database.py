"""The database shared by the sender's tracking store and the receiver's inbox.

One SQLAlchemy engine per database URL. Without a URL the database is the
SQLite file ``edms-adapter.sqlite3`` in the data folder. SQLite runs in WAL
mode with foreign keys on, a busy timeout and ``synchronous=FULL``, so a
committed record survives a crash of the process or of the machine. Tables use
portable column types only, so the same models run on PostgreSQL
(``postgresql+psycopg://user@host/edms``).

Both sides declare their tables on :class:`Base`; :meth:`Database.create_all`
imports the model modules and creates any missing table, then checks the
``schema_version`` table::

    database = open_database(config=config)
    with database.session() as session:
        session.add(...)
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Integer, String, create_engine, event, select
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from ..errors import ConfigError, StoreError
from ..i18n import N_

__all__ = [
    "DATABASE_FILE_NAME",
    "SCHEMA_VERSION",
    "Base",
    "Database",
    "SchemaVersion",
    "StoreSettings",
    "UtcDateTime",
    "create_database_engine",
    "default_database_url",
    "open_database",
    "utc_now",
]

logger = logging.getLogger(__name__)

DATABASE_FILE_NAME = "edms-adapter.sqlite3"

#: Version of the table layout written by this release. A database with a
#: higher version was written by a newer release and is not opened.
SCHEMA_VERSION = 1

# Modules that declare tables on Base. create_all imports them, so one call
# creates the tables of both sides.
_MODEL_MODULES = ("adapter.store.tracking", "adapter.store.inbox")


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """The ``[store]`` table."""

    #: SQLAlchemy database URL; empty means SQLite in the data folder.
    url: str = ""
    #: How long a SQLite connection waits for another writer's lock, in seconds.
    busy_timeout_seconds: float = 30.0


def utc_now() -> dt.datetime:
    """Return the current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back as an aware datetime.

    SQLite keeps no time zone, PostgreSQL does; this type gives both the same
    behaviour. A naive datetime is rejected because its zone is unknown.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given for a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of every table of edms-adapter."""


class SchemaVersion(Base):
    """The single row that records which table layout the database contains."""

    __tablename__ = "schema_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    software: Mapped[str] = mapped_column(String(40), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, nullable=False)


def default_database_url(data_dir: Path) -> str:
    """Return the URL of the SQLite file in ``data_dir``."""
    return f"sqlite:///{Path(data_dir) / DATABASE_FILE_NAME}"


def _configure_sqlite(engine: Engine, busy_timeout_ms: int, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                # FULL: a commit reaches the disk before it returns, so a record
                # written before sending survives a power loss, not only a crash.
                cursor.execute("PRAGMA synchronous=FULL")
        finally:
            cursor.close()


def create_database_engine(url: str, *, busy_timeout_seconds: float = 30.0) -> Engine:
    """Create the engine for ``url``; a SQLite file's folder is created when missing."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            N_("invalid database URL in store.url: {reason}; use e.g. sqlite:////var/lib/edms-adapter/edms.sqlite3 or postgresql+psycopg://user@host/edms"),
            key="store.url",
            reason=str(exc),
        ) from exc

    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)

    database = parsed.database or ""
    in_memory = database in ("", ":memory:")
    options: dict[str, Any] = {}
    if in_memory:
        # One shared connection, or every session would see its own empty database.
        options = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    else:
        _create_private_file(Path(database).expanduser())
    engine = create_engine(parsed, **options)
    _configure_sqlite(engine, int(busy_timeout_seconds * 1000), in_memory)
    return engine


def _create_private_file(path: Path) -> None:
    """Create the SQLite file at ``path``, and any missing folder above it, readable by this user only.

    The databases keep rosters (names, phones, e-mails) and signed documents.
    SQLite gives its -wal and -shm files the database file's permissions. An
    existing file or folder keeps its own.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass


class Database:
    """An engine with its session factory and the schema of both sides."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def display_url(self) -> str:
        """Return the URL with any password hidden, for messages and logs."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        """Return the dialect name: ``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def create_all(self) -> None:
        """Create missing tables of every model module and check the schema version."""
        for module_name in _MODEL_MODULES:
            if importlib.util.find_spec(module_name) is not None:
                importlib.import_module(module_name)
        try:
            Base.metadata.create_all(self.engine)
        except SQLAlchemyError as exc:
            raise self._store_error(exc) from exc
        self._check_schema_version()

    def _check_schema_version(self) -> None:
        from .. import __version__

        with self.session() as session:
            found = session.scalar(select(SchemaVersion.version).where(SchemaVersion.id == 1))
        if found is None:
            now = utc_now()
            try:
                with self.session() as session:
                    session.add(SchemaVersion(id=1, version=SCHEMA_VERSION, software=__version__, created_at=now, updated_at=now))
                return
            except StoreError:
                # Another process opening a new database wrote the row first.
                with self.session() as session:
                    found = session.scalar(select(SchemaVersion.version).where(SchemaVersion.id == 1))
                if found is None:
                    raise
        if found > SCHEMA_VERSION:
            raise StoreError(
                N_("the database {url} has table layout version {found}, newer than version {supported} of this release; upgrade edms-adapter or use another database"),
                url=self.display_url,
                found=found,
                supported=SCHEMA_VERSION,
            )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Open a session that commits when the block ends and rolls back on an exception.

        Database errors leave the block as :class:`~adapter.errors.StoreError`.
        """
        session = self._sessions()
        try:
            yield session
            session.commit()
        except SQLAlchemyError as exc:
            session.rollback()
            raise self._store_error(exc) from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """Open a Core connection in a transaction that commits when the block ends and rolls back on an exception.

        It is for paths that run Core statements only and would not use the
        ORM session's bookkeeping, such as the receiving service's request
        path. Database errors leave the block as
        :class:`~adapter.errors.StoreError`.
        """
        try:
            with self.engine.begin() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise self._store_error(exc) from exc

    def _store_error(self, exc: SQLAlchemyError) -> StoreError:
        # Only the first line of the driver's message: SQLite and PostgreSQL name
        # the constraint or the lock there, and PostgreSQL puts key values in DETAIL lines.
        reason = str(getattr(exc, "orig", None) or type(exc).__name__).splitlines()[0]
        logger.error("database %s failed: %s", self.display_url, reason)
        return StoreError(
            N_("the database {url} failed: {reason}; check that it is reachable and writable"),
            url=self.display_url,
            reason=reason,
        )

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_database(url: str | None = None, *, config: Any = None, create: bool = True) -> Database:
    """Open the database at ``url``, else ``[store] url``, else SQLite in the data folder.

    ``config`` is an :class:`adapter.config.Config`; without one the defaults
    apply. With ``create`` (the default) missing tables are created.
    """
    if config is None:
        from ..config import Config

        config = Config()
    settings = config.section("store", StoreSettings)
    chosen = url or settings.url or default_database_url(config.data_dir)
    database = Database(create_database_engine(chosen, busy_timeout_seconds=settings.busy_timeout_seconds))
    if create:
        database.create_all()
    return database
