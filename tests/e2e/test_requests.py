"""An agent on a 360 px phone asks for help with a shift, reads the answer and confirms it is solved (English and
Chinese); the coordinator's side runs through the services."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from backend.accounts.demo import demo_agents
from backend.accounts.models import Role, User
from backend.core.db import Database, act_as, utcnow
from backend.core.slots import slot_of, utc_start
from backend.requests import actions
from backend.requests.models import Request
from tests.e2e.conftest import E2E_ACTOR, assert_clean_console, assert_thumb_sized
from tests.e2e.test_my_schedule import e2e_database_url
from tests.e2e.test_sign_in import assert_fits_phone_width, sign_in
from tests.factories import a_held_shift

pytestmark = pytest.mark.browser

DAY_SLOTS = 48


def run(work: Any) -> Any:
    """Run a coroutine function against the live server's database, in a thread (Playwright holds this one's loop)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="weft-e2e-seed") as pool:
        return pool.submit(lambda: asyncio.run(work())).result()


def seat_on_a_shift(database_url: str, email: str, start_slot: int) -> int:
    """A new four-slot shift the agent holds from ``start_slot``; answers its id."""

    async def seed() -> int:
        database = Database.from_url(database_url)
        try:
            async with database.session(write=True) as session:
                act_as(session, E2E_ACTOR)
                agent = await session.scalar(select(User).where(User.email == email))
                assert agent is not None
                shift = await a_held_shift(session, agent, utc_start(start_slot), skill="general")
                return shift.id
        finally:
            await database.dispose()

    return int(run(seed))


def coordinator_answers_and_resolves(database_url: str, request_id: int, answer: str, resolution: str) -> None:
    async def work() -> None:
        database = Database.from_url(database_url)
        try:
            async with database.session(write=True) as session:
                act_as(session, E2E_ACTOR)
                raised = await session.get(Request, request_id)
                assert raised is not None
                coordinator = await session.scalar(
                    select(User).where(User.site_id == raised.site_id, User.role == Role.coordinator).limit(1)
                )
                assert coordinator is not None
                await actions.answer(session, request_id=request_id, actor=coordinator, body=answer, now=utcnow())
                await actions.resolve(
                    session,
                    request_id=request_id,
                    actor=coordinator,
                    root_cause="schedule_error",
                    resolution=resolution,
                    now=utcnow(),
                )
        finally:
            await database.dispose()

    run(work)


@pytest.mark.parametrize(("locale", "days_ahead"), [("en", 9), ("zh-Hans", 10)])
def test_agent_asks_for_help_with_a_shift_reads_the_answer_and_confirms(
    phone: Any, live_server: str, tmp_path_factory: pytest.TempPathFactory, locale: str, days_ahead: int
) -> None:
    del live_server
    agent = [a for a in demo_agents() if a["locale"] == locale][-1]
    email = str(agent["email"])
    database_url = e2e_database_url(tmp_path_factory)
    shift_id = seat_on_a_shift(database_url, email, slot_of(utcnow()) + days_ahead * DAY_SLOTS)

    sign_in(phone, email)
    expect(phone.locator("html")).to_have_attribute("lang", locale)
    phone.goto("/app/shifts")
    ask = phone.locator(f'a[href="/app/requests/new?kind=schedule&shift={shift_id}"]')
    ask.scroll_into_view_if_needed()
    ask.click()
    expect(phone).to_have_url(re.compile(rf"/app/requests/new\?kind=schedule&shift={shift_id}$"))
    expect(phone.locator("#f-shift")).to_have_value(str(shift_id))
    assert_fits_phone_width(phone)
    assert_thumb_sized(phone, "#request-new", "a, button, select, textarea")

    title = f"Wrong skill on shift {shift_id}"
    phone.locator("#f-title").fill(title)
    phone.locator("#f-details").fill("The shift says general, I was booked for billing.")
    phone.locator("#request-form button[type=submit]").click()
    expect(phone).to_have_url(re.compile(r"/app/requests/\d+\?done=raised$"))
    expect(phone.locator("#request [role=status]")).to_be_visible()
    expect(phone.locator("#request h1")).to_have_text(title)
    request_id = int(re.search(r"/app/requests/(\d+)", phone.url).group(1))  # type: ignore[union-attr]

    coordinator_answers_and_resolves(
        database_url, request_id, "Checked: it is billing now.", "The shift's skill was corrected."
    )
    phone.goto(f"/app/requests/{request_id}")
    expect(phone.locator("#request").get_by_text("Checked: it is billing now.")).to_be_visible()
    expect(phone.locator("#request .req-chip.status-resolved")).to_be_visible()
    assert_fits_phone_width(phone)
    assert_thumb_sized(phone, "#request", "a, button")

    phone.locator(f'form[action="/app/requests/{request_id}/confirm"] button').click()
    expect(phone.locator("#request .req-chip.status-closed")).to_be_visible()
    expect(phone.locator("#request [role=status]")).to_be_visible()
    expect(phone).to_have_url(re.compile(rf"/app/requests/{request_id}$"))  # htmx swapped the request in place
    phone.goto("/app/requests")
    expect(phone.locator(f"#request-{request_id}")).to_contain_text(title)
    assert_fits_phone_width(phone)
    assert_clean_console(phone)
