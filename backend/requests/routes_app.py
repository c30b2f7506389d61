"""The asker's pages, on a phone: my requests, asking for help (a kind, then its template), one request with every
answer and the clock in plain words, replying, confirming or reopening, rating, the site's ideas with "me too", and
the files sent with a request.

Every form works as a plain post (answered by a 303, or the page again with the refusal beside its field) and with
htmx (the request's part of the page swapped in place). Another person's request is Not found; the services
(``intake``, ``actions``, ``access``) hold the rules, the handlers only read forms and lay out what they answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.response import Template
from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import Role, Skill, User
from backend.accounts.site_settings import site_settings
from backend.accounts.zones import site_zone, user_zone
from backend.core.bounds import PathId
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import current_locale, date_span_text, localized_name, moment_labeller
from backend.core.i18n import gettext as _
from backend.core.security import requires
from backend.core.slots import local_start, slot_of, utc_start
from backend.core.templating import page, refused_status
from backend.core.web import AnyRequest, Db, act_on_page, parse_fields, see_other
from backend.learning.courses import localized, published_courses
from backend.pay.disputes import ref_text
from backend.pay.models import PayPeriod
from backend.requests import actions, attachments, intake, kinds, stats
from backend.requests.access import visible_request
from backend.requests.attachments import MAX_BYTES, attachment_for, attachments_of, serve_headers
from backend.requests.models import (
    OPEN_STATUSES,
    EventKind,
    MeToo,
    Request,
    RequestEvent,
    RequestKind,
    RequestStatus,
    RequestTeam,
)
from backend.requests.routing import route
from backend.requests.schemas import MeTooForm, RateForm, ReopenForm, ReplyForm, RequestDraft
from backend.requests.suggest import suggestions
from backend.shifts.models import Shift
from backend.shifts.service import my_shifts

BASE = "/app/requests"
MINE_PAGE = "requests/app/mine.html"
NEW_PAGE = "requests/app/new.html"
SHOW_PAGE = "requests/app/show.html"
IDEAS_PAGE = "requests/app/ideas.html"
SUGGEST_PAGE = "requests/app/suggest.html"
DRAFT_FIELDS = tuple(field.name for field in msgspec.structs.fields(RequestDraft) if field.name != "csrf_token")
DONE_NOTICES = frozenset({"raised", "replied", "confirmed", "reopened", "rated", "me_too"})
DONE_STATUSES = (RequestStatus.resolved, RequestStatus.closed)
# The form's whole body may carry a file of ``MAX_BYTES``; a larger file is still read far enough to be refused
# by name (422 on ``file``), a body past this is refused by the server (413).
UPLOAD_BODY_MAX_BYTES = 3 * MAX_BYTES
SHIFT_CHOICE_PAST_DAYS = 31
PERIOD_CHOICES = 12
MINE_LIMIT = 100
IDEAS_LIMIT = 100
# What the asker is shown of their request's history: the answers, questions and steps that concern them; the
# clock's warnings and escalations, notes and consultations are the staff's.
ASKER_EVENTS = frozenset(
    {
        EventKind.raised,
        EventKind.taken,
        EventKind.answered,
        EventKind.asked_asker,
        EventKind.asker_replied,
        EventKind.handed_over,
        EventKind.resolved,
        EventKind.reopened,
        EventKind.confirmed,
        EventKind.auto_closed,
        EventKind.rated,
        EventKind.idea_outcome,
        EventKind.attached,
    }
)
# Whose words the asker reads in full (a hand-over's note is the staff's).
EVENTS_WITH_BODY = frozenset(
    {
        EventKind.answered,
        EventKind.asked_asker,
        EventKind.asker_replied,
        EventKind.resolved,
        EventKind.reopened,
        EventKind.rated,
        EventKind.idea_outcome,
    }
)


# Shared helpers ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormChoices:
    """What the template form offers for the kind's link; ``None``: a number is typed instead (staff, who may name
    any shift of the site)."""

    shifts: list[tuple[str, str]] | None = None
    periods: list[tuple[str, str]] | None = None
    courses: list[tuple[str, str]] | None = None
    line_text: str = ""


@dataclass(frozen=True)
class RequestRow:
    """A request as the asker's list shows it."""

    request: Request
    holder: str
    expected: str


@dataclass(frozen=True)
class EventRow:
    at: dt.datetime
    label: str
    who: str
    body: str
    team: str


