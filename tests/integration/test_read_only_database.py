"""A database that refuses writes (read-only, full) answers 503 in plain words; reads keep working.

The module builds one database of each kind, signs an agent in while it is writable, then turns it read-only
the way an operator's mistake or a failover would: SQLite opened with ``mode=ro``, PostgreSQL with
``default_transaction_read_only`` set on the database. The tests only read it or are refused.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import time_machine
from litestar import Litestar
from sqlalchemy.engine import make_url

from backend.accounts import service
from backend.accounts.models import Role
from backend.app import create_app
from backend.core.db import Database, utcnow
from backend.core.migrate import migrate
from backend.core.settings import Settings, load_settings
from backend.worker import PushWorker
from tests.conftest import (
    BASE_URL,
    _postgres_admin,
    drop_postgres_database,
    fresh_postgres_database,
    fresh_sqlite_database,
    login,
    post_form,
)
from tests.factories import Factory, bearer

REFUSAL_WORDS = "read-only"


@dataclass
class ReadOnlyWorld:
    """A signed-in browser and an API token, first on a writable database and then on the same one read-only."""

    settings: Settings
    database: Database
    client: httpx.AsyncClient
    agent_headers: dict[str, str]


def read_only_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite+aiosqlite:///file:{parsed.database}?mode=ro&uri=true"
    return url


async def turn_read_only(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        await _postgres_admin(f'ALTER DATABASE "{parsed.database}" SET default_transaction_read_only = on')


def settings_for(url: str, directory: Path) -> Settings:
    return load_settings(
        {
            "WEFT_DATABASE_URL": url,
            "WEFT_SECRET_KEY": "test-secret-key-" + "x" * 32,
            "WEFT_DATA_DIR": str(directory),
            "WEFT_BASE_URL": BASE_URL,
        }
    )


def client_of(app: Litestar, cookies: httpx.Cookies | None = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL, cookies=cookies)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of each kind for this module's tests, which only read it or are refused."""
    if request.param == "sqlite":
        yield fresh_sqlite_database(tmp_path_factory.mktemp("read-only"))
        return
    url = fresh_postgres_database()
    if url is None:
        pytest.skip("PostgreSQL is not reachable")
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="module")
async def world(empty_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ReadOnlyWorld]:
    tmp_path = tmp_path_factory.mktemp("settings")
    await asyncio.to_thread(migrate, empty_database_url, "head")
    writable = Database.from_url(empty_database_url)
    async with writable.session(write=True) as db:
        site = await service.ensure_site(db, name="Test Centre", timezone="Asia/Shanghai", country="CN")
        people = Factory(db=db, site=site)
        agent = await people.make(Role.agent)
        agent_headers = await bearer(db, agent)
    async with client_of(create_app(settings_for(empty_database_url, tmp_path), database=writable)) as browser:
        assert (await login(browser, agent.email)).status_code == 303
        cookies = browser.cookies
    await writable.dispose()
    await turn_read_only(empty_database_url)
    url = read_only_url(empty_database_url)
    read_only = Database.from_url(url)
    settings = settings_for(url, tmp_path)
    try:
        async with client_of(create_app(settings, database=read_only), cookies) as client:
            yield ReadOnlyWorld(settings=settings, database=read_only, client=client, agent_headers=agent_headers)
    finally:
        await read_only.dispose()


async def test_reads_keep_working_for_a_token_and_a_session(world: ReadOnlyWorld) -> None:
    """The token's "last used" stamp cannot be written; the read it came with is answered all the same."""
    me = await world.client.get("/api/v1/me", headers=world.agent_headers)
    assert me.status_code == 200
    assert me.json()["via"] == "token"
    for page in ["/app", "/app/availability", "/app/shifts", "/app/learn", "/app/inbox"]:
        answer = await world.client.get(page)
        assert (page, answer.status_code) == (page, 200)
        assert "<html" in answer.text


async def test_a_write_answers_503_in_plain_words_in_json_and_on_pages(
    world: ReadOnlyWorld, caplog: pytest.LogCaptureFixture
) -> None:
    token = (await world.client.get("/api/v1/tokens", headers=world.agent_headers)).json()[0]
    refused = await world.client.delete(f"/api/v1/tokens/{token['id']}", headers=world.agent_headers)
    assert refused.status_code == 503
    assert REFUSAL_WORDS in refused.json()["message"]
    assert refused.json()["request_id"] == refused.headers["x-request-id"]
    assert refused.headers["retry-after"]
    page = await post_form(world.client, "/locale", {"locale": "zh-Hans", "next": "/app"})
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert REFUSAL_WORDS in page.text
    assert "Traceback" not in caplog.text
    assert (await world.client.get("/api/v1/me", headers=world.agent_headers)).json()["user"]["locale"] == "en"


def refusal_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if REFUSAL_WORDS in record.getMessage()]


async def test_the_push_worker_logs_one_line_a_minute_not_a_traceback_a_round(
    world: ReadOnlyWorld, caplog: pytest.LogCaptureFixture, time_machine: time_machine.TimeMachineFixture
) -> None:
    time_machine.move_to(utcnow(), tick=True)
    worker = PushWorker(world.database, world.settings)
    caplog.set_level(logging.INFO, logger="weft")
    for _ in range(5):
        await worker.run_round()
    assert len(refusal_lines(caplog)) == 1
    assert refusal_lines(caplog)[0].exc_info is None
    time_machine.shift(dt.timedelta(seconds=61))
    await worker.run_round()
    assert len(refusal_lines(caplog)) == 2  # still refusing a minute later: said again, once
    assert "Traceback" not in caplog.text
