"""Availability names the week on screen as the agent would: "This week", "Next week", else its dates."""
# ruff: noqa: RUF001 -- Babel writes a date range with an en dash and thin spaces, and so do the assertions

from __future__ import annotations

import datetime as dt

import httpx
import time_machine

from backend.accounts.models import Role
from backend.core.slots import IsoWeek
from tests.conftest import Factory, login

# Wednesday 2 December 2026, 12:00 in Shanghai (the test site's zone): week 2026-W49 runs 30 Nov to 6 Dec.
NOW = dt.datetime(2026, 12, 2, 4, 0, tzinfo=dt.UTC)
THIS_WEEK, NEXT_WEEK, WEEK_AFTER = IsoWeek(2026, 49), IsoWeek(2026, 50), IsoWeek(2026, 51)


async def grid_text(client: httpx.AsyncClient, week: IsoWeek | None = None) -> str:
    response = await client.get("/app/availability", params={"week": str(week)} if week else {})
    assert response.status_code == 200
    return response.text


async def test_each_week_is_named_for_what_it_is_in_english(
    client: httpx.AsyncClient, people: Factory, time_machine: time_machine.TimeMachineFixture
) -> None:
    time_machine.move_to(NOW, tick=True)
    agent = await people.make(Role.agent)
    await login(client, agent.email)

    opened = await grid_text(client)  # the page opens on the week to answer: next week
    assert f'name="week" value="{NEXT_WEEK}"' in opened
    assert "Next week: " in opened
    assert "This week: " not in opened
    assert "This week: " in await grid_text(client, THIS_WEEK)
    after = await grid_text(client, WEEK_AFTER)
    assert "14\u2009–\u200920 Dec: " in after
    assert "This week: " not in after
    assert "Next week: " not in after


async def test_each_week_is_named_for_what_it_is_in_chinese(
    client: httpx.AsyncClient, people: Factory, time_machine: time_machine.TimeMachineFixture
) -> None:
    time_machine.move_to(NOW, tick=True)
    agent = await people.make(Role.agent, locale="zh-Hans")
    await login(client, agent.email)

    assert "下周：" in await grid_text(client, NEXT_WEEK)
    assert "本周：" in await grid_text(client, THIS_WEEK)
    assert "12月14日至20日：" in await grid_text(client, WEEK_AFTER)


async def test_the_presets_come_before_the_half_hours_and_saved_after_them(
    client: httpx.AsyncClient, people: Factory, time_machine: time_machine.TimeMachineFixture
) -> None:
    """The presets are what most agents need: above the 48-slot grid; "Saved." sits by the buttons, at the end."""
    time_machine.move_to(NOW, tick=True)
    agent = await people.make(Role.agent)
    await login(client, agent.email)
    page = await grid_text(client, NEXT_WEEK)
    assert page.index("Evening 18:00-22:00") < page.index('name="slot"') < page.index('class="save-status"')
