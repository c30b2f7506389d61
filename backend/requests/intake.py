"""Raising a request: the kind's template checked, the request routed, prioritised and put on its clock, the
responsibility matrix applied (consulted people asked inside the request, informed people told) and whoever
holds it told.

The link must fit the kind (``kinds.TEMPLATE``): a schedule request names a shift the agent holds or held (staff:
any shift of the site), a pay request a pay period of the site and perhaps a line of the asker's earnings, a
learning request a course of the site and perhaps a question of its quiz; the other kinds take no link. A refusal
names the field. A pay request naming a line files the pay dispute first (``pay.disputes.file_dispute``, its pay
rules intact) and carries it; the dispute's own staff alert is then the only one.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, User
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.i18n import ngettext
from backend.learning import courses
from backend.learning.models import Course
from backend.pay import disputes
from backend.pay.models import Dispute, PayPeriod
from backend.requests import attachments, clock, history, notices, priority, routing
from backend.requests.attachments import Upload
from backend.requests.kinds import TEMPLATE, kind_label
from backend.requests.models import (
    Consultation,
    EventKind,
    Involvement,
    Request,
    RequestKind,
    RequestStatus,
    RequestTeam,
)
from backend.requests.schemas import TITLE_MAX, RequestDraft
from backend.shifts.models import Shift, ShiftSeat

NOTICE_TEXT_MAX = 200  # how much of the details a notification quotes
# The link fields of the draft, by the template's link that allows them.
LINK_FIELDS: dict[str | None, frozenset[str]] = {
    "shift": frozenset({"shift"}),
    "pay_line": frozenset({"period", "line", "line_ref"}),
    "period": frozenset({"period"}),
    "course": frozenset({"course", "question"}),
    None: frozenset(),
}
REQUIRED_FIELD = {"shift": "shift", "pay_line": "period", "period": "period", "course": "course"}


async def raise_request(
    session: AsyncSession, *, asker: User, draft: RequestDraft, now: dt.datetime, upload: Upload | None = None
) -> Request:
    """Raise ``draft`` for ``asker``: checked against its kind's template, routed, prioritised, on its clock, the
    matrix applied and the holders told; ``upload`` (system problems only) stored with it."""
    kind = RequestKind(draft.kind)
    template = TEMPLATE[kind]
    title = draft.title.strip()
    details = draft.details.strip()
    if not title:
        raise DomainError(_("Give your request a title."), field="title")
    if not details:
        raise DomainError(_("Say what happened."), field="details")
    if draft.happened_on is not None and draft.happened_on > now.astimezone(ZoneInfo(asker.timezone)).date():
        raise DomainError(_("The day it happened cannot be in the future."), field="happened_on")
    _check_link_fields(draft, kind, template.link, template.link_required)
    if upload is not None:
        if not template.attachment:
            raise DomainError(_("Only a system problem takes a file."), field=attachments.FIELD)
        attachments.check_upload(upload.filename, upload.data)

    request = Request(
        site_id=asker.site_id,
        kind=kind,
        asker_id=asker.id,
        title=title,
        details=details,
        happened_on=draft.happened_on,
        expected=draft.expected.strip(),
        priority=template.default_priority,
        status=RequestStatus.queued,
        created_at=now,
        updated_at=now,
    )
    if draft.shift is not None:
        shift = await _asker_shift(session, asker=asker, shift_id=draft.shift)
        request.shift_id = shift.id
        request.skill_id = shift.skill_id
    if draft.course is not None:
        await _check_course(session, asker=asker, course_id=draft.course, question=draft.question)
        request.course_id = draft.course
        request.question_number = draft.question
    dispute: Dispute | None = None
    if draft.period is not None:
        period = await session.get(PayPeriod, draft.period)
        if period is None or period.site_id != asker.site_id:
            raise DomainError(_("Choose a pay period of your site."), field="period")
        request.period_id = period.id
        if draft.line is not None or draft.line_ref:
            dispute = await _file_dispute(session, asker=asker, draft=draft, details=details, now=now)
            request.dispute_id = dispute.id
    await _open(session, request, asker=asker, now=now, alert=dispute is None)
    if upload is not None:
        await attachments.store(
            session, request=request, uploader=asker, filename=upload.filename, data=upload.data, now=now
        )
    return request


async def raise_for_dispute(session: AsyncSession, *, dispute: Dispute, asker: User, now: dt.datetime) -> Request:
    """The pay request carrying a dispute filed on the earnings page (the dispute has alerted the staff already)."""
    period = await session.get(PayPeriod, dispute.period_id)
    assert period is not None
    last_day = period.ends_on - dt.timedelta(days=1)
    first_line = dispute.comment.strip().splitlines()[0] if dispute.comment.strip() else ""
    title = f"{period.starts_on.isoformat()} - {last_day.isoformat()}: {first_line}"[:TITLE_MAX]
    request = Request(
        site_id=dispute.site_id,
        kind=RequestKind.pay,
        asker_id=asker.id,
        title=title,
        details=dispute.comment,
        expected="",
        period_id=dispute.period_id,
        dispute_id=dispute.id,
        priority=TEMPLATE[RequestKind.pay].default_priority,
        status=RequestStatus.queued,
        created_at=now,
        updated_at=now,
    )
    await _open(session, request, asker=asker, now=now, alert=False)
    return request


# The template ---------------------------------------------------------------------------------------------


def _given_links(draft: RequestDraft) -> list[str]:
    given = {
        "shift": draft.shift is not None,
        "period": draft.period is not None,
        "line": draft.line is not None,
        "line_ref": bool(draft.line_ref),
        "course": draft.course is not None,
        "question": draft.question is not None,
    }
    return [name for name, present in given.items() if present]


def _check_link_fields(draft: RequestDraft, kind: RequestKind, link: str | None, required: bool) -> None:
    allowed = LINK_FIELDS[link]
    for name in _given_links(draft):
        if name not in allowed:
            raise DomainError(
                _("A request of the kind “%(kind)s” takes no such link.", kind=kind_label(kind)), field=name
            )
    if required and link is not None:
        field = REQUIRED_FIELD[link]
        if field not in _given_links(draft):
            words = {
                "shift": _("Choose the shift it is about."),
                "period": _("Choose the pay period it is about."),
                "course": _("Choose the course it is about."),
            }
            raise DomainError(words[field], field=field)


async def _asker_shift(session: AsyncSession, *, asker: User, shift_id: int) -> Shift:
    """A shift the agent holds or held; staff may name any shift of their site."""
    shift = await session.get(Shift, shift_id)
    if shift is None or shift.site_id != asker.site_id:
        raise DomainError(_("Choose one of your shifts."), field="shift")
    if asker.role == Role.agent:
        held = await session.scalar(
            select(exists().where(ShiftSeat.shift_id == shift.id, ShiftSeat.user_id == asker.id))
        )
        if not held:
            raise DomainError(_("Choose one of your shifts."), field="shift")
    return shift


async def _check_course(session: AsyncSession, *, asker: User, course_id: int, question: int | None) -> None:
    course = await session.get(Course, course_id)
    if course is None or course.site_id != asker.site_id:
        raise DomainError(_("Choose a course of your site."), field="course")
    if question is None:
        return
    version = await courses.current_version(session, course_id=course.id)
    count = len(courses.content_of(version).quiz.questions) if version is not None else 0
    if not 1 <= question <= count:
        raise DomainError(
            ngettext(
                "This course's quiz has %(num)d question: give its number.",
                "This course's quiz has %(num)d questions: give a number from 1 to %(num)d.",
                count,
            )
            if count
            else _("This course has no quiz: leave the question out."),
            field="question",
        )


async def _file_dispute(
    session: AsyncSession, *, asker: User, draft: RequestDraft, details: str, now: dt.datetime
) -> Dispute:
    """The pay dispute the request carries, filed under the pay rules; its refusal of the comment names the
    request's ``details``."""
    assert draft.period is not None
    try:
        return await disputes.file_dispute(
            session,
            agent=asker,
            period_id=draft.period,
            line_id=draft.line,
            line_ref=draft.line_ref,
            comment=details,
            now=now,
        )
    except DomainError as refused:
        if refused.field == "comment":
            raise DomainError(refused.message, field="details") from None
        raise


