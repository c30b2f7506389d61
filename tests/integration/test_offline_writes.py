"""Writes a phone made offline and sends later (web/static/outbox.js), as the server answers them.

Every availability edit carries the version of the week its page showed: a change made meanwhile (on
another device, by the coordinator, or by the deadline closing the week) refuses it and names what
happened, and nothing of it is written. A replayed request names who queued it; the confirm tap is safe
to send twice and says clearly when the shift has gone.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import httpx
import time_machine
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, User
from backend.accounts.site_settings import update_site_settings
from backend.availability.models import AvailabilityWeek, OfferedSlot, Preference
from backend.core.db import utcnow
from backend.core.slots import IsoWeek, local_slot, slot_of, utc_start
from backend.shifts.models import Attendance, Shift, ShiftSeat
from tests.conftest import login, post_form
from tests.factories import Factory, a_held_shift, bearer

SHANGHAI = ZoneInfo("Asia/Shanghai")
HTMX = {"hx-request": "true"}


def open_week(offset: int = 2) -> IsoWeek:
    return IsoWeek.containing(utcnow(), SHANGHAI).shifted(offset)


# A moment well away from midnight in the test site's zone, for sentences that say "today at 14:05".
WEDNESDAY_NOON_IN_SHANGHAI = dt.datetime(2026, 11, 4, 4, 0, tzinfo=dt.UTC)


async def offers(db: AsyncSession, user: User) -> dict[int, Preference]:
    rows = await db.execute(select(OfferedSlot.slot, OfferedSlot.preference).where(OfferedSlot.user_id == user.id))
    return {slot: preference for slot, preference in rows}


async def signed_in_agent(client: httpx.AsyncClient, people: Factory) -> User:
    agent = await people.make(Role.agent)
    assert (await login(client, agent.email)).status_code == 303
    return agent


async def shown_version(client: httpx.AsyncClient, week: IsoWeek) -> str:
    """The week's version as the grid page carries it in every form (and in a header)."""
    page = await client.get(f"/app/availability?week={week}&day=1")
    found = re.findall(r'name="version" value="([^"]*)"', page.text)
    assert found
    assert len(set(found)) == 1, "every form of the grid carries the same version"
    assert page.headers["x-weft-week-version"] == found[0]
    return found[0]


def tap(week: IsoWeek, slot: int, version: str) -> dict[str, str]:
    return {"action": "tap", "week": str(week), "day": "1", "slot": str(slot), "version": version}


def refusal(response: httpx.Response) -> tuple[int, str]:
    status, _, message = response.headers["x-weft-refusal"].partition(" ")
    return int(status), unquote(message)


async def replay(client: httpx.AsyncClient, path: str, data: dict[str, str], user: User) -> httpx.Response:
    """Send a queued change the way the outbox does: as htmx, naming who queued it."""
    token = client.cookies["weft_csrf"]
    headers = {**HTMX, "x-csrftoken": token, "x-weft-replay": str(user.id)}
    return await client.post(path, data={**data, "_csrf_token": token}, headers=headers)


# Availability: the week's version ----------------------------------------------------------


