"""An agent on a 360 px phone finds an open shift under its day, claims it in one tap, sees the card it now
overlaps say so (with the free undo as the fix), and undoes it; "Show everything" is one tap away."""

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
from tests.e2e.screenshot import save_screen
from tests.e2e.test_my_schedule import e2e_database_url
from tests.e2e.test_sign_in import assert_fits_phone_width, english_agents, sign_in, zh
from tests.factories import an_open_shift

pytestmark = pytest.mark.browser


def quiet_day(zone: ZoneInfo) -> dt.date:
    """The Wednesday after next week, site time: past the demo's published roster, so no agent works that day."""
    today = utcnow().astimezone(zone).date()
    return today + dt.timedelta(days=7 - today.weekday() + 7 + 2)


def seed_open_shifts(database_url: str, clocks: list[int]) -> tuple[dt.date, list[int]]:
    """General shifts of 4 hours starting at each hour of ``clocks`` on ``quiet_day``, opened an hour ago."""

    async def seed() -> tuple[dt.date, list[int]]:
        database = Database.from_url(database_url)
        try:
            async with database.session(write=True) as session:
                act_as(session, E2E_ACTOR)
                site = await session.scalar(select(Site).order_by(Site.id))
                assert site is not None
                zone = ZoneInfo(site.timezone)
                day = quiet_day(zone)
                an_hour_ago = utcnow() - dt.timedelta(hours=1)
                ids = []
                for hour in clocks:
                    start = dt.datetime.combine(day, dt.time(hour), tzinfo=zone)
                    shift = await an_open_shift(
                        session, site, "general", start=start, hours=4, seats=3, now=an_hour_ago, opened_minutes_ago=0
                    )
                    ids.append(shift.id)
                return day, ids
        finally:
            await database.dispose()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="weft-e2e-seed") as pool:
        return pool.submit(lambda: asyncio.run(seed())).result()


def test_agent_claims_an_open_shift_and_the_card_it_overlaps_says_so(
    phone: Any, live_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    del live_server  # started first, so its database exists
    day, (first_id, overlapping_id) = seed_open_shifts(e2e_database_url(tmp_path_factory), [3, 5])
    agent = next(a for a in english_agents() if "general" in a["skills"] and a["tier"] == "senior")

    sign_in(phone, str(agent["email"]))
    phone.get_by_role("navigation", name="Main").get_by_role("link", name="Shifts").click()
    phone.get_by_role("link", name="Open shifts").click()
    expect(phone).to_have_url(re.compile(r"/app/shifts/open"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Open shifts")
    expect(phone.get_by_role("link", name="Show everything")).to_be_visible()
    assert_fits_phone_width(phone)
    assert_thumb_sized(phone, "#market", "a, button, select")

    phone.goto(f"/app/shifts/open?day={day.isoformat()}")
    group = phone.locator(f"#open-day-{day.isoformat()}")
    expect(group.get_by_role("heading", level=2)).to_be_visible()
    first, overlapping = phone.locator(f"#shift-{first_id}"), phone.locator(f"#shift-{overlapping_id}")
    expect(first).to_contain_text("3 seats left")
    expect(overlapping.get_by_role("button", name="Claim", exact=True)).to_be_visible()
    assert_fits_phone_width(phone)

    first.get_by_role("button", name="Claim", exact=True).click()
    expect(first.get_by_role("status")).to_have_text("Claimed")
    expect(first).to_contain_text("2 seats left")
    # the other card re-reads itself: it now overlaps, and the cheapest fix is the free undo, not a swap
    expect(overlapping).to_contain_text(re.compile(r"Overlaps your \d\d:\d\d shift\."))
    undo = overlapping.get_by_role("button", name=re.compile(r"^Undo your \d\d:\d\d claim \(free until"))
    expect(undo).to_be_visible()
    expect(overlapping.get_by_role("button", name="Claim", exact=True)).to_have_count(0)
    expect(overlapping.get_by_role("link", name="Offer that shift for swap")).to_have_count(0)
    assert_fits_phone_width(phone)
    save_screen(phone, "open-shifts-overlap")

    undo.click()
    expect(overlapping.get_by_role("button", name="Claim", exact=True)).to_be_visible()
    expect(first.get_by_role("button", name="Claim", exact=True)).to_be_visible()
    expect(first).to_contain_text("3 seats left")

    phone.get_by_role("link", name="Show everything").click()
    expect(phone).to_have_url(re.compile(r"all=1"))
    expect(phone.get_by_role("link", name="Show only what I can take")).to_be_visible()
    assert_clean_console(phone)


def test_open_shifts_read_in_chinese_on_a_phone(
    phone: Any, live_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    del live_server
    day, (shift_id,) = seed_open_shifts(e2e_database_url(tmp_path_factory), [10])
    sign_in(phone, "agent01@weft.demo")  # the sign-in page is English; agent01 chose Chinese
    phone.goto("/app/shifts/open")
    expect(phone.get_by_role("heading", level=1)).to_have_text(zh("Open shifts"))
    expect(phone.get_by_role("link", name=zh("Show everything"))).to_be_visible()
    assert_fits_phone_width(phone)
    phone.goto(f"/app/shifts/open?day={day.isoformat()}")
    expect(phone.locator(f"#shift-{shift_id}").get_by_role("button", name=zh("Claim"))).to_be_visible()
    assert_fits_phone_width(phone)
    assert_clean_console(phone)
