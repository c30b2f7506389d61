"""A notification is stored as its message and values and worded when read: an agent who switches language
reads what was sent before in the new language, in the inbox and on the phone."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import httpx
import msgspec
import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, User
from backend.core.db import Database
from backend.core.settings import Settings
from backend.notify import keys, service
from backend.notify.models import Kind, Notification
from backend.notify.sender import send_due
from backend.shifts import attendance
from tests.conftest import login, post_form
from tests.factories import Factory, a_held_shift
from tests.push_service import PushService

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The day before a Tuesday 18:00 shift (Shanghai), inside its confirm window: the reminder is due now.
NOW = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)  # Tuesday 12:00 in Shanghai
START = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)  # Wednesday 18:00 in Shanghai: "tomorrow"
WEEKDAY = re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\b")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The push stand-in listens on loopback: the development switch lets the sender reach it."""
    return msgspec.structs.replace(settings, push_allow_private_hosts=True)


@pytest.fixture
async def push_service(db: AsyncSession, settings: Settings) -> AsyncIterator[PushService]:
    stand_in = PushService()
    await stand_in.start()
    stand_in.server_key = (await keys.vapid_pair(db, settings)).public_key
    await db.commit()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
def clock(time_machine: time_machine.TimeMachineFixture) -> dt.datetime:
    """The world of these tests is built on literal dates: the clock stands at ``NOW`` and ticks on."""
    time_machine.move_to(NOW, tick=True)
    return NOW


async def reminded(db: AsyncSession, people: Factory) -> tuple[User, Notification]:
    """An English-speaking agent in Shanghai, reminded to confirm tomorrow's shift."""
    agent = await people.make(Role.agent, locale="en", timezone="Asia/Shanghai")
    await a_held_shift(db, agent, START)
    assert await attendance.send_reminders(db, now=NOW) == 1
    await db.commit()
    note = await db.scalar(select(Notification).where(Notification.user_id == agent.id))
    assert note is not None
    return agent, note


async def test_the_inbox_rewords_a_notification_in_the_language_the_agent_switched_to(
    clock: dt.datetime, client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent, note = await reminded(db, people)
    assert note.values is not None
    assert note.values["message"] == "shift_reminder"
    assert (await login(client, agent.email)).status_code == 303

    english = (await client.get("/app/inbox")).text
    assert "Confirm your shift tomorrow at 18:00: one tap on My schedule." in english

    switched = await post_form(client, "/locale", {"locale": "zh-Hans", "next": "/app/inbox"})
    assert switched.status_code == 303
    chinese = (await client.get("/app/inbox")).text
    assert "请确认你 明天 18:00 的班次" in chinese
    assert "Confirm your shift" not in chinese
    assert not WEEKDAY.search(chinese[chinese.index('id="inbox"') :]), "no English weekday in the Chinese inbox"


async def test_the_push_is_worded_in_the_language_the_agent_has_when_it_is_sent(
    clock: dt.datetime,
    database: Database,
    db: AsyncSession,
    settings: Settings,
    people: Factory,
    push_service: PushService,
) -> None:
    agent = await people.make(Role.agent, locale="en", timezone="Asia/Shanghai")
    browser = push_service.browser()
    subscription = browser.subscription()["keys"]
    await service.subscribe(
        db, user_id=agent.id, endpoint=browser.endpoint, p256dh=subscription["p256dh"], auth=subscription["auth"]
    )
    await a_held_shift(db, agent, START)
    assert await attendance.send_reminders(db, now=NOW) == 1
    agent.locale = "zh-Hans"  # switched after the reminder was queued, before the worker sent it
    await db.commit()

    report = await send_due(database, settings=settings)

    assert report.sent == 1
    [delivery] = push_service.deliveries
    assert delivery.payload["title"] == "请确认你 明天 18:00 的班次：在“我的班表”中点一下即可。"  # noqa: RUF001
    assert delivery.payload["kind"] == Kind.shift_reminder.value


async def test_a_row_written_before_values_existed_reads_as_it_was_sent(
    clock: dt.datetime, client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent = await people.make(Role.agent, locale="zh-Hans", timezone="Asia/Shanghai")
    db.add(Notification(user_id=agent.id, kind=Kind.swap, title="Ana offers you Tue 18:00", body="", created_at=NOW))
    await db.commit()
    assert (await login(client, agent.email)).status_code == 303

    page = (await client.get("/app/inbox")).text

    assert "Ana offers you Tue 18:00" in page, "the stored words are the fallback"
