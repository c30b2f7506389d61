"""The request window and its weighted lottery: the seats of a new release go to a draw, not to the fastest tap.

When a site sets ``request_window_minutes``, a shift that opens gets
``requests_close_at``; until then a claim that passes every rule is recorded
as a ``ClaimRequest`` (``market._claim`` hands it here). When the window
closes, ``draw`` gives the free seats to eligible requesters by weighted
random sampling without replacement, with the weights and the seed published
in ``allocation``'s rules. The worker draws through ``due_draws``; a claim
that arrives after the close and before the worker runs draws first, so
nobody overtakes the requesters.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Exists, exists, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from backend.accounts.models import Role, Site, Skill, User
from backend.accounts.site_settings import site_settings
from backend.accounts.zones import site_zone
from backend.core.errors import Conflict
from backend.core.i18n import gettext as _
from backend.core.slots import IsoWeek, utc_start
from backend.notify.service import Kind, moment_value, notify
from backend.shifts.allocation import (
    ClaimRefused,
    Context,
    ensure_agent,
    live_offers,
    lottery_weight,
    market_shift,
    seat_of,
    take_seat,
    week_shares,
)
from backend.shifts.attendance import reliability_scores
from backend.shifts.models import ClaimRequest, Shift

OPEN_SHIFTS_URL = "/app/shifts/open"
MY_SHIFTS_URL = "/app/shifts"
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for FOR UPDATE NOWAIT on a locked row


@dataclass(frozen=True)
class Requested:
    """A claim made during the request window: recorded, drawn at ``draw_at``; ``created`` False on a second tap."""

    shift_id: int
    requested_at: dt.datetime
    draw_at: dt.datetime
    created: bool


@dataclass(frozen=True)
class Draw:
    """One draw's record: the seed, every eligible requester's weight, the drawing order and the winners."""

    shift_id: int
    seed: int
    weights: dict[int, float]
    order: list[int]
    winners: list[int]


@dataclass(frozen=True)
class RequestLine:
    """A request as the coordinator sees it; ``weight`` None after the draw means skipped as no longer eligible."""

    user_id: int
    name: str
    requested_at: dt.datetime
    weight: float | None
    drawn_at: dt.datetime | None
    won: bool | None


class DrawDeferred(Conflict):
    """A requester is busy in another transaction; the draw is tried again in a moment (409 to a claim)."""

    def __init__(self) -> None:
        super().__init__(_("The seats of this shift are being drawn. Try again in a moment."))


# The draw itself: pure, so anyone can re-run it ---------------------------------------------


def draw_seed(shift_id: int, close: dt.datetime) -> int:
    """The draw's random seed: from the shift's id and its window's close, nothing anyone can choose later."""
    text = f"{shift_id}:{close.astimezone(dt.UTC).isoformat()}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def draw_order(weights: dict[int, float], seed: int) -> list[int]:
    """Every requester in the order drawn: weighted random sampling without replacement.

    Each requester gets the key ``log(u) / weight`` for a uniform ``u`` (Efraimidis and Spirakis); the largest
    keys come first, which is the same as drawing one at a time with chances proportional to the weights.
    A weight of 0 comes after every positive weight, in random order.
    """
    rng = random.Random(seed)
    keys: dict[int, tuple[int, float]] = {}
    for user_id in sorted(weights):
        u = 1.0 - rng.random()  # in (0, 1]
        weight = weights[user_id]
        keys[user_id] = (1, math.log(u) / weight) if weight > 0 else (0, u)
    return sorted(keys, key=lambda user_id: keys[user_id], reverse=True)


# Requests -------------------------------------------------------------------------------------


def collecting(shift: Shift, now: dt.datetime) -> bool:
    """True while the shift's request window is open: a claim is a request."""
    return shift.requests_close_at is not None and now < shift.requests_close_at


