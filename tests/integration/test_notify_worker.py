"""Senders as separate processes see them: their own connections to a real, committed database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from backend.accounts import service as accounts
from backend.accounts.models import Role
from backend.cli import main
from backend.core.db import Database
from backend.core.migrate import migrate
from backend.core.settings import Settings, load_settings
from backend.notify import keys, service
from backend.notify.models import Kind, PushMessage, PushStatus
from backend.notify.sender import send_due
from backend.worker import PushWorker
from tests.push_service import Browser, PushService, PushServiceThread

SECRET = "worker-test-secret-" + "k" * 32


def settings_for(url: str, tmp_path: Path) -> Settings:
    """A sender's settings; the stand-in push service listens on loopback, which only a development setting allows."""
    return load_settings(
        {
            "WEFT_DATABASE_URL": url,
            "WEFT_SECRET_KEY": SECRET,
            "WEFT_DATA_DIR": str(tmp_path),
            "WEFT_PUSH_ALLOW_PRIVATE_HOSTS": "true",
        }
    )


@pytest.fixture
def migrated(empty_database_url: str) -> str:
    migrate(empty_database_url, "head")
    return empty_database_url


@pytest.fixture
async def live(migrated: str) -> AsyncIterator[Database]:
    database = Database.from_url(migrated)
    yield database
    await database.dispose()


async def an_agent_with_a_phone(database: Database, settings: Settings, browser: Browser) -> int:
    async with database.session(write=True) as session:
        site = await accounts.ensure_site(session, name="Worker Centre", timezone="Asia/Shanghai", country="CN")
        agent = await accounts.create_user(
            session, site=site, email="phone@example.com", display_name="Phone", role=Role.agent, password=None
        )
        keys_ = browser.subscription()["keys"]
        await service.subscribe(
            session, user_id=agent.id, endpoint=browser.endpoint, p256dh=keys_["p256dh"], auth=keys_["auth"]
        )
        return agent.id


async def tell(database: Database, user_id: int, subject: str) -> None:
    async with database.session(write=True) as session:
        await service.notify(session, user_id=user_id, kind=Kind.swap, title=subject, subject=subject)


async def started(database: Database, settings: Settings) -> PushService:
    stand_in = PushService()
    await stand_in.start()
    async with database.session(write=True) as session:
        stand_in.server_key = (await keys.vapid_pair(session, settings)).public_key
    return stand_in


async def test_two_senders_at_once_never_send_a_push_twice(
    live: Database, empty_database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(empty_database_url, tmp_path)
    stand_in = await started(live, settings)
    user_id = await an_agent_with_a_phone(live, settings, stand_in.browser())
    for number in range(30):
        await tell(live, user_id, f"swap:{number}")
    other = Database.from_url(empty_database_url)

    async def drain(database: Database) -> int:
        sent = 0
        while (report := await send_due(database, settings=settings, limit=4)).total:
            sent += report.sent
        return sent

    try:
        counts = await asyncio.gather(drain(live), drain(other))
    finally:
        await other.dispose()
        await stand_in.stop()

    assert sum(counts) == 30
    assert stand_in.refusals == []
    assert sorted(d.payload["title"] for d in stand_in.deliveries) == sorted(f"swap:{n}" for n in range(30))


async def test_the_in_process_sender_wakes_when_a_commit_queues_a_push(
    live: Database, empty_database_url: str, tmp_path: Path
) -> None:
    settings = msgspec.structs.replace(settings_for(empty_database_url, tmp_path), push_worker_interval_seconds=600)
    stand_in = await started(live, settings)
    user_id = await an_agent_with_a_phone(live, settings, stand_in.browser())
    sender_database = Database.from_url(empty_database_url)
    worker = PushWorker(sender_database, settings)
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0.5)  # the first round finds nothing; the next tick is 10 minutes away
        await tell(live, user_id, "swap:1")
        await asyncio.wait_for(stand_in.delivered.wait(), 10)
    finally:
        worker.stop()
        await asyncio.wait_for(running, 15)
        await sender_database.dispose()
        await stand_in.stop()
    assert [d.payload["title"] for d in stand_in.deliveries] == ["swap:1"]


def test_weft_worker_once_sends_what_is_due(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEFT_DATABASE_URL", empty_database_url)
    monkeypatch.setenv("WEFT_SECRET_KEY", SECRET)
    monkeypatch.setenv("WEFT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WEFT_PUSH_ALLOW_PRIVATE_HOSTS", "true")
    runner = CliRunner()
    assert runner.invoke(main, ["migrate"]).exit_code == 0
    settings = settings_for(empty_database_url, tmp_path)

    async def arrange(stand_in: PushService) -> None:
        database = Database.from_url(empty_database_url)
        try:
            async with database.session(write=True) as session:
                stand_in.server_key = (await keys.vapid_pair(session, settings)).public_key
            user_id = await an_agent_with_a_phone(database, settings, stand_in.browser())
            await tell(database, user_id, "swap:7")
        finally:
            await database.dispose()

    async def statuses() -> list[PushStatus]:
        database = Database.from_url(empty_database_url)
        try:
            async with database.session() as session:
                return list(await session.scalars(select(PushMessage.status)))
        finally:
            await database.dispose()

    with PushServiceThread() as stand_in:
        asyncio.run(arrange(stand_in))
        first = runner.invoke(main, ["worker", "--once"])
        second = runner.invoke(main, ["worker", "--once"])

    assert first.exit_code == 0, first.output
    assert "push: 1 sent" in first.output
    assert "push: 0 sent" in second.output
    assert len(stand_in.deliveries) == 1
    assert stand_in.refusals == []
    assert asyncio.run(statuses()) == [PushStatus.sent]
