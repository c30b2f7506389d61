"""Handover notes: who writes, which shifts they reach, acknowledging, resolving, pages and API."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.accounts.site_settings import update_site_settings
from backend.core.db import utcnow
from backend.core.errors import DomainError, Forbidden, NotFound
from backend.core.i18n import gettext, speaking
from backend.core.slots import slot_of, utc_start
from backend.handover import service as handover
from backend.handover.models import HandoverAck, HandoverKind, HandoverNote
from backend.shifts.models import Shift
from tests.conftest import login, post_form
from tests.factories import Factory, a_held_shift, a_skill, bearer

HTMX = {"hx-request": "true"}
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
# A fixed moment far from now for service tests, which pass their own ``now``: 18:00 in Shanghai.
START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def slot_start(offset_slots: int) -> dt.datetime:
    return utc_start(slot_of(utcnow()) + offset_slots)


async def note_count(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(HandoverNote)) or 0)


async def bodies(db: AsyncSession, shift: Shift, reader: User) -> list[str]:
    return [view.body for view in await handover.notes_for_shift(db, shift_id=shift.id, reader=reader)]


# Which shifts a note reaches -------------------------------------------------------------------


async def test_an_outgoing_agents_note_reaches_the_next_shifts_holder(db: AsyncSession, people: Factory) -> None:
    outgoing, incoming, elsewhere, later = [await people.make(Role.agent) for _ in range(4)]
    evening = await a_held_shift(db, outgoing, START)  # 18:00-20:00 Shanghai
    night = await a_held_shift(db, incoming, START + 2 * HOUR)  # 20:00-22:00, the next billing shift
    tech = await a_held_shift(db, elsewhere, START + 2 * HOUR, skill="tech")
    next_day = await a_held_shift(db, later, START + dt.timedelta(days=1))

    note = await handover.write_for_next_shift(
        db,
        from_shift_id=evening.id,
        agent=outgoing,
        kind="open_issue",
        body="Ticket 4411 waits on a refund",
        now=START + 2 * HOUR - 10 * MINUTE,
    )
    await db.commit()
    assert (note.start_slot, note.end_slot) == (evening.end_slot, evening.end_slot + 8)  # the 4 hours after
    assert note.from_shift_id == evening.id

    assert await bodies(db, night, incoming) == ["Ticket 4411 waits on a refund"]
    assert await bodies(db, tech, elsewhere) == []
    assert await bodies(db, next_day, later) == []
    mine = await handover.shift_handover(db, shift_id=evening.id, agent=outgoing, now=START + 2 * HOUR)
    assert [view.body for view in mine.written] == ["Ticket 4411 waits on a refund"]


async def test_an_agent_writes_only_from_a_shift_they_work_now_or_just_finished(
    db: AsyncSession, people: Factory
) -> None:
    agent, other = await people.make(Role.agent), await people.make(Role.agent)
    shift = await a_held_shift(db, agent, START)
    ends = START + 2 * HOUR
    for too_early_or_late in (START - MINUTE, ends + 2 * HOUR + MINUTE):
        with pytest.raises(DomainError) as refused:
            await handover.write_for_next_shift(
                db, from_shift_id=shift.id, agent=agent, kind="warning", body="x", now=too_early_or_late
            )
        assert refused.value.status_code == 422
        assert refused.value.field == "shift_id"
        assert "until 2 hours after it ends" in refused.value.message
    with pytest.raises(NotFound):
        await handover.write_for_next_shift(db, from_shift_id=shift.id, agent=other, kind="warning", body="x", now=ends)
    assert await note_count(db) == 0
    await handover.write_for_next_shift(
        db, from_shift_id=shift.id, agent=agent, kind="warning", body="Last moment", now=ends + 2 * HOUR
    )
    assert await note_count(db) == 1


async def test_a_coordinator_block_note_reaches_overlapping_shifts_of_its_skill_only(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    a, b, c, d = [await people.make(Role.agent) for _ in range(4)]
    inside = await a_held_shift(db, a, START + HOUR)  # 19:00-21:00
    touching = await a_held_shift(db, b, START + 4 * HOUR)  # 22:00-24:00: starts as the block ends
    tech = await a_held_shift(db, c, START + HOUR, skill="tech")
    before = await a_held_shift(db, d, START - 2 * HOUR)  # 16:00-18:00: ends as the block starts

    zone = ZoneInfo(site.timezone)
    start_slot, end_slot = handover.block_of_clock("2026-12-01", "18:00", "", "22:00", zone)
    assert (start_slot, end_slot) == (slot_of(START), slot_of(START + 4 * HOUR))
    await handover.write_on_block(
        db,
        staff=coordinator,
        start_slot=start_slot,
        end_slot=end_slot,
        skill="billing",
        kind="warning",
        body="The refund tool is down",
        now=START - HOUR,
    )
    await handover.write_on_block(
        db,
        staff=coordinator,
        start_slot=start_slot,
        end_slot=end_slot,
        skill=None,
        kind="open_issue",
        body="Phones are slow everywhere",
        now=START - HOUR,
    )
    await db.commit()
    assert await bodies(db, inside, a) == ["The refund tool is down", "Phones are slow everywhere"]
    assert await bodies(db, tech, c) == ["Phones are slow everywhere"]
    assert await bodies(db, touching, b) == []
    assert await bodies(db, before, d) == []
    assert await bodies(db, tech, coordinator) == ["Phones are slow everywhere"]  # coordinators read any shift


async def test_a_note_on_one_shift_reaches_that_shift_alone(db: AsyncSession, people: Factory) -> None:
    coordinator = await people.make(Role.coordinator)
    a, b = await people.make(Role.agent), await people.make(Role.agent)
    target = await a_held_shift(db, a, START)
    same_time = await a_held_shift(db, b, START)
    await handover.write_on_shift(
        db, shift_id=target.id, staff=coordinator, kind="open_issue", body="Call back Mrs Wang", now=START - HOUR
    )
    await handover.write_on_shift(
        db, shift_id=target.id, staff=coordinator, kind="follow_up", body="Refund 88 pending", now=START - HOUR
    )
    later = await a_held_shift(db, b, START + 2 * HOUR)
    assert await bodies(db, target, a) == ["Call back Mrs Wang", "Refund 88 pending"]
    assert await bodies(db, same_time, b) == []
    assert await bodies(db, later, b) == ["Refund 88 pending"]  # an open follow-up follows the skill's next shifts
    with pytest.raises(DomainError) as over:
        await handover.write_on_shift(
            db, shift_id=target.id, staff=coordinator, kind="warning", body="late", now=START + 2 * HOUR
        )
    assert over.value.field == "shift_id"


async def test_warnings_come_first_then_open_issues_then_follow_ups_newest_first(
    db: AsyncSession, people: Factory
) -> None:
    coordinator, agent = await people.make(Role.coordinator), await people.make(Role.agent)
    shift = await a_held_shift(db, agent, START)
    written = [
        ("follow_up", "old follow-up"),
        ("open_issue", "old issue"),
        ("warning", "old warning"),
        ("follow_up", "new follow-up"),
        ("open_issue", "new issue"),
        ("warning", "new warning"),
    ]
    for minutes, (kind, body) in enumerate(written):
        await handover.write_on_shift(
            db, shift_id=shift.id, staff=coordinator, kind=kind, body=body, now=START - HOUR + minutes * MINUTE
        )
    assert await bodies(db, shift, agent) == [
        "new warning",
        "old warning",
        "new issue",
        "old issue",
        "new follow-up",
        "old follow-up",
    ]


async def test_an_unresolved_follow_up_follows_the_skills_later_shifts_until_resolved(
    db: AsyncSession, people: Factory
) -> None:
    author, first, second = [await people.make(Role.agent) for _ in range(3)]
    tech_agent = await people.make(Role.agent)
    evening = await a_held_shift(db, author, START)
    tomorrow = await a_held_shift(db, second, START + dt.timedelta(days=1))
    tech_tomorrow = await a_held_shift(db, tech_agent, START + dt.timedelta(days=1), skill="tech")
    await a_held_shift(db, first, START + 2 * HOUR)
    follow_up = await handover.write_for_next_shift(
        db, from_shift_id=evening.id, agent=author, kind="follow_up", body="Chase the courier", now=START + HOUR
    )
    await handover.write_for_next_shift(
        db, from_shift_id=evening.id, agent=author, kind="open_issue", body="Only for tonight", now=START + HOUR
    )
    assert await bodies(db, tomorrow, second) == ["Chase the courier"]
    assert await bodies(db, tech_tomorrow, tech_agent) == []

    stranger = await people.make(Role.agent)
    with pytest.raises(NotFound):
        await handover.resolve_note(db, note_id=follow_up.id, user=stranger, now=START + 3 * HOUR)
    with pytest.raises(Forbidden):  # a reader, not the author
        await handover.resolve_note(db, note_id=follow_up.id, user=second, now=START + 3 * HOUR)
    done = await handover.resolve_note(db, note_id=follow_up.id, user=author, now=START + 3 * HOUR)
    assert done.resolved_at == START + 3 * HOUR
    again = await handover.resolve_note(db, note_id=follow_up.id, user=author, now=START + 4 * HOUR)
    assert again.resolved_at == START + 3 * HOUR
    assert await bodies(db, tomorrow, second) == []


# Acknowledging --------------------------------------------------------------------------------


async def test_acknowledging_is_recorded_once(db: AsyncSession, people: Factory) -> None:
    coordinator, agent = await people.make(Role.coordinator), await people.make(Role.agent)
    shift = await a_held_shift(db, agent, START)
    for body in ("One", "Two"):
        await handover.write_on_shift(
            db, shift_id=shift.id, staff=coordinator, kind="warning", body=body, now=START - HOUR
        )
    first = await handover.acknowledge_shift(db, shift_id=shift.id, agent=agent, now=START - 10 * MINUTE)
    assert {view.acknowledged_at for view in first} == {START - 10 * MINUTE}
    again = await handover.acknowledge_shift(db, shift_id=shift.id, agent=agent, now=START)
    assert {view.acknowledged_at for view in again} == {START - 10 * MINUTE}
    rows = await db.scalar(select(func.count()).select_from(HandoverAck).where(HandoverAck.user_id == agent.id))
    assert rows == 2
    view = await handover.shift_handover(db, shift_id=shift.id, agent=agent, now=START)
    assert view.unacknowledged == []


async def test_another_agent_cannot_read_or_acknowledge_a_shift_they_do_not_hold(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator, agent, other = (
        await people.make(Role.coordinator),
        await people.make(Role.agent),
        await people.make(Role.agent),
    )
    shift = await a_held_shift(db, agent, START)
    note = await handover.write_on_shift(
        db, shift_id=shift.id, staff=coordinator, kind="warning", body="Secret", now=START - HOUR
    )
    with pytest.raises(NotFound):
        await handover.notes_for_shift(db, shift_id=shift.id, reader=other)
    with pytest.raises(NotFound):
        await handover.acknowledge_shift(db, shift_id=shift.id, agent=other, now=START)
    with pytest.raises(NotFound):
        await handover.acknowledge_note(db, note_id=note.id, agent=other, now=START)
    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Asia/Shanghai", country="CN")
    with pytest.raises(NotFound):
        await handover.notes_for_shift(
            db, shift_id=shift.id, reader=await people.make(Role.coordinator, site=elsewhere)
        )
    assert await db.scalar(select(func.count()).select_from(HandoverAck)) == 0


# Pages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
async def test_my_schedule_shows_the_notes_and_takes_one_acknowledge_tap(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, locale: str
) -> None:
    await update_site_settings(db, site, start_window_minutes=60)
    coordinator = await people.make(Role.coordinator)
    agent = await people.make(Role.agent, locale=locale)
    outgoing = await people.make(Role.agent)
    shift = await a_held_shift(db, agent, slot_start(1))  # starts within half an hour: start is open
    earlier = await a_held_shift(db, outgoing, slot_start(-3))  # ends as this one starts
    await handover.write_for_next_shift(
        db, from_shift_id=earlier.id, agent=outgoing, kind="open_issue", body="Ticket 4411 is half done", now=utcnow()
    )
    await handover.write_on_shift(
        db, shift_id=shift.id, staff=coordinator, kind="warning", body="Refund tool down", now=utcnow()
    )
    await db.commit()
    assert (await login(client, agent.email)).status_code == 303

    schedule = await client.get("/app/shifts")
    assert schedule.status_code == 200
    assert f'<div id="handover-{shift.id}"></div>' in schedule.text  # shifts only leaves the place
    assert schedule.text.count('hx-get="/app/handover/schedule"') == 1  # one request for every shift
    assert 'href="/app/handover/schedule"' in schedule.text  # without JavaScript, a link to the notes
    notes = await client.get("/app/handover/schedule", headers=HTMX)  # as htmx loads them
    assert notes.status_code == 200
    assert "<html" not in notes.text
    assert f'id="handover-{shift.id}"' in notes.text
    assert 'hx-swap-oob="true"' in notes.text
    with speaking(locale):
        assert gettext("Handover notes: %(count)s", count=2) in notes.text
        assert gettext("Acknowledge") in notes.text
        assert gettext("Warning") in notes.text
    assert notes.text.index("Refund tool down") < notes.text.index("Ticket 4411 is half done")
    plain = await client.get("/app/handover/schedule")
    assert plain.status_code == 200
    assert "<html" in plain.text
    assert "Refund tool down" in plain.text
    assert "hx-swap-oob" not in plain.text

    acked = await client.post(
        f"/app/shifts/{shift.id}/handover/ack", headers={**HTMX, "x-csrftoken": client.cookies["weft_csrf"]}
    )
    assert acked.status_code == 200
    assert "<html" not in acked.text
    assert f'id="handover-{shift.id}"' in acked.text
    with speaking(locale):
        assert gettext("Handover notes acknowledged.") in acked.text
        assert gettext("You have read every note for this shift.") in acked.text
    again = await post_form(client, f"/app/shifts/{shift.id}/handover/ack", {})  # no JavaScript, and a second tap
    assert again.status_code == 303
    assert again.headers["location"] == f"/app/shifts/{shift.id}/handover?done=acknowledged"
    shown = await client.get(again.headers["location"])
    assert shown.status_code == 200
    assert "Refund tool down" in shown.text
    assert await db.scalar(select(func.count()).select_from(HandoverAck).where(HandoverAck.user_id == agent.id)) == 2


async def test_start_shift_answers_with_the_unacknowledged_notes(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await update_site_settings(db, site, start_window_minutes=60)
    coordinator, agent = await people.make(Role.coordinator), await people.make(Role.agent)
    shift = await a_held_shift(db, agent, slot_start(1))
    await handover.write_on_shift(
        db, shift_id=shift.id, staff=coordinator, kind="warning", body="Refund tool down", now=utcnow()
    )
    await db.commit()
    assert (await login(client, agent.email)).status_code == 303
    started = await client.post(
        f"/app/shifts/{shift.id}/start", headers={**HTMX, "x-csrftoken": client.cookies["weft_csrf"]}
    )
    assert started.status_code == 200
    piece = started.text[started.text.index(f'id="attendance-{shift.id}"') :]
    assert "Started today at" in piece
    assert f'hx-get="/app/handover/shifts/{shift.id}"' in piece[piece.index(f'id="handover-{shift.id}"') :]
    notes = await client.get(f"/app/handover/shifts/{shift.id}", headers=HTMX)  # as htmx loads them
    assert notes.status_code == 200
    assert "<html" not in notes.text
    assert "Refund tool down" in notes.text
    assert 'role="alert"' in notes.text[notes.text.index(f'id="handover-{shift.id}"') :]
    assert f'action="/app/shifts/{shift.id}/handover/ack"' in notes.text
    assert "hx-swap-oob" not in notes.text  # swapped in place of its own placeholder

    plain = await client.get(f"/app/shifts/{shift.id}/attendance?done=started")
    assert f'href="/app/handover/shifts/{shift.id}"' in plain.text  # without JavaScript, a link to the notes
    assert "Refund tool down" in (await client.get(f"/app/handover/shifts/{shift.id}")).text


async def test_the_handover_fragments_answer_only_for_the_agents_own_current_shifts(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent, other = await people.make(Role.agent), await people.make(Role.agent)
    tomorrow = await a_held_shift(db, agent, slot_start(48))  # not yet time for its notes
    theirs = await a_held_shift(db, other, slot_start(1))
    await handover.write_on_shift(
        db, shift_id=tomorrow.id, staff=await people.make(Role.coordinator), kind="warning", body="Later", now=utcnow()
    )
    await db.commit()
    assert (await login(client, agent.email)).status_code == 303

    nothing = await client.get("/app/handover/schedule", headers=HTMX)
    assert nothing.status_code == 200
    assert nothing.text.strip() == ""
    not_yet = await client.get(f"/app/handover/shifts/{tomorrow.id}", headers=HTMX)
    assert not_yet.status_code == 200
    assert not_yet.text.strip() == ""
    assert (await client.get(f"/app/handover/shifts/{theirs.id}", headers=HTMX)).status_code == 404
    assert (await client.get(f"/app/handover/shifts/{theirs.id}")).status_code == 404
    assert (await client.get("/app/handover/shifts/999999", headers=HTMX)).status_code == 404


async def test_an_agent_leaves_a_note_for_the_next_shift_from_my_schedule(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent, nobody = await people.make(Role.agent), await people.make(Role.agent)
    working = await a_held_shift(db, agent, slot_start(-2))  # under way
    upcoming = await a_held_shift(db, agent, slot_start(48))  # tomorrow: too early to write from
    theirs = await a_held_shift(db, nobody, slot_start(-2))
    assert (await login(client, agent.email)).status_code == 303

    schedule = await client.get("/app/shifts")
    assert 'hx-get="/app/handover/schedule"' in schedule.text
    notes = await client.get("/app/handover/schedule", headers=HTMX)  # as htmx loads them into My schedule
    assert "Leave a note for the next shift" in notes.text
    assert f'action="/app/shifts/{working.id}/handover/notes"' in notes.text
    assert f'action="/app/shifts/{upcoming.id}/handover/notes"' not in notes.text

    empty = await post_form(client, f"/app/shifts/{working.id}/handover/notes", {"kind": "warning", "body": "  "})
    assert empty.status_code == 422
    assert "Write the note." in empty.text
    too_long = await post_form(
        client, f"/app/shifts/{working.id}/handover/notes", {"kind": "warning", "body": "x" * 2001}
    )
    assert too_long.status_code == 422
    assert "Keep the note to 2000 characters" in too_long.text
    early = await post_form(client, f"/app/shifts/{upcoming.id}/handover/notes", {"kind": "warning", "body": "Hi"})
    assert early.status_code == 422
    missing = await post_form(client, f"/app/shifts/{theirs.id}/handover/notes", {"kind": "warning", "body": "Hi"})
    assert missing.status_code == 404
    assert await note_count(db) == 0

    sent = await post_form(
        client, f"/app/shifts/{working.id}/handover/notes", {"kind": "follow_up", "body": "Chase ticket 12"}
    )
    assert sent.status_code == 303
    page = await client.get(sent.headers["location"])
    assert "Note left for the next shift." in page.text
    assert "Chase ticket 12" in page.text
    note = await db.scalar(select(HandoverNote))
    assert note is not None
    assert note.kind is HandoverKind.follow_up
    resolved = await post_form(client, f"/app/shifts/{working.id}/handover/{note.id}/resolve", {})
    assert resolved.status_code == 303
    await db.refresh(note)
    assert note.resolved_at is not None


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
async def test_the_coordinator_writes_on_a_block_and_sees_who_has_read_it(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, locale: str
) -> None:
    coordinator = await people.make(Role.coordinator, locale=locale)
    reader = await people.make(Role.agent, display_name="Mei Lin")
    waiter = await people.make(Role.agent, display_name="Wang Lei")
    start = slot_start(4)
    read_shift = await a_held_shift(db, reader, start)
    await a_held_shift(db, waiter, start)
    await a_skill(db, site, "tech")
    local = start.astimezone(SHANGHAI)
    end = (start + 2 * HOUR).astimezone(SHANGHAI)
    assert (await login(client, coordinator.email)).status_code == 303

    board = await client.get("/admin/handover/")
    assert board.status_code == 200
    with speaking(locale):
        for text in (gettext("Handover notes"), gettext("A note on a time block"), gettext("A note on one shift")):
            assert text in board.text
    assert f'<option value="{read_shift.id}"' in board.text

    form = {
        "day": local.date().isoformat(),
        "start": local.strftime("%H:%M"),
        "end_day": end.date().isoformat(),
        "end": end.strftime("%H:%M"),
        "skill": "billing",
        "kind": "follow_up",
        "body": "Refund tool is down",
    }
    saved = await post_form(client, "/admin/handover/block", form)
    assert saved.status_code == 303, saved.text
    note = await db.scalar(select(HandoverNote))
    assert note is not None
    await handover.acknowledge_shift(db, shift_id=read_shift.id, agent=reader, now=utcnow())
    await db.commit()
    listed = await client.get(saved.headers["location"])
    row = listed.text[listed.text.index(f'id="note-{note.id}"') :]
    row = row[: row.index("</tr>")]
    acknowledged, waiting = row.split("</td>")[2], row.split("</td>")[3]
    assert "Mei Lin" in acknowledged
    assert "Wang Lei" in waiting
    assert "Refund tool is down" in row

    resolved = await client.post(
        f"/admin/handover/{note.id}/resolve",
        data={"_csrf_token": client.cookies["weft_csrf"]},
        headers=HTMX,
    )
    assert resolved.status_code == 200
    with speaking(locale):
        assert gettext("Follow-up resolved.") in resolved.text


async def test_the_coordinator_form_names_the_bad_field_and_saves_nothing(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    await a_skill(db, site)
    assert (await login(client, coordinator.email)).status_code == 303
    tomorrow = (utcnow().astimezone(SHANGHAI) + dt.timedelta(days=1)).date().isoformat()
    yesterday = (utcnow().astimezone(SHANGHAI) - dt.timedelta(days=1)).date().isoformat()
    good = {"day": tomorrow, "start": "18:00", "end_day": "", "end": "22:00", "skill": "billing", "kind": "warning"}
    cases = [
        ({**good, "body": ""}, "body", "Write the note."),
        ({**good, "body": "x" * 2001}, "body", "Keep the note to 2000 characters"),
        ({**good, "start": "18:15", "body": "x"}, "start", "on the hour or half past"),
        ({**good, "end": "17:30", "body": "x"}, "end", "The end must be after the start."),
        ({**good, "end": "18:00", "body": "x"}, "end", "The end must be after the start."),
        ({**good, "day": yesterday, "body": "x"}, "end", "That block is already over."),
        ({**good, "skill": "nope", "body": "x"}, "skill", "No skill nope"),
    ]
    for form, field, message in cases:
        refused = await post_form(client, "/admin/handover/block", form)
        assert refused.status_code == 422, form
        assert message in refused.text
        assert f'id="e-{field}"' in refused.text or f'id="e-block-{field}"' in refused.text or field == "skill"
    on_shift = await post_form(client, "/admin/handover/shift", {"shift_id": "", "kind": "warning", "body": "x"})
    assert on_shift.status_code == 422
    assert "Choose a shift." in on_shift.text
    assert await note_count(db) == 0


async def test_agents_and_finance_are_kept_off_the_coordinator_page(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    assert (await login(client, agent.email)).status_code == 303
    assert (await client.get("/admin/handover/")).status_code == 403
    assert (await post_form(client, "/admin/handover/block", {"kind": "warning", "body": "x"})).status_code == 403
    other = await people.make(Role.agent)
    theirs = await a_held_shift(db, other, slot_start(1))
    assert (await client.get(f"/app/shifts/{theirs.id}/handover")).status_code == 404
    assert (await post_form(client, f"/app/shifts/{theirs.id}/handover/ack", {})).status_code == 404

    finance = await people.make(Role.finance)
    client.cookies.clear()
    assert (await login(client, finance.email)).status_code == 303
    assert (await client.get("/admin/handover/")).status_code == 403
    assert (await client.get(f"/app/shifts/{theirs.id}/handover")).status_code == 403


# The API --------------------------------------------------------------------------------------


async def test_the_api_writes_reads_and_acknowledges(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    coordinator, agent, outgoing = (
        await people.make(Role.coordinator),
        await people.make(Role.agent),
        await people.make(Role.agent),
    )
    shift = await a_held_shift(db, agent, slot_start(2))
    earlier = await a_held_shift(db, outgoing, slot_start(-2))
    staff = await bearer(db, coordinator)
    mine = await bearer(db, agent)

    start = utc_start(shift.start_slot).astimezone(SHANGHAI)
    block = {
        "kind": "warning",
        "body": "Refund tool down",
        "start": start.isoformat(),
        "end": (start + HOUR).isoformat(),
    }
    made = await client.post("/api/v1/handover-notes", json={**block, "skill": "billing"}, headers=staff)
    assert made.status_code == 201, made.text
    assert made.json()["shift_id"] is None
    passed = await client.post(
        "/api/v1/handover-notes",
        json={"kind": "open_issue", "body": "Ticket 4411", "from_shift_id": earlier.id},
        headers=await bearer(db, outgoing),
    )
    assert passed.status_code == 201, passed.text

    read = await client.get(f"/api/v1/shifts/{shift.id}/handover", headers=mine)
    assert read.status_code == 200
    assert [(n["kind"], n["body"], n["acknowledged_at"]) for n in read.json()] == [
        ("warning", "Refund tool down", None),
        ("open_issue", "Ticket 4411", None),
    ]
    note_id = read.json()[0]["id"]
    first = await client.post(f"/api/v1/handover-notes/{note_id}/ack", headers=mine)
    assert first.status_code == 200
    second = await client.post(f"/api/v1/handover-notes/{note_id}/ack", headers=mine)
    assert second.json() == first.json()
    again = await client.get(f"/api/v1/shifts/{shift.id}/handover", headers=mine)
    assert again.json()[0]["acknowledged_at"] == first.json()["acknowledged_at"]
    assert again.json()[1]["acknowledged_at"] is None
    assert (await client.get(f"/api/v1/shifts/{shift.id}/handover", headers=staff)).status_code == 200


async def test_the_api_keeps_roles_and_holders_apart(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    coordinator, agent, other = (
        await people.make(Role.coordinator),
        await people.make(Role.agent),
        await people.make(Role.agent),
    )
    shift = await a_held_shift(db, agent, slot_start(2))
    made = await handover.write_on_shift(
        db, shift_id=shift.id, staff=coordinator, kind="warning", body="Private", now=utcnow()
    )
    await db.commit()
    others = await bearer(db, other)
    assert (await client.get(f"/api/v1/shifts/{shift.id}/handover", headers=others)).status_code == 404
    assert (await client.post(f"/api/v1/handover-notes/{made.id}/ack", headers=others)).status_code == 404

    finance = await bearer(db, await people.make(Role.finance))
    assert (await client.get(f"/api/v1/shifts/{shift.id}/handover", headers=finance)).status_code == 403
    body = {"kind": "warning", "body": "x", "shift_id": shift.id}
    assert (await client.post("/api/v1/handover-notes", json=body, headers=finance)).status_code == 403
    assert (
        await client.post("/api/v1/handover-notes", json=body, headers=others)
    ).status_code == 403  # agents: own shift
    start = utc_start(shift.start_slot)
    block = {"kind": "warning", "body": "x", "start": start.isoformat(), "end": (start + HOUR).isoformat()}
    assert (await client.post("/api/v1/handover-notes", json=block, headers=others)).status_code == 403
    staff = await bearer(db, coordinator)
    from_shift = {"kind": "warning", "body": "x", "from_shift_id": shift.id}
    assert (await client.post("/api/v1/handover-notes", json=from_shift, headers=staff)).status_code == 403
    assert (await client.post(f"/api/v1/handover-notes/{made.id}/ack", headers=staff)).status_code == 403
    assert await note_count(db) == 1


async def test_the_api_refuses_bad_notes_naming_the_field(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    staff = await bearer(db, await people.make(Role.coordinator))
    start = slot_start(4)
    good = {"kind": "warning", "body": "Down", "start": start.isoformat(), "end": (start + HOUR).isoformat()}
    cases = [
        ({**good, "body": ""}, "body"),
        ({**good, "body": "   "}, "body"),
        ({**good, "body": "x" * 2001}, "body"),
        ({**good, "kind": "gossip"}, "kind"),
        ({**good, "start": (start + 15 * MINUTE).isoformat()}, "start"),
        ({**good, "end": start.isoformat()}, "end"),
        ({**good, "end": (start - HOUR).isoformat()}, "end"),
        ({**good, "start": (start - 6 * HOUR).isoformat(), "end": (start - 4 * HOUR).isoformat()}, "end"),
        ({**good, "skill": "nope"}, "skill"),
        ({k: v for k, v in good.items() if k != "end"}, "end"),
        ({**good, "shift_id": 1}, "shift_id"),
    ]
    for body, field in cases:
        refused = await client.post("/api/v1/handover-notes", json=body, headers=staff)
        assert refused.status_code == 422, body
        assert refused.json()["field"] == field, (body, refused.json())
    assert await note_count(db) == 0