@dataclass(frozen=True)
class IdeaRow:
    request: Request
    asker: str
    mine: bool
    me_too: bool


def _common(user: User, now: dt.datetime, **extra: Any) -> dict[str, Any]:
    zone = user_zone(user)
    return {
        "tab": "",
        "user": user,
        "now": now,
        "when": moment_labeller(zone, now.astimezone(zone).date()),
        "kinds": kinds,
        "kind_label": kinds.kind_label,
        "status_label": kinds.status_label,
        "priority_label": kinds.priority_label,
        "outcome_label": kinds.outcome_label,
        "error": None,
        "done": "",
        **extra,
    }


def _team_label(team: RequestTeam | None) -> str:
    return "" if team is None else localized_name(team.name, team.name_zh or "")


async def _teams(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, RequestTeam]:
    wanted = {team_id for team_id in ids if team_id is not None}
    if not wanted:
        return {}
    return {team.id: team for team in await session.scalars(select(RequestTeam).where(RequestTeam.id.in_(wanted)))}


async def _names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {user_id for user_id in ids if user_id is not None}
    return {user.id: user.display_name for user in await accounts.users_by_ids(session, wanted)} if wanted else {}


def _holder(request: Request, teams: Mapping[int, RequestTeam], names: Mapping[int, str]) -> str:
    """Who holds the request now, in the asker's words."""
    team = _team_label(teams.get(request.team_id)) if request.team_id is not None else ""
    owner = names.get(request.owner_id) if request.owner_id is not None else None
    if owner and team:
        return _("%(name)s, %(team)s", name=owner, team=team)
    if owner:
        return owner
    if team:
        return _("%(team)s (not taken yet)", team=team)
    return _("The coordinators (not taken yet)")


class ExpectedTimes:
    """The expected-time forecast per kind and team, asked once per page."""

    def __init__(self, session: AsyncSession, site_id: int, now: dt.datetime) -> None:
        self.session, self.site_id, self.now = session, site_id, now
        self.known: dict[tuple[RequestKind, int | None], str] = {}

    async def label(self, kind: RequestKind, team_id: int | None) -> str:
        key = (kind, team_id)
        if key not in self.known:
            minutes = await stats.expected_minutes(
                self.session, site_id=self.site_id, kind=kind, team_id=team_id, now=self.now
            )
            self.known[key] = stats.expected_label(minutes)
        return self.known[key]

    async def for_kind(self, kind: RequestKind) -> str:
        """Where a new request of ``kind`` would go (its rule for any skill), and how long those usually take."""
        team_id, _owner = await route(self.session, Request(site_id=self.site_id, kind=kind, skill_id=None))
        return await self.label(kind, team_id)


async def form_choices(
    session: AsyncSession, *, asker: User, kind: RequestKind, texts: Mapping[str, str], now: dt.datetime
) -> FormChoices:
    """The choices the kind's template form offers ``asker``: their shifts of the last month and to come, the
    site's recent pay periods, its published courses."""
    link = kinds.TEMPLATE[kind].link
    zone = user_zone(asker)
    when = moment_labeller(zone, now.astimezone(zone).date())
    if link == "shift":
        if asker.role != Role.agent:
            return FormChoices()
        held = await my_shifts(
            session, user_id=asker.id, since_slot=slot_of(now - dt.timedelta(days=SHIFT_CHOICE_PAST_DAYS))
        )
        return FormChoices(
            shifts=[
                (
                    str(shift.shift_id),
                    f"{when(utc_start(shift.start_slot))}\u2013{local_start(shift.end_slot, zone):%H:%M}"
                    f" · {shift.skill_label(current_locale())}",
                )
                for shift in held
            ]
        )
    if link == "pay_line":
        site = await accounts.get_site(session, asker.site_id)
        today = now.astimezone(site_zone(site)).date()
        periods = await session.scalars(
            select(PayPeriod)
            .where(PayPeriod.site_id == asker.site_id, PayPeriod.starts_on <= today)
            .order_by(PayPeriod.starts_on.desc())
            .limit(PERIOD_CHOICES)
        )
        line_text = ""
        if texts.get("line_ref"):
            line_text = ref_text(texts["line_ref"])
        elif texts.get("line"):
            line_text = _("The line you chose on your statement")
        return FormChoices(
            periods=[
                (str(period.id), date_span_text(period.starts_on, period.ends_on - dt.timedelta(days=1)))
                for period in periods
            ],
            line_text=line_text,
        )
    if link == "course":
        locale = current_locale()
        found = await published_courses(session, site_id=asker.site_id)
        return FormChoices(
            courses=[(str(course.id), localized(version.content.get("title"), locale)) for course, version in found]
        )
    return FormChoices()


