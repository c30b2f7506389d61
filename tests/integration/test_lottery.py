"""The request window and its weighted lottery: requests instead of claims, the draw, its weights, its pages and API."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, Skill, Tier, User
from backend.accounts.site_settings import update_site_settings
from backend.availability.models import OfferedSlot, Preference
from backend.core.db import utcnow
from backend.core.i18n import moment_phrase
from backend.core.slots import local_slot, slot_of
from backend.notify.models import Notification
from backend.roster.models import Roster, RosterVersion
from backend.shifts import allocation, jobs, lottery, market, publish
from backend.shifts.models import Attendance, ClaimRequest, Shift, ShiftOrigin, ShiftSeat
from tests.conftest import BASE_URL, Factory, login
from tests.factories import a_skill, an_agent, an_open_shift, bearer
from tests.integration.test_market_claims import NOW, SHANGHAI, at, seats_held, taken

HTMX = {"hx-request": "true"}
WINDOW_MINUTES = 10


async def lottery_on(db: AsyncSession, site: Site, minutes: int = WINDOW_MINUTES) -> None:
    await update_site_settings(db, site, request_window_minutes=minutes)


async def a_lottery_shift(db: AsyncSession, site: Site, skill: Skill, *, seats: int, start: str = "18:00") -> Shift:
    """An open shift whose request window runs from NOW to NOW + WINDOW_MINUTES (every tier's window is open)."""
    shift = await an_open_shift(db, site, skill, start=at(5, start), seats=seats, now=NOW)
    assert shift.requests_close_at == NOW + dt.timedelta(minutes=WINDOW_MINUTES)
    return shift


def after_close(shift: Shift) -> dt.datetime:
    assert shift.requests_close_at is not None
    return shift.requests_close_at + dt.timedelta(seconds=1)


async def requests_on(db: AsyncSession, shift: Shift) -> list[ClaimRequest]:
    return list(
        await db.scalars(select(ClaimRequest).where(ClaimRequest.shift_id == shift.id).order_by(ClaimRequest.user_id))
    )


async def requesters(db: AsyncSession, people: Factory, skill: Skill, shift: Shift, count: int) -> list[User]:
    agents = [await an_agent(people, skills=[skill], tier=Tier.senior) for _ in range(count)]
    for agent in agents:
        assert isinstance(await market.claim_shift(db, shift_id=shift.id, agent=agent, now=NOW), lottery.Requested)
    return agents


# Requests ---------------------------------------------------------------------------------------


async def test_during_the_window_a_claim_is_a_request_and_a_double_tap_is_one(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    await lottery_on(db, site)
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill], tier=Tier.senior)
    shift = await a_lottery_shift(db, site, skill, seats=2)

    first = await market.claim_shift(db, shift_id=shift.id, agent=agent, now=NOW)
    again = await market.claim_shift(db, shift_id=shift.id, agent=agent, now=NOW + dt.timedelta(seconds=1))

    assert isinstance(first, lottery.Requested)
    assert first.created
    assert first.draw_at == shift.requests_close_at
    assert isinstance(again, lottery.Requested)
    assert not again.created
    assert await taken(db, shift) == 0
    assert await seats_held(db, shift) == 0
    assert [r.user_id for r in await requests_on(db, shift)] == [agent.id]

    listed = next(i for i in (await market.open_shifts_for(db, agent=agent, now=NOW)).shifts if i.shift_id == shift.id)
    assert listed.requested
    assert listed.draw_at is not None

    await lottery.withdraw_request(db, shift_id=shift.id, agent=agent, now=NOW)
    await lottery.withdraw_request(db, shift_id=shift.id, agent=agent, now=NOW)  # idempotent
    assert await requests_on(db, shift) == []


async def test_a_junior_cannot_request_before_their_window_opens(db: AsyncSession, site: Site, people: Factory) -> None:
    await lottery_on(db, site, minutes=30)  # junior's window opens 20 minutes after the shift does
    skill = await a_skill(db, site)
    junior = await an_agent(people, skills=[skill], tier=Tier.junior)
    shift = await an_open_shift(db, site, skill, start=at(5, "18:00"), seats=2, opened_minutes_ago=0, now=NOW)

    with pytest.raises(allocation.ClaimRefused) as refused:
        await market.claim_shift(db, shift_id=shift.id, agent=junior, now=NOW + dt.timedelta(minutes=5))
    assert [r.code for r in refused.value.reasons] == [allocation.Why.window]
    assert await requests_on(db, shift) == []

    later = await market.claim_shift(db, shift_id=shift.id, agent=junior, now=NOW + dt.timedelta(minutes=21))
    assert isinstance(later, lottery.Requested)


