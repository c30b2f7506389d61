"""The coordinator's attendance board a page at a time: grouped by shift start (the running shifts first), the
seats that need a decision on their own page, 50 a page, a skill filter, and a seat's link lands on its row."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from time_machine import TimeMachineFixture

from backend.accounts.models import Role, Site
from backend.core.slots import slot_of
from backend.shifts.attendance_board import PAGE_SIZE
from tests.conftest import login, post_form
from tests.factories import Factory, a_held_shift, a_skill, an_agent

# Wednesday 2 December 2026, 10:00 in Shanghai.
NOW = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)
EARLY = dt.datetime(2026, 12, 1, 22, 0, tzinfo=dt.UTC)  # 06:00-08:00 Shanghai: over, never started
RUNNING = dt.datetime(2026, 12, 2, 0, 0, tzinfo=dt.UTC)  # 08:00-12:00: under way
LATER = dt.datetime(2026, 12, 2, 6, 0, tzinfo=dt.UTC)  # 14:00-16:00: to come
DAY = "2026-12-02"
HTMX = {"HX-Request": "true"}
BIG = PAGE_SIZE + 2


@pytest.fixture(autouse=True)
def wednesday_morning(time_machine: TimeMachineFixture) -> None:
    time_machine.move_to(NOW, tick=False)


def rows(page: httpx.Response) -> list[str]:
    """The seat rows on a board page, as their anchors (``shift-user``), in order."""
    return re.findall(r'<tr id="seat-(\d+-\d+)">', page.text)


async def test_a_busy_day_pages_by_start_with_the_decisions_on_their_own_page(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    billing = await a_skill(db, site, "billing")
    tech = await a_skill(db, site, "tech")
    early = [await an_agent(people, display_name=f"Early {n}") for n in range(2)]
    early_shifts = [await a_held_shift(db, agent, EARLY, skill=billing) for agent in early]
    runner = await an_agent(people, display_name="Runner")
    running = await a_held_shift(db, runner, RUNNING, slots=8, skill=tech)
    later = [await an_agent(people, display_name=f"Later {n:02d}") for n in range(BIG)]
    later_shifts = [await a_held_shift(db, agent, LATER, skill=billing) for agent in later]
    coordinator = await people.make(Role.coordinator)
    assert (await login(client, coordinator.email)).status_code == 303

    default = await client.get(f"/admin/attendance/?day={DAY}")
    assert default.status_code == 200
    assert rows(default) == [f"{running.id}-{runner.id}"], "the shifts running now, nobody else"
    assert "55 seats this day." in default.text
    assert "Needs a decision <small>3</small>" in default.text  # two early seats and the runner: none started
    assert "Ask for cover for the rest of the shift" in default.text

    problems = await client.get(f"/admin/attendance/?day={DAY}&start=problems")
    assert rows(problems) == [f"{shift.id}-{agent.id}" for shift, agent in zip(early_shifts, early, strict=True)] + [
        f"{running.id}-{runner.id}"
    ]

    first = await client.get(f"/admin/attendance/?day={DAY}&start={slot_of(LATER)}")
    expected = [f"{shift.id}-{agent.id}" for shift, agent in zip(later_shifts, later, strict=True)]
    assert rows(first) == expected[:PAGE_SIZE]
    assert "Page 1 of 2" in first.text
    second = await client.get(f"/admin/attendance/?day={DAY}&start={slot_of(LATER)}&page=2")
    assert rows(second) == expected[PAGE_SIZE:]
    assert "Mark no-show" not in second.text, "14:00 has not started yet"

    only_tech = await client.get(f"/admin/attendance/?day={DAY}&skill={tech.id}&start={slot_of(LATER)}")
    assert rows(only_tech) == [f"{running.id}-{runner.id}"], "no tech shift at 14:00: the tech shifts' default"
    assert "1 seat this day." in only_tech.text

    refused = await client.get(f"/admin/attendance/?day={DAY}&start=soon")
    assert refused.status_code == 422


async def test_a_seats_link_opens_the_page_with_its_row_and_an_action_keeps_the_page(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, time_machine: TimeMachineFixture
) -> None:
    billing = await a_skill(db, site, "billing")
    later = [await an_agent(people, display_name=f"Later {n:02d}") for n in range(BIG)]
    later_shifts = [await a_held_shift(db, agent, LATER, skill=billing) for agent in later]
    early = await an_agent(people, display_name="Early")
    early_shift = await a_held_shift(db, early, EARLY, skill=billing)
    coordinator = await people.make(Role.coordinator)
    assert (await login(client, coordinator.email)).status_code == 303

    last, last_shift = later[-1], later_shifts[-1]  # on the second page of 14:00
    link = f"/admin/attendance?day={DAY}&shift={last_shift.id}#seat-{last_shift.id}-{last.id}"  # as the duty log
    landed = await client.get(link, follow_redirects=True)
    assert landed.status_code == 200
    assert rows(landed) == [f"{last_shift.id}-{last.id}"]
    assert "Everyone starting at 14:00" in landed.text

    # A plain post about a seat comes back to its shift, at its row.
    marked = await post_form(client, f"/admin/attendance/{early_shift.id}/no-show", {"user": str(early.id), "day": DAY})
    assert marked.status_code == 303
    assert marked.headers["location"] == (
        f"/admin/attendance?day={DAY}&shift={early_shift.id}&done=no-show#seat-{early_shift.id}-{early.id}"
    )
    back = await client.get(marked.headers["location"])
    assert rows(back) == [f"{early_shift.id}-{early.id}"]
    assert "Marked a no-show." in back.text

    # htmx posts to the page's own view and gets that page back in place.
    time_machine.move_to(LATER + dt.timedelta(minutes=30), tick=False)  # 14:30: the 14:00 seats can be marked
    page_two = await client.get(f"/admin/attendance/?day={DAY}&start={slot_of(LATER)}&page=2")
    hx = f"/admin/attendance/{last_shift.id}/no-show?start={slot_of(LATER)}&page=2"
    assert f'hx-post="{hx.replace("&", "&amp;")}"' in page_two.text
    swapped = await client.post(
        hx,
        data={"user": str(last.id), "day": DAY, "_csrf_token": client.cookies["weft_csrf"]},
        headers=HTMX,
    )
    assert swapped.status_code == 200
    assert "Marked a no-show." in swapped.text
    assert (
        rows(swapped)
        == [f"{shift.id}-{agent.id}" for shift, agent in zip(later_shifts, later, strict=True)][PAGE_SIZE:]
    )
