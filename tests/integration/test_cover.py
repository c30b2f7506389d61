"""Cover requests: who is asked and in which order, waves, first acceptance wins, the bonus, late releases, the edge."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, Skill, Tier, User
from backend.accounts.site_settings import update_site_settings
from backend.availability.models import OfferedSlot, Preference
from backend.core.db import utcnow
from backend.core.errors import Conflict, DomainError
from backend.core.slots import slot_of, utc_start
from backend.notify.models import Kind, Notification
from backend.shifts import cover, market
from backend.shifts.models import CoverCandidate, CoverReason, CoverRequest, CoverStatus, Shift, ShiftSeat
from tests.conftest import login, post_form
from tests.factories import Factory, a_skill, an_agent, an_open_shift, bearer

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = utcnow()
HTMX = {"hx-request": "true"}


def at(days: int, clock: str) -> dt.datetime:
    """A Shanghai wall-clock time ``days`` from today."""
    hour, minute = (int(part) for part in clock.split(":"))
    day = NOW.astimezone(SHANGHAI).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


async def a_shift_and_its_holder(
    db: AsyncSession, site: Site, skill: Skill, people: Factory, *, days: int = 5
) -> tuple[Shift, User]:
    """A one-seat shift and the senior agent holding it (the one who will not come)."""
    shift = await an_open_shift(db, site, skill, start=at(days, "18:00"), seats=1, now=NOW)
    holder = await an_agent(people, skills=[skill], tier=Tier.senior)
    await market.claim_shift(db, shift_id=shift.id, agent=holder, now=NOW)
    return shift, holder


async def no_show(db: AsyncSession, site: Site, shift: Shift, absent: User, *, bonus_minor: int = 0) -> CoverRequest:
    return await cover.request_cover(
        db,
        site=site,
        shift_id=shift.id,
        absent_user_id=absent.id,
        reason=CoverReason.no_show,
        bonus_minor=bonus_minor,
        by=None,
        now=NOW,
    )


async def asked_ids(db: AsyncSession, request: CoverRequest, wave: int | None = None) -> list[int]:
    query = select(CoverCandidate.user_id).where(CoverCandidate.request_id == request.id)
    if wave is not None:
        query = query.where(CoverCandidate.wave == wave)
    return list(await db.scalars(query.order_by(CoverCandidate.rank)))


async def cover_inbox(db: AsyncSession, user_ids: list[int]) -> int:
    query = select(func.count()).where(Notification.user_id.in_(user_ids), Notification.kind == Kind.cover_request)
    return int(await db.scalar(query) or 0)


async def seats_held(db: AsyncSession, shift: Shift) -> int:
    query = select(func.count()).where(ShiftSeat.shift_id == shift.id, ShiftSeat.released_at.is_(None))
    return int(await db.scalar(query) or 0)


def same_week_day_before(start: dt.datetime) -> dt.datetime:
    """A day next to ``start`` in the same ISO week, at 09:00 (rest and shifts-a-day both respected)."""
    step = 1 if start.weekday() == 0 else -1
    return dt.datetime.combine(start.date() + dt.timedelta(days=step), dt.time(9, 0), tzinfo=SHANGHAI)


# Ranking -------------------------------------------------------------------------------------


async def test_candidates_are_ranked_offered_first_then_hours_below_cap_then_reliability_then_tier(
    db: AsyncSession, site: Site, people: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    skill = await a_skill(db, site)
    shift, holder = await a_shift_and_its_holder(db, site, skill, people)
    offered = await an_agent(people, skills=[skill], tier=Tier.junior)
    db.add_all(
        OfferedSlot(user_id=offered.id, slot=t, preference=Preference.if_needed)
        for t in range(shift.start_slot, shift.end_slot)
    )
    free_junior = await an_agent(people, skills=[skill], tier=Tier.junior)
    free_senior = await an_agent(people, skills=[skill], tier=Tier.senior)
    unreliable_senior = await an_agent(people, skills=[skill], tier=Tier.senior)
    busy_senior = await an_agent(people, skills=[skill], tier=Tier.senior)
    other = await an_open_shift(db, site, skill, start=same_week_day_before(at(5, "18:00")), seats=1, now=NOW)
    await market.claim_shift(db, shift_id=other.id, agent=busy_senior, now=NOW)
    uncertified = await an_agent(people, tier=Tier.senior)
    clashing = await an_agent(people, skills=[skill], tier=Tier.senior)
    overlap = await an_open_shift(db, site, skill, start=at(5, "17:00"), seats=1, now=NOW)
    await market.claim_shift(db, shift_id=overlap.id, agent=clashing, now=NOW)
    scores = {unreliable_senior.id: 0.6}

    async def reliability(session: AsyncSession, *, user_id: int, now: dt.datetime) -> float:
        return scores.get(user_id, 1.0)

    monkeypatch.setattr(cover, "reliability_score", reliability)
    skill_row = await db.get(Skill, shift.skill_id)
    assert skill_row is not None

    ranked = await cover.rank_candidates(
        db, site=site, shift=shift, skill=skill_row, now=NOW, excluding=frozenset({holder.id})
    )

    order = [c.user.id for c in ranked]
    assert order == [offered.id, free_senior.id, free_junior.id, unreliable_senior.id, busy_senior.id]
    assert uncertified.id not in order, "the claim check leaves them out"
    assert clashing.id not in order
    assert [c.rank for c in ranked] == [1, 2, 3, 4, 5]
    first, last = ranked[0], ranked[-1]
    assert first.why()[0] == "Offered this time"
    assert ranked[1].why()[0] == "Free, but did not offer this time"
    assert last.headroom_slots == 80 - 8 - 8  # two four-hour shifts held
    assert last.why()[1] == "32 h below the weekly cap"
    assert ranked[3].why()[2] == "Reliability 60%"
    assert ranked[1].why()[3] == "Tier: senior"


# Waves ---------------------------------------------------------------------------------------


async def test_waves_ask_the_next_agents_in_rank_order_until_nobody_is_left(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    await update_site_settings(db, site, cover_wave_size=2, cover_wave_minutes=10)
    skill = await a_skill(db, site)
    shift, holder = await a_shift_and_its_holder(db, site, skill, people)
    agents = [await an_agent(people, skills=[skill]) for _ in range(5)]
    ids = [agent.id for agent in agents]

    request = await no_show(db, site, shift, holder)

    first_wave = await asked_ids(db, request, wave=1)
    assert first_wave == ids[:2], "equal on every fact: the lower id first"
    assert await cover_inbox(db, first_wave) == 2
    assert await cover_inbox(db, ids[2:]) == 0
    assert request.next_wave_at == NOW + dt.timedelta(minutes=10)
    assert await cover.due_waves(db, now=NOW + dt.timedelta(minutes=9)) == []

    assert await cover.due_waves(db, now=NOW + dt.timedelta(minutes=10)) == [request.id]
    assert await asked_ids(db, request, wave=2) == ids[2:4]
    assert await cover_inbox(db, ids[2:4]) == 2
    await cover.due_waves(db, now=NOW + dt.timedelta(minutes=20))
    assert await asked_ids(db, request, wave=3) == ids[4:]
    await db.refresh(request)
    assert request.wave == 3
    assert request.next_wave_at is None, "nobody left to ask"
    assert await cover_inbox(db, [holder.id]) == 0, "the absent agent is never asked"
    assert await cover.send_next_wave(db, request_id=request.id, now=NOW + dt.timedelta(minutes=30)) == []


async def test_a_request_expires_when_its_shift_is_over_and_closes_when_the_seat_fills_on_the_marketplace(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    await update_site_settings(db, site, cover_wave_size=1)
    skill = await a_skill(db, site)
    shift, holder = await a_shift_and_its_holder(db, site, skill, people)
    late, taker = await an_agent(people, skills=[skill]), await an_agent(people, skills=[skill])
    request = await no_show(db, site, shift, holder)
    assert await asked_ids(db, request) == [late.id]

    await market.claim_shift(db, shift_id=shift.id, agent=taker, now=NOW)
    await cover.due_waves(db, now=NOW + dt.timedelta(minutes=10))
    await db.refresh(request)
    assert (request.status, request.covered_by_id) == (CoverStatus.covered, None)

    other, other_holder = await a_shift_and_its_holder(db, site, skill, people, days=6)
    expiring = await no_show(db, site, other, other_holder)
    await cover.due_waves(db, now=utc_start(other.end_slot))
    await db.refresh(expiring)
    assert expiring.status is CoverStatus.expired


# Raising -------------------------------------------------------------------------------------


async def test_a_no_show_frees_the_seat_and_an_emergency_adds_one_that_cancelling_takes_back(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    shift, holder = await a_shift_and_its_holder(db, site, skill, people)
    await an_agent(people, skills=[skill])

    request = await no_show(db, site, shift, holder)
    assert (shift.seats, shift.taken) == (1, 0)
    assert await seats_held(db, shift) == 0
    assert request.wave == 1

    emergency = await cover.request_cover(
        db,
        site=site,
        shift_id=shift.id,
        absent_user_id=None,
        reason=CoverReason.emergency,
        bonus_minor=0,
        by=None,
        now=NOW,
    )
    assert (await db.scalar(select(Shift.seats).where(Shift.id == shift.id))) == 2
    await cover.cancel_cover(db, request_id=emergency.id, site_id=site.id, now=NOW)
    assert (await db.scalar(select(Shift.seats).where(Shift.id == shift.id))) == 1
    assert emergency.status is CoverStatus.cancelled
    with pytest.raises(Conflict):
        await cover.cancel_cover(db, request_id=emergency.id, site_id=site.id, now=NOW)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"absent_user_id": None}, "absent_user"),
        ({"bonus_minor": -1}, "bonus_minor"),
        ({"absent_user_id": "stranger"}, "absent_user"),
    ],
)
async def test_a_bad_cover_request_is_refused_naming_the_field(
    db: AsyncSession, site: Site, people: Factory, change: dict[str, object], field: str
) -> None:
    skill = await a_skill(db, site)
    shift, holder = await a_shift_and_its_holder(db, site, skill, people)
    if change.get("absent_user_id") == "stranger":
        change = {"absent_user_id": (await an_agent(people, skills=[skill])).id}
    values: dict[str, object] = {
        "absent_user_id": holder.id,
        "reason": CoverReason.no_show,
        "bonus_minor": 0,
        "by": None,
        "now": NOW,
    }
    with pytest.raises(DomainError) as refused:
        await cover.request_cover(db, site=site, shift_id=shift.id, **{**values, **change})  # type: ignore[arg-type]
    assert refused.value.status_code == 422
    assert refused.value.field == field


async def test_a_release_after_the_cutoff_becomes_a_cover_request(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    shift, holder = await a_shift_and_its_holder(db, site, skill, people, days=1)
    asked = await an_agent(people, skills=[skill])
    late = utc_start(shift.start_slot) - dt.timedelta(hours=2)

    await market.release_shift(db, shift_id=shift.id, agent=holder, now=late)

    request = await db.scalar(select(CoverRequest).where(CoverRequest.shift_id == shift.id))
    assert request is not None
    assert (request.reason, request.absent_user_id, request.created_by_id) == (
        CoverReason.late_release,
        holder.id,
        holder.id,
    )
    assert await seats_held(db, shift) == 0
    assert await asked_ids(db, request) == [asked.id]


# Accepting ------------------------------------------------------------------------------------


async def test_the_first_acceptance_wins_the_seat_and_its_bonus_and_the_second_gets_409(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    shift, holder = await a_shift_and_its_holder(db, site, skill, people)
    first, second = await an_agent(people, skills=[skill]), await an_agent(people, skills=[skill])
    request = await no_show(db, site, shift, holder, bonus_minor=2000)
    assert shift.bonus_minor == 0, "the bonus is recorded when someone covers"

    won = await cover.accept_cover(db, request_id=request.id, agent=first, now=NOW + dt.timedelta(minutes=1))
    again = await cover.accept_cover(db, request_id=request.id, agent=first, now=NOW + dt.timedelta(minutes=2))
    with pytest.raises(Conflict) as lost:
        await cover.accept_cover(db, request_id=request.id, agent=second, now=NOW + dt.timedelta(minutes=2))

    assert lost.value.status_code == 409
    assert "already covered" in lost.value.message
    assert (won.status, won.covered_by_id, again.id) == (CoverStatus.covered, first.id, request.id)
    row = (await db.execute(select(Shift.taken, Shift.seats, Shift.bonus_minor).where(Shift.id == shift.id))).one()
    assert tuple(row) == (1, 1, 2000)
    assert await seats_held(db, shift) == 1
    assert (
        await db.scalar(
            select(ShiftSeat.user_id).where(ShiftSeat.shift_id == shift.id, ShiftSeat.released_at.is_(None))
        )
        == first.id
    )
    view = await market.open_shifts_for(db, agent=first, now=NOW)
    assert not any(item.shift_id == shift.id and not item.held for item in view.shifts)


async def test_only_an_asked_agent_of_the_site_can_accept_and_a_shift_under_way_can_be_covered(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    await update_site_settings(db, site, cover_wave_size=1)
    skill = await a_skill(db, site)
    shift, holder = await a_shift_and_its_holder(db, site, skill, people)
    asked, later = await an_agent(people, skills=[skill]), await an_agent(people, skills=[skill])
    request = await no_show(db, site, shift, holder)
    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Asia/Shanghai", country="CN")
    stranger = await people.make(Role.agent, site=elsewhere)

    for outsider in (later, stranger):
        with pytest.raises(DomainError) as refused:
            await cover.accept_cover(db, request_id=request.id, agent=outsider, now=NOW)
        assert refused.value.status_code == 404

    under_way = utc_start(shift.start_slot) + dt.timedelta(minutes=40)
    assert slot_of(under_way) > shift.start_slot
    accepted = await cover.accept_cover(db, request_id=request.id, agent=asked, now=under_way)
    assert accepted.covered_by_id == asked.id


# The pages and the API ---------------------------------------------------------------------------


async def test_a_coordinator_raises_cover_by_api_and_the_asked_agent_accepts_it(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    shift, holder = await a_shift_and_its_holder(db, site, skill, people)
    first, second = await an_agent(people, skills=[skill]), await an_agent(people, skills=[skill])
    coordinator = await people.make(Role.coordinator)
    await db.commit()
    staff = await bearer(db, coordinator)

    raised = await client.post(
        f"/api/v1/shifts/{shift.id}/cover",
        json={"absent_user": holder.id, "reason": "no_show", "bonus_minor": 2000},
        headers=staff,
    )
    assert raised.status_code == 201, raised.text
    body = raised.json()
    assert (body["shift_id"], body["status"], body["bonus_minor"], body["wave"]) == (shift.id, "open", 2000, 1)
    assert [a["user_id"] for a in body["asked"]] == [first.id, second.id]

    listed = await client.get("/api/v1/cover-requests", headers=staff)
    assert [r["id"] for r in listed.json()] == [body["id"]]
    mine = await client.get("/api/v1/cover-requests", headers=await bearer(db, first))
    assert [r["id"] for r in mine.json()] == [body["id"]]
    assert "asked" not in mine.json()[0] or mine.json()[0]["asked"] == []

    won = await client.post(f"/api/v1/cover-requests/{body['id']}/accept", headers=await bearer(db, first))
    assert won.status_code == 200, won.text
    assert (won.json()["status"], won.json()["covered_by"]) == ("covered", first.id)
    lost = await client.post(f"/api/v1/cover-requests/{body['id']}/accept", headers=await bearer(db, second))
    assert lost.status_code == 409
    assert lost.json()["message"] == "Someone else already covered this shift."
    assert await db.scalar(select(Shift.bonus_minor).where(Shift.id == shift.id)) == 2000


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"absent_user": None, "reason": "astrology", "bonus_minor": 0}, "reason"),
        ({"absent_user": None, "reason": "no_show", "bonus_minor": 0}, "absent_user"),
        ({"absent_user": None, "reason": "emergency", "bonus_minor": -5}, "bonus_minor"),
        ({"absent_user": None, "reason": "late_release", "bonus_minor": 0}, "reason"),
        ({"absent_user": None, "reason": "emergency", "bonus_minor": 0, "extra": 1}, "data"),  # the message names it
    ],
)
async def test_bad_cover_requests_are_422_naming_the_field(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, body: dict[str, object], field: str
) -> None:
    skill = await a_skill(db, site)
    shift = await an_open_shift(db, site, skill, start=at(5, "18:00"), seats=1, now=NOW)
    coordinator = await people.make(Role.coordinator)
    response = await client.post(f"/api/v1/shifts/{shift.id}/cover", json=body, headers=await bearer(db, coordinator))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    if field == "data":
        assert "extra" in response.json()["message"]


async def test_finance_and_agents_cannot_raise_cover_and_another_sites_request_is_404(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    shift, holder = await a_shift_and_its_holder(db, site, skill, people)
    body = {"absent_user": holder.id, "reason": "no_show", "bonus_minor": 0}
    for role in (Role.finance, Role.agent):
        refused = await client.post(
            f"/api/v1/shifts/{shift.id}/cover", json=body, headers=await bearer(db, await people.make(role))
        )
        assert refused.status_code == 403, role
    finance = await client.get("/api/v1/cover-requests", headers=await bearer(db, await people.make(Role.finance)))
    assert finance.status_code == 403
    request = await no_show(db, site, shift, holder)
    await db.commit()
    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Asia/Shanghai", country="CN")
    foreign_staff = await bearer(db, await people.make(Role.coordinator, site=elsewhere))
    foreign_agent = await bearer(db, await people.make(Role.agent, site=elsewhere))
    raised = await client.post(f"/api/v1/shifts/{shift.id}/cover", json=body, headers=foreign_staff)
    accepted = await client.post(f"/api/v1/cover-requests/{request.id}/accept", headers=foreign_agent)
    cancelled = await client.post(f"/admin/cover/{request.id}/cancel", headers=foreign_staff)
    assert raised.status_code == accepted.status_code == 404
    assert cancelled.status_code in {403, 404}


async def test_the_agent_page_offers_one_tap_cover_and_the_coordinator_page_explains_the_ranking(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    shift, holder = await a_shift_and_its_holder(db, site, skill, people)
    agent = await an_agent(people, skills=[skill])
    coordinator = await people.make(Role.coordinator)
    request = await no_show(db, site, shift, holder, bonus_minor=1500)
    await db.commit()

    assert (await login(client, agent.email)).status_code == 303
    page = await client.get("/app/shifts/cover")
    assert page.status_code == 200
    assert f'id="cover-{request.id}"' in page.text
    assert "I&#39;ll cover" in page.text or "I'll cover" in page.text
    assert "CNY 15.00" in page.text
    assert "Each wave asks the next 5 agents." in page.text  # the site's default rules
    assert "Unless the seat is taken, the next wave goes 10 minutes later." in page.text
    token = client.cookies.get("weft_csrf")
    taken = await client.post(f"/app/shifts/cover/{request.id}/accept", data={"_csrf_token": token}, headers=HTMX)
    assert taken.status_code == 200
    assert f'id="cover-{request.id}"' in taken.text
    assert "You are covering this shift" in taken.text
    await client.post("/logout", data={"_csrf_token": client.cookies.get("weft_csrf") or ""})

    client.cookies.clear()
    assert (await login(client, coordinator.email)).status_code == 303
    staff_page = await client.get("/admin/cover")
    assert staff_page.status_code == 200
    assert "Offered this time" in staff_page.text or "Free, but did not offer this time" in staff_page.text
    assert "How candidates are ranked" in staff_page.text
    assert agent.display_name in staff_page.text

    # starts within two days: on the form
    other, other_holder = await a_shift_and_its_holder(db, site, skill, people, days=1)
    await db.commit()
    raised = await post_form(
        client,
        "/admin/cover",
        {"shift_id": str(other.id), "absent_user": str(other_holder.id), "reason": "no_show", "bonus": "5.00"},
    )
    assert raised.status_code == 303, raised.text
    assert await db.scalar(select(func.count()).where(CoverRequest.shift_id == other.id)) == 1
    nobody = await post_form(
        client, "/admin/cover", {"shift_id": str(other.id), "absent_user": "", "reason": "no_show", "bonus": "0"}
    )
    assert nobody.status_code == 422
    assert 'id="e-absent_user"' in nobody.text
    assert "Say who did not show up." in nobody.text


async def test_the_coordinator_sends_the_next_wave_now_and_cancels_and_an_agent_cannot(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await update_site_settings(db, site, cover_wave_size=1)
    skill = await a_skill(db, site)
    shift, holder = await a_shift_and_its_holder(db, site, skill, people)
    first, second = await an_agent(people, skills=[skill]), await an_agent(people, skills=[skill])
    coordinator = await people.make(Role.coordinator)
    request = await no_show(db, site, shift, holder)
    await db.commit()

    assert (await login(client, first.email)).status_code == 303
    assert (await client.get("/admin/cover")).status_code == 403
    refused = await post_form(client, f"/admin/cover/{request.id}/cancel", {})
    assert refused.status_code == 403
    client.cookies.clear()

    assert (await login(client, coordinator.email)).status_code == 303
    sent = await post_form(client, f"/admin/cover/{request.id}/wave", {})
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/admin/cover#cover-{request.id}"
    assert await asked_ids(db, request) == [first.id, second.id]
    cancelled = await post_form(client, f"/admin/cover/{request.id}/cancel", {})
    assert cancelled.status_code == 303
    await db.refresh(request)
    assert request.status is CoverStatus.cancelled
    again = await post_form(client, f"/admin/cover/{request.id}/cancel", {})
    assert again.status_code == 409
    assert "already closed" in again.text


async def test_an_agent_releasing_after_the_cutoff_by_api_raises_a_cover_request(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    shift, holder = await a_shift_and_its_holder(db, site, skill, people, days=1)
    shift.start_slot = slot_of(utcnow()) + 4  # two hours ahead: well past the 24-hour cutoff
    shift.end_slot = shift.start_slot + 6
    await db.commit()

    released = await client.post(f"/api/v1/shifts/{shift.id}/release", headers=await bearer(db, holder))

    assert released.status_code == 200, released.text
    request = await db.scalar(select(CoverRequest).where(CoverRequest.shift_id == shift.id))
    assert request is not None
    assert (request.reason, request.status) == (CoverReason.late_release, CoverStatus.open)