async def test_with_the_window_off_a_claim_is_first_come(db: AsyncSession, site: Site, people: Factory) -> None:
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill], tier=Tier.senior)
    shift = await an_open_shift(db, site, skill, start=at(5, "18:00"), seats=2, now=NOW)

    claim = await market.claim_shift(db, shift_id=shift.id, agent=agent, now=NOW)

    assert shift.requests_close_at is None
    assert isinstance(claim, market.Claim)
    assert claim.created
    assert await taken(db, shift) == 1
    assert await requests_on(db, shift) == []
    assert await lottery.due_draws(db, now=NOW + dt.timedelta(hours=1)) == 0


async def test_every_way_a_shift_opens_starts_a_request_window(db: AsyncSession, site: Site, people: Factory) -> None:
    await lottery_on(db, site)
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill], tier=Tier.senior)
    closes = NOW + dt.timedelta(minutes=WINDOW_MINUTES)
    made = await an_open_shift(db, site, skill, start=at(5, "18:00"), now=NOW)
    roster = Roster(site_id=site.id, week="2099-W01")
    db.add(roster)
    await db.flush()
    version = RosterVersion(roster_id=roster.id, number=1)
    db.add(version)
    await db.flush()
    start = slot_of(at(6, "18:00"))
    await publish.publish_week_shifts(
        db,
        site_id=site.id,
        slots=range(start - 48, start + 48),
        version_id=version.id,
        lines=[(agent.id, skill.id, start - 18, start - 12)],
        gaps=[(skill.id, start, start + 6, 2)],
        now=NOW,
    )
    gap = await db.scalar(select(Shift).where(Shift.origin == ShiftOrigin.gap, Shift.roster_version_id == version.id))
    rostered = await db.scalar(
        select(Shift).where(Shift.origin == ShiftOrigin.roster, Shift.roster_version_id == version.id)
    )
    assert gap is not None
    assert rostered is not None
    assert rostered.requests_close_at is None  # not on the marketplace until a seat is given back
    released_at = NOW + dt.timedelta(minutes=3)
    await market.release_shift(db, shift_id=rostered.id, agent=agent, now=released_at)

    assert made.requests_close_at == closes
    assert gap.requests_close_at == closes
    assert rostered.requests_close_at == released_at + dt.timedelta(minutes=WINDOW_MINUTES)


# The draw ---------------------------------------------------------------------------------------


