"""Hand-over between leads: at the end of a duty the outgoing lead writes today's focus, warnings, open items
with an owner and follow-ups; the incoming lead acknowledges it item by item.

Open items carry: a new hand-over takes every open item of the site's previous hand-over that nobody closed
(``carried_from_id`` names the line it continues), so an item travels from lead to lead until someone
closes it. The form is pre-filled with those and with the log's open items. A hand-over is due
``handover_due_minutes`` (site setting) after its duty ends: submitted by then is on time, later is late,
never is missing.
"""

from __future__ import annotations

import datetime as dt
import enum

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import STAFF_ROLES, Site, User
from backend.accounts.site_settings import site_settings
from backend.core.errors import Conflict, DomainError, Forbidden, NotFound
from backend.core.i18n import gettext as _
from backend.ops import log
from backend.ops.duty import duties_between, get_duty, next_duty
from backend.ops.models import Duty, Handover, HandoverItem, HandoverItemKind

TEXT_MAX = 500
NOTE_MAX = 4000
MAX_ITEMS = 60
# Open log items the form offers: those that started from this long before the duty (older ones still open
# reached the lead through the hand-overs they were carried in).
OFFER_LOG_ITEMS_FROM = dt.timedelta(days=1)


class HandoverState(enum.StrEnum):
    pending = "pending"  # not due yet
    on_time = "on_time"
    late = "late"
    missing = "missing"


class HandoverStatus(msgspec.Struct, frozen=True):
    """One duty's hand-over as the KPIs and the board read it."""

    duty_id: int
    user_id: int
    name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    due_at: dt.datetime
    state: HandoverState
    handover_id: int | None
    submitted_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    items: int
    open_items: int  # open items not closed


class Line(msgspec.Struct, frozen=True):
    """One line of the form: pre-filled (carried, or from the log) or typed."""

    kind: HandoverItemKind
    text: str
    owner_id: int | None = None
    log_item_id: int | None = None
    carried_from_id: int | None = None


class ItemView(msgspec.Struct, frozen=True):
    id: int
    kind: HandoverItemKind
    text: str
    owner_id: int | None
    owner: str
    log_item_id: int | None
    carried_from_id: int | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: str
    closed_at: dt.datetime | None
    closed_by: str


class HandoverView(msgspec.Struct, frozen=True):
    id: int
    duty_id: int
    from_user_id: int | None
    from_name: str
    to_duty_id: int | None
    to_user_id: int | None
    to_name: str
    duty_starts_at: dt.datetime
    duty_ends_at: dt.datetime
    focus: str
    warnings: str
    submitted_at: dt.datetime
    due_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by: str
    items: list[ItemView]

    @property
    def late(self) -> bool:
        return self.submitted_at > self.due_at


def due_at(site: Site, duty: Duty) -> dt.datetime:
    return duty.ends_at + dt.timedelta(minutes=site_settings(site).handover_due_minutes)


# Reading -------------------------------------------------------------------------------------


async def previous_handover(session: AsyncSession, *, site_id: int, before: dt.datetime) -> Handover | None:
    """The site's latest hand-over of a duty that ended by ``before`` (the one whose open items carry)."""
    return await session.scalar(
        select(Handover)
        .join(Duty, Duty.id == Handover.duty_id)
        .where(Handover.site_id == site_id, Duty.ends_at <= before)
        .order_by(Duty.ends_at.desc(), Handover.id.desc())
        .limit(1)
    )


async def carried_items(session: AsyncSession, *, site_id: int, before: dt.datetime) -> list[HandoverItem]:
    """The previous hand-over's open items nobody closed: a new hand-over must carry them."""
    previous = await previous_handover(session, site_id=site_id, before=before)
    if previous is None:
        return []
    return list(
        await session.scalars(
            select(HandoverItem)
            .where(
                HandoverItem.handover_id == previous.id,
                HandoverItem.kind == HandoverItemKind.open_item,
                HandoverItem.closed_at.is_(None),
            )
            .order_by(HandoverItem.id)
        )
    )


