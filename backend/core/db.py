"""Database: the declarative base, engines and the unit of work.

SQLite needs care to be a serious embedded database: WAL so readers never
block the writer, foreign keys on, a busy timeout, and ``BEGIN IMMEDIATE`` for
write transactions. A deferred transaction that reads and then writes cannot
upgrade its lock under concurrency and fails at once with "database is
locked" whatever the busy timeout, so a writer takes the write lock first.
We take over transaction control as in SQLAlchemy's documented pysqlite
recipe; without it SAVEPOINT-based test isolation silently does nothing.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from sqlalchemy import BigInteger, DateTime, Enum, Integer, MetaData, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITE_OPTION = "weft_write"

# Errors that mean the database refuses every write until an operator acts: SQLite's primary result codes
# SQLITE_READONLY and SQLITE_FULL (extended codes keep them in the low byte), PostgreSQL's SQLSTATEs
# read_only_sql_transaction (default_transaction_read_only, a hot standby) and disk_full.
SQLITE_REFUSALS = frozenset({8, 13})
POSTGRES_REFUSALS = frozenset({"25006", "53100"})
REFUSAL_LOG_EVERY = dt.timedelta(minutes=1)

# BIGINT on PostgreSQL; INTEGER on SQLite so the column aliases the rowid and autoincrements.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def value_enum(kind: type[enum.Enum], name: str, *, length: int = 16) -> Enum:
    """Enums stored as their values in a VARCHAR with a CHECK, alike on both databases."""
    return Enum(
        kind,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


class Base(DeclarativeBase):
    """Every model's base: one naming convention, so migrations name constraints alike everywhere."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IdMixin:
    id: Mapped[int] = mapped_column(BigId, primary_key=True)


class Actor(msgspec.Struct, frozen=True):
    """Who is writing: a user, or ``system`` for a command-line override."""

    id: int | None
    label: str
    role: str
    reason: str = ""


def act_as(session: AsyncSession, actor: Actor) -> None:
    """Mark a unit of work as done by ``actor``; privileged actors' writes are audited (accounts.audit)."""
    session.info["actor"] = actor


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _causes(error: BaseException) -> list[BaseException]:
    """``error``, the driver error SQLAlchemy wraps in it, and what caused each, without looping."""
    found: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return found


def refuses_writes(error: BaseException) -> bool:
    """Whether ``error`` is the database refusing writes (read-only, or full), not a fault of the request.

    Nothing the caller can change will help and nothing is broken in the code, so the web answers 503 in
    plain words and the loops say it once a minute instead of a traceback per attempt.
    """
    for cause in _causes(error):
        code = getattr(cause, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF in SQLITE_REFUSALS:
            return True
        if getattr(cause, "sqlstate", None) in POSTGRES_REFUSALS:
            return True
    return False


class WriteRefusals:
    """Says in one line, at most once per ``every``, that the database refuses writes.

    A loop that ticks every few seconds against a read-only database would otherwise bury the log in
    identical tracebacks; one line a minute tells the operator what is wrong and that it still lasts.
    """

    def __init__(self, log: logging.Logger, *, meanwhile: str, every: dt.timedelta = REFUSAL_LOG_EVERY) -> None:
        self.log = log
        self.meanwhile = meanwhile
        self.every = every
        self._said_at: dt.datetime | None = None

    def noted(self, error: BaseException, *, now: dt.datetime | None = None) -> bool:
        """True when ``error`` is a refused write (then logged at most once per ``every``); False leaves it to
        the caller."""
        if not refuses_writes(error):
            return False
        now = now or utcnow()
        if self._said_at is None or now - self._said_at >= self.every:
            reason = str(getattr(error, "orig", None) or error).splitlines()[0]
            self.log.warning("the database refuses writes (read-only or full: %s); %s", reason, self.meanwhile)
            self._said_at = now
        return True


def async_url(database_url: str) -> URL:
    """Pick the async driver for a plain ``sqlite://`` or ``postgresql://`` URL."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite" and url.drivername == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql" and url.drivername in {"postgresql", "postgres"}:
        return url.set(drivername="postgresql+asyncpg")
    return url


def _install_sqlite_transaction_control(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    """The engine for a URL; on PostgreSQL without a pre-ping on every checkout.

    A ping is a round trip on every request (two with authentication). Without it a database restart
    fails the requests already holding a pooled connection once; SQLAlchemy then invalidates the pool
    and the next requests reconnect.
    """
    url = async_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url, **kwargs)
        _install_sqlite_transaction_control(engine)
        return engine
    return create_async_engine(url, **kwargs)


class Database:
    """The engine and the one way to open a unit of work on it.

    ``bind`` may be an ``AsyncConnection`` holding an outer transaction: tests
    use that so every session joins it through a savepoint and is rolled back.
    """

    def __init__(self, bind: AsyncEngine | AsyncConnection) -> None:
        self.bind = bind
        join = {"join_transaction_mode": "create_savepoint"} if isinstance(bind, AsyncConnection) else {}
        self._sessions = async_sessionmaker(bind, expire_on_commit=False, **join)
        self._lookups = self._sessions
        if isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql":
            autocommit = bind.execution_options(isolation_level="AUTOCOMMIT")
            self._lookups = async_sessionmaker(autocommit, expire_on_commit=False)

    @classmethod
    def from_url(cls, database_url: str) -> Database:
        return cls(create_engine(database_url))

    @property
    def dialect(self) -> str:
        return self.bind.dialect.name

    @asynccontextmanager
    async def session(self, *, write: bool = False) -> AsyncIterator[AsyncSession]:
        """A unit of work: committed when the block ends cleanly, rolled back otherwise.

        ``write=True`` starts the transaction with the write lock on SQLite.
        """
        async with self._sessions() as session:
            if write:
                await session.connection(execution_options={WRITE_OPTION: True})
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def lookup(self) -> AsyncIterator[AsyncSession]:
        """One read that needs no transaction, such as who a request's credential belongs to.

        On PostgreSQL it runs in autocommit: no BEGIN and COMMIT round trips, which are most of the
        cost of a single-row read and are paid by every authenticated request. Elsewhere (SQLite, or
        a test's outer transaction) it is an ordinary unit of work.
        """
        async with self._lookups() as session:
            yield session

    async def dispose(self) -> None:
        if isinstance(self.bind, AsyncEngine):
            await self.bind.dispose()
