"""An agent on a 360 px phone finds an open shift, claims it in one tap, and undoes it within the grace window."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from backend.accounts.models import Site
from backend.core.db import Database, act_as, utcnow
from tests.e2e.conftest import E2E_ACTOR, assert_clean_console, assert_thumb_sized
from tests.e2e.test_my_schedule import e2e_database_url
from tests.e2e.test_sign_in import assert_fits_phone_width, english_agents, sign_in, zh
from tests.factories import an_open_shift

pytestmark = pytest.mark.browser


def seed_open_shift(database_url: str, days_ahead: int) -> int:
    """A general shift at 03:00 site time ``days_ahead`` days out (clashing with nothing), opened an hour ago."""

    async def seed() -> int:
        database = Database.from_url(database_url)
        try:
            async with database.session(write=True) as session:
                act_as(session, E2E_ACTOR)
                site = await session.scalar(select(Site).order_by(Site.id))
                assert site is not None
                zone = ZoneInfo(site.timezone)
                day = utcnow().astimezone(zone).date() + dt.timedelta(days=days_ahead)
                start = dt.datetime.combine(day, dt.time(3), tzinfo=zone)
                an_hour_ago = utcnow() - dt.timedelta(hours=1)
                shift = await an_open_shift(
                    session, site, "general", start=start, hours=4, seats=3, now=an_hour_ago, opened_minutes_ago=0
                )
                return shift.id
        finally:
            await database.dispose()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="weft-e2e-seed") as pool:
        return pool.submit(lambda: asyncio.run(seed())).result()


def test_agent_claims_an_open_shift_in_one_tap_and_undoes_it(
    phone: Any, live_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    del live_server  # started first, so its database exists
    shift_id = seed_open_shift(e2e_database_url(tmp_path_factory), days_ahead=9)
    agent = next(a for a in english_agents() if "general" in a["skills"] and a["tier"] == "senior")

    sign_in(phone, str(agent["email"]))
    phone.get_by_role("navigation", name="Main").get_by_role("link", name="Shifts").click()
    phone.get_by_role("link", name="Open shifts").click()
    expect(phone).to_have_url(re.compile(r"/app/shifts/open"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Open shifts")
    card = phone.locator(f"#shift-{shift_id}")
    expect(card).to_contain_text("3 seats left")
    assert_fits_phone_width(phone)
    assert_thumb_sized(phone, "#market", "a, button, select")

    card.get_by_role("button", name="Claim").click()
    expect(card.get_by_role("status")).to_have_text("Claimed")
    expect(card).to_contain_text("2 seats left")
    assert_fits_phone_width(phone)

    card.get_by_role("button", name=re.compile(r"^Undo")).click()
    expect(card.get_by_role("button", name="Claim")).to_be_visible()
    expect(card).to_contain_text("3 seats left")
    assert_clean_console(phone)


def test_open_shifts_read_in_chinese_on_a_phone(
    phone: Any, live_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    del live_server
    shift_id = seed_open_shift(e2e_database_url(tmp_path_factory), days_ahead=10)
    sign_in(phone, "agent01@weft.demo")  # the sign-in page is English; agent01 chose Chinese
    phone.goto("/app/shifts/open")
    expect(phone.get_by_role("heading", level=1)).to_have_text(zh("Open shifts"))
    expect(phone.locator(f"#shift-{shift_id}").get_by_role("button", name=zh("Claim"))).to_be_visible()
    assert_fits_phone_width(phone)
    assert_clean_console(phone)