async def prefilled(session: AsyncSession, *, site: Site, duty: Duty, now: dt.datetime) -> list[Line]:
    """The form's lines before the lead types: the carried open items, then the log's open items (from a day before
    the duty, at most half of ``MAX_ITEMS``) not among them."""
    carried = await carried_items(session, site_id=site.id, before=duty.starts_at + dt.timedelta(seconds=1))
    lines = [
        Line(
            kind=HandoverItemKind.open_item,
            text=item.text,
            owner_id=item.owner_id,
            log_item_id=item.log_item_id,
            carried_from_id=item.id,
        )
        for item in carried
    ]
    linked = {item.log_item_id for item in carried if item.log_item_id is not None}
    since = duty.starts_at - OFFER_LOG_ITEMS_FROM
    until = min(now, duty.ends_at)
    for item in await log.open_items(session, site_id=site.id, since=since, until=until, limit=MAX_ITEMS // 2):
        if item.id in linked:
            continue
        text = f"{log.kind_label(item.kind)}: {item.summary}"
        lines.append(Line(kind=HandoverItemKind.open_item, text=text[:TEXT_MAX], log_item_id=item.id))
    return lines


async def _views(session: AsyncSession, site: Site, handovers: list[Handover]) -> list[HandoverView]:
    ids = [handover.id for handover in handovers]
    items: dict[int, list[HandoverItem]] = {}
    if ids:
        for item in await session.scalars(
            select(HandoverItem).where(HandoverItem.handover_id.in_(ids)).order_by(HandoverItem.id)
        ):
            items.setdefault(item.handover_id, []).append(item)
    duty_ids = {handover.duty_id for handover in handovers} | {
        handover.to_duty_id for handover in handovers if handover.to_duty_id is not None
    }
    duties = {duty.id: duty for duty in await session.scalars(select(Duty).where(Duty.id.in_(duty_ids)))}
    people = {duty.user_id for duty in duties.values()} | {h.acknowledged_by_id for h in handovers}
    for chain in items.values():
        for item in chain:
            people |= {item.owner_id, item.acknowledged_by_id, item.closed_by_id}
    users = await accounts.users_by_ids(session, {user_id for user_id in people if user_id is not None})
    labels = accounts.person_labels(users)

    def name(user_id: int | None) -> str:
        return labels.get(user_id, "") if user_id is not None else ""

    views = []
    for handover in handovers:
        duty = duties[handover.duty_id]
        incoming = duties.get(handover.to_duty_id) if handover.to_duty_id is not None else None
        views.append(
            HandoverView(
                id=handover.id,
                duty_id=duty.id,
                from_user_id=handover.from_user_id,
                from_name=name(duty.user_id),
                to_duty_id=handover.to_duty_id,
                to_user_id=incoming.user_id if incoming is not None else None,
                to_name=name(incoming.user_id) if incoming is not None else "",
                duty_starts_at=duty.starts_at,
                duty_ends_at=duty.ends_at,
                focus=handover.focus,
                warnings=handover.warnings,
                submitted_at=handover.submitted_at,
                due_at=due_at(site, duty),
                acknowledged_at=handover.acknowledged_at,
                acknowledged_by=name(handover.acknowledged_by_id),
                items=[
                    ItemView(
                        id=item.id,
                        kind=HandoverItemKind(item.kind),
                        text=item.text,
                        owner_id=item.owner_id,
                        owner=name(item.owner_id),
                        log_item_id=item.log_item_id,
                        carried_from_id=item.carried_from_id,
                        acknowledged_at=item.acknowledged_at,
                        acknowledged_by=name(item.acknowledged_by_id),
                        closed_at=item.closed_at,
                        closed_by=name(item.closed_by_id),
                    )
                    for item in items.get(handover.id, [])
                ],
            )
        )
    return views


async def get_handover(session: AsyncSession, *, site_id: int, handover_id: int) -> Handover:
    handover = await session.get(Handover, handover_id)
    if handover is None or handover.site_id != site_id:
        raise NotFound("handover")
    return handover


async def handover_view(session: AsyncSession, *, site: Site, handover_id: int) -> HandoverView:
    handover = await get_handover(session, site_id=site.id, handover_id=handover_id)
    return (await _views(session, site, [handover]))[0]


async def handover_of_duty(session: AsyncSession, *, duty_id: int) -> Handover | None:
    return await session.scalar(select(Handover).where(Handover.duty_id == duty_id))


async def recent_handovers(session: AsyncSession, *, site: Site, since: dt.datetime) -> list[HandoverView]:
    """The site's hand-overs submitted since ``since``, newest first."""
    found = await session.scalars(
        select(Handover)
        .where(Handover.site_id == site.id, Handover.submitted_at >= since)
        .order_by(Handover.submitted_at.desc(), Handover.id.desc())
    )
    return await _views(session, site, list(found))


async def awaiting(session: AsyncSession, *, site: Site, user: User, since: dt.datetime) -> list[HandoverView]:
    """Hand-overs submitted since ``since`` and not yet acknowledged that ``user`` should acknowledge: handed to
    their duty, or (staff) any."""
    query = select(Handover).where(
        Handover.site_id == site.id, Handover.acknowledged_at.is_(None), Handover.submitted_at >= since
    )
    if user.role not in STAFF_ROLES:
        query = query.join(Duty, Duty.id == Handover.to_duty_id).where(Duty.user_id == user.id)
    found = await session.scalars(query.order_by(Handover.submitted_at, Handover.id))
    return await _views(session, site, list(found))


async def handover_status(
    session: AsyncSession, *, site_id: int, start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> list[HandoverStatus]:
    """Each live duty starting in ``[start, end)``: its hand-over on time, late, missing (or not due yet), and
    whether the incoming lead acknowledged it. Three reads whatever the span."""
    site = await accounts.get_site(session, site_id)
    duties = [
        duty for duty in await duties_between(session, site_id=site_id, start=start, end=end) if duty.starts_at >= start
    ]
    ids = [duty.id for duty in duties]
    handovers = {
        handover.duty_id: handover
        for handover in await session.scalars(select(Handover).where(Handover.duty_id.in_(ids)))
    }
    counts: dict[int, tuple[int, int]] = {}
    if handovers:
        by_handover = {handover.id: handover.duty_id for handover in handovers.values()}
        for item in await session.scalars(select(HandoverItem).where(HandoverItem.handover_id.in_(list(by_handover)))):
            total, still_open = counts.get(by_handover[item.handover_id], (0, 0))
            open_now = item.kind == HandoverItemKind.open_item and item.closed_at is None
            counts[by_handover[item.handover_id]] = (total + 1, still_open + int(open_now))
    labels = accounts.person_labels(await accounts.users_by_ids(session, {duty.user_id for duty in duties}))
    statuses = []
    for duty in duties:
        handover = handovers.get(duty.id)
        due = due_at(site, duty)
        if handover is not None:
            state = HandoverState.on_time if handover.submitted_at <= due else HandoverState.late
        else:
            state = HandoverState.missing if now > due else HandoverState.pending
        total, still_open = counts.get(duty.id, (0, 0))
        statuses.append(
            HandoverStatus(
                duty_id=duty.id,
                user_id=duty.user_id,
                name=labels.get(duty.user_id, ""),
                starts_at=duty.starts_at,
                ends_at=duty.ends_at,
                due_at=due,
                state=state,
                handover_id=handover.id if handover is not None else None,
                submitted_at=handover.submitted_at if handover is not None else None,
                acknowledged_at=handover.acknowledged_at if handover is not None else None,
                items=total,
                open_items=still_open,
            )
        )
    return statuses


async def due_duty(session: AsyncSession, *, site: Site, user: User, now: dt.datetime) -> Duty | None:
    """The duty whose hand-over ``user`` should write now: their own, started, not yet handed over; the one in
    force, else the latest that ended in the last day."""
    return await session.scalar(
        select(Duty)
        .outerjoin(Handover, Handover.duty_id == Duty.id)
        .where(
            Duty.site_id == site.id,
            Duty.user_id == user.id,
            Duty.cancelled_at.is_(None),
            Duty.starts_at <= now,
            Duty.ends_at > now - dt.timedelta(days=1),
            Handover.id.is_(None),
        )
        .order_by(Duty.starts_at.desc())
        .limit(1)
    )


# Writing -------------------------------------------------------------------------------------


def _check_line(line: Line, index: int) -> None:
    if not line.text.strip():
        raise DomainError(_("Say what the item is."), field=f"item-{index}-text")
    if len(line.text) > TEXT_MAX:
        raise DomainError(_("Keep it under %(count)s characters.", count=TEXT_MAX), field=f"item-{index}-text")


async def submit_handover(
    session: AsyncSession,
    *,
    site: Site,
    duty_id: int,
    by: User,
    focus: str,
    warnings: str,
    lines: list[Line],
    now: dt.datetime,
) -> Handover:
    """The outgoing lead's hand-over of their duty, once (409 for a second one).

    Only the duty's own lead writes it (403 for anyone else), once the duty has started. Every open item the
    previous hand-over left unclosed is carried whatever the form says (an item travels until it is closed);
    a typed open item needs an owner of the site (one from the log or carried may have none yet).
    """
    duty = await get_duty(session, site_id=site.id, duty_id=duty_id)
    if duty.user_id != by.id:
        raise Forbidden(_("Only the lead on this duty writes its hand-over."))
    if duty.cancelled_at is not None:
        raise DomainError(_("This duty was cancelled."), field="duty_id")
    if duty.starts_at > now:
        raise DomainError(_("A duty is handed over once it has started."), field="duty_id")
    if await handover_of_duty(session, duty_id=duty.id) is not None:
        raise Conflict(_("This duty has been handed over already."))
    if len(focus) > NOTE_MAX:
        raise DomainError(_("Keep it under %(count)s characters.", count=NOTE_MAX), field="focus")
    if len(warnings) > NOTE_MAX:
        raise DomainError(_("Keep it under %(count)s characters.", count=NOTE_MAX), field="warnings")
    if len(lines) > MAX_ITEMS:
        raise DomainError(_("At most %(count)s items.", count=MAX_ITEMS), field="items")
    carried = {
        item.id: item
        for item in await carried_items(session, site_id=site.id, before=duty.starts_at + dt.timedelta(seconds=1))
    }
    owners = {line.owner_id for line in lines if line.owner_id is not None}
    known = {user.id for user in await accounts.users_by_ids(session, owners) if user.site_id == site.id}
    log_ids = {line.log_item_id for line in lines if line.log_item_id is not None}
    for log_id in log_ids:
        await log.get_item(session, site_id=site.id, item_id=log_id)
    for index, line in enumerate(lines):
        _check_line(line, index)
        if line.owner_id is not None and line.owner_id not in known:
            raise DomainError(_("Choose an owner from the list."), field=f"item-{index}-owner")
        if line.kind is HandoverItemKind.open_item and line.owner_id is None and line.log_item_id is None:
            raise DomainError(_("An open item needs an owner."), field=f"item-{index}-owner")
    handover = Handover(
        site_id=site.id,
        duty_id=duty.id,
        from_user_id=by.id,
        to_duty_id=(incoming.id if (incoming := await next_duty(session, duty)) is not None else None),
        focus=focus.strip(),
        warnings=warnings.strip(),
        submitted_at=now,
    )
    session.add(handover)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(_("This duty has been handed over already.")) from None
    given = {line.carried_from_id: line for line in lines if line.carried_from_id in carried}
    rows = [
        HandoverItem(
            handover_id=handover.id,
            kind=HandoverItemKind.open_item,
            text=given[item.id].text.strip() if item.id in given else item.text,
            owner_id=given[item.id].owner_id if item.id in given and given[item.id].owner_id else item.owner_id,
            log_item_id=item.log_item_id,
            carried_from_id=item.id,
        )
        for item in carried.values()
    ]
    rows += [
        HandoverItem(
            handover_id=handover.id,
            kind=line.kind,
            text=line.text.strip(),
            owner_id=line.owner_id,
            log_item_id=line.log_item_id,
        )
        for line in lines
        if line.carried_from_id is None
    ]
    session.add_all(rows)
    await session.flush()
    return handover


async def get_item(session: AsyncSession, *, site_id: int, item_id: int) -> HandoverItem:
    """A line of one of the site's hand-overs (404 for another site's)."""
    return (await _item_and_handover(session, site_id=site_id, item_id=item_id))[0]


async def _item_and_handover(session: AsyncSession, *, site_id: int, item_id: int) -> tuple[HandoverItem, Handover]:
    item = await session.get(HandoverItem, item_id)
    handover = await session.get(Handover, item.handover_id) if item is not None else None
    if item is None or handover is None or handover.site_id != site_id:
        raise NotFound("handover item")
    return item, handover


async def may_acknowledge(session: AsyncSession, *, handover: Handover, user: User) -> bool:
    """The incoming lead (the next duty's person) acknowledges; staff may stand in."""
    if user.role in STAFF_ROLES:
        return True
    if handover.to_duty_id is None:
        return False
    incoming = await session.get(Duty, handover.to_duty_id)
    return incoming is not None and incoming.user_id == user.id


async def _settle(session: AsyncSession, handover: Handover, *, by: User, now: dt.datetime) -> None:
    """The hand-over is acknowledged once every item is."""
    remaining = await session.scalar(
        select(HandoverItem.id)
        .where(HandoverItem.handover_id == handover.id, HandoverItem.acknowledged_at.is_(None))
        .limit(1)
    )
    if remaining is None and handover.acknowledged_at is None:
        handover.acknowledged_at = now
        handover.acknowledged_by_id = by.id


async def acknowledge_item(
    session: AsyncSession, *, site_id: int, item_id: int, by: User, now: dt.datetime
) -> HandoverItem:
    """The incoming lead has read one line (acknowledging twice changes nothing)."""
    item, handover = await _item_and_handover(session, site_id=site_id, item_id=item_id)
    if not await may_acknowledge(session, handover=handover, user=by):
        raise Forbidden(_("Only the incoming lead acknowledges this hand-over."))
    if item.acknowledged_at is None:
        item.acknowledged_at = now
        item.acknowledged_by_id = by.id
        await session.flush()
        await _settle(session, handover, by=by, now=now)
        await session.flush()
    return item


async def acknowledge_all(
    session: AsyncSession, *, site_id: int, handover_id: int, by: User, now: dt.datetime
) -> Handover:
    """Acknowledge every line still unread, and so the hand-over (also one with no lines)."""
    handover = await get_handover(session, site_id=site_id, handover_id=handover_id)
    if not await may_acknowledge(session, handover=handover, user=by):
        raise Forbidden(_("Only the incoming lead acknowledges this hand-over."))
    for item in await session.scalars(
        select(HandoverItem).where(HandoverItem.handover_id == handover.id, HandoverItem.acknowledged_at.is_(None))
    ):
        item.acknowledged_at = now
        item.acknowledged_by_id = by.id
    await session.flush()
    await _settle(session, handover, by=by, now=now)
    await session.flush()
    return handover


async def close_item(session: AsyncSession, *, site_id: int, item_id: int, by: User, now: dt.datetime) -> HandoverItem:
    """Close a line: done with, so it is not carried again. The copies it was carried from and to close with it,
    so closing it on an older hand-over stops it too. Closing twice is refused; who may close is the route's
    check (staff, or a lead on duty)."""
    item, _handover = await _item_and_handover(session, site_id=site_id, item_id=item_id)
    if item.closed_at is not None:
        raise DomainError(_("This item is closed already."), field="item_id")
    chain = [item]
    back = item
    while back.carried_from_id is not None and (back := await session.get(HandoverItem, back.carried_from_id)):
        chain.append(back)
    ahead = [item.id]
    while ahead:
        later = list(await session.scalars(select(HandoverItem).where(HandoverItem.carried_from_id.in_(ahead))))
        chain += later
        ahead = [copy.id for copy in later]
    for copy in chain:
        if copy.closed_at is None:
            copy.closed_at = now
            copy.closed_by_id = by.id
    await session.flush()
    return item
