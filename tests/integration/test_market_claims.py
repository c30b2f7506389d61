"""The marketplace's rules through its service: claims, windows, fair share, undo, release, waitlist, new shifts."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, Tier, User
from backend.accounts.site_settings import update_site_settings
from backend.availability.models import OfferedSlot, Preference
from backend.core.db import utcnow
from backend.core.errors import Conflict, DomainError
from backend.core.slots import local_slot, utc_start
from backend.pay.quotes import shift_pay
from backend.shifts import allocation, market, waitlist
from backend.shifts.models import CoverReason, CoverRequest, Shift, ShiftSeat, ShiftWaitlist
from tests.factories import Factory, a_skill, an_agent, an_open_shift

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = utcnow()


def at(days: int, clock: str) -> dt.datetime:
    """A Shanghai wall-clock time ``days`` from today."""
    hour, minute = (int(part) for part in clock.split(":"))
    day = NOW.astimezone(SHANGHAI).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


async def seats_held(db: AsyncSession, shift: Shift) -> int:
    return int(
        await db.scalar(select(func.count()).where(ShiftSeat.shift_id == shift.id, ShiftSeat.released_at.is_(None)))
        or 0
    )


async def taken(db: AsyncSession, shift: Shift) -> int:
    return int(await db.scalar(select(Shift.taken).where(Shift.id == shift.id)) or 0)


async def refusal_codes(db: AsyncSession, shift: Shift, agent: User, now: dt.datetime = NOW) -> list[str]:
    with pytest.raises(allocation.ClaimRefused) as refused:
        await market.claim_shift(db, shift_id=shift.id, agent=agent, now=now)
    assert refused.value.status_code == 409
    return [reason.code.value for reason in refused.value.reasons]


# Claims ----------------------------------------------------------------------------


async def test_a_claim_takes_one_seat_and_a_double_tap_is_the_same_claim(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill], tier=Tier.senior)
    shift = await an_open_shift(db, site, skill, start=at(5, "18:00"), now=NOW)

    first = await market.claim_shift(db, shift_id=shift.id, agent=agent, now=NOW)
    again = await market.claim_shift(db, shift_id=shift.id, agent=agent, now=NOW + dt.timedelta(seconds=1))

    assert first.created
    assert not again.created
    assert again.seat_id == first.seat_id
    assert await taken(db, shift) == 1
    assert await seats_held(db, shift) == 1


async def test_claim_on_full_shift_is_refused(db: AsyncSession, site: Site, people: Factory) -> None:
    skill = await a_skill(db, site)
    shift = await an_open_shift(db, site, skill, start=at(5, "18:00"), seats=1, now=NOW)
    await market.claim_shift(
        db, shift_id=shift.id, agent=await an_agent(people, skills=[skill], tier=Tier.senior), now=NOW
    )

    assert await refusal_codes(db, shift, await an_agent(people, skills=[skill], tier=Tier.senior)) == ["full"]
    assert await taken(db, shift) == 1


async def test_overlapping_shift_is_refused_naming_the_clash_and_back_to_back_is_allowed(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill], tier=Tier.senior)
    morning = await an_open_shift(db, site, skill, start=at(5, "09:00"), now=NOW)
    clashing = await an_open_shift(db, site, skill, start=at(5, "11:00"), now=NOW)
    following = await an_open_shift(db, site, skill, start=at(5, "13:00"), now=NOW)
    await market.claim_shift(db, shift_id=morning.id, agent=agent, now=NOW)

    with pytest.raises(allocation.ClaimRefused) as refused:
        await market.claim_shift(db, shift_id=clashing.id, agent=agent, now=NOW)
    assert [r.code for r in refused.value.reasons] == [allocation.Why.overlap]
    assert "Overlaps your 09:00 shift." in refused.value.message

    claim = await market.claim_shift(db, shift_id=following.id, agent=agent, now=NOW)
    assert claim.created, "09:00-13:00 then 13:00-17:00 touch but do not overlap"


async def test_the_weekly_cap_refuses_a_claim_that_would_go_over_it(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    await update_site_settings(db, site, max_weekly_hours=5.0, min_rest_hours=0.0, max_shifts_per_day=4)
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill], tier=Tier.senior)
    first = await an_open_shift(db, site, skill, start=at(7, "09:00"), hours=4, now=NOW)
    second = await an_open_shift(db, site, skill, start=at(7, "14:00"), hours=4, now=NOW)
    await market.claim_shift(db, shift_id=first.id, agent=agent, now=NOW)

    assert await refusal_codes(db, second, agent) == ["weekly_cap"]


async def test_uncertified_and_not_onboarded_agents_are_refused_with_those_reasons(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    shift = await an_open_shift(db, site, skill, start=at(5, "18:00"), now=NOW)
    newcomer = await an_agent(people, tier=Tier.senior, onboarded=False)

    assert sorted(await refusal_codes(db, shift, newcomer)) == ["not_certified", "not_onboarded"]


async def test_rest_between_sunday_night_and_monday_morning_is_kept_across_the_weeks(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill], tier=Tier.senior)
    today = NOW.astimezone(SHANGHAI).date()
    sunday = (7 - today.isoweekday()) % 7 or 7  # days to the next Sunday, at least one day ahead
    evening = await an_open_shift(db, site, skill, start=at(sunday, "18:00"), hours=4, now=NOW)  # ends 22:00 Sunday
    await market.claim_shift(db, shift_id=evening.id, agent=agent, now=NOW)

    # 8 h later, next week
    early = await an_open_shift(db, site, skill, start=at(sunday + 1, "06:00"), hours=4, now=NOW)
    assert await refusal_codes(db, early, agent) == ["rest"]
    later = await an_open_shift(db, site, skill, start=at(sunday + 1, "09:00"), hours=4, now=NOW)  # 11 h later
    assert (await market.claim_shift(db, shift_id=later.id, agent=agent, now=NOW)).created


async def test_a_claim_outside_the_offered_hours_is_allowed(db: AsyncSession, site: Site, people: Factory) -> None:
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill], tier=Tier.senior)
    shift = await an_open_shift(db, site, skill, start=at(5, "18:00"), now=NOW)
    db.add(
        OfferedSlot(
            user_id=agent.id, slot=local_slot(at(5, "09:00").date(), 9, 0, SHANGHAI), preference=Preference.preferred
        )
    )
    await db.flush()

    assert (await market.claim_shift(db, shift_id=shift.id, agent=agent, now=NOW)).created


async def test_a_started_or_foreign_shift_cannot_be_claimed(db: AsyncSession, site: Site, people: Factory) -> None:
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill], tier=Tier.senior)
    shift = await an_open_shift(db, site, skill, start=at(5, "18:00"), now=NOW)
    with pytest.raises(Conflict, match="already started"):
        await market.claim_shift(db, shift_id=shift.id, agent=agent, now=utc_start(shift.start_slot))
    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Asia/Shanghai", country="CN")
    stranger = await people.make(Role.agent, site=elsewhere)
    with pytest.raises(DomainError) as refused:
        await market.claim_shift(db, shift_id=shift.id, agent=stranger, now=NOW)
    assert refused.value.status_code == 404


# Priority windows and fair share --------------------------------------------------------


async def test_a_junior_is_refused_before_their_window_with_the_time_it_opens_and_a_senior_is_not(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    senior = await an_agent(people, skills=[skill], tier=Tier.senior)
    junior = await an_agent(people, skills=[skill], tier=Tier.junior)
    opened = at(0, "10:00").astimezone(dt.UTC)
    shift = await an_open_shift(db, site, skill, start=at(5, "18:00"), now=NOW)
    shift.opened_at = opened
    await db.flush()
    now = opened + dt.timedelta(minutes=1)

    with pytest.raises(allocation.ClaimRefused) as refused:
        await market.claim_shift(db, shift_id=shift.id, agent=junior, now=now)
    assert [r.code for r in refused.value.reasons] == [allocation.Why.window]
    assert "Opens to you at 10:20" in refused.value.message  # the junior's own zone is the site's here
    assert (await market.claim_shift(db, shift_id=shift.id, agent=senior, now=now)).created
    later = opened + dt.timedelta(minutes=20)
    assert (await market.claim_shift(db, shift_id=shift.id, agent=junior, now=later)).created


async def test_a_junior_below_their_fair_share_moves_up_to_the_mid_window(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    busy = await an_agent(people, skills=[skill], tier=Tier.senior)
    idle = await an_agent(people, skills=[skill], tier=Tier.junior)
    day = at(5, "00:00").date()
    for agent in (busy, idle):
        start = local_slot(day, 8, 0, SHANGHAI)
        db.add_all(
            OfferedSlot(user_id=agent.id, slot=t, preference=Preference.preferred) for t in range(start, start + 8)
        )
    held = await an_open_shift(db, site, skill, start=at(5, "08:00"), hours=4, seats=1, now=NOW)
    await market.claim_shift(db, shift_id=held.id, agent=busy, now=NOW)
    opened = NOW - dt.timedelta(minutes=12)  # mid opens after 10 minutes, junior after 20
    shift = await an_open_shift(db, site, skill, start=at(5, "18:00"), now=NOW)
    shift.opened_at = opened
    await db.flush()

    market_view = await market.open_shifts_for(db, agent=idle, now=NOW)
    listed = next(item for item in market_view.shifts if item.shift_id == shift.id)
    assert listed.moved_up
    assert listed.can_claim, listed.reasons
    assert (await market.claim_shift(db, shift_id=shift.id, agent=idle, now=NOW)).created
    late_junior = await an_agent(people, skills=[skill], tier=Tier.junior)  # offered nothing: no move up
    assert await refusal_codes(db, shift, late_junior) == ["window"]


# Undo and release -------------------------------------------------------------------------


async def test_undo_within_the_grace_window_gives_the_seat_back_and_later_it_is_refused(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill], tier=Tier.senior)
    shift = await an_open_shift(db, site, skill, start=at(5, "18:00"), now=NOW)
    await market.claim_shift(db, shift_id=shift.id, agent=agent, now=NOW)
    await market.undo_claim(db, shift_id=shift.id, agent=agent, now=NOW + dt.timedelta(minutes=4))
    assert await taken(db, shift) == 0
    assert await seats_held(db, shift) == 0

    await market.claim_shift(db, shift_id=shift.id, agent=agent, now=NOW)
    with pytest.raises(Conflict, match="free undo ended"):
        await market.undo_claim(db, shift_id=shift.id, agent=agent, now=NOW + dt.timedelta(minutes=6))
    assert await taken(db, shift) == 1


async def test_release_before_the_cutoff_reopens_the_seat_and_after_it_asks_for_cover(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill], tier=Tier.senior)
    shift = await an_open_shift(db, site, skill, start=at(5, "18:00"), now=NOW)
    await market.claim_shift(db, shift_id=shift.id, agent=agent, now=NOW)
    start = utc_start(shift.start_slot)

    await market.release_shift(db, shift_id=shift.id, agent=agent, now=start - dt.timedelta(hours=25))
    assert await taken(db, shift) == 0
    assert await seats_held(db, shift) == 0
    again = await market.claim_shift(db, shift_id=shift.id, agent=agent, now=start - dt.timedelta(hours=25))
    assert again.created, "a released shift can be claimed again"
    assert await taken(db, shift) == 1

    await market.release_shift(db, shift_id=shift.id, agent=agent, now=start - dt.timedelta(hours=23))
    late = await db.scalar(select(CoverRequest).where(CoverRequest.shift_id == shift.id))
    assert late is not None
    assert (late.reason, late.absent_user_id) == (CoverReason.late_release, agent.id)


# The waitlist -------------------------------------------------------------------------------


async def test_a_released_seat_is_offered_to_the_first_eligible_waiting_agent_alone_until_it_expires(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    holder = await an_agent(people, skills=[skill], tier=Tier.senior)
    shift = await an_open_shift(db, site, skill, start=at(6, "18:00"), seats=1, now=NOW)
    await market.claim_shift(db, shift_id=shift.id, agent=holder, now=NOW)
    clashing = await an_agent(people, skills=[skill], tier=Tier.senior)
    first = await an_agent(people, skills=[skill], tier=Tier.senior)
    second = await an_agent(people, skills=[skill], tier=Tier.senior)
    outsider = await an_agent(people, skills=[skill], tier=Tier.senior)
    assert await waitlist.join_waitlist(db, shift_id=shift.id, agent=clashing, now=NOW) == 1
    assert await waitlist.join_waitlist(db, shift_id=shift.id, agent=first, now=NOW + dt.timedelta(seconds=1)) == 2
    assert await waitlist.join_waitlist(db, shift_id=shift.id, agent=second, now=NOW + dt.timedelta(seconds=2)) == 3
    # the first in line now clashes
    other = await an_open_shift(db, site, skill, start=at(6, "17:00"), seats=1, now=NOW)
    await market.claim_shift(db, shift_id=other.id, agent=clashing, now=NOW)

    released = NOW + dt.timedelta(minutes=1)
    await market.release_shift(db, shift_id=shift.id, agent=holder, now=released)
    offer = await db.scalar(select(ShiftWaitlist).where(ShiftWaitlist.user_id == first.id))
    assert offer is not None
    assert offer.offer_expires_at == released + dt.timedelta(minutes=30)
    assert await refusal_codes(db, shift, outsider, released) == ["offered_to_other"]
    assert await refusal_codes(db, shift, second, released) == ["offered_to_other"]
    assert await taken(db, shift) == 0

    expired = released + dt.timedelta(minutes=31)
    assert await refusal_codes(db, shift, outsider, expired) == ["offered_to_other"], "the lapsed offer passed on"
    passed_on = await db.scalar(select(ShiftWaitlist).where(ShiftWaitlist.user_id == second.id))
    assert passed_on is not None
    assert passed_on.offer_expires_at == expired + dt.timedelta(minutes=30)
    assert await db.scalar(select(ShiftWaitlist).where(ShiftWaitlist.user_id == first.id)) is None
    assert await refusal_codes(db, shift, first, expired) == ["offered_to_other"]
    assert (await market.claim_shift(db, shift_id=shift.id, agent=second, now=expired)).created
    assert await db.scalar(select(ShiftWaitlist).where(ShiftWaitlist.user_id == second.id)) is None


async def test_the_offered_agent_takes_the_seat(db: AsyncSession, site: Site, people: Factory) -> None:
    skill = await a_skill(db, site)
    holder, waiting = (
        await an_agent(people, skills=[skill], tier=Tier.senior),
        await an_agent(people, skills=[skill], tier=Tier.senior),
    )
    shift = await an_open_shift(db, site, skill, start=at(6, "18:00"), seats=1, now=NOW)
    await market.claim_shift(db, shift_id=shift.id, agent=holder, now=NOW)
    await waitlist.join_waitlist(db, shift_id=shift.id, agent=waiting, now=NOW)
    await market.undo_claim(db, shift_id=shift.id, agent=holder, now=NOW + dt.timedelta(minutes=1))

    assert (await market.claim_shift(db, shift_id=shift.id, agent=waiting, now=NOW + dt.timedelta(minutes=2))).created
    assert await taken(db, shift) == 1


async def test_only_a_full_shift_has_a_waitlist(db: AsyncSession, site: Site, people: Factory) -> None:
    skill = await a_skill(db, site)
    shift = await an_open_shift(db, site, skill, start=at(6, "18:00"), seats=2, now=NOW)
    with pytest.raises(Conflict, match="claim it instead"):
        await waitlist.join_waitlist(
            db, shift_id=shift.id, agent=await an_agent(people, skills=[skill], tier=Tier.senior), now=NOW
        )


# Hand-made shifts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start": at(5, "18:15")}, "start"),
        ({"end": at(5, "17:00")}, "end"),
        ({"start": at(-1, "18:00"), "end": at(-1, "21:00")}, "start"),
        ({"skill": "astrology"}, "skill"),
        ({"seats": 0}, "seats"),
        ({"seats": 101}, "seats"),
    ],
)
async def test_a_bad_new_shift_is_refused_naming_the_field(
    db: AsyncSession, site: Site, change: dict[str, object], field: str
) -> None:
    await a_skill(db, site)
    values: dict[str, object] = {"skill": "billing", "start": at(5, "18:00"), "end": at(5, "22:00"), "seats": 5}
    with pytest.raises(DomainError) as refused:
        await market.create_open_shift(db, site=site, now=NOW, **{**values, **change})  # type: ignore[arg-type]
    assert refused.value.status_code == 422
    assert refused.value.field == field


async def test_open_shifts_show_pay_seats_and_reasons(db: AsyncSession, site: Site, people: Factory) -> None:
    skill = await a_skill(db, site)
    other = await a_skill(db, site, "tech")
    agent = await an_agent(people, skills=[skill], tier=Tier.senior)
    paid = await an_open_shift(db, site, skill, start=at(5, "18:00"), hours=4, bonus_minor=1500, now=NOW)
    foreign = await an_open_shift(db, site, other, start=at(6, "18:00"), now=NOW)

    view = await market.open_shifts_for(db, agent=agent, now=NOW, pay=shift_pay)
    by_id = {item.shift_id: item for item in view.shifts}
    assert by_id[paid.id].pay_minor == 4 * 3000 + 1500  # no rate card yet: the site's hourly base
    assert by_id[paid.id].seats_left == 5
    assert by_id[paid.id].can_claim
    assert by_id[foreign.id].codes == ["not_certified"]
    only_tech = await market.open_shifts_for(db, agent=agent, now=NOW, skill="tech")
    assert [item.shift_id for item in only_tech.shifts] == [foreign.id]
    one_day = await market.open_shifts_for(db, agent=agent, now=NOW, day=at(5, "00:00").date())
    assert [item.shift_id for item in one_day.shifts] == [paid.id]
