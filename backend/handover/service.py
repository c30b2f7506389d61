"""Handover notes: open issues, warnings and follow-ups passed from one shift to the next.

The rules:

- **Who writes.** An agent leaves a note for the next shift from a shift they hold, from its start
  until ``WRITE_AFTER_END`` after its end; the note covers the ``NEXT_SHIFT_SLOTS`` half-hours after
  that shift's end, for its skill. A coordinator writes on one coming shift, or on a time block of
  the site (on :00/:30, not yet over) for one skill or all of them.
- **Who reads.** A shift's notes are the notes on it, the block notes of its skill (or of all
  skills) that overlap it, and the unresolved follow-ups of its skill whose own window was over by
  its start. Warnings come first, then open issues, then follow-ups; newest first within each.
- **Acknowledging.** An agent acknowledges the notes of a shift they hold; one acknowledgement per
  note and agent, recorded once. Their own notes need none.
- **Resolving.** A follow-up is resolved by its author or a coordinator; it then stops following
  the skill's later shifts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import STAFF_ROLES, Role, Site, Skill, User, skill_label
from backend.accounts.site_settings import site_settings
from backend.core.errors import DomainError, Forbidden, NotFound
from backend.core.i18n import gettext as _
from backend.core.slots import SlotError, is_on_boundary, local_midnight, slot_at, slot_of, utc_start
from backend.handover.models import HandoverAck, HandoverKind, HandoverNote
from backend.shifts.models import Shift, ShiftSeat

NOTE_MAX_CHARS = 2000
NEXT_SHIFT_SLOTS = 8  # an agent's note covers the 4 hours after their shift ends
WRITE_AFTER_END = dt.timedelta(hours=2)
MAX_BLOCK_DAYS = 7
PICKER_DAYS = 7  # the coordinator picks a shift among those starting this far ahead
BOARD_PAST_HOURS = 24  # the coordinator's list keeps notes this long after their window ends
BOARD_LIMIT = 200
KIND_ORDER = {HandoverKind.warning: 0, HandoverKind.open_issue: 1, HandoverKind.follow_up: 2}


def kind_label(kind: HandoverKind) -> str:
    return {
        HandoverKind.warning: _("Warning"),
        HandoverKind.open_issue: _("Open issue"),
        HandoverKind.follow_up: _("Follow-up"),
    }[kind]


def kind_choices() -> list[tuple[str, str]]:
    return [(kind.value, kind_label(kind)) for kind in KIND_ORDER]


class _SlotSpan:
    """What a note, a shift or a choice of shift covers, as the times pages and the API show."""

    start_slot: int
    end_slot: int

    @property
    def starts(self) -> dt.datetime:
        return utc_start(self.start_slot)

    @property
    def ends(self) -> dt.datetime:
        return utc_start(self.end_slot)


@dataclass(frozen=True)
class NoteView(_SlotSpan):
    """A note as one reader sees it: plain values for pages and the API."""

    id: int
    kind: HandoverKind
    body: str
    author_id: int | None
    author_name: str
    skill_name: str | None  # None: every skill
    shift_id: int | None
    from_shift_id: int | None
    start_slot: int
    end_slot: int
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    own: bool

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind)

    @property
    def needs_ack(self) -> bool:
        return not self.own and self.acknowledged_at is None

    @property
    def open_follow_up(self) -> bool:
        return self.kind is HandoverKind.follow_up and self.resolved_at is None


@dataclass(frozen=True)
class ShiftHandover(_SlotSpan):
    """One held shift's handover: the notes reaching it, and whether the holder may write from it now."""

    shift_id: int
    start_slot: int
    end_slot: int
    incoming: bool  # its start window has opened (or it is under way): show the notes
    can_write: bool
    notes: list[NoteView] = field(default_factory=list)
    written: list[NoteView] = field(default_factory=list)  # what the holder left from this shift

    @property
    def unacknowledged(self) -> list[NoteView]:
        return [note for note in self.notes if note.needs_ack]


@dataclass(frozen=True)
class Reader:
    user_id: int
    name: str
    acknowledged_at: dt.datetime | None


