"""A request's life after it is raised: taken, answered, handed over, paused for the asker, resolved, confirmed or
reopened, rated; ideas get "me too"s and an outcome.

Every action is one service function: it finds the request as the actor may see it (404 otherwise), checks the
actor may do this (403: staff who work on it, or the asker for the asker's own steps), writes the change and the
event that explains it in one transaction, keeps the clock right (``clock``), and tells whoever must know
(``notices``). A status change two people could make at once (taking from the queue, resolving, confirming) is a
conditional UPDATE: whoever comes second gets 409 and nothing of theirs is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import User, UserStatus
from backend.accounts.site_settings import site_settings
from backend.core.errors import Conflict, DomainError, Forbidden, NotFound
from backend.core.i18n import gettext as _
from backend.core.i18n import ngettext
from backend.notify.service import Kind, notify_staff
from backend.pay import disputes
from backend.pay.models import Dispute, DisputeStatus
from backend.requests import access, clock, history, notices
from backend.requests.attachments import Upload, store
from backend.requests.models import (
    OPEN_STATUSES,
    PRIORITY_ORDER,
    Consultation,
    EventKind,
    IdeaOutcome,
    MeToo,
    Priority,
    Request,
    RequestEvent,
    RequestKind,
    RequestStatus,
    RequestTeam,
    TeamMember,
)
from backend.requests.schemas import BODY_MAX, NOTE_MAX, REASON_MAX

ADJUSTED_CAUSE = "pay_error"  # a dispute settled by an adjustment: the pay was wrong
REJECTED_CAUSE = "no_fault"  # a dispute rejected: nothing was wrong
DONE_STATUSES = (RequestStatus.resolved, RequestStatus.closed)


# Checks ------------------------------------------------------------------------------------------------------


def _text(value: str, *, field: str, limit: int, missing: str) -> str:
    """Free text someone typed: required, and within its length (a 422 naming the field)."""
    text = value.strip()
    if not text:
        raise DomainError(missing, field=field)
    if len(text) > limit:
        raise DomainError(_("Keep it to at most %(count)d characters.", count=limit), field=field)
    return text


async def _staff_request(session: AsyncSession, request_id: int, actor: User) -> Request:
    """The request, for someone who works on it: 404 if they may not see it, 403 if they may see but not act."""
    request = await access.visible_request(session, request_id=request_id, viewer=actor)
    await access.ensure_may_act(session, request, actor)
    return request


async def _askers_request(session: AsyncSession, request_id: int, actor: User) -> Request:
    """The request, for its asker: 404 if the actor may not see it, 403 if they see it but did not ask it."""
    request = await access.visible_request(session, request_id=request_id, viewer=actor)
    if request.asker_id != actor.id:
        raise Forbidden(_("Only the person who asked may do that."))
    return request


def _ensure_open(request: Request) -> None:
    if request.status not in OPEN_STATUSES:
        raise Conflict(_("This request is already resolved."))


async def _change(
    session: AsyncSession,
    request: Request,
    *,
    where: ColumnElement[bool],
    values: Mapping[str, Any],
    refused: str,
) -> None:
    """Change the request only if ``where`` still holds (someone else may have changed it since it was read):
    whoever comes second gets 409 with ``refused``."""
    result = await session.execute(
        update(Request)
        .where(Request.id == request.id, where)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(refused)
    await session.refresh(request)


def _is_open() -> ColumnElement[bool]:
    return Request.status.in_(OPEN_STATUSES)


async def _team(session: AsyncSession, team_id: int | None) -> RequestTeam | None:
    return None if team_id is None else await session.get(RequestTeam, team_id)


async def _attach(
    session: AsyncSession,
    request: Request,
    *,
    actor: User,
    upload: Upload | None,
    event: RequestEvent,
    now: dt.datetime,
) -> None:
    if upload is not None and (upload.filename or upload.data):
        await store(
            session, request=request, uploader=actor, filename=upload.filename, data=upload.data, event=event, now=now
        )


# Taking and answering ----------------------------------------------------------------------------------------


async def take(session: AsyncSession, *, request_id: int, actor: User, now: dt.datetime) -> Request:
    """Take a request nobody holds: the actor becomes its owner. Two people taking it at once: one wins, the
    other gets 409."""
    request = await _staff_request(session, request_id, actor)
    _ensure_open(request)
    if request.owner_id == actor.id:
        return request
    await _change(
        session,
        request,
        where=and_(Request.owner_id.is_(None), _is_open()),
        values={
            "owner_id": actor.id,
            "status": case((Request.status == RequestStatus.queued, RequestStatus.in_progress), else_=Request.status),
            "updated_at": now,
        },
        refused=_("Someone took it first."),
    )
    await history.record(session, request, EventKind.taken, at=now, actor_id=actor.id, to_user_id=actor.id)
    return request


async def _hold(session: AsyncSession, request: Request, *, actor: User, now: dt.datetime) -> None:
    """Working on a request nobody holds (answering it, asking the asker) takes it: the actor becomes its owner."""
    if request.owner_id is None:
        await take(session, request_id=request.id, actor=actor, now=now)


async def _first_response(session: AsyncSession, request: Request, *, now: dt.datetime) -> None:
    """The first thing staff say to the asker stops the first-response clock."""
    if request.first_response_at is None:
        request.first_response_at = now
        await session.flush()
        await clock.plan_clock(session, request, now=now)


async def answer(
    session: AsyncSession, *, request_id: int, actor: User, body: str, now: dt.datetime, upload: Upload | None = None
) -> Request:
    """An answer the asker sees (and is told of); the first one is the first response."""
    text = _text(body, field="body", limit=BODY_MAX, missing=_("Write something first."))
    request = await _staff_request(session, request_id, actor)
    _ensure_open(request)
    await _hold(session, request, actor=actor, now=now)
    event = await history.record(session, request, EventKind.answered, at=now, actor_id=actor.id, body=text)
    await _attach(session, request, actor=actor, upload=upload, event=event, now=now)
    await _first_response(session, request, now=now)
    await notices.tell_asker(session, request, "request_answered", notices.request_values(request, text=text), now)
    return request


async def note(session: AsyncSession, *, request_id: int, actor: User, body: str, now: dt.datetime) -> Request:
    """An internal note: staff only, never shown to the asker."""
    text = _text(body, field="body", limit=BODY_MAX, missing=_("Write something first."))
    request = await _staff_request(session, request_id, actor)
    await history.record(session, request, EventKind.noted, at=now, actor_id=actor.id, body=text, internal=True)
    return request


async def ask_asker(
    session: AsyncSession, *, request_id: int, actor: User, body: str, reason: str, now: dt.datetime
) -> Request:
    """Ask the asker for something: the request waits for them and its clock pauses (only for a listed reason)."""
    text = _text(body, field="body", limit=BODY_MAX, missing=_("Write something first."))
    if reason not in clock.PAUSE_REASONS:
        raise DomainError(_("Choose why you ask the asker."), field="reason")
    request = await _staff_request(session, request_id, actor)
    _ensure_open(request)
    await _hold(session, request, actor=actor, now=now)
    if request.status != RequestStatus.waiting:
        await _change(
            session,
            request,
            where=Request.status == request.status,
            values={"status": RequestStatus.waiting, "updated_at": now},
            refused=_("Someone changed this request first: reload it."),
        )
        await clock.pause(session, request, reason=reason, now=now)
    await history.record(
        session, request, EventKind.asked_asker, at=now, actor_id=actor.id, body=text, values={"reason": reason}
    )
    await _first_response(session, request, now=now)
    await notices.tell_asker(
        session, request, "request_waiting_for_you", notices.request_values(request, text=text), now
    )
    return request


async def reply(
    session: AsyncSession, *, request_id: int, actor: User, body: str, now: dt.datetime, upload: Upload | None = None
) -> Request:
    """The asker writes back; a request waiting for them is worked on again and its clock runs."""
    text = _text(body, field="body", limit=BODY_MAX, missing=_("Write something first."))
    request = await _askers_request(session, request_id, actor)
    if request.status not in OPEN_STATUSES:
        raise Conflict(_("This request is resolved: reopen it if it is not solved."))
    if request.status == RequestStatus.waiting:
        back = RequestStatus.in_progress if request.owner_id is not None else RequestStatus.queued
        await _change(
            session,
            request,
            where=Request.status == RequestStatus.waiting,
            values={"status": back, "updated_at": now},
            refused=_("Someone changed this request first: reload it."),
        )
        await clock.resume(session, request, now=now)
    event = await history.record(session, request, EventKind.asker_replied, at=now, actor_id=actor.id, body=text)
    await _attach(session, request, actor=actor, upload=upload, event=event, now=now)
    values = notices.request_values(request, name=actor.display_name, text=text)
    await notices.tell_holders(session, request, "request_replied", values, now, besides=actor.id)
    return request


# Hand-over and consultation ----------------------------------------------------------------------------------


async def _teams_before(session: AsyncSession, request: Request) -> set[int]:
    """The teams that held the request before: routed to, or handed over from."""
    rows = await session.execute(
        select(RequestEvent.kind, RequestEvent.from_team_id, RequestEvent.to_team_id).where(
            RequestEvent.request_id == request.id,
            RequestEvent.kind.in_([EventKind.raised, EventKind.routed, EventKind.handed_over]),
        )
    )
    held: set[int] = set()
    for kind, from_team, to_team in rows:
        if kind == EventKind.handed_over and from_team is not None:
            held.add(from_team)
        elif kind != EventKind.handed_over and to_team is not None:
            held.add(to_team)
    return held


async def _bounces(session: AsyncSession, request: Request) -> int:
    rows = await session.scalars(
        select(RequestEvent.values).where(
            RequestEvent.request_id == request.id, RequestEvent.kind == EventKind.handed_over
        )
    )
    return sum(1 for values in rows if (values or {}).get("bounce"))


async def _flag_bounces(session: AsyncSession, request: Request, *, count: int, now: dt.datetime) -> None:
    """Bounced more than the site allows: flag it once, and tell the coordinators."""
    flagged = await session.execute(
        update(Request)
        .where(Request.id == request.id, Request.bounce_flagged_at.is_(None))
        .values(bounce_flagged_at=now)
        .execution_options(synchronize_session=False)
    )
    if flagged.rowcount != 1:  # type: ignore[attr-defined]
        return
    await session.refresh(request)
    await history.record(session, request, EventKind.bounce_flagged, at=now, values={"bounces": count})
    await notify_staff(
        session,
        site_id=request.site_id,
        kind=Kind.staff_request,
        values={**notices.request_values(request, count=count), "message": "request_bounced"},
        link=notices.staff_url(request),
        now=now,
        subject=f"request-bounced:{request.id}",
    )


async def hand_over(
    session: AsyncSession,
    *,
    request_id: int,
    actor: User,
    to_team_id: int,
    to_user_id: int | None = None,
    note: str,
    now: dt.datetime,
) -> Request:
    """Hand the request to another team (or one of its members) with a note: the reason and what has been done.

    Handed back to a team that held it before is a bounce; more bounces than the site's ``request_bounce_limit``
    flag the request to the coordinators, once."""
    text = _text(note, field="note", limit=NOTE_MAX, missing=_("Say why, and what has been done so far."))
    request = await _staff_request(session, request_id, actor)
    _ensure_open(request)
    team = await session.get(RequestTeam, to_team_id)
    if team is None or team.site_id != request.site_id or team.archived_at is not None:
        raise DomainError(_("Choose a team."), field="team")
    if to_user_id is not None:
        member = await session.scalar(
            select(TeamMember.id).where(TeamMember.team_id == team.id, TeamMember.user_id == to_user_id)
        )
        if member is None:
            raise DomainError(_("Choose a member of that team."), field="user")
    if to_team_id == request.team_id and to_user_id == request.owner_id:
        raise DomainError(_("It is already with them."), field="team")
    from_team_id, from_owner_id = request.team_id, request.owner_id
    bounce = to_team_id != from_team_id and to_team_id in await _teams_before(session, request)
    if request.status == RequestStatus.waiting:
        status = RequestStatus.waiting
    else:
        status = RequestStatus.in_progress if to_user_id is not None else RequestStatus.queued
    same_holder = and_(
        Request.team_id.is_(None) if from_team_id is None else Request.team_id == from_team_id,
        Request.owner_id.is_(None) if from_owner_id is None else Request.owner_id == from_owner_id,
    )
    await _change(
        session,
        request,
        where=and_(same_holder, _is_open()),
        values={
            "team_id": to_team_id,
            "owner_id": to_user_id,
            "status": status,
            "handover_count": Request.handover_count + 1,
            "updated_at": now,
        },
        refused=_("Someone changed this request first: reload it."),
    )
    await history.record(
        session,
        request,
        EventKind.handed_over,
        at=now,
        actor_id=actor.id,
        body=text,
        internal=True,
        from_team_id=from_team_id,
        to_team_id=to_team_id,
        to_user_id=to_user_id,
        values={"bounce": bounce},
    )
    await clock.plan_clock(session, request, now=now)
    values = notices.request_values(request, **notices.team_values(team), name=actor.display_name, text=text)
    await notices.tell_holders(session, request, "request_new", values, now, besides=actor.id)
    await notices.tell_asker(
        session, request, "request_handed_over", notices.request_values(request, **notices.team_values(team)), now
    )
    if bounce and request.bounce_flagged_at is None:
        count = await _bounces(session, request)
        site = await accounts.get_site(session, request.site_id)
        if count > site_settings(site).request_bounce_limit:
            await _flag_bounces(session, request, count=count, now=now)
    return request


async def consult(
    session: AsyncSession, *, request_id: int, actor: User, user_id: int, question: str, now: dt.datetime
) -> Consultation:
    """Ask a colleague (staff of the site) for their view inside the request; they see it from then on."""
    text = _text(question, field="question", limit=NOTE_MAX, missing=_("Write your question first."))
    request = await _staff_request(session, request_id, actor)
    _ensure_open(request)
    person = await session.get(User, user_id)
    if (
        person is None
        or person.site_id != request.site_id
        or person.status != UserStatus.active
        or not access.is_request_staff(person)
        or person.id == actor.id
    ):
        raise DomainError(_("Choose a colleague to consult."), field="user")
    consultation = Consultation(
        request_id=request.id, user_id=person.id, question=text, asked_by_id=actor.id, asked_at=now
    )
    session.add(consultation)
    await history.record(
        session, request, EventKind.consulted, at=now, actor_id=actor.id, body=text, internal=True, to_user_id=person.id
    )
    values = notices.request_values(request, name=actor.display_name, text=text)
    await notices.tell_people(session, request, {person.id}, "request_consulted", values, now)
    return consultation


async def answer_consult(
    session: AsyncSession,
    *,
    request_id: int,
    actor: User,
    consultation_id: int | None = None,
    answer: str,
    now: dt.datetime,
) -> Consultation:
    """The consulted person answers, once; the one who asked is told. Without ``consultation_id``: the actor's
    oldest unanswered consultation on the request."""
    text = _text(answer, field="answer", limit=NOTE_MAX, missing=_("Write your answer first."))
    request = await access.visible_request(session, request_id=request_id, viewer=actor)
    if consultation_id is None:
        consultation = await session.scalar(
            select(Consultation)
            .where(
                Consultation.request_id == request.id,
                Consultation.user_id == actor.id,
                Consultation.answered_at.is_(None),
            )
            .order_by(Consultation.asked_at, Consultation.id)
            .limit(1)
        )
    else:
        consultation = await session.get(Consultation, consultation_id)
    if consultation is None or consultation.request_id != request.id:
        raise NotFound("consultation")
    if consultation.user_id != actor.id:
        raise Forbidden(_("Only the person consulted answers."))
    result = await session.execute(
        update(Consultation)
        .where(Consultation.id == consultation.id, Consultation.answered_at.is_(None))
        .values(answer=text, answered_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(_("You already answered."))
    await session.refresh(consultation)
    await history.record(
        session, request, EventKind.consult_answered, at=now, actor_id=actor.id, body=text, internal=True
    )
    if consultation.asked_by_id is not None:
        values = notices.request_values(request, name=actor.display_name, text=text)
        await notices.tell_people(session, request, {consultation.asked_by_id}, "request_consult_answered", values, now)
    return consultation


# Priority ----------------------------------------------------------------------------------------------------


async def set_priority(
    session: AsyncSession, *, request_id: int, actor: User, priority: Priority, reason: str, now: dt.datetime
) -> Request:
    """A person changes the priority, always with a reason; the clock is planned again from the start and every
    pause, so a pause is never lost."""
    text = _text(reason, field="reason", limit=REASON_MAX, missing=_("Say why the priority changes."))
    request = await _staff_request(session, request_id, actor)
    _ensure_open(request)
    if priority == request.priority:
        raise DomainError(_("It already has this priority."), field="priority")
    before = request.priority
    raised = PRIORITY_ORDER.index(priority) > PRIORITY_ORDER.index(before)
    request.priority = priority
    await history.record(
        session,
        request,
        EventKind.priority_raised if raised else EventKind.priority_lowered,
        at=now,
        actor_id=actor.id,
        body=text,
        internal=True,
        values={"from": before.value, "to": priority.value, "reason": text},
    )
    await clock.plan_clock(session, request, now=now)
    return request


# Resolving and closing ---------------------------------------------------------------------------------------


async def _resolve(
    session: AsyncSession,
    request: Request,
    *,
    actor: User | None,
    root_cause: str,
    resolution: str,
    now: dt.datetime,
    values: Mapping[str, Any] | None = None,
) -> None:
    """Mark an open request resolved (once: a second resolver gets 409); a pause for the asker ends with it."""
    owner = request.owner_id if request.owner_id is not None or actor is None else actor.id
    if request.status == RequestStatus.waiting:
        await clock.resume(session, request, now=now)
    await _change(
        session,
        request,
        where=_is_open(),
        values={
            "status": RequestStatus.resolved,
            "resolved_at": now,
            "owner_id": owner,
            "root_cause": root_cause,
            "resolution": resolution,
            "updated_at": now,
        },
        refused=_("Someone resolved this request first."),
    )
    await history.record(
        session,
        request,
        EventKind.resolved,
        at=now,
        actor_id=actor.id if actor else None,
        body=resolution,
        values={"root_cause": root_cause, **(values or {})},
    )
    await clock.plan_clock(session, request, now=now)


async def _tell_resolved(session: AsyncSession, request: Request, *, now: dt.datetime) -> None:
    site = await accounts.get_site(session, request.site_id)
    days = site_settings(site).request_confirm_days
    values = notices.request_values(request, days=days, text=request.resolution)
    await notices.tell_asker(session, request, "request_resolved", values, now)


async def resolve(
    session: AsyncSession, *, request_id: int, actor: User, root_cause: str, resolution: str, now: dt.datetime
) -> Request:
    """Resolve with the root cause (one of the site's list) and what was done; the asker confirms or reopens it
    within the site's ``request_confirm_days``, else it closes by itself."""
    text = _text(resolution, field="resolution", limit=NOTE_MAX, missing=_("Say what was done."))
    request = await _staff_request(session, request_id, actor)
    _ensure_open(request)
    site = await accounts.get_site(session, request.site_id)
    if root_cause not in site_settings(site).request_root_causes:
        raise DomainError(_("Choose a root cause."), field="root_cause")
    await _resolve(session, request, actor=actor, root_cause=root_cause, resolution=text, now=now)
    await _tell_resolved(session, request, now=now)
    return request


async def _close(session: AsyncSession, request: Request, *, now: dt.datetime, refused: str) -> None:
    await _change(
        session,
        request,
        where=Request.status == RequestStatus.resolved,
        values={"status": RequestStatus.closed, "closed_at": now, "updated_at": now},
        refused=refused,
    )


async def confirm(session: AsyncSession, *, request_id: int, actor: User, now: dt.datetime) -> Request:
    """The asker agrees it is solved: the request closes."""
    request = await _askers_request(session, request_id, actor)
    if request.status != RequestStatus.resolved:
        raise Conflict(_("Only a resolved request can be confirmed."))
    await _close(session, request, now=now, refused=_("Only a resolved request can be confirmed."))
    await history.record(session, request, EventKind.confirmed, at=now, actor_id=actor.id)
    await clock.plan_clock(session, request, now=now)
    return request


async def auto_close(session: AsyncSession, request: Request, *, now: dt.datetime) -> Request:
    """Resolved and neither confirmed nor reopened in time: it closes by itself (the clock's ``auto_close`` timer).
    Already closed or reopened: nothing to do."""
    if request.status != RequestStatus.resolved:
        return request
    try:
        await _close(session, request, now=now, refused="")
    except Conflict:
        return request
    await history.record(session, request, EventKind.auto_closed, at=now)
    await clock.plan_clock(session, request, now=now)
    await notices.tell_asker(session, request, "request_closed", notices.request_values(request), now)
    return request


async def reopen(session: AsyncSession, *, request_id: int, actor: User, reason: str, now: dt.datetime) -> Request:
    """Not solved: the asker reopens it, within the site's ``request_confirm_days`` of its resolution. It goes back
    to its owner (or its team's queue) and the clock runs again."""
    text = _text(reason, field="reason", limit=REASON_MAX, missing=_("Say why it is not solved."))
    request = await _askers_request(session, request_id, actor)
    if request.status not in DONE_STATUSES or request.resolved_at is None:
        raise Conflict(_("Only a resolved request can be reopened."))
    site = await accounts.get_site(session, request.site_id)
    days = site_settings(site).request_confirm_days
    if now > request.resolved_at + dt.timedelta(days=days):
        raise Conflict(
            ngettext(
                "It was resolved more than %(num)d day ago: raise a new request instead.",
                "It was resolved more than %(num)d days ago: raise a new request instead.",
                days,
            )
        )
    back = RequestStatus.in_progress if request.owner_id is not None else RequestStatus.queued
    await _change(
        session,
        request,
        where=and_(Request.status.in_(DONE_STATUSES), Request.resolved_at == request.resolved_at),
        values={
            "status": back,
            "resolved_at": None,
            "closed_at": None,
            "reopen_count": Request.reopen_count + 1,
            "updated_at": now,
        },
        refused=_("Someone changed this request first: reload it."),
    )
    await history.record(session, request, EventKind.reopened, at=now, actor_id=actor.id, body=text)
    await clock.plan_clock(session, request, now=now)
    values = notices.request_values(request, name=actor.display_name, text=text)
    await notices.tell_holders(session, request, "request_reopened", values, now, besides=actor.id)
    return request


async def rate(
    session: AsyncSession, *, request_id: int, actor: User, rating: int, comment: str = "", now: dt.datetime
) -> Request:
    """The asker rates the handling (1 to 5, and a comment), once, after it is resolved."""
    if not 1 <= rating <= 5:
        raise DomainError(_("Give 1 to 5 stars."), field="rating")
    text = comment.strip()
    if len(text) > REASON_MAX:
        raise DomainError(_("Keep the comment to at most %(count)d characters.", count=REASON_MAX), field="comment")
    request = await _askers_request(session, request_id, actor)
    if request.status not in DONE_STATUSES:
        raise Conflict(_("Rate it once it is resolved."))
    await _change(
        session,
        request,
        where=Request.rating.is_(None),
        values={"rating": rating, "rating_comment": text, "updated_at": now},
        refused=_("You already rated it."),
    )
    await history.record(
        session, request, EventKind.rated, at=now, actor_id=actor.id, body=text, values={"rating": rating}
    )
    return request


# Ideas -------------------------------------------------------------------------------------------------------


async def me_too(session: AsyncSession, *, request_id: int, actor: User, on: bool, now: dt.datetime) -> Request:
    """A colleague says "me too" on an idea (or takes it back); counted once per person, never the asker's own."""
    request = await access.visible_request(session, request_id=request_id, viewer=actor)
    if request.kind != RequestKind.idea:
        raise Conflict(_("Only improvement ideas take a “me too”."))
    if request.asker_id == actor.id:
        raise Forbidden(_("It is your own idea."))
    if on:
        try:
            async with session.begin_nested():
                session.add(MeToo(request_id=request.id, user_id=actor.id, at=now))
                await session.flush()
        except IntegrityError:
            return request
        step = 1
    else:
        removed = await session.execute(
            delete(MeToo)
            .where(MeToo.request_id == request.id, MeToo.user_id == actor.id)
            .execution_options(synchronize_session=False)
        )
        if removed.rowcount != 1:  # type: ignore[attr-defined]
            return request
        step = -1
    await session.execute(
        update(Request)
        .where(Request.id == request.id)
        .values(me_too_count=Request.me_too_count + step)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(request)
    return request


async def set_idea_outcome(
    session: AsyncSession, *, request_id: int, actor: User, outcome: IdeaOutcome, note: str, now: dt.datetime
) -> Request:
    """What was done with an idea: planned, done (and where) or declined (and why). It resolves the idea, and the
    asker and everyone who said "me too" are told."""
    outcome = IdeaOutcome(outcome)
    text = note.strip()
    if len(text) > NOTE_MAX:
        raise DomainError(_("Keep it to at most %(count)d characters.", count=NOTE_MAX), field="note")
    if not text and outcome == IdeaOutcome.done:
        raise DomainError(_("Say where it was done."), field="note")
    if not text and outcome == IdeaOutcome.declined:
        raise DomainError(_("Say why it was declined."), field="note")
    request = await _staff_request(session, request_id, actor)
    if request.kind != RequestKind.idea:
        raise Conflict(_("Only improvement ideas have an outcome."))
    request.idea_outcome = outcome
    request.outcome_note = text
    await session.flush()
    if request.status in OPEN_STATUSES:
        await _resolve(session, request, actor=actor, root_cause="", resolution=text, now=now)
    await history.record(
        session,
        request,
        EventKind.idea_outcome,
        at=now,
        actor_id=actor.id,
        body=text,
        values={"outcome": outcome.value},
    )
    values = notices.request_values(request, outcome=outcome.value, text=text)
    await notices.tell_asker(session, request, "request_idea_outcome", values, now)
    me_toos = set(await session.scalars(select(MeToo.user_id).where(MeToo.request_id == request.id)))
    me_toos.discard(request.asker_id)
    await notices.tell_people(session, request, me_toos, "request_idea_outcome", values, now, kind=Kind.request)
    return request


# Pay disputes ------------------------------------------------------------------------------------------------


async def resolve_dispute(
    session: AsyncSession,
    *,
    request_id: int,
    actor: User,
    action: Literal["adjust", "reject"],
    amount_minor: int = 0,
    reason: str,
    now: dt.datetime,
    confirmed: bool = False,
) -> Request:
    """Settle a pay request's dispute by the pay rules (an adjustment in the open period, or a rejection with its
    reason), then resolve the request: root cause ``pay_error`` for an adjustment, ``no_fault`` for a rejection.
    The agent hears the outcome once, from the dispute."""
    request = await _staff_request(session, request_id, actor)
    if request.dispute_id is None:
        raise NotFound("dispute")
    _ensure_open(request)
    if action == "adjust":
        dispute = await disputes.resolve_by_adjustment(
            session,
            dispute_id=request.dispute_id,
            staff=actor,
            amount_minor=amount_minor,
            reason=reason,
            now=now,
            confirmed=confirmed,
        )
    elif action == "reject":
        dispute = await disputes.reject(session, dispute_id=request.dispute_id, staff=actor, reason=reason, now=now)
    else:
        raise DomainError(_("Choose to adjust or to reject."), field="action")
    await _settle(session, request, dispute=dispute, actor=actor, now=now)
    return request


async def _settle(session: AsyncSession, request: Request, *, dispute: Dispute, actor: User, now: dt.datetime) -> None:
    adjusted = dispute.status == DisputeStatus.adjusted
    await _resolve(
        session,
        request,
        actor=actor,
        root_cause=ADJUSTED_CAUSE if adjusted else REJECTED_CAUSE,
        resolution=dispute.resolution,
        now=now,
        values={"dispute": dispute.status.value},
    )


async def settle_from_dispute(
    session: AsyncSession, *, dispute: Dispute, actor: User, now: dt.datetime
) -> Request | None:
    """A dispute resolved on the pay disputes page resolves its pay request too (None: it has none, or the
    request was resolved already)."""
    request = await session.scalar(select(Request).where(Request.dispute_id == dispute.id))
    if request is None or request.status not in OPEN_STATUSES or dispute.status == DisputeStatus.open:
        return None
    await _settle(session, request, dispute=dispute, actor=actor, now=now)
    return request