def _texts(source: Mapping[str, Any] | FormMultiDict, names: Iterable[str]) -> dict[str, str]:
    """A form's (or a query's) text fields as typed, for showing back and for ``parse_fields``."""
    texts: dict[str, str] = {}
    for name in names:
        value = source.get(name)
        texts[name] = value if isinstance(value, str) else ""
    return texts


def _kind_of(text: str) -> RequestKind | None:
    try:
        return RequestKind(text)
    except ValueError:
        return None


# Reading what the asker sees -----------------------------------------------------------------------------------


async def _mine(session: AsyncSession, *, asker: User, now: dt.datetime) -> list[RequestRow]:
    """The asker's requests: open ones first, then the rest; the latest changed first in each."""
    is_open = case((Request.status.in_(OPEN_STATUSES), 0), else_=1)
    found = list(
        await session.scalars(
            select(Request)
            .where(Request.asker_id == asker.id)
            .order_by(is_open, Request.updated_at.desc(), Request.id.desc())
            .limit(MINE_LIMIT)
        )
    )
    teams = await _teams(session, (row.team_id for row in found))
    names = await _names(session, (row.owner_id for row in found))
    expected = ExpectedTimes(session, asker.site_id, now)
    rows: list[RequestRow] = []
    for row in found:
        label = await expected.label(row.kind, row.team_id) if row.status in OPEN_STATUSES else ""
        rows.append(RequestRow(request=row, holder=_holder(row, teams, names), expected=label))
    return rows


async def _asker_history(session: AsyncSession, request: Request) -> list[EventRow]:
    events = list(
        await session.scalars(
            select(RequestEvent)
            .where(
                RequestEvent.request_id == request.id,
                RequestEvent.internal.is_(False),
                RequestEvent.kind.in_(ASKER_EVENTS),
            )
            .order_by(RequestEvent.at, RequestEvent.id)
        )
    )
    names = await _names(session, (event.actor_id for event in events))
    teams = await _teams(session, (event.to_team_id for event in events))
    return [
        EventRow(
            at=event.at,
            label=kinds.event_label(event.kind),
            who=names.get(event.actor_id, "") if event.actor_id is not None else "",
            body=event.body if event.kind in EVENTS_WITH_BODY else "",
            team=_team_label(teams.get(event.to_team_id)) if event.to_team_id is not None else "",
        )
        for event in events
    ]


async def _link_text(session: AsyncSession, request: Request, viewer: User, now: dt.datetime) -> str:
    """What the request is linked to, in words: the shift, the pay period (and line), the course."""
    zone = user_zone(viewer)
    when = moment_labeller(zone, now.astimezone(zone).date())
    if request.shift_id is not None:
        row = (
            await session.execute(
                select(Shift.start_slot, Shift.end_slot, Skill.name, Skill.name_zh)
                .join(Skill, Skill.id == Shift.skill_id)
                .where(Shift.id == request.shift_id)
            )
        ).first()
        if row is None:
            return _("Shift %(number)s", number=request.shift_id)
        skill = localized_name(row.name, row.name_zh or "")
        return f"{when(utc_start(row.start_slot))}\u2013{local_start(row.end_slot, zone):%H:%M} · {skill}"
    if request.period_id is not None:
        period = await session.get(PayPeriod, request.period_id)
        if period is not None:
            return _(
                "Pay period %(dates)s", dates=date_span_text(period.starts_on, period.ends_on - dt.timedelta(days=1))
            )
    if request.course_id is not None:
        found = {course.id: version for course, version in await published_courses(session, site_id=request.site_id)}
        title = (
            localized(found[request.course_id].content.get("title"), current_locale())
            if request.course_id in found
            else ""
        )
        title = title or _("Course %(number)s", number=request.course_id)
        if request.question_number:
            return _("%(course)s, question %(number)s", course=title, number=request.question_number)
        return title
    return ""


