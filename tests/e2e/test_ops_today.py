"""The coordinator's Today board on a laptop: it refreshes itself when the day changes (no navigation), and a
no-show marked from it shows in the duty log part at once.

The world is a site of its own (its own coordinator, agents and shifts), so nothing here meets the demo's or
another test's data. The page is opened with ``?poll=1``: the parts poll every second instead of every minute.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import expect

from backend.accounts import service as accounts
from backend.accounts.models import Role
from backend.core.db import Database, act_as, utcnow
from backend.core.slots import slot_of, utc_start
from backend.demo import DEMO_PASSWORD
from tests.e2e.conftest import E2E_ACTOR, assert_clean_console
from tests.e2e.test_my_schedule import e2e_database_url
from tests.e2e.test_sign_in import sign_in
from tests.factories import a_held_shift, a_skill

pytestmark = pytest.mark.browser

SITE_NAME = "E2E Today Centre"


def run(work: Any) -> Any:
    """Run ``work(session)`` in a unit of work of its own, in a thread (Playwright holds this one's loop)."""

    async def go(database_url: str) -> Any:
        database = Database.from_url(database_url)
        try:
            async with database.session(write=True) as session:
                act_as(session, E2E_ACTOR)
                return await work(session)
        finally:
            await database.dispose()

    def call(database_url: str) -> Any:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="weft-e2e-seed") as pool:
            return pool.submit(lambda: asyncio.run(go(database_url))).result()

    return call


def late_agent(name: str) -> Any:
    """An agent of the Today site whose four-hour shift began over an hour ago and who has not started."""

    async def make(session: Any) -> tuple[int, int]:
        site = await accounts.ensure_site(session, name=SITE_NAME, timezone="Asia/Shanghai", country="CN")
        await a_skill(session, site)
        agent = await accounts.create_user(
            session,
            site=site,
            email=f"today-{uuid.uuid4().hex[:8]}@example.com",
            display_name=name,
            role=Role.agent,
            password=DEMO_PASSWORD,
        )
        start = utc_start(slot_of(utcnow()) - 3)
        shift = await a_held_shift(session, agent, start, slots=8)
        return shift.id, agent.id

    return make


async def a_coordinator(session: Any) -> str:
    site = await accounts.ensure_site(session, name=SITE_NAME, timezone="Asia/Shanghai", country="CN")
    email = f"today-coord-{uuid.uuid4().hex[:8]}@example.com"
    await accounts.create_user(
        session, site=site, email=email, display_name="Tam Coordinator", role=Role.coordinator, password=DEMO_PASSWORD
    )
    return email


def test_the_board_refreshes_itself_and_a_no_show_from_it_reaches_the_duty_log(
    laptop_page: Any, live_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    del live_server  # started first, so its database exists
    database_url = e2e_database_url(tmp_path_factory)
    shift_id, agent_id = run(late_agent("Tess Late"))(database_url)
    coordinator = run(a_coordinator)(database_url)
    page = laptop_page

    sign_in(page, coordinator)
    page.goto("/admin/today?poll=1")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Today")
    late = page.locator("#board-late")
    expect(late).to_contain_text("Tess Late")
    expect(page.locator("#board-log")).to_contain_text("Nothing logged today yet.")
    heading = page.query_selector("h1")
    assert heading is not None

    # the day changes behind the board: the late list picks it up on its own, without a reload
    run(late_agent("Uma Later"))(database_url)
    expect(late).to_contain_text("Uma Later")
    assert heading.evaluate("e => e.isConnected"), "the page was reloaded"

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#late-{shift_id}-{agent_id}").get_by_role("button", name="Mark no-show").click()
    no_shows = page.locator("#board-no-shows")
    expect(no_shows).to_contain_text("Tess Late")
    expect(late).not_to_contain_text("Tess Late")
    log = page.locator("#board-log")
    expect(log).to_contain_text("No-show")
    expect(log).to_contain_text("Tess Late")
    assert heading.evaluate("e => e.isConnected"), "the page was reloaded"
    assert_clean_console(page)