@dataclass(frozen=True)
class BoardNote:
    """A note on the coordinator's list, with who has acknowledged it and who has not yet."""

    note: NoteView
    readers: list[Reader]

    @property
    def acknowledged(self) -> list[Reader]:
        return [reader for reader in self.readers if reader.acknowledged_at is not None]

    @property
    def waiting(self) -> list[Reader]:
        return [reader for reader in self.readers if reader.acknowledged_at is None]


# Rules shared by reading and writing -----------------------------------------------------------


def _reaches(shift_id: Any, site_id: Any, skill_id: Any, start_slot: Any, end_slot: Any) -> ColumnElement[bool]:
    """The notes reaching a shift; each argument is a value or a ``Shift`` column (to join on)."""
    skill_matches = or_(HandoverNote.skill_id.is_(None), HandoverNote.skill_id == skill_id)
    overlaps = and_(HandoverNote.start_slot < end_slot, HandoverNote.end_slot > start_slot)
    carried = and_(
        HandoverNote.kind == HandoverKind.follow_up,
        HandoverNote.resolved_at.is_(None),
        HandoverNote.end_slot <= start_slot,
    )
    return and_(
        HandoverNote.site_id == site_id,
        or_(
            HandoverNote.shift_id == shift_id,
            and_(skill_matches, or_(and_(HandoverNote.shift_id.is_(None), overlaps), carried)),
        ),
    )


def _addressed_to(shift: Any) -> ColumnElement[bool]:
    """The notes written for a shift itself (not carried follow-ups): whose acknowledgement is awaited."""
    skill_matches = or_(HandoverNote.skill_id.is_(None), HandoverNote.skill_id == shift.skill_id)
    overlaps = and_(HandoverNote.start_slot < shift.end_slot, HandoverNote.end_slot > shift.start_slot)
    return and_(
        HandoverNote.site_id == shift.site_id,
        or_(HandoverNote.shift_id == shift.id, and_(HandoverNote.shift_id.is_(None), skill_matches, overlaps)),
    )


def _ensure_agent(user: User) -> None:
    if user.role is not Role.agent:
        raise Forbidden(_("Only agents leave notes from a shift they work."))


def ensure_staff(user: User) -> None:
    if user.role not in STAFF_ROLES:
        raise Forbidden(_("Only coordinators write notes on a shift or a time block."))


def _checked_kind(kind: str | HandoverKind) -> HandoverKind:
    try:
        return HandoverKind(kind)
    except ValueError:
        raise DomainError(_("Choose a kind of note."), field="kind") from None


def _checked_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise DomainError(_("Write the note."), field="body")
    if len(body) > NOTE_MAX_CHARS:
        message = _(
            "Keep the note to %(count)s characters (this one has %(length)s).", count=NOTE_MAX_CHARS, length=len(body)
        )
        raise DomainError(message, field="body")
    return body


async def _held_shift(session: AsyncSession, *, shift_id: int, agent: User) -> Shift:
    """A shift of the agent's site on which they hold a live seat; anything else is 404."""
    shift = await session.scalar(
        select(Shift)
        .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
        .where(Shift.id == shift_id, Shift.site_id == agent.site_id, Shift.cancelled_at.is_(None))
        .where(ShiftSeat.user_id == agent.id, ShiftSeat.released_at.is_(None))
    )
    if shift is None:
        raise NotFound("shift")
    return shift


async def _site_shift(session: AsyncSession, *, shift_id: int, site_id: int) -> Shift:
    shift = await session.scalar(
        select(Shift).where(Shift.id == shift_id, Shift.site_id == site_id, Shift.cancelled_at.is_(None))
    )
    if shift is None:
        raise NotFound("shift")
    return shift


async def _shift_for(session: AsyncSession, *, shift_id: int, reader: User) -> Shift:
    """Holders read their shift's notes, coordinators any shift of their site; others are refused."""
    if reader.role is Role.agent:
        return await _held_shift(session, shift_id=shift_id, agent=reader)
    ensure_staff(reader)
    return await _site_shift(session, shift_id=shift_id, site_id=reader.site_id)


# Writing ----------------------------------------------------------------------------------------


