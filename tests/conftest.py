"""The test harness: the app and its database on SQLite and, where reachable, PostgreSQL.

Each database is created fresh and migrated once per test session; each test
runs inside one outer transaction that is rolled back at the end, so tests
are fast and never see each other's rows. Without a reachable PostgreSQL
its tests skip, unless ``WEFT_REQUIRE_POSTGRES=1``, when they fail.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from backend.accounts import service
from backend.accounts.models import Site
from backend.app import create_app
from backend.core.db import Database, create_engine
from backend.core.migrate import migrate
from backend.core.settings import Settings, load_settings
from tests.clock import start_moved_clock
from tests.factories import TEST_PASSWORD, Factory
from tests.payout_world import make_gateway  # noqa: F401
from tests.stripe_standin import stripe_standin, stripe_standin_server, webhook_receiver  # noqa: F401

DEFAULT_TEST_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BASE_URL = "http://127.0.0.1:8000"


def pytest_configure(config: pytest.Config) -> None:
    start_moved_clock()


def pytest_report_header(config: pytest.Config) -> str | None:
    instant = start_moved_clock()
    return None if instant is None else f"clock moved: the run starts at {instant.isoformat()}"


def postgres_required() -> bool:
    return os.environ.get("WEFT_REQUIRE_POSTGRES") == "1"


def admin_postgres_url() -> str:
    return os.environ.get("WEFT_TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _postgres_admin(statement: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(admin_postgres_url()), timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def fresh_postgres_database() -> str | None:
    """Create an empty database for this run; None (or a failure, when required) if no server answers."""
    name = f"weft_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        if postgres_required():
            pytest.fail(f"PostgreSQL is required (WEFT_REQUIRE_POSTGRES=1) but unreachable: {error}")
        return None
    return make_url(admin_postgres_url()).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def fresh_sqlite_database(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / f'weft-{uuid.uuid4().hex[:8]}.db'}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for the whole session."""
    url = fresh_postgres_database()
    if url is None:
        pytest.skip("PostgreSQL is not reachable (set WEFT_REQUIRE_POSTGRES=1 to fail instead)")
    yield url
    drop_postgres_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new empty database of each kind, for tests that move the schema itself."""
    if request.param == "sqlite":
        yield fresh_sqlite_database(tmp_path)
        return
    url = fresh_postgres_database()
    if url is None:
        assert not postgres_required()
        pytest.skip("PostgreSQL is not reachable")
    yield url
    drop_postgres_database(url)


def table_names(url: str) -> set[str]:
    async def read() -> set[str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database of each kind, shared by the session's tests."""
    if request.param == "sqlite":
        url = fresh_sqlite_database(tmp_path_factory.mktemp("sqlite"))
    else:
        url = request.getfixturevalue("postgres_url")
    migrate(url, "head")
    return url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[Any]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: Any) -> AsyncIterator[AsyncConnection]:
    """One outer transaction per test, rolled back at the end."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.fixture
def database(connection: AsyncConnection) -> Database:
    return Database(connection)


@pytest.fixture
async def db(database: Database) -> AsyncIterator[AsyncSession]:
    """A unit of work for arranging and checking a test's world (joins the outer transaction)."""
    async with database.session(write=True) as session:
        yield session


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(
        {
            "WEFT_DATABASE_URL": database_url,
            "WEFT_SECRET_KEY": "test-secret-key-" + "x" * 32,
            "WEFT_DATA_DIR": str(tmp_path),
            "WEFT_BASE_URL": BASE_URL,
        }
    )


@pytest.fixture
def app(settings: Settings, database: Database) -> Any:
    return create_app(settings, database=database)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, follow_redirects=False) as client:
        yield client


@pytest.fixture
async def site(db: AsyncSession) -> Site:
    return await service.ensure_site(db, name="Test Centre", timezone="Asia/Shanghai", country="CN")


@pytest.fixture
def people(db: AsyncSession, site: Site) -> Factory:
    return Factory(db=db, site=site)


async def csrf_token(client: httpx.AsyncClient, path: str = "/login") -> str:
    """Visit a page so the CSRF cookie is set, and return the token forms must echo."""
    await client.get(path)
    token = client.cookies.get("weft_csrf")
    assert token, "the CSRF cookie was not set"
    return token


async def login(client: httpx.AsyncClient, email: str, password: str = TEST_PASSWORD) -> httpx.Response:
    token = await csrf_token(client)
    return await client.post("/login", data={"email": email, "password": password, "_csrf_token": token})


async def post_form(client: httpx.AsyncClient, path: str, data: dict[str, str]) -> httpx.Response:
    """Post a form the way the browser does: with the CSRF field from the cookie."""
    token = client.cookies.get("weft_csrf") or await csrf_token(client)
    return await client.post(path, data={**data, "_csrf_token": token})
