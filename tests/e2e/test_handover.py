"""An agent on a 360 px phone reads and acknowledges the handover for the shift they work, then leaves one."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from backend.accounts.models import Role, User
from backend.core.db import Database, act_as, utcnow
from backend.core.slots import slot_of
from backend.handover.models import HandoverKind, HandoverNote
from backend.shifts.models import Shift, ShiftSeat
from tests.e2e.conftest import E2E_ACTOR, assert_clean_console, assert_thumb_sized
from tests.e2e.test_my_schedule import e2e_database_url, give_shifts
from tests.e2e.test_sign_in import assert_fits_phone_width, english_agents, sign_in

pytestmark = pytest.mark.browser


def coordinator_warns(database_url: str, email: str, start_slot: int, end_slot: int, body: str) -> int:
    """The site's coordinator leaves a warning on a block covering the agent's shift; answers the shift id."""

    async def seed() -> int:
        database = Database.from_url(database_url)
        try:
            async with database.session(write=True) as session:
                act_as(session, E2E_ACTOR)
                agent = await session.scalar(select(User).where(User.email == email))
                assert agent is not None
                coordinator = await session.scalar(
                    select(User).where(User.site_id == agent.site_id, User.role == Role.coordinator)
                )
                shift = await session.scalar(  # the agent's own: another test may seat someone at the same time
                    select(Shift)
                    .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
                    .where(
                        Shift.site_id == agent.site_id,
                        Shift.start_slot == start_slot,
                        ShiftSeat.user_id == agent.id,
                        ShiftSeat.released_at.is_(None),
                    )
                )
                assert coordinator is not None
                assert shift is not None
                session.add(
                    HandoverNote(
                        site_id=agent.site_id,
                        author_id=coordinator.id,
                        kind=HandoverKind.warning,
                        body=body,
                        skill_id=shift.skill_id,
                        start_slot=start_slot,
                        end_slot=end_slot,
                        created_at=utcnow(),
                    )
                )
                return shift.id
        finally:
            await database.dispose()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="weft-e2e-seed") as pool:
        return pool.submit(lambda: asyncio.run(seed())).result()


def test_agent_acknowledges_the_handover_and_leaves_a_note(
    phone: Any, live_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    del live_server
    agent = next(a for a in english_agents() if a["tier"] == "mid")
    email = str(agent["email"])
    database_url = e2e_database_url(tmp_path_factory)
    start = slot_of(utcnow()) - 1  # under way for half an hour or so
    give_shifts(database_url, email, [start])
    shift_id = coordinator_warns(database_url, email, start, start + 4, "The refund tool is down until 20:00")

    sign_in(phone, email)
    phone.goto("/app/shifts")
    panel = phone.locator(f"#handover-{shift_id}")
    expect(panel.get_by_role("heading", name="Handover notes: 1")).to_be_visible()
    expect(panel.get_by_text("The refund tool is down until 20:00")).to_be_visible()
    assert_fits_phone_width(phone)
    assert_thumb_sized(phone, "#schedule", "a, button, input, summary")

    panel.get_by_role("button", name="Acknowledge").click()
    expect(phone.locator(f"#handover-{shift_id}").get_by_role("status")).to_have_text("Handover notes acknowledged.")
    expect(phone.locator(f"#handover-{shift_id}").get_by_role("button", name="Acknowledge")).to_have_count(0)

    panel = phone.locator(f"#handover-{shift_id}")
    panel.get_by_text("Leave a note for the next shift").click()
    panel.get_by_label("Kind").select_option("follow_up")
    panel.get_by_label("What should the next shift know?").fill("Call back the customer on ticket 12")
    panel.get_by_role("button", name="Leave the note").click()
    panel = phone.locator(f"#handover-{shift_id}")
    expect(panel.get_by_role("status")).to_have_text("Note left for the next shift.")
    expect(panel.get_by_text("Call back the customer on ticket 12")).to_be_visible()
    expect(phone).to_have_url(re.compile(r"/app/shifts$"))  # htmx swapped the panel in place
    assert_fits_phone_width(phone)
    assert_thumb_sized(phone, "#schedule", "a, button, input, summary")
    assert_clean_console(phone)
