"""An agent on a 360 px phone opens Earnings, reads why each line pays what it does, opens a statement and
questions a line."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from backend.accounts.models import Role, Site, Skill, User
from backend.core.db import Database, act_as, utcnow
from backend.core.slots import slot_of, utc_start
from backend.pay import periods
from backend.pay.models import RateCard
from backend.work.models import WorkKind, WorkRecord
from tests.e2e.conftest import E2E_ACTOR, assert_clean_console, assert_thumb_sized
from tests.e2e.test_my_schedule import e2e_database_url
from tests.e2e.test_sign_in import assert_fits_phone_width, english_agents, sign_in, zh
from tests.factories import a_held_shift, a_pay_period_before_all, a_rate_card

pytestmark = pytest.mark.browser

RATES = {
    "base_hourly_minor": {"junior": 3000, "mid": 3000, "senior": 3000},
    "pieces": [{"kind": "call", "rate_minor": 50}],
}


async def _seed(session: Any, email: str) -> None:
    user = await session.scalar(select(User).where(User.email == email))
    assert user is not None
    site = await session.get(Site, user.site_id)
    assert site is not None
    skill = await session.scalar(select(Skill).where(Skill.site_id == site.id, Skill.code == "general"))
    assert skill is not None
    if await session.scalar(select(RateCard.id).where(RateCard.site_id == site.id).limit(1)) is None:
        await a_rate_card(session, site, RATES, effective_from=dt.date(2020, 1, 1))
    now = utcnow()

    async def work(end_slot: int, at: dt.datetime, tag: str) -> None:
        await a_held_shift(
            session, user, utc_start(end_slot - 3), slots=3, skill=skill, taken_at=utc_start(end_slot - 200)
        )
        for n in range(12):
            session.add(
                WorkRecord(
                    site_id=site.id,
                    user_id=user.id,
                    source="e2e",
                    external_id=f"{tag}-{user.id}-{n}",
                    occurred_at=at,
                    kind=WorkKind.call,
                    count=1,
                )
            )
        await session.flush()

    # This period: a 1.5 h shift that ended half an hour ago and 12 calls a minute ago.
    await work(slot_of(now) - 1, now - dt.timedelta(minutes=1), "now")
    # A past period, locked: its statement.
    seeded = await session.scalar(select(WorkRecord.id).where(WorkRecord.external_id == f"past-{user.id}-0"))
    if seeded is None:
        period, past = await a_pay_period_before_all(session, site)
        await work(slot_of(past), past, "past")
        finance = await session.scalar(select(User).where(User.site_id == site.id, User.role == Role.finance))
        assert finance is not None
        await periods.lock_period(session, period_id=period.id, by=finance, now=now)


def seed_pay(database_url: str, email: str) -> None:
    async def seed() -> None:
        database = Database.from_url(database_url)
        try:
            async with database.session(write=True) as session:
                act_as(session, E2E_ACTOR)
                await _seed(session, email)
        finally:
            await database.dispose()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="weft-e2e-seed") as pool:
        pool.submit(lambda: asyncio.run(seed())).result()


def test_agent_reads_earnings_opens_a_statement_and_questions_a_line(
    phone: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    agent = english_agents()[3]  # an agent no other browser test seats: the schedule test counts the last one's shifts
    seed_pay(e2e_database_url(tmp_path_factory), str(agent["email"]))
    sign_in(phone, str(agent["email"]))
    phone.get_by_role("link", name="Earnings", exact=True).click()

    expect(phone.get_by_role("heading", name="Earnings", level=1)).to_be_visible()
    expect(phone.get_by_text("Accrued so far").first).to_be_visible()
    # The demo may bring its own rate card: the rates vary, the arithmetic is always spelled out.
    expect(phone.get_by_text(re.compile(r"^\d+ calls × CNY [\d,]+\.\d\d = CNY [\d,]+\.\d\d$")).first).to_be_visible()  # noqa: RUF001
    expect(phone.get_by_text(re.compile(r"^1\.5 h × CNY [\d,]+\.\d\d/h = CNY [\d,]+\.\d\d$")).first).to_be_visible()  # noqa: RUF001
    assert_fits_phone_width(phone)
    assert_thumb_sized(phone, "#earnings", "a, button, input, textarea, summary")

    phone.locator("#statements a.earn-statement").first.click()
    expect(phone.get_by_role("heading", name="Pay statement")).to_be_visible()
    expect(phone.get_by_text("Gross", exact=True)).to_be_visible()
    assert_fits_phone_width(phone)
    assert_thumb_sized(phone, "#statement", "a, button, input, textarea, summary")

    phone.get_by_role("link", name="Printable statement").click()
    expect(phone.get_by_role("heading", name="Pay statement")).to_be_visible()
    expect(phone.locator(".tabbar")).to_have_count(0)
    assert_fits_phone_width(phone)
    phone.go_back()

    phone.get_by_role("link", name="Question this line").first.click()
    expect(phone.get_by_role("heading", name="Question a line")).to_be_visible()
    assert_fits_phone_width(phone)
    assert_thumb_sized(phone, "#dispute-form", "a, button, input, textarea, summary")
    phone.get_by_role("button", name="Send question").click()  # empty: the browser asks for the comment first
    expect(phone.get_by_role("heading", name="Question a line")).to_be_visible()
    phone.get_by_label("What looks wrong?").fill("My shift ran 30 minutes over.")
    phone.get_by_role("button", name="Send question").click()

    expect(phone.get_by_role("status")).to_contain_text("Question sent.")
    expect(phone.get_by_text("You wrote: My shift ran 30 minutes over.")).to_be_visible()
    assert_fits_phone_width(phone)
    assert_clean_console(phone)


def test_a_chinese_reader_gets_the_earnings_tab_in_chinese(phone: Any) -> None:
    sign_in(phone, "agent01@weft.demo")
    phone.goto("/app/earnings")
    expect(phone.get_by_role("heading", name=zh("Earnings"), level=1)).to_be_visible()
    expect(phone.locator("html")).to_have_attribute("lang", "zh-Hans")
    assert_fits_phone_width(phone)
    assert_clean_console(phone)
