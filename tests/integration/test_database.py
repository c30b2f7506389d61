"""SQLite as a serious embedded database: WAL, foreign keys, and writers that never trip over each other."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from backend.accounts.models import LoginAttempt, User
from backend.core.db import Database
from backend.core.migrate import migrate
from tests.conftest import fresh_sqlite_database

WRITERS = 30


@pytest.fixture
async def sqlite_database(tmp_path: Path) -> Database:
    url = fresh_sqlite_database(tmp_path)
    await asyncio.to_thread(migrate, url, "head")
    database = Database.from_url(url)
    yield database
    await database.dispose()


async def test_pragmas_are_set_on_every_connection(sqlite_database: Database) -> None:
    async with sqlite_database.session() as session:
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await session.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000


async def test_foreign_keys_are_enforced(sqlite_database: Database) -> None:
    with pytest.raises(IntegrityError):
        async with sqlite_database.session(write=True) as session:
            session.add(User(email="x@example.com", display_name="X", role="agent", timezone="UTC", site_id=999))


async def test_concurrent_read_then_write_transactions_serialise_cleanly(sqlite_database: Database) -> None:
    """Each writer reads the count and writes the next number: with BEGIN IMMEDIATE none fails or repeats."""

    async def writer() -> None:
        async with sqlite_database.session(write=True) as session:
            seen = await session.scalar(select(func.count()).select_from(LoginAttempt))
            await asyncio.sleep(0.001)  # let the other writers try to interleave
            session.add(LoginAttempt(email=f"n{seen}", client_ip="test"))

    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    async with sqlite_database.session() as session:
        numbers = sorted(await session.scalars(select(LoginAttempt.email)))
    assert numbers == sorted(f"n{i}" for i in range(WRITERS))
