"""Intraday offers: VTO calls that stop at the surplus, least served asked last, the weekly cap, lapsing, VOT
through the marketplace, extensions within the rules, and the agent's and the board's pages."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, Skill, User
from backend.accounts.site_settings import update_site_settings
from backend.core.db import utcnow
from backend.core.errors import Conflict, DomainError, NotFound
from backend.core.slots import slot_of, utc_start
from backend.notify.models import Kind, Notification
from backend.ops.models import DutyLogItem, LogKind
from backend.shifts import attendance, intraday, jobs
from backend.shifts.models import (
    CallKind,
    IntradayCall,
    IntradayOffer,
    OfferStatus,
    Shift,
    ShiftOrigin,
    ShiftSeat,
)
from backend.shifts.service import my_shifts
from tests.conftest import login, post_form
from tests.factories import Factory, a_held_shift, a_skill, an_agent

SHANGHAI = ZoneInfo("Asia/Shanghai")
HTMX = {"hx-request": "true"}


def tomorrow(clock: str) -> dt.datetime:
    """A Shanghai wall-clock time tomorrow (the tests' day)."""
    hour, minute = (int(part) for part in clock.split(":"))
    day = utcnow().astimezone(SHANGHAI).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


NOW = tomorrow("10:00")  # services take the clock: the call is made at 10:00 on the test day


async def floor(db: AsyncSession, people: Factory, skill: Skill, count: int) -> list[tuple[User, Shift]]:
    """``count`` agents each holding a 12:00-16:00 seat of ``skill``."""
    found = []
    for _ in range(count):
        agent = await an_agent(people, skills=[skill])
        found.append((agent, await a_held_shift(db, agent, tomorrow("12:00"), slots=8, skill=skill)))
    return found


async def vto(
    db: AsyncSession, site: Site, skill: Skill, by: User, *, surplus: int, standby: bool = False
) -> IntradayCall:
    return await intraday.start_vto(
        db,
        site=site,
        skill_id=skill.id,
        start_slot=slot_of(tomorrow("14:00")),
        end_slot=slot_of(tomorrow("16:00")),
        surplus=surplus,
        standby=standby,
        by=by,
        now=NOW,
    )


async def offer_of(db: AsyncSession, call: IntradayCall, agent: User) -> IntradayOffer | None:
    return await db.scalar(
        select(IntradayOffer).where(IntradayOffer.call_id == call.id, IntradayOffer.user_id == agent.id)
    )


async def seat_of(db: AsyncSession, shift: Shift) -> ShiftSeat:
    seat = await db.scalar(select(ShiftSeat).where(ShiftSeat.shift_id == shift.id))
    assert seat is not None
    await db.refresh(seat)
    return seat


@pytest.fixture
async def billing(db: AsyncSession, site: Site) -> Skill:
    return await a_skill(db, site, "billing")


@pytest.fixture
async def coordinator(people: Factory) -> User:
    return await people.make(Role.coordinator)


# VTO -----------------------------------------------------------------------------------------------------


async def test_vto_stops_at_the_surplus(
    db: AsyncSession, site: Site, people: Factory, billing: Skill, coordinator: User
) -> None:
    """3 scheduled, surplus 2, all three accept: two are granted, the third is told it is already taken."""
    (a, shift_a), (b, shift_b), (c, shift_c) = await floor(db, people, billing, 3)
    call = await vto(db, site, billing, coordinator, surplus=2)
    offers = [await offer_of(db, call, agent) for agent in (a, b, c)]
    assert all(offer is not None and offer.status is OfferStatus.offered for offer in offers)
    told = await db.scalar(
        select(Notification).where(Notification.user_id == a.id, Notification.kind == Kind.intraday_offer)
    )
    assert told is not None
    assert told.url == "/app/offers"

    for agent, offer in ((a, offers[0]), (b, offers[1])):
        assert offer is not None
        await intraday.accept_offer(db, offer_id=offer.id, agent=agent, now=NOW + dt.timedelta(minutes=1))
    assert offers[2] is not None
    with pytest.raises(Conflict, match="Already taken"):
        await intraday.accept_offer(db, offer_id=offers[2].id, agent=c, now=NOW + dt.timedelta(minutes=2))

    await db.refresh(call)
    assert (call.granted, call.closed_at is not None) == (2, True)
    await db.refresh(offers[2])
    assert offers[2].status is OfferStatus.taken
    released = slot_of(tomorrow("14:00"))
    assert [(await seat_of(db, s)).vto_from_slot for s in (shift_a, shift_b, shift_c)] == [released, released, None]


async def test_accepting_twice_is_accepting_once(
    db: AsyncSession, site: Site, people: Factory, billing: Skill, coordinator: User
) -> None:
    ((agent, _shift),) = await floor(db, people, billing, 1)
    call = await vto(db, site, billing, coordinator, surplus=1)
    offer = await offer_of(db, call, agent)
    assert offer is not None
    await intraday.accept_offer(db, offer_id=offer.id, agent=agent, now=NOW)
    again = await intraday.accept_offer(db, offer_id=offer.id, agent=agent, now=NOW + dt.timedelta(seconds=2))
    await db.refresh(call)
    assert (again.status, call.granted) == (OfferStatus.accepted, 1)


async def test_least_served_this_week_is_asked_last(
    db: AsyncSession, site: Site, people: Factory, billing: Skill, coordinator: User
) -> None:
    """Surplus 1 asks two at a time (twice the places): the two with most hours this week first; a decline
    passes the offer to the one with fewest."""
    (most, _), (middle, _), (least, _) = await floor(db, people, billing, 3)
    tech = await a_skill(db, site, "tech")
    await a_held_shift(db, most, tomorrow("17:00"), slots=6, skill=tech)  # 8 + 6 half-hours this week
    await a_held_shift(db, middle, tomorrow("17:00"), slots=2, skill=tech)  # 8 + 2
    call = await vto(db, site, billing, coordinator, surplus=1)
    ranks = {o.user_id: o.rank for o in await intraday.offers_of_call(db, call_id=call.id)}
    assert ranks == {most.id: 1, middle.id: 2}

    first = await offer_of(db, call, most)
    assert first is not None
    await intraday.decline_offer(db, offer_id=first.id, agent=most, now=NOW + dt.timedelta(minutes=1))
    last = await offer_of(db, call, least)
    assert last is not None
    assert last.rank == 3


async def test_agents_at_the_weekly_cap_are_not_asked(
    db: AsyncSession, site: Site, people: Factory, billing: Skill, coordinator: User
) -> None:
    await update_site_settings(db, site, vto_max_per_week=1)
    (capped, _), (fresh, _) = await floor(db, people, billing, 2)
    earlier = await a_held_shift(db, capped, tomorrow("08:00"), slots=2, skill=billing)
    first = await intraday.start_vto(
        db,
        site=site,
        skill_id=billing.id,
        start_slot=slot_of(tomorrow("11:00")) - 5,
        end_slot=slot_of(tomorrow("11:00")) - 4,
        surplus=1,
        standby=False,
        by=coordinator,
        now=tomorrow("07:00"),
    )
    taken = await offer_of(db, first, capped)
    assert taken is not None
    assert taken.seat_id == (await seat_of(db, earlier)).id
    await intraday.accept_offer(db, offer_id=taken.id, agent=capped, now=tomorrow("07:01"))

    call = await vto(db, site, billing, coordinator, surplus=1)
    assert await offer_of(db, call, capped) is None
    assert await offer_of(db, call, fresh) is not None


async def test_a_lapsed_offer_is_refused_and_passed_on(
    db: AsyncSession, site: Site, people: Factory, billing: Skill, coordinator: User
) -> None:
    (a, _), (b, _), (c, _) = await floor(db, people, billing, 3)
    call = await vto(db, site, billing, coordinator, surplus=1)
    offer = await offer_of(db, call, a)
    assert offer is not None
    assert offer.expires_at == NOW + dt.timedelta(minutes=20)
    later = NOW + dt.timedelta(minutes=21)
    with pytest.raises(Conflict, match="expired"):
        await intraday.accept_offer(db, offer_id=offer.id, agent=a, now=later)
    ran = await jobs.run_due(db, now=later, digests=False)
    assert ran["intraday offers lapsed"] == 2
    await db.refresh(offer)
    assert offer.status is OfferStatus.expired
    assert await offer_of(db, call, c) is not None or await offer_of(db, call, b) is not None


async def test_someone_elses_offer_is_not_found(
    db: AsyncSession, site: Site, people: Factory, billing: Skill, coordinator: User
) -> None:
    (a, _), (b, _) = await floor(db, people, billing, 2)
    call = await vto(db, site, billing, coordinator, surplus=1)
    offer = await offer_of(db, call, a)
    assert offer is not None
    with pytest.raises(NotFound):
        await intraday.accept_offer(db, offer_id=offer.id, agent=b, now=NOW)


async def test_a_whole_shift_taken_off_is_never_a_no_show(
    db: AsyncSession, site: Site, people: Factory, billing: Skill, coordinator: User
) -> None:
    ((agent, shift),) = await floor(db, people, billing, 1)
    call = await intraday.start_vto(
        db,
        site=site,
        skill_id=billing.id,
        start_slot=shift.start_slot,
        end_slot=shift.end_slot,
        surplus=1,
        standby=False,
        by=coordinator,
        now=NOW,
    )
    offer = await offer_of(db, call, agent)
    assert offer is not None
    await intraday.accept_offer(db, offer_id=offer.id, agent=agent, now=NOW)
    with pytest.raises(Conflict, match="time off"):
        await attendance.mark_no_show(
            db, shift_id=shift.id, user_id=agent.id, coordinator=coordinator, now=tomorrow("13:00")
        )


async def test_a_vto_call_refuses_a_past_stretch_and_a_foreign_skill(
    db: AsyncSession, site: Site, people: Factory, billing: Skill, coordinator: User
) -> None:
    with pytest.raises(DomainError) as past:
        await intraday.start_vto(
            db,
            site=site,
            skill_id=billing.id,
            start_slot=slot_of(NOW) - 1,
            end_slot=slot_of(NOW) + 2,
            surplus=1,
            standby=False,
            by=coordinator,
            now=NOW,
        )
    assert past.value.field == "start_slot"
    with pytest.raises(DomainError) as skill:
        await intraday.start_vto(
            db,
            site=site,
            skill_id=10**9,
            start_slot=slot_of(NOW) + 2,
            end_slot=slot_of(NOW) + 4,
            surplus=1,
            standby=False,
            by=coordinator,
            now=NOW,
        )
    assert skill.value.field == "skill_id"


# VOT and extensions --------------------------------------------------------------------------------------


async def test_vot_opens_a_short_bonus_shift_on_the_marketplace(
    db: AsyncSession, site: Site, billing: Skill, coordinator: User
) -> None:
    shift = await intraday.start_vot(
        db,
        site=site,
        skill_id=billing.id,
        start_slot=slot_of(tomorrow("16:00")),
        end_slot=slot_of(tomorrow("16:30")),
        wanted=2,
        bonus_minor=1500,
        by=coordinator,
        now=NOW,
    )
    assert (shift.origin, shift.seats, shift.bonus_minor, shift.end_slot - shift.start_slot) == (
        ShiftOrigin.vot,
        2,
        1500,
        1,
    )
    assert shift.opened_at == NOW
    (view,) = await intraday.site_calls(db, site_id=site.id, day_slots=range(shift.start_slot, shift.end_slot))
    assert (view.kind, view.wanted, view.granted, view.shift_id) == (CallKind.vot, 2, 0, shift.id)


async def test_an_extension_accepted_moves_the_seats_end(
    db: AsyncSession, site: Site, people: Factory, billing: Skill, coordinator: User
) -> None:
    ((agent, shift),) = await floor(db, people, billing, 1)
    offer = await intraday.offer_extension(
        db, shift_id=shift.id, user_id=agent.id, half_hours=2, by=coordinator, now=NOW
    )
    assert (offer.from_slot, offer.to_slot) == (shift.end_slot, shift.end_slot + 2)
    await intraday.accept_offer(db, offer_id=offer.id, agent=agent, now=NOW + dt.timedelta(minutes=3))
    assert (await seat_of(db, shift)).extended_to_slot == shift.end_slot + 2
    (held,) = await my_shifts(db, user_id=agent.id, since_slot=slot_of(NOW))
    assert held.end_slot == shift.end_slot + 2
    (view,) = await intraday.site_calls(db, site_id=site.id, day_slots=range(shift.start_slot, shift.end_slot + 4))
    assert (view.kind, view.user_id, view.state(NOW)) == (CallKind.extension, agent.id, "filled")


async def test_an_extension_into_the_next_shift_is_refused(
    db: AsyncSession, site: Site, people: Factory, billing: Skill, coordinator: User
) -> None:
    ((agent, shift),) = await floor(db, people, billing, 1)
    await a_held_shift(db, agent, tomorrow("17:00"), slots=4, skill=billing)  # 16:00 end, 17:00 next start
    with pytest.raises(DomainError) as refused:
        await intraday.offer_extension(db, shift_id=shift.id, user_id=agent.id, half_hours=4, by=coordinator, now=NOW)
    assert refused.value.field == "half_hours"
    assert await db.scalar(select(IntradayCall.id).where(IntradayCall.kind == CallKind.extension)) is None


# Pages ---------------------------------------------------------------------------------------------------


async def live_floor(db: AsyncSession, people: Factory, skill: Skill, count: int) -> list[tuple[User, Shift]]:
    """Seats starting on the next full hour but one, for routes that read the real clock."""
    start = utc_start(slot_of(utcnow()) + 4)
    found = []
    for _ in range(count):
        agent = await an_agent(people, skills=[skill])
        found.append((agent, await a_held_shift(db, agent, start, slots=6, skill=skill)))
    return found


async def test_the_agent_accepts_on_the_offers_page(
    db: AsyncSession, client: httpx.AsyncClient, site: Site, people: Factory, billing: Skill, coordinator: User
) -> None:
    (a, shift), (b, _) = await live_floor(db, people, billing, 2)
    call = await intraday.start_vto(
        db,
        site=site,
        skill_id=billing.id,
        start_slot=shift.start_slot + 2,
        end_slot=shift.end_slot,
        surplus=1,
        standby=True,
        by=coordinator,
        now=utcnow(),
    )
    await db.commit()
    offer_a, offer_b = await offer_of(db, call, a), await offer_of(db, call, b)
    assert offer_a is not None
    assert offer_b is not None

    await login(client, a.email)
    home = await client.get("/app")
    assert "1 offer waiting for your answer" in home.text
    shown = await client.get("/app/offers")
    assert shown.status_code == 200
    assert "Time off today" in shown.text
    assert "Paid standby: 50% of your base pay" in shown.text
    assert "The rules for same-day offers" in shown.text
    accepted = await post_form(client, f"/app/offers/{offer_a.id}/accept", {})
    assert accepted.status_code == 303
    again = await post_form(client, f"/app/offers/{offer_a.id}/accept", {})
    assert again.status_code == 303  # a double tap changes nothing
    foreign = await post_form(client, f"/app/offers/{offer_b.id}/accept", {})
    assert foreign.status_code == 404

    client.cookies.clear()
    await login(client, b.email)
    late = await post_form(client, f"/app/offers/{offer_b.id}/accept", {})
    assert late.status_code == 409
    assert "Already taken" in late.text
    htmx = await client.post(
        f"/app/offers/{offer_b.id}/decline", data={"_csrf_token": client.cookies.get("weft_csrf") or ""}, headers=HTMX
    )
    assert htmx.status_code == 200
    assert "Already taken" in htmx.text


async def test_the_offers_page_reads_in_chinese(
    db: AsyncSession, client: httpx.AsyncClient, people: Factory, billing: Skill
) -> None:
    agent = await an_agent(people, skills=[billing], locale="zh-Hans")
    await login(client, agent.email)
    shown = await client.get("/app/offers")
    assert shown.status_code == 200
    assert 'lang="zh' in shown.text


async def test_the_board_calls_vto_and_vot_and_offers_an_extension(
    db: AsyncSession, client: httpx.AsyncClient, site: Site, people: Factory, billing: Skill, coordinator: User
) -> None:
    ((agent, shift),) = await live_floor(db, people, billing, 1)
    await login(client, coordinator.email)
    stretch = {"skill_id": str(billing.id), "start_slot": str(shift.start_slot + 2), "end_slot": str(shift.end_slot)}

    extended = await client.post(
        "/admin/today/extend",
        data={
            "shift_id": str(shift.id),
            "user_id": str(agent.id),
            "half_hours": "2",
            "_csrf_token": client.cookies.get("weft_csrf") or "",
        },
        headers=HTMX,
    )
    assert extended.status_code == 200
    assert extended.headers.get("hx-trigger") == "board-changed"
    assert "Extension offered" in extended.text
    called = await post_form(client, "/admin/today/vto", {**stretch, "surplus": "1"})
    assert called.status_code == 303
    assert called.headers["location"] == "/admin/today?done=vto"
    call = await db.scalar(select(IntradayCall).where(IntradayCall.kind == CallKind.vto))
    assert call is not None
    assert call.standby_percent == 0  # the site's default mode: release
    logged = await db.scalar(select(DutyLogItem).where(DutyLogItem.source_key == f"call:{call.id}"))
    assert logged is not None  # the duty log shows the call at once
    assert logged.kind is LogKind.intraday_offer

    refused = await post_form(client, "/admin/today/vto", {**stretch, "surplus": "0"})
    assert refused.status_code == 422
    assert "Enter a whole number." in refused.text

    opened = await post_form(client, "/admin/today/vot", {**stretch, "wanted": "2", "bonus": "12.50"})
    assert opened.status_code == 303
    vot = await db.scalar(select(Shift).where(Shift.origin == ShiftOrigin.vot))
    assert vot is not None
    assert (vot.bonus_minor, vot.seats) == (1250, 2)

    stranger = await post_form(client, "/admin/today/extend", {"shift_id": "999999", "user_id": str(agent.id)})
    assert stranger.status_code == 404


@pytest.mark.parametrize("role", [Role.finance, Role.agent])
async def test_only_staff_make_intraday_calls(
    db: AsyncSession, client: httpx.AsyncClient, people: Factory, billing: Skill, role: Role
) -> None:
    someone = await people.make(role)
    await login(client, someone.email)
    answer = await post_form(
        client, "/admin/today/vto", {"skill_id": str(billing.id), "start_slot": "1", "end_slot": "2", "surplus": "1"}
    )
    assert answer.status_code == 403