# Opening: route, priority, clock, matrix, alert -----------------------------------------------------------


async def _open(session: AsyncSession, request: Request, *, asker: User, now: dt.datetime, alert: bool) -> None:
    team_id, owner_id = await routing.route(session, request)
    request.team_id = team_id
    request.owner_id = owner_id
    request.status = RequestStatus.in_progress if owner_id is not None else RequestStatus.queued
    session.add(request)
    await session.flush()
    await history.record(session, request, EventKind.raised, at=now, actor_id=asker.id)
    if team_id is not None:
        await history.record(session, request, EventKind.routed, at=now, to_team_id=team_id, to_user_id=owner_id)
    raised, reason = await priority.initial_priority(session, request, now=now)
    if raised != request.priority:
        await history.record(
            session,
            request,
            EventKind.priority_raised,
            at=now,
            values={"from": str(request.priority), "to": str(raised), "reason": reason},
        )
        request.priority = raised
    await clock.plan_clock(session, request, now=now)
    told = await _apply_matrix(session, request, asker=asker, now=now)
    if alert:
        team = await session.get(RequestTeam, team_id) if team_id is not None else None
        values = notices.request_values(
            request, **notices.team_values(team), text=request.details[:NOTICE_TEXT_MAX], name=asker.display_name
        )
        holders = await notices.holder_ids(session, request)
        await notices.tell_people(session, request, holders - told - {asker.id}, "request_new", values, now)


async def _apply_matrix(session: AsyncSession, request: Request, *, asker: User, now: dt.datetime) -> set[int]:
    """Ask the consulted people inside the request and tell the informed ones; returns everyone told."""
    consulted = await routing.matrix_people(session, request.site_id, request.kind, Involvement.consulted)
    consulted.discard(asker.id)
    values = notices.request_values(request, name=asker.display_name, text=request.details[:NOTICE_TEXT_MAX])
    for user_id in sorted(consulted):
        session.add(
            Consultation(
                request_id=request.id,
                user_id=user_id,
                question=request.details[:2000],
                asked_by_id=None,
                asked_at=now,
            )
        )
        await history.record(
            session, request, EventKind.consulted, at=now, internal=True, to_user_id=user_id, values={"matrix": True}
        )
    if consulted:
        await notices.tell_people(session, request, consulted, "request_consulted", values, now)
    informed = await routing.matrix_people(session, request.site_id, request.kind, Involvement.informed)
    informed -= consulted | {asker.id}
    if informed:
        count = await notices.tell_people(session, request, informed, "request_informed", values, now)
        await history.record(session, request, EventKind.informed, at=now, internal=True, values={"count": count})
    return consulted | informed
