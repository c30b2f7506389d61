"""An agent on a 360 px phone opens My schedule, subscribes to the calendar feed and stops sharing it."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from backend.accounts.models import User
from backend.core.db import Database, act_as, utcnow
from backend.core.slots import slot_of, utc_start
from tests.e2e.conftest import E2E_ACTOR, assert_clean_console, assert_thumb_sized
from tests.e2e.test_sign_in import assert_fits_phone_width, english_agents, sign_in
from tests.factories import a_held_shift

pytestmark = pytest.mark.browser


def e2e_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The live server's SQLite file (``live_server`` makes it under an ``e2e*`` folder of the session's temp)."""
    found = sorted(tmp_path_factory.getbasetemp().glob("e2e[0-9]*/e2e.db"))
    assert len(found) == 1, f"expected one e2e database, found {found}"
    return f"sqlite+aiosqlite:///{Path(found[0]).as_posix()}"


def give_shifts(database_url: str, email: str, starts: list[int], slots: int = 4) -> None:
    """Seat the agent on new shifts starting at ``starts``, in a thread (Playwright holds this one's loop)."""

    async def seed() -> None:
        database = Database.from_url(database_url)
        try:
            async with database.session(write=True) as session:
                act_as(session, E2E_ACTOR)
                user = await session.scalar(select(User).where(User.email == email))
                assert user is not None
                for start in starts:
                    await a_held_shift(session, user, utc_start(start), slots=slots, skill="general")
        finally:
            await database.dispose()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="weft-e2e-seed") as pool:
        pool.submit(lambda: asyncio.run(seed())).result()


def test_agent_sees_next_shift_first_and_subscribes_to_the_calendar(
    phone: Any, live_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    del live_server  # started first, so its database exists
    agent = english_agents()[-1]
    now_slot = slot_of(utcnow())
    give_shifts(e2e_database_url(tmp_path_factory), str(agent["email"]), [now_slot + 100, now_slot + 20])

    sign_in(phone, str(agent["email"]))
    phone.get_by_role("navigation", name="Main").get_by_role("link", name="Shifts").click()
    expect(phone).to_have_url(re.compile(r"/app/shifts$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("My schedule")
    cards = phone.locator(".schedule > .schedule-day .shift-card")
    expect(cards).to_have_count(2)
    expect(cards.first).to_contain_text("Next")
    expect(cards.first).to_contain_text("General enquiries")
    assert phone.locator(".schedule-past").get_attribute("open") is None  # the past is folded away
    assert_fits_phone_width(phone)
    assert_thumb_sized(phone, "#schedule", "a, button, input, summary")

    phone.get_by_role("button", name="Subscribe in my calendar").click()
    address = phone.get_by_label("Calendar address (https)")
    expect(address).to_have_value(re.compile(r"/calendar/[\w-]+\.ics$"))
    expect(phone.get_by_label("Calendar address (webcal)")).to_have_value(re.compile(r"^webcal://"))
    url = address.input_value()
    feed = phone.request.get(url)
    assert feed.status == 200
    assert feed.text().count("BEGIN:VEVENT") == 2
    phone.context.grant_permissions(["clipboard-read", "clipboard-write"])  # a phone grants them on a tap
    copy = phone.locator('#calendar button[data-copy="#feed-https"]')
    copy.click()  # copy.js came with My schedule: these buttons arrived in an htmx swap, where scripts do not run
    expect(copy).to_have_text("Copied")
    assert phone.evaluate("navigator.clipboard.readText()") == url
    assert_fits_phone_width(phone)
    assert_thumb_sized(phone, "#schedule", "a, button, input, summary")

    phone.once("dialog", lambda dialog: dialog.accept())
    phone.get_by_role("button", name="Stop sharing").click()
    expect(phone.get_by_role("status").filter(has_text="Calendar sharing stopped.")).to_be_visible()
    expect(phone.get_by_role("button", name="Subscribe in my calendar")).to_be_visible()
    assert phone.request.get(url).status == 404
    assert_clean_console(phone)
