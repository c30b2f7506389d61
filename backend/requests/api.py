"""Requests as JSON (API tokens or a browser session): raise one, list mine or a queue, read one, act on it.

The same services and rules as the pages: an asker sees their own requests (and the site's ideas), staff the
queues they work; another person's request answers 404, an action the caller's role may not take 403, one the
request's state no longer allows (a second confirm) 409, and a refused field 422 naming it.
"""

from __future__ import annotations

import re

from litestar import Controller, get, post
from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import User
from backend.core.bounds import Page, PathId
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.security import signed_in
from backend.core.web import Db
from backend.requests import access, actions, intake, queues
from backend.requests.api_schemas import (
    AnswerBody,
    EventOut,
    HandOverBody,
    NewRequestBody,
    PauseBody,
    ReopenBody,
    RequestDetailOut,
    RequestOut,
    ResolveBody,
    ResumeBody,
)
from backend.requests.models import OPEN_STATUSES, Request, RequestEvent
from backend.requests.schemas import RequestDraft

MINE_LISTED = 200  # the caller's own requests in one page: open first, then the newest
QUEUE = re.compile(r"^(?:team:(?P<team>[1-9]\d{0,17})|(?P<mine>mine)|(?P<site>site))$")


def draft_of(body: NewRequestBody) -> RequestDraft:
    """The page's template from a JSON body (the same checks then apply to both)."""
    return RequestDraft(
        kind=body.kind,
        title=body.title,
        details=body.details,
        happened_on=body.happened_on,
        expected=body.expected,
        shift=body.shift,
        period=body.period,
        line=body.line,
        line_ref=body.line_ref,
        course=body.course,
        question=body.question,
    )


async def detail(db: AsyncSession, request: Request, viewer: User) -> RequestDetailOut:
    """The request with its history; internal notes only for those who work on it."""
    staff_view = await access.may_act(db, request, viewer)
    query = select(RequestEvent).where(RequestEvent.request_id == request.id)
    if not staff_view:
        query = query.where(RequestEvent.internal.is_(False))
    events = await db.scalars(query.order_by(RequestEvent.at, RequestEvent.id))
    return RequestDetailOut(request=RequestOut.of(request), history=[EventOut.of(event) for event in events])


class RequestApiController(Controller):
    """Any signed-in user raises and follows requests; staff work them."""

    path = "/api/v1/requests"
    tags = ["requests"]
    guards = [signed_in]

    @post("/", name="api:request-create", status_code=201)
    async def create(self, db: Db, current_user: CurrentUser, data: NewRequestBody) -> RequestOut:
        """Raise a request (201): routed to its team, on its clock. A link the kind does not take, a shift that
        is not mine, a day in the future: 422 naming the field."""
        request = await intake.raise_request(db, asker=current_user, draft=draft_of(data), now=utcnow())
        return RequestOut.of(request)

    @get("/", name="api:requests")
    async def list_requests(
        self, db: Db, current_user: CurrentUser, queue: str = "", page: Page = 1
    ) -> list[RequestOut]:
        """My own requests, open first; staff name a queue: ``queue=team:<id>``, ``mine`` (what I hold) or
        ``site`` (the site's queue, no team: coordinators), sorted by time left, fifty a ``page``."""
        if not queue:
            mine = await db.scalars(
                select(Request)
                .where(Request.asker_id == current_user.id)
                .order_by(case((Request.status.in_(OPEN_STATUSES), 0), else_=1), Request.created_at.desc())
                .offset((page - 1) * MINE_LISTED)
                .limit(MINE_LISTED)
            )
            return [RequestOut.of(request) for request in mine]
        chosen = QUEUE.match(queue)
        if chosen is None:
            raise DomainError(_("Name a queue: team:<id>, mine or site."), field="queue")
        team = chosen.group("team")
        found_page = await queues.queue(
            db,
            staff=current_user,
            team_id=int(team) if team else None,
            mine=chosen.group("mine") is not None,
            page=page - 1,
            now=utcnow(),
        )
        ids = [row.id for row in found_page.rows]
        found = {request.id: request for request in await db.scalars(select(Request).where(Request.id.in_(ids)))}
        return [RequestOut.of(found[request_id]) for request_id in ids if request_id in found]

    @get("/{request_id:int}", name="api:request")
    async def read(self, db: Db, current_user: CurrentUser, request_id: PathId) -> RequestDetailOut:
        """One request I may see, with its history (404 for anyone else's)."""
        request = await access.visible_request(db, request_id=request_id, viewer=current_user)
        return await detail(db, request, current_user)

    @post("/{request_id:int}/answer", name="api:request-answer", status_code=200)
    async def answer(self, db: Db, current_user: CurrentUser, request_id: PathId, data: AnswerBody) -> RequestOut:
        """An answer the asker sees (the first one meets the first-response target)."""
        request = await actions.answer(db, request_id=request_id, actor=current_user, now=utcnow(), body=data.body)
        return RequestOut.of(request)

    @post("/{request_id:int}/hand-over", name="api:request-hand-over", status_code=200)
    async def hand_over(self, db: Db, current_user: CurrentUser, request_id: PathId, data: HandOverBody) -> RequestOut:
        """To another team (perhaps one of its members) with a note: the reason and what has been done."""
        request = await actions.hand_over(
            db,
            request_id=request_id,
            actor=current_user,
            now=utcnow(),
            to_team_id=data.team,
            to_user_id=data.user,
            note=data.note,
        )
        return RequestOut.of(request)

    @post("/{request_id:int}/pause", name="api:request-pause", status_code=200)
    async def pause(self, db: Db, current_user: CurrentUser, request_id: PathId, data: PauseBody) -> RequestOut:
        """Ask the asker: the request waits for them and its clock stops (the only reason a clock stops)."""
        request = await actions.ask_asker(
            db, request_id=request_id, actor=current_user, now=utcnow(), body=data.body, reason=data.reason
        )
        return RequestOut.of(request)

    @post("/{request_id:int}/resume", name="api:request-resume", status_code=200)
    async def resume(self, db: Db, current_user: CurrentUser, request_id: PathId, data: ResumeBody) -> RequestOut:
        """The asker replies: the request is worked again and its clock runs."""
        request = await actions.reply(db, request_id=request_id, actor=current_user, now=utcnow(), body=data.body)
        return RequestOut.of(request)

    @post("/{request_id:int}/resolve", name="api:request-resolve", status_code=200)
    async def resolve(self, db: Db, current_user: CurrentUser, request_id: PathId, data: ResolveBody) -> RequestOut:
        """Resolved with its root cause; the asker confirms or reopens it (else it closes by itself)."""
        request = await actions.resolve(
            db,
            request_id=request_id,
            actor=current_user,
            now=utcnow(),
            root_cause=data.root_cause,
            resolution=data.resolution,
        )
        return RequestOut.of(request)

    @post("/{request_id:int}/reopen", name="api:request-reopen", status_code=200)
    async def reopen(self, db: Db, current_user: CurrentUser, request_id: PathId, data: ReopenBody) -> RequestOut:
        """The asker reopens a resolved request within the site's confirm days."""
        request = await actions.reopen(db, request_id=request_id, actor=current_user, now=utcnow(), reason=data.reason)
        return RequestOut.of(request)

    @post("/{request_id:int}/confirm", name="api:request-confirm", status_code=200)
    async def confirm(self, db: Db, current_user: CurrentUser, request_id: PathId) -> RequestOut:
        """The asker confirms the resolution: closed (409 if it is not resolved, e.g. confirmed already)."""
        request = await actions.confirm(db, request_id=request_id, actor=current_user, now=utcnow())
        return RequestOut.of(request)