def _clock_words(request: Request, *, when: Any, confirm_days: int, now: dt.datetime) -> list[str]:
    """The clock as the asker reads it: what is due by when, paused while the team waits for them, and how long
    they have to confirm or reopen."""
    words: list[str] = []
    if request.status == RequestStatus.waiting:
        words.append(_("The team asked you something: reply below. Their clock is paused until you do."))
    elif request.status in OPEN_STATUSES:
        if request.first_response_at is None and request.response_due_at is not None:
            words.append(_("A first answer is due %(when)s.", when=when.phrase(request.response_due_at)))
        if request.resolution_due_at is not None:
            words.append(_("The team aims to solve it %(when)s.", when=when.phrase(request.resolution_due_at)))
        if request.response_breached_at is not None or request.resolution_breached_at is not None:
            words.append(_("It is late: the team's lead has been told."))
    elif request.status == RequestStatus.resolved and request.resolved_at is not None:
        until = request.resolved_at + dt.timedelta(days=confirm_days)
        words.append(
            _(
                "Solved? Confirm it, or reopen it until %(when)s. After that it closes by itself.",
                when=when.phrase(until),
            )
        )
    elif request.status == RequestStatus.closed and request.closed_at is not None:
        words.append(_("Closed %(when)s.", when=when.phrase(request.closed_at)))
    return words


async def _may_reopen(session: AsyncSession, request: Request, now: dt.datetime) -> bool:
    if request.status not in DONE_STATUSES or request.resolved_at is None:
        return False
    site = await accounts.get_site(session, request.site_id)
    return now <= request.resolved_at + dt.timedelta(days=site_settings(site).request_confirm_days)


async def _said_me_too(session: AsyncSession, user_id: int, request_ids: list[int]) -> set[int]:
    if not request_ids:
        return set()
    found = await session.scalars(
        select(MeToo.request_id).where(MeToo.user_id == user_id, MeToo.request_id.in_(request_ids))
    )
    return set(found)


async def _ideas(session: AsyncSession, *, viewer: User) -> list[IdeaRow]:
    """The site's ideas: open ones first, the most "me too"s first, then the newest."""
    is_open = case((Request.status.in_(OPEN_STATUSES), 0), else_=1)
    found = list(
        await session.scalars(
            select(Request)
            .where(Request.site_id == viewer.site_id, Request.kind == RequestKind.idea)
            .order_by(is_open, Request.me_too_count.desc(), Request.created_at.desc(), Request.id.desc())
            .limit(IDEAS_LIMIT)
        )
    )
    names = await _names(session, (row.asker_id for row in found))
    said = await _said_me_too(session, viewer.id, [row.id for row in found])
    return [
        IdeaRow(request=row, asker=names.get(row.asker_id, ""), mine=row.asker_id == viewer.id, me_too=row.id in said)
        for row in found
    ]


# The pages -----------------------------------------------------------------------------------------------------