async def record_request(session: AsyncSession, *, shift: Shift, agent: User, now: dt.datetime) -> Requested:
    """Record the agent's request (the caller has checked every claim rule); a second tap is the same request."""
    assert shift.requests_close_at is not None
    request = await _request_of(session, shift.id, agent.id)
    created = request is None
    if request is None:
        request = ClaimRequest(shift_id=shift.id, user_id=agent.id, requested_at=now)
        session.add(request)
        await session.flush()
    return Requested(shift.id, request.requested_at, shift.requests_close_at, created)


async def withdraw_request(session: AsyncSession, *, shift_id: int, agent: User, now: dt.datetime) -> None:
    """Take a request back before the draw (idempotent); after the draw it is part of the record."""
    ensure_agent(agent)
    shift, _skill = await market_shift(session, shift_id=shift_id, site_id=agent.site_id)
    request = await _request_of(session, shift.id, agent.id)
    if request is None:
        return
    if request.drawn_at is not None:
        raise Conflict(_("The seats were drawn already."))
    await session.delete(request)
    await session.flush()


async def _request_of(session: AsyncSession, shift_id: int, user_id: int) -> ClaimRequest | None:
    return await session.scalar(
        select(ClaimRequest).where(ClaimRequest.shift_id == shift_id, ClaimRequest.user_id == user_id)
    )


# Drawing --------------------------------------------------------------------------------------


def _undrawn(shift_id: int | InstrumentedAttribute[int]) -> Exists:
    return exists().where(ClaimRequest.shift_id == shift_id, ClaimRequest.drawn_at.is_(None))


async def due_draws(session: AsyncSession, *, now: dt.datetime) -> int:
    """Draw every shift whose request window has closed and whose requests wait; answers how many were drawn."""
    due = await session.scalars(
        select(Shift.id).where(Shift.requests_close_at <= now, _undrawn(Shift.id)).order_by(Shift.id)
    )
    drawn = 0
    for shift_id in list(due):
        try:
            done = await draw(session, shift_id=shift_id, now=now)
        except DrawDeferred:
            continue  # a requester is mid-claim elsewhere: the next round draws it
        drawn += done is not None
    return drawn


async def draw_if_due(session: AsyncSession, *, shift_id: int, now: dt.datetime) -> None:
    """Before a claim: a shift whose window closed with requests not yet drawn is drawn first."""
    due = await session.scalar(
        select(Shift.id).where(Shift.id == shift_id, Shift.requests_close_at <= now, _undrawn(shift_id))
    )
    if due is not None:
        await draw(session, shift_id=shift_id, now=now)


async def draw(session: AsyncSession, *, shift_id: int, now: dt.datetime) -> Draw | None:
    """Draw the free seats of a shift whose request window has closed; None when nothing waits (drawn already).

    The shift row is locked, then the requesters (without waiting: a requester busy elsewhere defers the
    draw, ``DrawDeferred``), so two draws of one shift draw once and a winner's seat cannot race their own
    claim of a clashing shift. Runs in a savepoint.
    """
    try:
        async with session.begin_nested():
            return await _draw(session, shift_id=shift_id, now=now)
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise DrawDeferred() from None
        raise


