"""The availability API: a week read and replaced whole, every refusal naming the block, and nothing stored."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import AuditEntry, Role, Site, User
from backend.accounts.site_settings import update_site_settings
from backend.availability.models import AvailabilityWeek, OfferedSlot
from backend.core.db import utcnow
from backend.core.slots import IsoWeek
from tests.conftest import login
from tests.factories import Factory, bearer

SHANGHAI = ZoneInfo("Asia/Shanghai")


def this_week(offset: int = 0, zone: ZoneInfo = SHANGHAI) -> IsoWeek:
    """A week relative to today's: two ahead is always open (its deadline is in the week before)."""
    return IsoWeek.containing(utcnow(), zone).shifted(offset)


def at(week: IsoWeek, weekday: int, clock: str, zone: ZoneInfo = SHANGHAI) -> str:
    hour, minute = (int(part) for part in clock.split(":"))
    day = week.monday + dt.timedelta(days=weekday)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone).isoformat()


def block(week: IsoWeek, weekday: int, start: str, end: str, preference: str = "preferred") -> dict[str, str]:
    return {"start": at(week, weekday, start), "end": at(week, weekday, end), "preference": preference}


def a_week(week: IsoWeek, max_hours: float | None = 12) -> dict[str, Any]:
    return {
        "week": str(week),
        "max_hours": max_hours,
        "blocks": [
            block(week, 0, "18:00", "22:00"),
            block(week, 2, "09:00", "11:30", "if_needed"),
            block(week, 4, "18:00", "20:00"),
        ],
    }


async def stored_slots(db: AsyncSession, user: User) -> int:
    return int(await db.scalar(select(func.count()).where(OfferedSlot.user_id == user.id)) or 0)


