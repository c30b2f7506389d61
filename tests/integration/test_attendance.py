"""Attendance: confirm and start windows, no-shows, waivers, appeals, the reliability score, pages and API."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site
from backend.accounts.site_settings import update_site_settings
from backend.core.db import utcnow
from backend.core.errors import Conflict, DomainError, Forbidden, Gone, NotFound
from backend.core.i18n import gettext, speaking
from backend.core.slots import slot_of, utc_start
from backend.core.templating import create_environment
from backend.shifts import attendance
from backend.shifts import service as shifts_service
from backend.shifts.attendance import WindowClosed
from backend.shifts.attendance_routes import rule_text, schedule_context
from backend.shifts.models import AppealStatus, Attendance, ShiftSeat
from tests.conftest import login, post_form
from tests.factories import Factory, a_held_shift, bearer

HTMX = {"hx-request": "true"}
MINUTE = dt.timedelta(minutes=1)
SECOND = dt.timedelta(seconds=1)
# A fixed start far from now, so service tests pass their own ``now`` (an even slot: 2026-12-01 10:00 UTC).
START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


def slot_start(offset_slots: int) -> dt.datetime:
    """The start of the slot ``offset_slots`` from the current one."""
    return utc_start(slot_of(utcnow()) + offset_slots)


def zh(message: str, **variables: object) -> str:
    """The message as a Chinese reader gets it (English until the catalogue has it)."""
    with speaking("zh-Hans"):
        return gettext(message, **variables)


# Confirm and start windows ---------------------------------------------------------------


async def test_confirming_opens_36_hours_before_and_closes_at_the_start(db: AsyncSession, people: Factory) -> None:
    agent = await people.make(Role.agent)
    shift = await a_held_shift(db, agent, START)
    opens = START - dt.timedelta(hours=36)

    with pytest.raises(WindowClosed) as early:
        await attendance.confirm_shift(db, shift_id=shift.id, agent=agent, now=opens - SECOND)
    assert early.value.status_code == 409
    assert early.value.at == opens
    assert "You can confirm this shift from 2026-11-30 06:00." in early.value.message  # Shanghai time

    confirmed = await attendance.confirm_shift(db, shift_id=shift.id, agent=agent, now=opens)
    assert confirmed.confirmed_at == opens
    again = await attendance.confirm_shift(db, shift_id=shift.id, agent=agent, now=opens + MINUTE)
    assert again.id == confirmed.id
    assert again.confirmed_at == opens

    later = await a_held_shift(db, agent, START + dt.timedelta(days=1))
    later_start = START + dt.timedelta(days=1)
    with pytest.raises(WindowClosed, match="Confirming closed at 2026-12-02 18:00"):
        await attendance.confirm_shift(db, shift_id=later.id, agent=agent, now=later_start)
    last_moment = await attendance.confirm_shift(db, shift_id=later.id, agent=agent, now=later_start - SECOND)
    assert last_moment.confirmed_at == later_start - SECOND


async def test_starting_is_open_15_minutes_either_side_of_the_start(db: AsyncSession, people: Factory) -> None:
    agent = await people.make(Role.agent)
    shift = await a_held_shift(db, agent, START)
    window = dt.timedelta(minutes=15)

    with pytest.raises(WindowClosed, match="You can start this shift from 2026-12-01 17:45") as early:
        await attendance.start_shift(db, shift_id=shift.id, agent=agent, now=START - window - SECOND)
    assert early.value.at == START - window
    started = await attendance.start_shift(db, shift_id=shift.id, agent=agent, now=START - window)
    assert started.started_at == START - window
    again = await attendance.start_shift(db, shift_id=shift.id, agent=agent, now=START)
    assert again.started_at == START - window

    other = await a_held_shift(db, agent, START + dt.timedelta(days=1))
    other_start = START + dt.timedelta(days=1)
    with pytest.raises(WindowClosed, match="Starting closed at 2026-12-02 18:15") as late:
        await attendance.start_shift(db, shift_id=other.id, agent=agent, now=other_start + window + SECOND)
    assert late.value.at == other_start + window
    on_the_edge = await attendance.start_shift(db, shift_id=other.id, agent=agent, now=other_start + window)
    assert on_the_edge.started_at == other_start + window


async def test_a_longer_window_from_the_site_settings_applies(db: AsyncSession, site: Site, people: Factory) -> None:
    await update_site_settings(db, site, confirm_opens_hours_before=48, start_window_minutes=30)
    agent = await people.make(Role.agent)
    shift = await a_held_shift(db, agent, START)
    await attendance.confirm_shift(db, shift_id=shift.id, agent=agent, now=START - dt.timedelta(hours=48))
    done = await attendance.start_shift(db, shift_id=shift.id, agent=agent, now=START + dt.timedelta(minutes=30))
    assert done.started_at is not None


async def test_only_my_live_seat_can_be_confirmed(db: AsyncSession, site: Site, people: Factory) -> None:
    agent, other = await people.make(Role.agent), await people.make(Role.agent)
    theirs = await a_held_shift(db, other, START)
    released = await a_held_shift(db, agent, START + dt.timedelta(days=1), released_at=START + dt.timedelta(days=1))
    now = START - dt.timedelta(hours=1)
    for shift_id in (theirs.id, 99_999_999):
        with pytest.raises(NotFound):
            await attendance.confirm_shift(db, shift_id=shift_id, agent=agent, now=now)
    with pytest.raises(Gone, match="You gave this shift up"):  # once mine: told why, not "not found"
        await attendance.confirm_shift(db, shift_id=released.id, agent=agent, now=now)
    coordinator = await people.make(Role.coordinator)
    with pytest.raises(Forbidden):
        await attendance.confirm_shift(db, shift_id=theirs.id, agent=coordinator, now=now)


# No-shows, waivers, appeals ----------------------------------------------------------------


async def test_a_no_show_is_marked_only_after_the_start_window(db: AsyncSession, people: Factory) -> None:
    agent, coordinator = await people.make(Role.agent), await people.make(Role.coordinator)
    shift = await a_held_shift(db, agent, START)
    closes = START + dt.timedelta(minutes=15)

    with pytest.raises(WindowClosed, match="once the start window closes, at 2026-12-01 18:15"):
        await attendance.mark_no_show(db, shift_id=shift.id, user_id=agent.id, coordinator=coordinator, now=closes)
    marked = await attendance.mark_no_show(
        db, shift_id=shift.id, user_id=agent.id, coordinator=coordinator, now=closes + SECOND
    )
    assert marked.no_show_at == closes + SECOND
    assert marked.marked_by_id == coordinator.id
    again = await attendance.mark_no_show(
        db, shift_id=shift.id, user_id=agent.id, coordinator=coordinator, now=closes + MINUTE
    )
    assert again.no_show_at == closes + SECOND


async def test_an_agent_who_started_is_never_a_no_show(db: AsyncSession, people: Factory) -> None:
    agent, coordinator = await people.make(Role.agent), await people.make(Role.coordinator)
    shift = await a_held_shift(db, agent, START)
    await attendance.start_shift(db, shift_id=shift.id, agent=agent, now=START + dt.timedelta(minutes=10))
    with pytest.raises(Conflict, match="started this shift at 2026-12-01 18:10"):
        await attendance.mark_no_show(
            db, shift_id=shift.id, user_id=agent.id, coordinator=coordinator, now=START + dt.timedelta(hours=1)
        )


async def test_only_coordinators_of_the_site_handle_no_shows(db: AsyncSession, site: Site, people: Factory) -> None:
    agent = await people.make(Role.agent)
    shift = await a_held_shift(db, agent, START)
    later = START + dt.timedelta(hours=1)
    for role in (Role.agent, Role.finance):
        with pytest.raises(Forbidden):
            await attendance.mark_no_show(
                db, shift_id=shift.id, user_id=agent.id, coordinator=await people.make(role), now=later
            )
    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Asia/Shanghai", country="CN")
    stranger = await people.make(Role.coordinator, site=elsewhere)
    with pytest.raises(NotFound):
        await attendance.mark_no_show(db, shift_id=shift.id, user_id=agent.id, coordinator=stranger, now=later)
    with pytest.raises(NotFound):
        await attendance.grant_waiver(
            db, shift_id=shift.id, user_id=agent.id, coordinator=stranger, reason="outage", now=later
        )


async def test_a_waiver_takes_a_no_show_out_of_the_score(db: AsyncSession, people: Factory) -> None:
    agent, coordinator = await people.make(Role.agent), await people.make(Role.coordinator)
    shift = await a_held_shift(db, agent, START)
    after = START + dt.timedelta(days=1)
    await attendance.mark_no_show(db, shift_id=shift.id, user_id=agent.id, coordinator=coordinator, now=after)
    assert await attendance.reliability_score(db, user_id=agent.id, now=after) == 0.0

    with pytest.raises(DomainError) as blank:
        await attendance.grant_waiver(
            db, shift_id=shift.id, user_id=agent.id, coordinator=coordinator, reason="  ", now=after
        )
    assert blank.value.field == "reason"
    waived = await attendance.grant_waiver(
        db, shift_id=shift.id, user_id=agent.id, coordinator=coordinator, reason="Power cut in Minhang", now=after
    )
    assert waived.waived_by_id == coordinator.id
    found = await attendance.reliability(db, user_id=agent.id, now=after)
    assert found.score == 1.0
    assert (found.counted, found.no_shows, found.waived) == (0, 0, 1)
    assert found.records[0].waiver_reason == "Power cut in Minhang"


async def test_a_missed_confirmation_can_be_waived_but_a_clean_shift_cannot(db: AsyncSession, people: Factory) -> None:
    agent, coordinator = await people.make(Role.agent), await people.make(Role.coordinator)
    unconfirmed = await a_held_shift(db, agent, START)
    clean = await a_held_shift(db, agent, START + dt.timedelta(days=1))
    await attendance.confirm_shift(db, shift_id=clean.id, agent=agent, now=START + dt.timedelta(hours=20))
    after = START + dt.timedelta(days=3)
    assert await attendance.reliability_score(db, user_id=agent.id, now=after) == (0.75 + 1) / 2

    with pytest.raises(Conflict, match="Nothing to waive"):
        await attendance.grant_waiver(
            db, shift_id=clean.id, user_id=agent.id, coordinator=coordinator, reason="outage", now=after
        )
    with pytest.raises(Conflict, match="before the shift starts"):
        await attendance.grant_waiver(
            db, shift_id=unconfirmed.id, user_id=agent.id, coordinator=coordinator, reason="outage", now=START - SECOND
        )
    await attendance.grant_waiver(
        db, shift_id=unconfirmed.id, user_id=agent.id, coordinator=coordinator, reason="App outage", now=after
    )
    assert await attendance.reliability_score(db, user_id=agent.id, now=after) == 1.0


async def test_an_accepted_appeal_waives_the_no_show(db: AsyncSession, people: Factory) -> None:
    agent, coordinator = await people.make(Role.agent), await people.make(Role.coordinator)
    shift = await a_held_shift(db, agent, START)
    after = START + dt.timedelta(hours=2)
    await attendance.mark_no_show(db, shift_id=shift.id, user_id=agent.id, coordinator=coordinator, now=after)

    with pytest.raises(DomainError) as empty:
        await attendance.appeal(db, shift_id=shift.id, agent=agent, text=" ", now=after)
    assert empty.value.field == "text"
    made = await attendance.appeal(db, shift_id=shift.id, agent=agent, text="The power was out.", now=after)
    assert made.status is AppealStatus.open
    with pytest.raises(Conflict, match="already appealed"):
        await attendance.appeal(db, shift_id=shift.id, agent=agent, text="Again", now=after)
    assert [
        a.appeal_id for a in await attendance.open_appeals(db, site=await accounts.get_site(db, agent.site_id))
    ] == [made.id]

    decided = await attendance.decide_appeal(db, appeal_id=made.id, coordinator=coordinator, accept=True, now=after)
    assert decided.status is AppealStatus.accepted
    assert (await attendance.decide_appeal(db, appeal_id=made.id, coordinator=coordinator, accept=True, now=after)).id
    with pytest.raises(Conflict, match="already decided"):
        await attendance.decide_appeal(db, appeal_id=made.id, coordinator=coordinator, accept=False, now=after)
    row = await db.scalar(select(Attendance).where(Attendance.id == made.attendance_id))
    assert row is not None
    assert row.waived_at == after
    assert row.waiver_reason == attendance.APPEAL_ACCEPTED_REASON
    assert await attendance.reliability_score(db, user_id=agent.id, now=START + dt.timedelta(days=1)) == 1.0


async def test_a_rejected_appeal_leaves_the_no_show_and_only_no_shows_are_appealed(
    db: AsyncSession, people: Factory
) -> None:
    agent, coordinator = await people.make(Role.agent), await people.make(Role.coordinator)
    shift = await a_held_shift(db, agent, START)
    present = await a_held_shift(db, agent, START + dt.timedelta(days=1))
    after = START + dt.timedelta(days=2)
    with pytest.raises(NotFound):
        await attendance.appeal(db, shift_id=present.id, agent=agent, text="?", now=after)
    await attendance.mark_no_show(db, shift_id=shift.id, user_id=agent.id, coordinator=coordinator, now=after)
    made = await attendance.appeal(db, shift_id=shift.id, agent=agent, text="Overslept", now=after)
    await attendance.decide_appeal(db, appeal_id=made.id, coordinator=coordinator, accept=False, now=after)
    found = await attendance.reliability(db, user_id=agent.id, now=after)
    assert found.no_shows == 1
    assert next(r for r in found.records if r.shift_id == shift.id).appeal_status is AppealStatus.rejected
    other = await people.make(Role.agent)
    with pytest.raises(NotFound):
        await attendance.appeal(db, shift_id=shift.id, agent=other, text="Not mine", now=after)


# The score -----------------------------------------------------------------------------------


async def test_a_new_agent_is_neutral(db: AsyncSession, people: Factory) -> None:
    agent = await people.make(Role.agent)
    assert await attendance.reliability_score(db, user_id=agent.id, now=START) == 1.0
    await a_held_shift(db, agent, START + dt.timedelta(days=1))  # not worked yet: nothing to count
    assert await attendance.reliability_score(db, user_id=agent.id, now=START) == 1.0


async def test_the_score_follows_the_published_rule(db: AsyncSession, people: Factory) -> None:
    """Attended and confirmed 1, attended without confirming 3/4, a no-show 0; over the last 60 days."""
    agent, coordinator = await people.make(Role.agent), await people.make(Role.coordinator)
    now = START + dt.timedelta(days=10)
    day = dt.timedelta(days=1)
    for n in range(2):  # two confirmed, worked shifts
        shift = await a_held_shift(db, agent, START + n * day)
        await attendance.confirm_shift(db, shift_id=shift.id, agent=agent, now=START + n * day - dt.timedelta(hours=2))
    await a_held_shift(db, agent, START + 2 * day)  # worked without confirming
    missed = await a_held_shift(db, agent, START + 3 * day)
    await attendance.mark_no_show(db, shift_id=missed.id, user_id=agent.id, coordinator=coordinator, now=now)
    old = await a_held_shift(db, agent, now - dt.timedelta(days=61))  # too old to count
    await attendance.mark_no_show(db, shift_id=old.id, user_id=agent.id, coordinator=coordinator, now=now)
    await a_held_shift(db, agent, START + 4 * day, released_at=START + 4 * day)  # given back: not theirs
    await a_held_shift(db, agent, now - dt.timedelta(minutes=30))  # under way: counts once over
    await a_held_shift(db, agent, now + day)  # not yet worked

    found = await attendance.reliability(db, user_id=agent.id, now=now)
    assert (found.counted, found.no_shows, found.unconfirmed, found.waived) == (4, 1, 1, 0)
    assert found.score == pytest.approx((1 + 1 + 0.75 + 0) / 4)
    assert found.percent == 69
    assert [state.shift_id for state in found.records] == [missed.id, missed.id - 1]
    assert await attendance.reliability_score(db, user_id=agent.id, now=now) == found.score
    newcomer = await people.make(Role.agent)
    scores = await attendance.reliability_scores(db, user_ids=[agent.id, newcomer.id], now=now)
    assert scores == {agent.id: found.score, newcomer.id: 1.0}


async def test_a_no_show_whose_seat_went_to_cover_still_counts(db: AsyncSession, people: Factory) -> None:
    agent, coordinator = await people.make(Role.agent), await people.make(Role.coordinator)
    shift = await a_held_shift(db, agent, START)
    after = START + dt.timedelta(hours=1)
    await attendance.mark_no_show(db, shift_id=shift.id, user_id=agent.id, coordinator=coordinator, now=after)
    seat = await db.scalar(select(ShiftSeat).where(ShiftSeat.shift_id == shift.id))
    assert seat is not None
    seat.released_at = after
    await db.commit()
    assert await attendance.reliability_score(db, user_id=agent.id, now=after) == 0.0


# Reminders -----------------------------------------------------------------------------------


async def test_reminders_go_once_to_unconfirmed_shifts_whose_window_is_open(db: AsyncSession, people: Factory) -> None:
    agent, other = await people.make(Role.agent), await people.make(Role.agent)
    now = START - dt.timedelta(hours=30)
    due = await a_held_shift(db, agent, START)
    confirmed = await a_held_shift(db, other, START)
    await attendance.confirm_shift(db, shift_id=confirmed.id, agent=other, now=now)
    await a_held_shift(db, agent, START + dt.timedelta(days=2))  # its window has not opened

    reminders = await attendance.due_reminders(db, now=now)
    assert [(r.user_id, r.shift_id) for r in reminders] == [(agent.id, due.id)]
    assert await attendance.send_reminders(db, now=now) == 1
    assert await attendance.due_reminders(db, now=now + MINUTE) == []


# Pages ---------------------------------------------------------------------------------------


async def test_my_schedule_offers_confirm_then_start_in_one_tap(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    assert (await login(client, agent.email)).status_code == 303
    shift = await a_held_shift(db, agent, slot_start(2))  # starts within the hour

    schedule = await client.get("/app/shifts")
    assert schedule.status_code == 200
    assert f'id="attendance-{shift.id}"' in schedule.text, "the buttons are on My schedule itself"
    assert "Confirm shift" in schedule.text

    piece = await client.get(f"/app/shifts/{shift.id}/attendance", headers=HTMX)
    assert piece.status_code == 200
    assert "<html" not in piece.text
    assert f'id="attendance-{shift.id}"' in piece.text
    assert "Confirm shift" in piece.text
    assert re.search(r"Start shift opens (today|tomorrow) at \d\d:\d\d\.", piece.text)

    confirmed = await post_form(client, f"/app/shifts/{shift.id}/confirm", {})
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == f"/app/shifts/{shift.id}/attendance?done=confirmed"
    shown = await client.get(confirmed.headers["location"])
    assert "Thanks: your shift is confirmed." in shown.text
    assert "Confirmed. See you then." in shown.text

    early = await post_form(client, f"/app/shifts/{shift.id}/start", {})
    assert early.status_code == 409
    assert "You can start this shift from" in early.text
    early_htmx = await client.post(
        f"/app/shifts/{shift.id}/start", headers={**HTMX, "x-csrftoken": client.cookies["weft_csrf"]}
    )
    assert early_htmx.status_code == 200
    assert 'role="alert"' in early_htmx.text


async def test_start_shift_with_htmx_swaps_in_the_started_state(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await update_site_settings(db, site, start_window_minutes=20)
    agent = await people.make(Role.agent)
    assert (await login(client, agent.email)).status_code == 303
    # The current slot started under 15 minutes ago, or the next starts in under 15: inside a 20-minute window.
    elapsed = utcnow() - slot_start(0)
    shift = await a_held_shift(db, agent, slot_start(0 if elapsed < dt.timedelta(minutes=15) else 1))
    started = await client.post(
        f"/app/shifts/{shift.id}/start", headers={**HTMX, "x-csrftoken": client.cookies["weft_csrf"]}
    )
    assert started.status_code == 200
    assert re.search(r"Started today at \d\d:\d\d\.", started.text), "a sentence, not 'at Today'"
    assert f'id="attendance-{shift.id}"' in started.text


ATTENDANCE_WINDOWS = {  # the site's default rules: confirm 36 hours ahead, start within 15 minutes either side
    "en": (
        "Confirm from 36 hours before the start.",
        "Start shift opens 15 minutes before the start and closes 15 minutes after it.",
    ),
    "zh-Hans": ("开始前 36 小时起可以确认。", "“开始班次”在开始前 15 分钟开放，开始后 15 分钟关闭。"),  # noqa: RUF001
}


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
async def test_the_attendance_page_states_its_windows_in_the_agents_language(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, locale: str
) -> None:
    agent = await people.make(Role.agent, locale=locale)
    assert (await login(client, agent.email)).status_code == 303
    shift = await a_held_shift(db, agent, slot_start(2))

    page = await client.get(f"/app/shifts/{shift.id}/attendance")
    assert page.status_code == 200
    assert f'<html lang="{locale}">' in page.text
    for sentence in ATTENDANCE_WINDOWS[locale]:
        assert sentence in page.text


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
async def test_the_reliability_page_explains_the_score_and_takes_an_appeal(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, locale: str
) -> None:
    agent = await people.make(Role.agent, locale=locale)
    coordinator = await people.make(Role.coordinator)
    assert (await login(client, agent.email)).status_code == 303
    shift = await a_held_shift(db, agent, slot_start(-8))  # finished an hour ago
    await attendance.mark_no_show(
        db, shift_id=shift.id, user_id=agent.id, coordinator=coordinator, now=utcnow() - dt.timedelta(hours=2)
    )
    await db.commit()

    page = await client.get("/app/reliability")
    assert page.status_code == 200
    assert f'<html lang="{locale}">' in page.text
    assert 'name="viewport" content="width=device-width' in page.text
    assert "<table" not in page.text  # a phone-width page: cards, not tables
    with speaking(locale):
        expected = [
            gettext("Reliability"),
            gettext("Your score: %(percent)s%%", percent=0),
            gettext("No-show"),
            gettext("Appeal this no-show"),
        ]
    for text in expected:
        assert text in page.text
    with speaking(locale):
        assert rule_text().split(";")[0].replace("'", "&#39;") in page.text
    if locale == "zh-Hans":
        assert "账单" in page.text

    refused = await post_form(client, f"/app/reliability/{shift.id}/appeal", {"text": ""})
    assert refused.status_code == 422
    sent = await post_form(client, f"/app/reliability/{shift.id}/appeal", {"text": "A power cut"})
    assert sent.status_code == 303
    again = await client.get(sent.headers["location"])
    with speaking(locale):
        assert gettext("Appeal sent. A coordinator will decide it.") in again.text
        assert gettext("Appeal this no-show") not in again.text
    twice = await post_form(client, f"/app/reliability/{shift.id}/appeal", {"text": "Again"})
    assert twice.status_code == 409


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
async def test_the_coordinator_board_marks_no_shows_waives_and_decides_appeals(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, locale: str
) -> None:
    coordinator = await people.make(Role.coordinator, locale=locale)
    agent = await people.make(Role.agent, display_name="Mei Lin")
    shift = await a_held_shift(db, agent, slot_start(-2))  # started an hour ago, under way
    assert (await login(client, coordinator.email)).status_code == 303
    day = utc_start(shift.start_slot).astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()

    board = await client.get(f"/admin/attendance/?day={day}")
    assert board.status_code == 200
    assert 'href="/admin/attendance/"' in board.text  # the staff nav links it
    assert "Mei Lin" in board.text
    with speaking(locale):
        for text in (gettext("Attendance"), gettext("Mark no-show"), gettext("Not confirmed"), gettext("Waive")):
            assert text in board.text

    marked = await post_form(client, f"/admin/attendance/{shift.id}/no-show", {"user": str(agent.id), "day": day})
    assert marked.status_code == 303
    after = await client.get(marked.headers["location"])
    with speaking(locale):
        assert gettext("Marked a no-show.") in after.text
        assert gettext("Mark no-show") not in after.text

    row = await attendance.my_seat(db, shift_id=shift.id, agent=agent)
    made = await attendance.appeal(db, shift_id=shift.id, agent=agent, text="Router died", now=utcnow())
    await db.commit()
    assert row.no_show_at is not None
    listed = await client.get(f"/admin/attendance/?day={day}")
    assert "Router died" in listed.text
    decided = await client.post(
        f"/admin/attendance/appeals/{made.id}",
        data={"decision": "accept", "day": day, "_csrf_token": client.cookies["weft_csrf"]},
        headers=HTMX,
    )
    assert decided.status_code == 200
    assert "Router died" not in decided.text
    assert await attendance.reliability_score(db, user_id=agent.id, now=utcnow() + dt.timedelta(hours=3)) == 1.0

    empty = await post_form(client, f"/admin/attendance/{shift.id}/waive", {"user": str(agent.id), "reason": ""})
    assert empty.status_code == 422


async def test_staff_pages_and_agent_pages_keep_roles_apart(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    assert (await login(client, agent.email)).status_code == 303
    assert (await client.get("/admin/attendance/")).status_code == 403
    other = await people.make(Role.agent)
    theirs = await a_held_shift(db, other, slot_start(2))
    assert (await client.get(f"/app/shifts/{theirs.id}/attendance")).status_code == 404
    assert (await post_form(client, f"/app/shifts/{theirs.id}/confirm", {})).status_code == 404


# The API -------------------------------------------------------------------------------------


async def test_the_api_confirms_starts_and_reports_reliability(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    headers = await bearer(db, agent)
    shift = await a_held_shift(db, agent, slot_start(4))  # 1.5 to 2 hours ahead

    confirmed = await client.post(f"/api/v1/shifts/{shift.id}/confirm", headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["confirmed_at"] is not None
    assert (await client.post(f"/api/v1/shifts/{shift.id}/confirm", headers=headers)).status_code == 200

    early = await client.post(f"/api/v1/shifts/{shift.id}/start", headers=headers)
    assert early.status_code == 409
    body = early.json()
    assert re.search(r"You can start this shift from \d{4}-\d\d-\d\d \d\d:\d\d\.", body["message"])
    assert dt.datetime.fromisoformat(body["at"]) == utc_start(shift.start_slot) - dt.timedelta(minutes=15)
    assert body["request_id"]

    far = await a_held_shift(db, agent, slot_start(4 + 2 * 48))  # two days ahead
    assert (await client.post(f"/api/v1/shifts/{far.id}/confirm", headers=headers)).status_code == 409
    far_seat = select(Attendance.id).join(ShiftSeat, ShiftSeat.id == Attendance.seat_id)
    assert await db.scalar(far_seat.where(ShiftSeat.shift_id == far.id)) is None  # a refusal leaves nothing behind

    mine = await client.get("/api/v1/me/reliability", headers=headers)
    assert mine.status_code == 200
    assert mine.json()["score"] == 1.0
    assert mine.json()["window_days"] == 60
    assert "60 days" in mine.json()["rule"]


async def test_the_api_keeps_shifts_roles_and_sites_apart(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, other = await people.make(Role.agent), await people.make(Role.agent)
    shift = await a_held_shift(db, agent, slot_start(-2))  # started an hour ago
    theirs = await client.post(f"/api/v1/shifts/{shift.id}/confirm", headers=await bearer(db, other))
    missing = await client.post("/api/v1/shifts/99999999/start", headers=await bearer(db, other))
    assert theirs.status_code == missing.status_code == 404

    body = {"user": agent.id}
    for role in (Role.agent, Role.finance):
        staff = await people.make(role)
        refused = await client.post(f"/api/v1/shifts/{shift.id}/no-show", json=body, headers=await bearer(db, staff))
        assert refused.status_code == 403
    finance = await bearer(db, await people.make(Role.finance))
    waive = {"user": agent.id, "reason": "outage"}
    assert (await client.post(f"/api/v1/shifts/{shift.id}/waive", json=waive, headers=finance)).status_code == 403
    assert (await client.post(f"/api/v1/shifts/{shift.id}/confirm", headers=finance)).status_code == 403
    assert (await client.get("/api/v1/me/reliability", headers=finance)).status_code == 403

    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Asia/Shanghai", country="CN")
    stranger = await bearer(db, await people.make(Role.coordinator, site=elsewhere))
    assert (await client.post(f"/api/v1/shifts/{shift.id}/no-show", json=body, headers=stranger)).status_code == 404

    coordinator = await bearer(db, await people.make(Role.coordinator))
    bad = await client.post(f"/api/v1/shifts/{shift.id}/no-show", json={"user": "x"}, headers=coordinator)
    assert bad.status_code == 422
    marked = await client.post(f"/api/v1/shifts/{shift.id}/no-show", json=body, headers=coordinator)
    assert marked.status_code == 200, marked.text
    assert marked.json()["no_show_at"] is not None

    appealed = await client.post(
        f"/api/v1/shifts/{shift.id}/appeal", json={"text": "Power cut"}, headers=await bearer(db, agent)
    )
    assert appealed.status_code == 201
    assert appealed.json()["status"] == "open"
    decided = await client.post(
        f"/api/v1/appeals/{appealed.json()['id']}/decision", json={"decision": "accept"}, headers=coordinator
    )
    assert decided.status_code == 200
    assert decided.json()["status"] == "accepted"
    foreign = await client.post(
        f"/api/v1/appeals/{appealed.json()['id']}/decision", json={"decision": "reject"}, headers=stranger
    )
    assert foreign.status_code == 404


async def test_the_api_refuses_a_no_show_before_the_window_closes_with_the_time(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    shift = await a_held_shift(db, agent, slot_start(2))
    coordinator = await bearer(db, await people.make(Role.coordinator))
    early = await client.post(f"/api/v1/shifts/{shift.id}/no-show", json={"user": agent.id}, headers=coordinator)
    assert early.status_code == 409
    assert dt.datetime.fromisoformat(early.json()["at"]) == utc_start(shift.start_slot) + dt.timedelta(minutes=15)


async def test_the_schedule_partial_shows_the_buttons_inline(db: AsyncSession, people: Factory) -> None:
    """My schedule passes ``schedule_context``: no extra request per shift."""
    agent = await people.make(Role.agent)
    soon = await a_held_shift(db, agent, slot_start(2))
    schedule = await shifts_service.upcoming_and_past(db, user=agent, now=utcnow())
    context = {"schedule": schedule, "csrf_token": lambda: "token", **await schedule_context(db, agent)}
    template = create_environment().get_template("shifts/_attendance_action.html")
    day = schedule.upcoming[0]
    html = template.render(**context, day=day, item=day.shifts[0])
    assert f'action="/app/shifts/{soon.id}/confirm"' in html
    assert "hx-get" not in html