class AskerController(Controller):
    """The asker's requests: ask, follow, reply, confirm or reopen, rate; the site's ideas."""

    path = BASE
    include_in_schema = False
    guards = [requires("agent")]

    async def _new_page(
        self,
        request: AnyRequest,
        db: AsyncSession,
        user: User,
        *,
        texts: Mapping[str, str],
        error: DomainError | None = None,
    ) -> Template:
        now = utcnow()
        kind = _kind_of(texts.get("kind", ""))
        expected = ExpectedTimes(db, user.site_id, now)
        context = _common(user, now, error=error, typed=dict(texts), draft_kind=kind, form_action=BASE)
        if kind is None:
            context["picker"] = [
                (option, kinds.kind_label(option), kinds.kind_hint(option), await expected.for_kind(option))
                for option in kinds.KIND_ORDER
            ]
            context["carried"] = {name: value for name, value in texts.items() if value and name != "kind"}
        else:
            context["template"] = kinds.TEMPLATE[kind]
            context["choices"] = await form_choices(db, asker=user, kind=kind, texts=texts, now=now)
            context["expected"] = await expected.for_kind(kind)
            context["suggest_url"] = f"{BASE}/suggest"
            context["today"] = now.astimezone(user_zone(user)).date()
        return page(request, NEW_PAGE, context, status_code=refused_status(request, error))

    async def _show_page(
        self,
        request: AnyRequest,
        db: AsyncSession,
        user: User,
        request_id: int,
        *,
        error: DomainError | None = None,
        done: str = "",
        typed: Mapping[str, str] | None = None,
        back: str = "",
    ) -> Template:
        if back == "ideas":
            return await self._ideas_page(request, db, user, error=error, done=done)
        now = utcnow()
        found = await visible_request(db, request_id=request_id, viewer=user)
        site = await accounts.get_site(db, found.site_id)
        confirm_days = site_settings(site).request_confirm_days
        teams = await _teams(db, [found.team_id])
        names = await _names(db, [found.owner_id, found.asker_id])
        context = _common(user, now, error=error, done=done if done in DONE_NOTICES else "", typed=dict(typed or {}))
        is_asker = found.asker_id == user.id
        said = await _said_me_too(db, user.id, [found.id])
        context.update(
            r=found,
            asker_name=names.get(found.asker_id, ""),
            is_asker=is_asker,
            holder=_holder(found, teams, names),
            expected=(
                await ExpectedTimes(db, found.site_id, now).label(found.kind, found.team_id)
                if found.status in OPEN_STATUSES
                else ""
            ),
            clock_words=_clock_words(found, when=context["when"], confirm_days=confirm_days, now=now),
            history=await _asker_history(db, found),
            attachments=await attachments_of(db, request_id=found.id, internal=False),
            link_text=await _link_text(db, found, user, now),
            template=kinds.TEMPLATE[found.kind],
            can_reply=is_asker and found.status in OPEN_STATUSES,
            can_confirm=is_asker and found.status == RequestStatus.resolved,
            can_reopen=is_asker and await _may_reopen(db, found, now),
            can_rate=is_asker and found.status in DONE_STATUSES and found.rating is None,
            can_me_too=found.kind == RequestKind.idea and not is_asker,
            said_me_too=found.id in said,
        )
        return page(request, SHOW_PAGE, context, status_code=refused_status(request, error))

    async def _ideas_page(
        self, request: AnyRequest, db: AsyncSession, user: User, *, error: DomainError | None = None, done: str = ""
    ) -> Template:
        now = utcnow()
        context = _common(user, now, error=error, done=done if done in DONE_NOTICES else "")
        context["ideas"] = await _ideas(db, viewer=user)
        return page(request, IDEAS_PAGE, context, status_code=refused_status(request, error))

    async def _act(
        self,
        request: AnyRequest,
        db: AsyncSession,
        user: User,
        request_id: int,
        act: Any,
        *,
        done: str,
        texts: Mapping[str, str] | None = None,
        back: str = "",
    ) -> Any:
        """A form on a request's page (or the ideas page): refused there, or done; another's request is Not found."""
        then = f"{BASE}/ideas?done={done}" if back == "ideas" else f"{BASE}/{request_id}?done={done}"
        return await act_on_page(
            request,
            db,
            act,
            render=partial(self._show_page, request, db, user, request_id, back=back),
            then=then,
            done=done,
            refused_with={"typed": dict(texts or {})} if back != "ideas" else None,
            raised={404},
        )

    @get("/", name="requests:app-mine")
    async def mine(self, request: AnyRequest, db: Db, current_user: CurrentUser) -> Template:
        now = utcnow()
        context = _common(current_user, now, rows=await _mine(db, asker=current_user, now=now))
        return page(request, MINE_PAGE, context)

    @get("/new", name="requests:app-new")
    async def new(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        kind: str = "",
        shift: str = "",
        course: str = "",
        question: str = "",
        period: str = "",
        line: str = "",
        line_ref: str = "",
    ) -> Template:
        texts = {
            "kind": kind,
            "shift": shift,
            "course": course,
            "question": question,
            "period": period,
            "line": line,
            "line_ref": line_ref,
        }
        return await self._new_page(request, db, current_user, texts={k: v[:200] for k, v in texts.items()})

    @post("/", name="requests:app-raise", status_code=200, request_max_body_size=UPLOAD_BODY_MAX_BYTES)
    async def raise_request(self, request: AnyRequest, db: Db, current_user: CurrentUser) -> Any:
        """The template form, with a file when one comes (multipart); refused beside its field, nothing written."""
        form = await request.form()
        texts = _texts(form, DRAFT_FIELDS)
        try:
            draft = parse_fields(RequestDraft, texts)
            upload = await attachments.upload_of(form.get(attachments.FIELD))
            async with db.begin_nested():
                raised = await intake.raise_request(db, asker=current_user, draft=draft, now=utcnow(), upload=upload)
        except DomainError as error:
            if error.status_code == 404:
                raise
            return await self._new_page(request, db, current_user, texts=texts, error=error)
        return see_other(f"{BASE}/{raised.id}?done=raised")

    @get("/ideas", name="requests:app-ideas")
    async def ideas(self, request: AnyRequest, db: Db, current_user: CurrentUser, done: str = "") -> Template:
        return await self._ideas_page(request, db, current_user, done=done)

    @get("/suggest", name="requests:app-suggest")
    async def suggest(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, text: str = "", title: str = ""
    ) -> Template:
        """What may already answer the asker, while they type (``text``, or the title field itself)."""
        now = utcnow()
        found = await suggestions(db, viewer=current_user, text=(text or title)[:400], now=now)
        return page(request, SUGGEST_PAGE, _common(current_user, now, found=found, query=text or title))

    @get("/{request_id:int}", name="requests:app-show")
    async def show(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, request_id: PathId, done: str = ""
    ) -> Template:
        return await self._show_page(request, db, current_user, request_id, done=done)

    @get("/{request_id:int}/files/{attachment_id:int}", name="requests:app-file")
    async def file(
        self, db: Db, current_user: CurrentUser, request_id: PathId, attachment_id: PathId
    ) -> Response[bytes]:
        """A file sent with a request, to those who may see it: always downloaded, never run."""
        found = await attachment_for(db, request_id=request_id, attachment_id=attachment_id, viewer=current_user)
        return Response(content=found.data, media_type=found.content_type, headers=serve_headers(found))

    @post(
        "/{request_id:int}/reply",
        name="requests:app-reply",
        status_code=200,
        request_max_body_size=UPLOAD_BODY_MAX_BYTES,
    )
    async def reply(self, request: AnyRequest, db: Db, current_user: CurrentUser, request_id: PathId) -> Any:
        form = await request.form()
        texts = _texts(form, ("body",))

        async def act() -> None:
            parsed = parse_fields(ReplyForm, texts)
            upload = await attachments.upload_of(form.get(attachments.FIELD))
            await actions.reply(
                db, request_id=request_id, actor=current_user, body=parsed.body, now=utcnow(), upload=upload
            )

        return await self._act(request, db, current_user, request_id, act, done="replied", texts=texts)

    @post("/{request_id:int}/confirm", name="requests:app-confirm", status_code=200)
    async def confirm(self, request: AnyRequest, db: Db, current_user: CurrentUser, request_id: PathId) -> Any:
        async def act() -> None:
            await actions.confirm(db, request_id=request_id, actor=current_user, now=utcnow())

        return await self._act(request, db, current_user, request_id, act, done="confirmed")

    @post("/{request_id:int}/reopen", name="requests:app-reopen", status_code=200)
    async def reopen(self, request: AnyRequest, db: Db, current_user: CurrentUser, request_id: PathId) -> Any:
        texts = _texts(await request.form(), ("reason",))

        async def act() -> None:
            parsed = parse_fields(ReopenForm, texts)
            await actions.reopen(db, request_id=request_id, actor=current_user, reason=parsed.reason, now=utcnow())

        return await self._act(request, db, current_user, request_id, act, done="reopened", texts=texts)

    @post("/{request_id:int}/rate", name="requests:app-rate", status_code=200)
    async def rate(self, request: AnyRequest, db: Db, current_user: CurrentUser, request_id: PathId) -> Any:
        texts = _texts(await request.form(), ("rating", "comment"))

        async def act() -> None:
            parsed = parse_fields(RateForm, texts)
            await actions.rate(
                db,
                request_id=request_id,
                actor=current_user,
                rating=parsed.rating,
                comment=parsed.comment,
                now=utcnow(),
            )

        return await self._act(request, db, current_user, request_id, act, done="rated", texts=texts)

    @post("/{request_id:int}/me-too", name="requests:app-me-too", status_code=200)
    async def me_too(self, request: AnyRequest, db: Db, current_user: CurrentUser, request_id: PathId) -> Any:
        form = await request.form()
        texts = _texts(form, ("on",))
        back = "ideas" if form.get("back") == "ideas" else ""

        async def act() -> None:
            parsed = parse_fields(MeTooForm, texts)
            await actions.me_too(db, request_id=request_id, actor=current_user, on=parsed.on, now=utcnow())

        return await self._act(request, db, current_user, request_id, act, done="me_too", back=back)