async def test_the_draw_gives_exactly_the_free_seats_tells_everyone_and_then_is_first_come(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    await lottery_on(db, site)
    skill = await a_skill(db, site)
    shift = await a_lottery_shift(db, site, skill, seats=2)
    agents = await requesters(db, people, skill, shift, 5)

    assert await lottery.draw(db, shift_id=shift.id, now=NOW) is None  # the window is still open
    result = await lottery.draw(db, shift_id=shift.id, now=after_close(shift))

    assert result is not None
    assert len(result.winners) == 2
    assert await taken(db, shift) == 2
    assert await seats_held(db, shift) == 2
    requests = await requests_on(db, shift)
    assert sorted(r.user_id for r in requests if r.won) == sorted(result.winners)
    assert all(r.drawn_at == after_close(shift) and r.won is not None for r in requests)
    for agent in agents:
        titles = list(await db.scalars(select(Notification.title).where(Notification.user_id == agent.id)))
        won = agent.id in result.winners
        when = moment_phrase(at(5, "18:00"), SHANGHAI, utcnow().astimezone(SHANGHAI).date())
        assert titles == [
            f"You won a seat in the draw: your shift {when} is on your schedule."
            if won
            else f"Not drawn this time for the shift {when}."
        ]
    assert await lottery.draw(db, shift_id=shift.id, now=after_close(shift)) is None  # drawn once

    with pytest.raises(allocation.ClaimRefused):  # full: first come again, and nothing is left
        await market.claim_shift(
            db,
            shift_id=shift.id,
            agent=await an_agent(people, skills=[skill], tier=Tier.senior),
            now=after_close(shift),
        )


async def test_fewer_requesters_than_seats_all_win_and_the_rest_is_first_come(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    await lottery_on(db, site)
    skill = await a_skill(db, site)
    shift = await a_lottery_shift(db, site, skill, seats=5)
    agents = await requesters(db, people, skill, shift, 3)

    result = await lottery.draw(db, shift_id=shift.id, now=after_close(shift))

    assert result is not None
    assert sorted(result.winners) == sorted(a.id for a in agents)
    late = await an_agent(people, skills=[skill], tier=Tier.senior)
    claim = await market.claim_shift(db, shift_id=shift.id, agent=late, now=after_close(shift))
    assert isinstance(claim, market.Claim)
    assert claim.created
    assert await taken(db, shift) == 4


async def test_a_claim_after_the_close_draws_first_so_nobody_overtakes_the_requesters(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    await lottery_on(db, site)
    skill = await a_skill(db, site)
    shift = await a_lottery_shift(db, site, skill, seats=1)
    (requester,) = await requesters(db, people, skill, shift, 1)
    quick = await an_agent(people, skills=[skill], tier=Tier.senior)

    with pytest.raises(allocation.ClaimRefused):
        await market.claim_shift(db, shift_id=shift.id, agent=quick, now=after_close(shift))

    seat = await db.scalar(select(ShiftSeat).where(ShiftSeat.shift_id == shift.id))
    assert seat is not None
    assert seat.user_id == requester.id


async def test_a_requester_no_longer_eligible_at_the_draw_is_skipped(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    await lottery_on(db, site)
    skill = await a_skill(db, site)
    shift = await a_lottery_shift(db, site, skill, seats=2)
    busy, other = await requesters(db, people, skill, shift, 2)
    clashing = await an_open_shift(db, site, skill, start=at(5, "19:00"), seats=1, now=NOW)
    clashing.requests_close_at = None  # first come
    await market.claim_shift(db, shift_id=clashing.id, agent=busy, now=NOW)

    result = await lottery.draw(db, shift_id=shift.id, now=after_close(shift))

    assert result is not None
    assert result.winners == [other.id]
    assert busy.id not in result.weights
    skipped = next(r for r in await requests_on(db, shift) if r.user_id == busy.id)
    assert skipped.won is False
    assert skipped.weight is None
    assert await taken(db, shift) == 1


# Weights ----------------------------------------------------------------------------------------


async def test_a_bigger_fair_share_deficit_weighs_more_and_wins_more_often(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    await lottery_on(db, site)
    skill = await a_skill(db, site)
    day = at(5, "00:00").date()
    idle = await an_agent(people, skills=[skill], tier=Tier.senior)  # offered 4 hours, holds none: deficit 1
    # offered 4 hours, holds them: the site's share is 0.5
    busy = await an_agent(people, skills=[skill], tier=Tier.senior)
    newcomer = await an_agent(people, skills=[skill], tier=Tier.senior)  # offered nothing: deficit 0
    for agent in (idle, busy):
        start = local_slot(day, 8, 0, SHANGHAI)
        db.add_all(
            OfferedSlot(user_id=agent.id, slot=t, preference=Preference.preferred) for t in range(start, start + 8)
        )
    held = await an_open_shift(db, site, skill, start=at(5, "08:00"), hours=4, seats=1, now=NOW)
    held.requests_close_at = None
    await market.claim_shift(db, shift_id=held.id, agent=busy, now=NOW)
    shift = await a_lottery_shift(db, site, skill, seats=1)
    for agent in (idle, newcomer):
        await market.claim_shift(db, shift_id=shift.id, agent=agent, now=NOW)

    result = await lottery.draw(db, shift_id=shift.id, now=after_close(shift))

    assert result is not None
    assert result.weights == {idle.id: 2.0, newcomer.id: 1.0}  # (1 + deficit) x reliability 1.0
    recorded = {r.user_id: r.weight for r in await requests_on(db, shift)}
    assert recorded == result.weights
    close = after_close(shift)
    wins = sum(
        lottery.draw_order(result.weights, lottery.draw_seed(shift_id, close))[0] == idle.id
        for shift_id in range(1, 3001)
    )
    assert 0.62 < wins / 3000 < 0.71  # 2/3 expected; the seeds are fixed, so this never flakes
    even = {idle.id: 1.0, newcomer.id: 1.0}
    even_wins = sum(
        lottery.draw_order(even, lottery.draw_seed(shift_id, close))[0] == idle.id for shift_id in range(1, 3001)
    )
    assert 0.46 < even_wins / 3000 < 0.54


def test_the_draw_is_reproducible_from_the_shift_and_its_close() -> None:
    weights = {1: 1.0, 2: 0.5, 3: 2.0, 4: 0.0}
    close = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    seed = lottery.draw_seed(7, close)

    assert seed == lottery.draw_seed(7, close.astimezone(SHANGHAI))
    assert lottery.draw_order(weights, seed) == lottery.draw_order(dict(reversed(weights.items())), seed)
    assert lottery.draw_order(weights, seed)[-1] == 4  # a weight of 0 comes after every positive weight
    assert seed != lottery.draw_seed(8, close)


async def test_a_poor_reliability_lowers_the_weight(db: AsyncSession, site: Site, people: Factory) -> None:
    await lottery_on(db, site)
    skill = await a_skill(db, site)
    shift = await a_lottery_shift(db, site, skill, seats=1)
    reliable, absent = await requesters(db, people, skill, shift, 2)
    past = Shift(
        site_id=site.id,
        skill_id=skill.id,
        start_slot=slot_of(NOW) - 96,
        end_slot=slot_of(NOW) - 90,
        seats=1,
        taken=1,
        origin=ShiftOrigin.manual,
        created_at=NOW,
    )
    db.add(past)
    await db.flush()
    seat = ShiftSeat(shift_id=past.id, user_id=absent.id, taken_at=NOW)
    db.add(seat)
    await db.flush()
    db.add(Attendance(seat_id=seat.id, no_show_at=NOW))
    await db.flush()

    result = await lottery.draw(db, shift_id=shift.id, now=after_close(shift))

    assert result is not None
    assert result.weights[absent.id] < result.weights[reliable.id]
    assert result.winners == [reliable.id]


# The worker, the pages and the API --------------------------------------------------------------


async def test_the_worker_draws_a_closed_window_once(db: AsyncSession, site: Site, people: Factory) -> None:
    await lottery_on(db, site)
    skill = await a_skill(db, site)
    shift = await a_lottery_shift(db, site, skill, seats=1)
    await requesters(db, people, skill, shift, 3)

    assert (await jobs.run_due(db, now=NOW, digests=False))["request windows drawn"] == 0
    assert (await jobs.run_due(db, now=after_close(shift), digests=False))["request windows drawn"] == 1
    assert (await jobs.run_due(db, now=after_close(shift), digests=False))["request windows drawn"] == 0
    assert await taken(db, shift) == 1
    assert sum(bool(r.won) for r in await requests_on(db, shift)) == 1


async def test_the_api_answers_202_during_the_window_and_withdraws(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await lottery_on(db, site)
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill], tier=Tier.senior)
    shift = await an_open_shift(db, site, skill, start=at(5, "18:00"), seats=2, now=utcnow(), opened_minutes_ago=0)
    headers = await bearer(db, agent)

    answer = await client.post(f"/api/v1/shifts/{shift.id}/claim", headers=headers)
    again = await client.post(f"/api/v1/shifts/{shift.id}/claim", headers=headers)

    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["status"] == "requested"
    assert body["shift_id"] == shift.id
    assert dt.datetime.fromisoformat(body["draw_at"]) == shift.requests_close_at
    assert again.status_code == 202
    count = select(func.count()).where(ClaimRequest.shift_id == shift.id)
    assert await db.scalar(count) == 1
    assert await db.scalar(select(Shift.taken).where(Shift.id == shift.id)) == 0

    withdrawn = await client.delete(f"/api/v1/shifts/{shift.id}/request", headers=headers)
    assert withdrawn.status_code == 204
    assert await db.scalar(count) == 0


async def test_the_pages_offer_a_request_show_it_and_publish_the_lottery_rules(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await lottery_on(db, site)
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill], tier=Tier.senior)
    coordinator = await people.make(Role.coordinator)
    shift = await an_open_shift(db, site, skill, start=at(5, "18:00"), seats=2, now=utcnow(), opened_minutes_ago=0)
    assert (await login(client, agent.email)).status_code == 303

    page = await client.get("/app/shifts/open")
    assert re.search(r"Request a seat \(drawn at \d\d:\d\d\)", page.text)
    assert "drawn by lottery" in page.text
    assert "(1 + how far you are below your fair share" in page.text

    token = client.cookies.get("weft_csrf")
    requested = await client.post(f"/app/shifts/open/{shift.id}/claim", data={"_csrf_token": token}, headers=HTMX)
    assert requested.status_code == 200
    assert re.search(r"Requested — seats are drawn at \d\d:\d\d\.", requested.text)
    assert f'action="/app/shifts/open/{shift.id}/request/withdraw"' in requested.text

    withdrawn = await client.post(
        f"/app/shifts/open/{shift.id}/request/withdraw", data={"_csrf_token": token}, headers=HTMX
    )
    assert withdrawn.status_code == 200
    assert "Request a seat (drawn at" in withdrawn.text
    await client.post(f"/app/shifts/open/{shift.id}/claim", data={"_csrf_token": token}, headers=HTMX)

    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as staff_client:
        assert (await login(staff_client, coordinator.email)).status_code == 303
        staff = await staff_client.get("/admin/shifts/")
    assert staff.status_code == 200
    assert "Requests are collected until" in staff.text
    assert agent.display_name in staff.text
    assert "Waiting for the draw" in staff.text
    assert "drawn by lottery" in staff.text