async def write_for_next_shift(
    session: AsyncSession, *, from_shift_id: int, agent: User, kind: str | HandoverKind, body: str, now: dt.datetime
) -> HandoverNote:
    """An outgoing agent's note for whoever works the skill in the hours after their shift ends."""
    _ensure_agent(agent)
    checked_kind, checked_body = _checked_kind(kind), _checked_body(body)
    shift = await _held_shift(session, shift_id=from_shift_id, agent=agent)
    ends = utc_start(shift.end_slot)
    if not utc_start(shift.start_slot) <= now <= ends + WRITE_AFTER_END:
        hours = int(WRITE_AFTER_END.total_seconds() // 3600)
        message = _(
            "You can leave a note from when this shift starts until %(hours)s hours after it ends.", hours=hours
        )
        raise DomainError(message, field="shift_id")
    note = HandoverNote(
        site_id=shift.site_id,
        author_id=agent.id,
        kind=checked_kind,
        body=checked_body,
        skill_id=shift.skill_id,
        start_slot=shift.end_slot,
        end_slot=shift.end_slot + NEXT_SHIFT_SLOTS,
        from_shift_id=shift.id,
        created_at=now,
    )
    session.add(note)
    await session.flush()
    return note


async def write_on_shift(
    session: AsyncSession, *, shift_id: int, staff: User, kind: str | HandoverKind, body: str, now: dt.datetime
) -> HandoverNote:
    """A coordinator's note on one shift of the site that is not over yet."""
    ensure_staff(staff)
    checked_kind, checked_body = _checked_kind(kind), _checked_body(body)
    shift = await _site_shift(session, shift_id=shift_id, site_id=staff.site_id)
    if utc_start(shift.end_slot) <= now:
        raise DomainError(_("That shift is over: choose one that is coming up."), field="shift_id")
    note = HandoverNote(
        site_id=shift.site_id,
        author_id=staff.id,
        kind=checked_kind,
        body=checked_body,
        skill_id=shift.skill_id,
        shift_id=shift.id,
        start_slot=shift.start_slot,
        end_slot=shift.end_slot,
        created_at=now,
    )
    session.add(note)
    await session.flush()
    return note


def block_of_moments(start: dt.datetime, end: dt.datetime) -> tuple[int, int]:
    """A block given as two aware moments on :00 or :30 (the API)."""
    slots = []
    for name, moment in (("start", start), ("end", end)):
        if moment.tzinfo is None:
            raise DomainError(_("Give the time with its UTC offset."), field=name)
        if not is_on_boundary(moment):
            raise DomainError(_("Times must be on the hour or half past (:00 or :30)."), field=name)
        slots.append(slot_at(moment))
    return slots[0], slots[1]


def block_of_clock(day: str, start: str, end_day: str, end: str, zone: ZoneInfo) -> tuple[int, int]:
    """A block given as the site's local days and wall-clock times (the coordinator's form).

    ``end_day`` empty means the same day; "24:00" is the end of the day.
    """
    days = []
    for name, text in (("day", day), ("end_day", end_day or day)):
        try:
            days.append(dt.date.fromisoformat(text))
        except ValueError:
            raise DomainError(_("Choose a day."), field=name) from None
    slots = []
    for name, text, on in (("start", start, days[0]), ("end", end, days[1])):
        try:
            if text == "24:00":
                moment = local_midnight(on + dt.timedelta(days=1), zone)
            else:
                moment = dt.datetime.combine(on, dt.time.fromisoformat(text), tzinfo=zone)
        except ValueError:
            raise DomainError(_("Enter a time like 18:00."), field=name) from None
        try:
            slots.append(slot_at(moment))
        except SlotError:
            raise DomainError(_("Times must be on the hour or half past (:00 or :30)."), field=name) from None
    return slots[0], slots[1]


async def write_on_block(
    session: AsyncSession,
    *,
    staff: User,
    start_slot: int,
    end_slot: int,
    skill: str | None,
    kind: str | HandoverKind,
    body: str,
    now: dt.datetime,
) -> HandoverNote:
    """A coordinator's note on a time block of the site, for one skill (its code) or every skill (None)."""
    ensure_staff(staff)
    checked_kind, checked_body = _checked_kind(kind), _checked_body(body)
    skill_id = None
    if skill:
        found = await session.scalar(select(Skill).where(Skill.site_id == staff.site_id, Skill.code == skill))
        if found is None:
            raise DomainError(_("No skill %(code)s at this site.", code=skill), field="skill")
        skill_id = found.id
    if end_slot <= start_slot:
        raise DomainError(_("The end must be after the start."), field="end")
    if utc_start(end_slot) <= now:
        raise DomainError(_("That block is already over."), field="end")
    if utc_start(end_slot) - utc_start(start_slot) > dt.timedelta(days=MAX_BLOCK_DAYS):
        raise DomainError(_("A block can be at most %(days)s days long.", days=MAX_BLOCK_DAYS), field="end")
    note = HandoverNote(
        site_id=staff.site_id,
        author_id=staff.id,
        kind=checked_kind,
        body=checked_body,
        skill_id=skill_id,
        start_slot=start_slot,
        end_slot=end_slot,
        created_at=now,
    )
    session.add(note)
    await session.flush()
    return note


# Reading ----------------------------------------------------------------------------------------


async def _views(session: AsyncSession, notes: list[HandoverNote], reader: User) -> list[NoteView]:
    """Notes with their author, skill and the reader's acknowledgement, warnings first, newest first."""
    if not notes:
        return []
    ids = [note.id for note in notes]
    mine = select(HandoverAck.note_id, HandoverAck.acknowledged_at).where(
        HandoverAck.note_id.in_(ids), HandoverAck.user_id == reader.id
    )
    acks = {note_id: at for note_id, at in await session.execute(mine)}
    author_ids = {note.author_id for note in notes if note.author_id is not None}
    names = select(User.id, User.display_name).where(User.id.in_(author_ids))
    authors = {user_id: name for user_id, name in await session.execute(names)}
    skill_ids = {note.skill_id for note in notes if note.skill_id is not None}
    skills = {skill.id: skill for skill in await session.scalars(select(Skill).where(Skill.id.in_(skill_ids)))}
    views = [
        NoteView(
            id=note.id,
            kind=note.kind,
            body=note.body,
            author_id=note.author_id,
            author_name=authors.get(note.author_id, "") if note.author_id is not None else "",
            skill_name=skill_label(skills[note.skill_id]) if note.skill_id is not None else None,
            shift_id=note.shift_id,
            from_shift_id=note.from_shift_id,
            start_slot=note.start_slot,
            end_slot=note.end_slot,
            created_at=note.created_at,
            resolved_at=note.resolved_at,
            acknowledged_at=acks.get(note.id),
            own=note.author_id == reader.id,
        )
        for note in notes
    ]
    return sorted(views, key=lambda view: (KIND_ORDER[view.kind], -view.created_at.timestamp(), -view.id))


async def _notes_reaching(session: AsyncSession, shift: Shift) -> list[HandoverNote]:
    reach = _reaches(shift.id, shift.site_id, shift.skill_id, shift.start_slot, shift.end_slot)
    return list(await session.scalars(select(HandoverNote).where(reach)))


async def notes_for_shift(session: AsyncSession, *, shift_id: int, reader: User) -> list[NoteView]:
    """The notes reaching a shift, for its holder or a coordinator of its site (404 for anyone else)."""
    shift = await _shift_for(session, shift_id=shift_id, reader=reader)
    return await _views(session, await _notes_reaching(session, shift), reader)


async def shift_handover(session: AsyncSession, *, shift_id: int, agent: User, now: dt.datetime) -> ShiftHandover:
    """One held shift's handover as its holder sees it (404 when they do not hold it)."""
    shift = await _held_shift(session, shift_id=shift_id, agent=agent)
    return (await _handovers(session, [shift], agent, now, keep_all=True))[shift.id]


async def schedule_handover(session: AsyncSession, *, agent: User, now: dt.datetime) -> dict[int, ShiftHandover]:
    """The handover of each held shift whose start window has opened or that ended in the last two hours.

    My schedule loads these by URL and shows each with its shift: the notes to read and acknowledge, and
    the form to leave one.
    """
    if agent.role is not Role.agent:
        return {}
    settings = site_settings(await _site(session, agent.site_id))
    horizon = now + dt.timedelta(minutes=settings.start_window_minutes)
    shifts = list(
        await session.scalars(
            select(Shift)
            .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
            .where(Shift.site_id == agent.site_id, Shift.cancelled_at.is_(None))
            .where(ShiftSeat.user_id == agent.id, ShiftSeat.released_at.is_(None))
            .where(Shift.start_slot <= slot_of(horizon), Shift.end_slot >= slot_of(now - WRITE_AFTER_END))
        )
    )
    return await _handovers(session, shifts, agent, now, keep_all=False)


async def current_handover(
    session: AsyncSession, *, shift_id: int, agent: User, now: dt.datetime
) -> ShiftHandover | None:
    """One held shift's handover if ``schedule_handover`` would show it now, else None (404 unless held).

    The start-shift answer loads this for its one shift, under the same rule as My schedule.
    """
    shift = await _held_shift(session, shift_id=shift_id, agent=agent)
    return (await _handovers(session, [shift], agent, now, keep_all=False)).get(shift.id)


async def _site(session: AsyncSession, site_id: int) -> Site:
    site = await session.get(Site, site_id)
    assert site is not None
    return site


async def _handovers(
    session: AsyncSession, shifts: list[Shift], agent: User, now: dt.datetime, *, keep_all: bool
) -> dict[int, ShiftHandover]:
    if not shifts:
        return {}
    margin = dt.timedelta(minutes=site_settings(await _site(session, agent.site_id)).start_window_minutes)
    found: dict[int, ShiftHandover] = {}
    for shift in shifts:
        starts, ends = utc_start(shift.start_slot), utc_start(shift.end_slot)
        incoming = starts - margin <= now < ends
        can_write = starts <= now <= ends + WRITE_AFTER_END
        if not (incoming or can_write or keep_all):
            continue
        notes = await _views(session, await _notes_reaching(session, shift), agent)
        written_rows = await session.scalars(
            select(HandoverNote).where(HandoverNote.from_shift_id == shift.id, HandoverNote.author_id == agent.id)
        )
        found[shift.id] = ShiftHandover(
            shift_id=shift.id,
            start_slot=shift.start_slot,
            end_slot=shift.end_slot,
            incoming=incoming,
            can_write=can_write,
            notes=notes,
            written=await _views(session, list(written_rows), agent),
        )
    return found


# Acknowledging and resolving ------------------------------------------------------------------


async def _record_acks(session: AsyncSession, *, note_ids: list[int], user_id: int, now: dt.datetime) -> None:
    """One row per note and agent: a second tap, even a concurrent one, changes nothing."""
    if not note_ids:
        return
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    rows = [{"note_id": note_id, "user_id": user_id, "acknowledged_at": now} for note_id in note_ids]
    await session.execute(
        insert(HandoverAck).values(rows).on_conflict_do_nothing(index_elements=["note_id", "user_id"])
    )


async def acknowledge_shift(session: AsyncSession, *, shift_id: int, agent: User, now: dt.datetime) -> list[NoteView]:
    """Acknowledge every note reaching a shift the agent holds; answers the notes, acknowledged."""
    _ensure_agent(agent)
    shift = await _held_shift(session, shift_id=shift_id, agent=agent)
    notes = [note for note in await _notes_reaching(session, shift) if note.author_id != agent.id]
    await _record_acks(session, note_ids=[note.id for note in notes], user_id=agent.id, now=now)
    return await _views(session, await _notes_reaching(session, shift), agent)


async def _note_reaching_agent(session: AsyncSession, *, note_id: int, agent: User, now: dt.datetime) -> HandoverNote:
    """A note reaching a shift the agent holds (coming up, under way or just over); 404 otherwise."""
    note = await session.scalar(
        select(HandoverNote)
        .join(Shift, _reaches(Shift.id, Shift.site_id, Shift.skill_id, Shift.start_slot, Shift.end_slot))
        .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
        .where(HandoverNote.id == note_id, Shift.site_id == agent.site_id, Shift.cancelled_at.is_(None))
        .where(ShiftSeat.user_id == agent.id, ShiftSeat.released_at.is_(None))
        .where(Shift.end_slot >= slot_of(now - WRITE_AFTER_END))
        .limit(1)
    )
    if note is None:
        raise NotFound("handover note")
    return note


async def acknowledge_note(session: AsyncSession, *, note_id: int, agent: User, now: dt.datetime) -> HandoverAck:
    """Acknowledge one note reaching a shift the agent holds; a second time answers the first record."""
    _ensure_agent(agent)
    note = await _note_reaching_agent(session, note_id=note_id, agent=agent, now=now)
    await _record_acks(session, note_ids=[note.id], user_id=agent.id, now=now)
    ack = await session.scalar(
        select(HandoverAck).where(HandoverAck.note_id == note.id, HandoverAck.user_id == agent.id)
    )
    assert ack is not None
    return ack


async def resolve_note(session: AsyncSession, *, note_id: int, user: User, now: dt.datetime) -> HandoverNote:
    """Mark a follow-up done: its author or a coordinator of the site; a second time changes nothing."""
    if user.role in STAFF_ROLES:
        note = await session.scalar(
            select(HandoverNote).where(HandoverNote.id == note_id, HandoverNote.site_id == user.site_id)
        )
        if note is None:
            raise NotFound("handover note")
    else:
        note = await session.scalar(
            select(HandoverNote).where(HandoverNote.id == note_id, HandoverNote.author_id == user.id)
        )
        if note is None:
            await _note_reaching_agent(session, note_id=note_id, agent=user, now=now)  # 404 unless they see it
            raise Forbidden(_("Only its author or a coordinator resolves a follow-up."))
    if note.kind is not HandoverKind.follow_up:
        raise DomainError(_("Only follow-ups are resolved."), field="kind")
    if note.resolved_at is None:
        note.resolved_at, note.resolved_by_id = now, user.id
        await session.flush()
    return note


# The coordinator's page -----------------------------------------------------------------------


@dataclass(frozen=True)
class ShiftChoice(_SlotSpan):
    shift_id: int
    start_slot: int
    end_slot: int
    skill_name: str
    holders: int


async def shift_choices(session: AsyncSession, *, site: Site, now: dt.datetime) -> list[ShiftChoice]:
    """The site's shifts not yet over that start within ``PICKER_DAYS``, soonest first."""
    rows = await session.execute(
        select(Shift, Skill)
        .join(Skill, Skill.id == Shift.skill_id)
        .where(Shift.site_id == site.id, Shift.cancelled_at.is_(None))
        .where(Shift.end_slot > slot_of(now), Shift.start_slot < slot_of(now + dt.timedelta(days=PICKER_DAYS)))
        .order_by(Shift.start_slot, Shift.id)
        .limit(BOARD_LIMIT)
    )
    return [
        ShiftChoice(shift.id, shift.start_slot, shift.end_slot, skill_label(skill), shift.taken)
        for shift, skill in rows
    ]


async def site_board(session: AsyncSession, *, staff: User, now: dt.datetime) -> list[BoardNote]:
    """The site's notes still current (or over within a day) and its open follow-ups, newest first, with
    the agents each is addressed to and whether they have acknowledged it."""
    ensure_staff(staff)
    recent = slot_of(now - dt.timedelta(hours=BOARD_PAST_HOURS))
    current = or_(
        HandoverNote.end_slot > recent,
        and_(HandoverNote.kind == HandoverKind.follow_up, HandoverNote.resolved_at.is_(None)),
    )
    notes = list(
        await session.scalars(
            select(HandoverNote)
            .where(HandoverNote.site_id == staff.site_id, current)
            .order_by(HandoverNote.created_at.desc(), HandoverNote.id.desc())
            .limit(BOARD_LIMIT)
        )
    )
    views = {view.id: view for view in await _views(session, notes, staff)}
    ids = list(views)
    readers: dict[int, dict[int, Reader]] = {note_id: {} for note_id in ids}
    if ids:
        holders = await session.execute(
            select(HandoverNote.id, User.id, User.display_name)
            .join(Shift, _addressed_to(Shift))
            .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
            .join(User, User.id == ShiftSeat.user_id)
            .where(HandoverNote.id.in_(ids), Shift.cancelled_at.is_(None), ShiftSeat.released_at.is_(None))
        )
        for note_id, user_id, name in holders:
            readers[note_id][user_id] = Reader(user_id, name, None)
        acks = await session.execute(
            select(HandoverAck.note_id, User.id, User.display_name, HandoverAck.acknowledged_at)
            .join(User, User.id == HandoverAck.user_id)
            .where(HandoverAck.note_id.in_(ids))
        )
        for note_id, user_id, name, at in acks:
            readers[note_id][user_id] = Reader(user_id, name, at)
    board = []
    for note in notes:
        people = [reader for user_id, reader in readers[note.id].items() if user_id != note.author_id]
        board.append(BoardNote(note=views[note.id], readers=sorted(people, key=lambda reader: reader.name)))
    return board