async def _draw(session: AsyncSession, *, shift_id: int, now: dt.datetime) -> Draw | None:
    shift = await session.scalar(
        select(Shift).where(Shift.id == shift_id).with_for_update().execution_options(populate_existing=True)
    )
    if shift is None or shift.requests_close_at is None or now < shift.requests_close_at:
        return None
    requests = list(
        await session.scalars(
            select(ClaimRequest)
            .where(ClaimRequest.shift_id == shift.id, ClaimRequest.drawn_at.is_(None))
            .order_by(ClaimRequest.user_id)
            .execution_options(populate_existing=True)
        )
    )
    if not requests:
        return None
    if session.get_bind().dialect.name != "sqlite":
        ids = [request.user_id for request in requests]
        await session.execute(select(User.id).where(User.id.in_(ids)).order_by(User.id).with_for_update(nowait=True))
    site = await session.get(Site, shift.site_id)
    skill = await session.get(Skill, shift.skill_id)
    assert site is not None
    assert skill is not None
    settings = site_settings(site)
    on_sale = shift.cancelled_at is None and utc_start(shift.start_slot) > now
    reserved = sum((await live_offers(session, [shift.id], now, excluding=0)).values())
    free = max(shift.seats - shift.taken - reserved, 0) if on_sale else 0
    zone = site_zone(site)
    shares = await week_shares(
        session, site_id=site.id, slots=IsoWeek.containing(utc_start(shift.start_slot), zone).slots(zone)
    )
    eligible: list[int] = []
    users: dict[int, User] = {}
    for request in requests:
        user = await session.get(User, request.user_id)
        if user is None or not on_sale or user.role is not Role.agent or not user.is_active:
            continue
        users[user.id] = user
        seat = await seat_of(session, shift.id, user.id)
        if seat is not None and seat.released_at is None:
            continue
        if await Context(session, user, site, settings).refusals(shift, skill):
            continue  # no longer eligible: skipped, not drawn
        eligible.append(user.id)
    reliability = await reliability_scores(session, user_ids=eligible, now=now)
    weights = {user_id: lottery_weight(shares.deficit(user_id), reliability[user_id]) for user_id in eligible}
    seed = draw_seed(shift.id, shift.requests_close_at)
    order = draw_order(weights, seed)
    winners: list[int] = []
    for user_id in order[:free]:
        try:
            async with session.begin_nested():
                seat = await seat_of(session, shift.id, user_id)
                await take_seat(session, shift, user_id=user_id, seat=seat, now=now)
        except ClaimRefused:
            break
        winners.append(user_id)
    for request in requests:
        request.drawn_at = now
        request.weight = weights.get(request.user_id)
        request.won = request.user_id in winners
    await session.flush()
    for user_id, user in users.items():
        await _tell_outcome(session, user=user, shift=shift, won=user_id in winners)
    return Draw(shift.id, seed, weights, order, winners)


async def _tell_outcome(session: AsyncSession, *, user: User, shift: Shift, won: bool) -> None:
    """Winners hear they hold the seat; everyone else, briefly, that they were not drawn."""
    await notify(
        session,
        user_id=user.id,
        kind=Kind.open_shift,
        message="draw_won" if won else "draw_lost",
        values={"start": moment_value(utc_start(shift.start_slot))},
        url=MY_SHIFTS_URL if won else f"{OPEN_SHIFTS_URL}#shift-{shift.id}",
        subject=f"shift:{shift.id}",
    )


# Reading --------------------------------------------------------------------------------------


async def requests_of(session: AsyncSession, *, shift_ids: list[int], user_id: int) -> dict[int, ClaimRequest]:
    """The agent's requests on these shifts, by shift (for the Open shifts list)."""
    rows = await session.scalars(
        select(ClaimRequest).where(ClaimRequest.shift_id.in_(shift_ids), ClaimRequest.user_id == user_id)
    )
    return {request.shift_id: request for request in rows}


async def requests_by_shift(session: AsyncSession, *, shift_ids: list[int]) -> dict[int, list[RequestLine]]:
    """Every request on these shifts, winners first after a draw, then by time (for the coordinator)."""
    rows = await session.execute(
        select(ClaimRequest, User.display_name)
        .join(User, User.id == ClaimRequest.user_id)
        .where(ClaimRequest.shift_id.in_(shift_ids))
        .order_by(ClaimRequest.shift_id, ClaimRequest.requested_at, ClaimRequest.id)
    )
    lines: dict[int, list[RequestLine]] = defaultdict(list)
    for request, name in rows:
        line = RequestLine(request.user_id, name, request.requested_at, request.weight, request.drawn_at, request.won)
        lines[request.shift_id].append(line)
    for shift_lines in lines.values():
        shift_lines.sort(key=lambda line: not line.won)
    return dict(lines)