async def test_agent_puts_a_week_and_gets_the_same_shape_back_in_their_offset(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await people.make(Role.agent)
    headers = await bearer(db, agent)
    week = this_week(2)
    body = a_week(week)

    put = await client.put(f"/api/v1/availability?week={week}", json=body, headers=headers)
    assert put.status_code == 200, put.text
    assert put.json() == body
    got = await client.get(f"/api/v1/availability?week={week}", headers=headers)
    assert got.status_code == 200
    assert got.json() == body
    assert got.json()["blocks"][0]["start"].endswith("+08:00")
    assert await stored_slots(db, agent) == 8 + 5 + 4


async def test_blocks_given_in_another_offset_come_back_in_the_agents(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await people.make(Role.agent)
    headers = await bearer(db, agent)
    week = this_week(2)
    start = dt.datetime.fromisoformat(at(week, 1, "18:00")).astimezone(dt.UTC)
    body = {
        "week": str(week),
        "blocks": [
            {
                "start": start.isoformat(),
                "end": (start + dt.timedelta(hours=2)).isoformat(),
                "preference": "preferred",
            }
        ],
    }
    assert (await client.put("/api/v1/availability", json=body, headers=headers)).status_code == 200
    got = (await client.get(f"/api/v1/availability?week={week}", headers=headers)).json()
    assert got["blocks"] == [block(week, 1, "18:00", "20:00")]
    assert got["max_hours"] is None


async def test_a_put_replaces_the_whole_future_week(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await people.make(Role.agent)
    headers = await bearer(db, agent)
    week = this_week(2)
    await client.put("/api/v1/availability", json=a_week(week), headers=headers)
    smaller = {"week": str(week), "max_hours": None, "blocks": [block(week, 6, "10:00", "11:00", "if_needed")]}

    assert (await client.put("/api/v1/availability", json=smaller, headers=headers)).status_code == 200
    assert (await client.get(f"/api/v1/availability?week={week}", headers=headers)).json() == smaller
    assert await stored_slots(db, agent) == 2
    empty = {"week": str(week), "max_hours": None, "blocks": []}
    assert (await client.put("/api/v1/availability", json=empty, headers=headers)).status_code == 200
    assert await stored_slots(db, agent) == 0


def _misaligned_start(week: IsoWeek) -> dict[str, str]:
    return block(week, 3, "18:15", "20:00")


BAD_BLOCKS: list[tuple[str, Any, str, str]] = [
    ("misaligned start", _misaligned_start, "blocks[1].start", "Block 2 starts at 18:15, not on :00 or :30"),
    ("misaligned end", lambda w: block(w, 3, "18:00", "19:45"), "blocks[1].end", "Block 2 ends at 19:45"),
    ("end before start", lambda w: block(w, 3, "20:00", "18:00"), "blocks[1].end", "Block 2 ends at 18:00"),
    ("empty block", lambda w: block(w, 3, "20:00", "20:00"), "blocks[1].end", "not after its start"),
    ("overlap", lambda w: block(w, 0, "21:00", "23:00"), "blocks[1].start", "Block 2 overlaps block 1"),
    ("outside the week", lambda w: block(w.shifted(1), 0, "09:00", "10:00"), "blocks[1].end", "not inside week"),
    (
        "seconds off the grid",
        lambda w: {**block(w, 3, "18:00", "19:00"), "start": at(w, 3, "18:00")[:16] + ":07+08:00"},
        "blocks[1].start",
        "Block 2 starts at 18:00:07",
    ),
    ("bad preference", lambda w: block(w, 3, "18:00", "19:00", "sometimes"), "blocks[1].preference", "blocks[1]"),
    (
        "unknown field",
        lambda w: {**block(w, 3, "18:00", "19:00"), "colour": "red"},
        "blocks[1]",
        "unknown field `colour`",
    ),
    (
        "no offset",
        lambda w: {**block(w, 3, "18:00", "19:00"), "start": at(w, 3, "18:00")[:19]},
        "blocks[1].start",
        "blocks[1]",
    ),
]


@pytest.mark.parametrize(("case", "bad", "field", "message"), BAD_BLOCKS, ids=[case[0] for case in BAD_BLOCKS])
async def test_a_bad_block_is_refused_by_index_and_nothing_is_stored(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, case: str, bad: Any, field: str, message: str
) -> None:
    agent = await people.make(Role.agent)
    headers = await bearer(db, agent)
    week = this_week(2)
    before = a_week(week)
    await client.put("/api/v1/availability", json=before, headers=headers)
    body = {"week": str(week), "max_hours": 10, "blocks": [block(week, 0, "18:00", "22:00"), bad(week)]}

    response = await client.put("/api/v1/availability", json=body, headers=headers)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["field"] == field, answer
    assert message in answer["message"], answer
    assert answer["request_id"]
    assert (await client.get(f"/api/v1/availability?week={week}", headers=headers)).json() == before


async def test_overlap_names_both_blocks_whatever_their_order(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await people.make(Role.agent)
    headers = await bearer(db, agent)
    week = this_week(2)
    body = {
        "week": str(week),
        "blocks": [
            block(week, 4, "18:00", "20:00"),
            block(week, 0, "09:00", "10:00"),
            block(week, 4, "17:00", "18:30"),
        ],
    }
    response = await client.put("/api/v1/availability", json=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == "blocks[0].start"
    assert response.json()["message"] == "Block 1 overlaps block 3."
    assert await stored_slots(db, agent) == 0


@pytest.mark.parametrize("offset", [-1, 5, 12])
async def test_weeks_out_of_range_are_refused(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, offset: int
) -> None:
    agent = await people.make(Role.agent)
    headers = await bearer(db, agent)
    week = this_week(offset)
    response = await client.put("/api/v1/availability", json=a_week(week), headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == "week"
    assert "out of range" in response.json()["message"]
    assert (await client.get(f"/api/v1/availability?week={week}", headers=headers)).status_code == 200
    assert await stored_slots(db, agent) == 0


async def test_a_week_that_is_not_a_week_is_refused(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await people.make(Role.agent)
    headers = await bearer(db, agent)
    response = await client.get("/api/v1/availability?week=2026-W60", headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == "week"
    body = {**a_week(this_week(2)), "week": "next week"}
    assert (await client.put("/api/v1/availability", json=body, headers=headers)).json()["field"] == "week"


async def test_the_address_and_the_body_must_name_the_same_week(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await people.make(Role.agent)
    headers = await bearer(db, agent)
    response = await client.put(f"/api/v1/availability?week={this_week(3)}", json=a_week(this_week(2)), headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == "week"
    assert await stored_slots(db, agent) == 0


@pytest.mark.parametrize("max_hours", [0, -3, 41, 1000])
async def test_the_weekly_cap_must_be_positive_and_within_the_sites_limit(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, max_hours: float
) -> None:
    agent = await people.make(Role.agent)
    headers = await bearer(db, agent)
    response = await client.put("/api/v1/availability", json=a_week(this_week(2), max_hours), headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == "max_hours"
    assert await stored_slots(db, agent) == 0


async def test_offers_may_exceed_the_cap(client: httpx.AsyncClient, people: Factory, db: AsyncSession) -> None:
    agent = await people.make(Role.agent)
    headers = await bearer(db, agent)
    week = this_week(2)
    body = {"week": str(week), "max_hours": 2, "blocks": [block(week, day, "18:00", "22:00") for day in range(7)]}
    assert (await client.put("/api/v1/availability", json=body, headers=headers)).status_code == 200
    assert await stored_slots(db, agent) == 7 * 8


async def close_next_week(db: AsyncSession, site: Site) -> None:
    """Move the deadline to Monday 00:00, so next week closed at the start of this one."""
    await update_site_settings(db, site, availability_deadline_weekday=0, availability_deadline_time="00:00")
    await db.commit()


async def test_after_the_deadline_the_agent_must_ask_a_coordinator_who_may_change_it(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    await close_next_week(db, site)
    agent = await people.make(Role.agent)
    coordinator = await people.make(Role.coordinator)
    week = this_week(1)

    refused = await client.put("/api/v1/availability", json=a_week(week), headers=await bearer(db, agent))
    assert refused.status_code == 422
    assert refused.json()["field"] == "week"
    assert "ask your coordinator" in refused.json()["message"]
    assert await stored_slots(db, agent) == 0

    path = f"/api/v1/agents/{agent.id}/availability?week={week}"
    accepted = await client.put(path, json=a_week(week), headers=await bearer(db, coordinator))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == a_week(week)
    assert await stored_slots(db, agent) == 17
    record = await db.scalar(select(AvailabilityWeek).where(AvailabilityWeek.user_id == agent.id))
    assert record is not None
    assert record.updated_by_id == coordinator.id
    audited = await db.scalar(
        select(func.count()).where(
            AuditEntry.actor_id == coordinator.id, AuditEntry.object_type == "availability_slots"
        )
    )
    assert audited == 17


async def test_the_current_week_is_closed_to_agents(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await people.make(Role.agent)
    week = this_week(0)
    body = {"week": str(week), "blocks": [block(week, 6, "23:00", "23:30")]}
    response = await client.put("/api/v1/availability", json=body, headers=await bearer(db, agent))
    assert response.status_code == 422
    assert response.json()["field"] == "week"


async def test_past_half_hours_are_read_only_even_for_a_coordinator(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, time_machine: time_machine.TimeMachineFixture
) -> None:
    week = this_week(0)
    # Wednesday noon of this week: the week's first half-hour has begun and its last has not, however long the
    # test takes (found by make test-clock: a run that reached here in a week's last seconds saw the week end).
    time_machine.move_to(dt.datetime.fromisoformat(at(week, 2, "12:00")), tick=True)
    agent = await people.make(Role.agent)
    coordinator = await people.make(Role.coordinator)
    last_half_hour = {"start": at(week, 6, "23:30"), "end": at(week.shifted(1), 0, "00:00"), "preference": "preferred"}
    body = {"week": str(week), "blocks": [last_half_hour, block(week, 0, "00:00", "00:30")]}
    response = await client.put(
        f"/api/v1/agents/{agent.id}/availability", json=body, headers=await bearer(db, coordinator)
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "blocks[1].start"
    assert "Block 2 starts at" in response.json()["message"]
    assert "already begun" in response.json()["message"]
    assert await stored_slots(db, agent) == 0


async def test_a_browser_session_cannot_write_through_the_api(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent)
    await login(client, agent.email)
    week = this_week(2)
    assert (await client.get(f"/api/v1/availability?week={week}")).status_code == 200
    assert (await client.put("/api/v1/availability", json=a_week(week))).status_code == 401


# Who may read and write whose week -------------------------------------------------


async def test_an_agent_cannot_read_or_write_another_agents_week(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    alice, bob = await people.make(Role.agent), await people.make(Role.agent)
    alice_headers, bob_headers = await bearer(db, alice), await bearer(db, bob)
    week = this_week(2)
    await client.put("/api/v1/availability", json=a_week(week), headers=bob_headers)

    path = f"/api/v1/agents/{bob.id}/availability?week={week}"
    assert (await client.get(path, headers=alice_headers)).status_code == 403
    assert (await client.put(path, json=a_week(week, 3), headers=alice_headers)).status_code == 403
    mine = {"week": str(week), "blocks": [block(week, 1, "08:00", "09:00")]}
    assert (await client.put(f"/api/v1/availability?week={week}", json=mine, headers=alice_headers)).status_code == 200
    assert (await client.get(f"/api/v1/availability?week={week}", headers=bob_headers)).json() == a_week(week)
    await login(client, alice.email)
    assert (await client.get(f"/admin/availability/{bob.id}")).status_code == 403
    assert (await client.get(f"/api/v1/agents/{bob.id}/availability")).status_code == 403


async def test_a_coordinator_of_another_site_finds_no_such_agent(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    other_site = await accounts.ensure_site(db, name="Other Centre", timezone="Europe/Berlin", country="DE")
    stranger = await people.make(Role.agent, site=other_site)
    coordinator = await people.make(Role.coordinator)
    headers = await bearer(db, coordinator)
    week = this_week(2, ZoneInfo("Europe/Berlin"))
    path = f"/api/v1/agents/{stranger.id}/availability?week={week}"
    assert (await client.get(path, headers=headers)).status_code == 404
    assert (await client.put(path, json=a_week(week), headers=headers)).status_code == 404
    assert (await client.get(f"/api/v1/agents/{coordinator.id}/availability", headers=headers)).status_code == 404
    await login(client, coordinator.email)
    assert (await client.get(f"/admin/availability/{stranger.id}")).status_code == 404
    assert await stored_slots(db, stranger) == 0


async def test_finance_has_no_availability_access(client: httpx.AsyncClient, people: Factory, db: AsyncSession) -> None:
    agent = await people.make(Role.agent)
    headers = await bearer(db, await people.make(Role.finance))
    week = this_week(2)
    assert (await client.get("/api/v1/availability", headers=headers)).status_code == 403
    assert (await client.get(f"/api/v1/agents/{agent.id}/availability", headers=headers)).status_code == 403
    path = f"/api/v1/agents/{agent.id}/availability"
    assert (await client.put(path, json=a_week(week), headers=headers)).status_code == 403