async def test_an_edit_based_on_an_older_copy_of_the_week_is_refused_and_names_the_change(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await signed_in_agent(client, people)
    week = open_week()
    evening, later = (local_slot(week.days()[1], hour, 0, SHANGHAI) for hour in (18, 19))
    phone_version = await shown_version(client, week)
    assert phone_version == "new"

    # Another device (same agent) edits the week first.
    assert (await post_form(client, "/app/availability", tap(week, evening, phone_version))).status_code == 303
    assert await offers(db, agent) == {evening: Preference.preferred}

    # The phone's change, made on the page it loaded before, arrives later: refused, nothing written.
    stale = await post_form(client, "/app/availability", tap(week, later, phone_version))
    assert stale.status_code == 409
    assert f"Week {week} was changed on another device today at" in stale.text
    assert "your change was not applied" in stale.text
    assert await offers(db, agent) == {evening: Preference.preferred}

    # Replayed as htmx it is 200 (htmx swaps only 2xx) with the current week, and the header names it.
    replayed = await replay(client, "/app/availability", tap(week, later, phone_version), agent)
    assert replayed.status_code == 200
    status, message = refusal(replayed)
    assert status == 409
    assert message.startswith(f"Week {week} was changed on another device today at")
    assert re.search(rf'value="{evening}" class="slot preferred"', replayed.text), "the week as it is now"
    assert await offers(db, agent) == {evening: Preference.preferred}


async def test_edits_in_a_row_each_carry_the_version_the_last_one_produced(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await signed_in_agent(client, people)
    week = open_week()
    first, second = (local_slot(week.days()[1], hour, 0, SHANGHAI) for hour in (9, 10))
    version = await shown_version(client, week)

    answered = await replay(client, "/app/availability", tap(week, first, version), agent)
    assert "x-weft-refusal" not in answered.headers
    newer = answered.headers["x-weft-week-version"]
    assert newer != version
    assert f'name="version" value="{newer}"' in answered.text

    again = await replay(client, "/app/availability", tap(week, second, newer), agent)
    assert "x-weft-refusal" not in again.headers
    assert await offers(db, agent) == {first: Preference.preferred, second: Preference.preferred}


async def test_a_coordinators_change_meanwhile_is_named_as_theirs(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await signed_in_agent(client, people)
    week = open_week()
    slot = local_slot(week.days()[1], 20, 0, SHANGHAI)
    version = await shown_version(client, week)
    coordinator = await people.make(Role.coordinator)
    db.add(AvailabilityWeek(user_id=agent.id, week=str(week), updated_at=utcnow(), updated_by_id=coordinator.id))
    await db.flush()

    refused = await replay(client, "/app/availability", tap(week, slot, version), agent)
    status, message = refusal(refused)
    assert status == 409
    assert message.startswith(f"Your coordinator changed week {week} today at")
    assert await offers(db, agent) == {}


async def test_an_edit_without_a_version_is_not_checked(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    """A client that sends no version (an old page, a script) keeps working as before."""
    agent = await signed_in_agent(client, people)
    week = open_week()
    slot = local_slot(week.days()[1], 8, 0, SHANGHAI)
    await post_form(client, "/app/availability", tap(week, slot, "new"))
    fields = tap(week, slot, "")
    assert (await post_form(client, "/app/availability", fields)).status_code == 303
    assert await offers(db, agent) == {slot: Preference.if_needed}


async def test_a_queued_edit_that_arrives_after_the_deadline_is_refused_with_the_deadline(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    agent = await signed_in_agent(client, people)
    week = open_week(1)
    slot = local_slot(week.days()[2], 18, 0, SHANGHAI)
    version = await shown_version(client, week)
    # Meanwhile the deadline for next week passes (the site's deadline moves to last Monday 00:00).
    await update_site_settings(db, site, availability_deadline_weekday=0, availability_deadline_time="00:00")
    await db.commit()

    replayed = await replay(client, "/app/availability", tap(week, slot, version), agent)
    status, message = refusal(replayed)
    assert status == 422
    assert f"The deadline for {week} was" in message
    assert "ask your coordinator" in message
    plain = await post_form(client, "/app/availability", tap(week, slot, version))
    assert plain.status_code == 422
    assert await offers(db, agent) == {}


async def test_a_change_queued_by_someone_else_on_this_phone_is_not_applied(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await signed_in_agent(client, people)
    previous = await people.make(Role.agent)  # signed out on this phone, left a change in the queue
    week = open_week()
    slot = local_slot(week.days()[1], 18, 0, SHANGHAI)
    version = await shown_version(client, week)

    theirs = await replay(client, "/app/availability", tap(week, slot, version), previous)
    assert theirs.status_code == 403
    assert "x-weft-refusal" not in theirs.headers, "not a refusal to report: the phone keeps it for its owner"
    assert await offers(db, agent) == {}
    assert await offers(db, previous) == {}
    mine = await replay(client, "/app/availability", tap(week, slot, version), agent)
    assert mine.status_code == 200
    assert await offers(db, agent) == {slot: Preference.preferred}


# The confirm tap ------------------------------------------------------------------------------


def soon() -> dt.datetime:
    """A shift start two hours from now, on a slot boundary: inside the confirm window."""
    return utc_start(slot_of(utcnow()) + 4)


async def test_a_confirm_sent_twice_confirms_once_and_answers_the_same(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await signed_in_agent(client, people)
    shift = await a_held_shift(db, agent, soon())
    path = f"/app/shifts/{shift.id}/confirm"

    first = await replay(client, path, {}, agent)
    second = await replay(client, path, {}, agent)
    for answer in (first, second):
        assert answer.status_code == 200
        assert "x-weft-refusal" not in answer.headers
        assert "Confirmed. See you then." in answer.text
    rows = await db.scalar(
        select(func.count()).select_from(Attendance).join(ShiftSeat).where(ShiftSeat.shift_id == shift.id)
    )
    assert rows == 1
    attendance = await db.scalar(select(Attendance).join(ShiftSeat).where(ShiftSeat.shift_id == shift.id))
    assert attendance is not None
    confirmed_at = attendance.confirmed_at
    assert confirmed_at is not None
    await replay(client, path, {}, agent)
    await db.refresh(attendance)
    assert attendance.confirmed_at == confirmed_at, "a third tap does not move the time"


async def test_confirming_a_shift_cancelled_meanwhile_says_so(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, time_machine: time_machine.TimeMachineFixture
) -> None:
    time_machine.move_to(WEDNESDAY_NOON_IN_SHANGHAI, tick=True)  # "today at ..." holds only away from midnight
    agent = await signed_in_agent(client, people)
    shift = await a_held_shift(db, agent, soon())
    cancelled = await db.get(Shift, shift.id)
    assert cancelled is not None
    cancelled.cancelled_at = utcnow() - dt.timedelta(minutes=5)
    await db.flush()

    replayed = await replay(client, f"/app/shifts/{shift.id}/confirm", {}, agent)
    assert replayed.status_code == 410
    status, message = refusal(replayed)
    assert status == 410
    assert message.startswith("This shift was cancelled today at")
    assert "there is nothing to confirm" in message
    assert await db.scalar(select(func.count()).select_from(Attendance)) == 0


async def test_confirming_a_shift_i_gave_up_says_so_and_a_stranger_still_gets_404(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, time_machine: time_machine.TimeMachineFixture
) -> None:
    time_machine.move_to(WEDNESDAY_NOON_IN_SHANGHAI, tick=True)  # "today at ..." holds only away from midnight
    agent = await signed_in_agent(client, people)
    given_up = await a_held_shift(db, agent, soon(), released_at=utcnow() - dt.timedelta(hours=1))
    other = await people.make(Role.agent)
    theirs = await a_held_shift(db, other, soon() + dt.timedelta(days=1))

    mine = await replay(client, f"/app/shifts/{given_up.id}/confirm", {}, agent)
    assert mine.status_code == 410
    assert refusal(mine)[1].startswith("You gave this shift up today at")
    stranger = await replay(client, f"/app/shifts/{theirs.id}/confirm", {}, agent)
    assert stranger.status_code == 404


# The JSON API: the same check, optional, through ETag and If-Match ------------------------------


async def test_the_api_refuses_a_put_whose_if_match_is_older_than_the_week(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await people.make(Role.agent)
    headers = await bearer(db, agent)
    week = open_week()
    monday = week.monday.isoformat()
    body = {
        "week": str(week),
        "max_hours": None,
        "blocks": [{"start": f"{monday}T18:00:00+08:00", "end": f"{monday}T20:00:00+08:00", "preference": "preferred"}],
    }
    read = await client.get(f"/api/v1/availability?week={week}", headers=headers)
    etag = read.headers["etag"]
    assert etag == '"new"'

    first = await client.put("/api/v1/availability", json=body, headers={**headers, "If-Match": etag})
    assert first.status_code == 200, first.text
    assert first.headers["etag"] != etag
    later = {**body, "blocks": []}
    stale = await client.put("/api/v1/availability", json=later, headers={**headers, "If-Match": etag})
    assert stale.status_code == 409
    assert stale.json()["message"].startswith(f"Week {week} was changed on another device today at")
    assert await offers(db, agent) != {}, "the refused PUT stored nothing"

    fresh = await client.put("/api/v1/availability", json=later, headers={**headers, "If-Match": first.headers["etag"]})
    assert fresh.status_code == 200
    unconditional = await client.put("/api/v1/availability", json=body, headers=headers)
    assert unconditional.status_code == 200, "without If-Match the last write wins, as before"
    assert len(await offers(db, agent)) == 4
