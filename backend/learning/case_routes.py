"""The case library on the web: the agent's library and case pages, the coordinator's case desk, the JSON API.

Pages answer refusals on the page: a plain form post gets the page back with the refusal's status
(409, 422) and what was typed, htmx gets 200 with the refusal in the swapped piece. Whatever is not
the caller's to see is 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Router, delete, get, post, put
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import User, skill_label
from backend.accounts.schemas import FormPost
from backend.accounts.zones import user_zone
from backend.core.bounds import PathId
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.i18n import week_label
from backend.core.security import requires
from backend.core.slots import IsoWeek, SlotError
from backend.core.templating import is_htmx, page, refused_status
from backend.core.web import AnyRequest, Db, FormBody, see_other
from backend.learning import cases
from backend.learning.case_models import Case, CaseStatus
from backend.learning.case_schemas import CaseForm, CaseOut, CommentForm, UseForm, UseOut

LIBRARY_PAGE = "learning/cases/library.html"
CASE_PAGE = "learning/cases/case.html"
USE_BUTTON = "learning/cases/_use.html"
COMMENTS = "learning/cases/_comments.html"
ADMIN_LIST = "learning/cases/admin_list.html"
ADMIN_FORM = "learning/cases/admin_form.html"
LANGUAGES = {"en": "English", "zh-Hans": "中文"}
NOTICES = {"created", "saved", "published", "unpublished", "deleted", "commented", "comment-deleted"}


def case_week_label(week: str) -> str:
    """A case's ``2026-W49`` as a reader takes it: "Week of 30 Nov" (the text itself if it is not a week)."""
    try:
        return week_label(IsoWeek.parse(week).monday)
    except SlotError:
        return week


def _clock(user: User) -> Any:
    zone = user_zone(user)
    return lambda moment: moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _shared(user: User) -> dict[str, Any]:
    return {"user": user, "week_label": case_week_label, "languages": LANGUAGES, "clock": _clock(user)}


# The agent's library ------------------------------------------------------------------------


class CaseLibraryController(Controller):
    """This week's cases, the best applied, search, and a case with its phrases, marks and comments."""

    path = "/app/cases"
    include_in_schema = False
    guards = [requires("agent")]

    @get("/", name="cases:library")
    async def library(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, q: str = "", view: str = ""
    ) -> Template:
        site = await accounts.get_site(db, current_user.site_id)
        now = utcnow()
        query = q.strip()[: cases.QUERY_MAX_CHARS]
        context: dict[str, Any] = {
            **_shared(current_user),
            "tab": "learn",
            "q": query,
            "view": "best" if view == "best" else "",
            "rule": cases.best_applied_rule(),
            "searchable": bool(cases.search_words(query)),
            "results": await cases.search(db, site_id=site.id, query=query, now=now) if query else [],
            "library": None if query else await cases.library(db, viewer=current_user, site=site, now=now),
        }
        return page(request, LIBRARY_PAGE, context)

    async def _case_page(
        self,
        request: AnyRequest,
        db: AsyncSession,
        agent: User,
        case_id: int,
        *,
        error: DomainError | None = None,
        body: str = "",
        done: str = "",
        template: str = CASE_PAGE,
    ) -> Template:
        case = await cases.visible_case(db, case_id=case_id, viewer=agent)
        context = {
            **_shared(agent),
            "tab": "learn",
            "case": case,
            "summary": await cases.summarise(db, case, utcnow()),
            "use": await cases.use_state(db, case_id=case.id, user_id=agent.id),
            "comments": await cases.comments(db, case_id=case.id, viewer=agent),
            "base": f"{self.path}/{case.id}",
            "error": error,
            "body": body,
            "done": done,
        }
        return page(request, template, context, status_code=refused_status(request, error))

    @get("/{case_id:int}", name="cases:case")
    async def show(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, case_id: PathId, done: str = ""
    ) -> Template:
        return await self._case_page(request, db, current_user, case_id, done=done if done in NOTICES else "")

    @post("/{case_id:int}/use", name="cases:use", status_code=200)
    async def use(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        case_id: PathId,
        data: Annotated[UseForm, FormBody],
    ) -> Any:
        await cases.set_used(db, case_id=case_id, agent=current_user, used=data.used == "1", now=utcnow())
        if is_htmx(request):
            return await self._case_page(request, db, current_user, case_id, template=USE_BUTTON)
        return see_other(f"{self.path}/{case_id}#use")

    @post("/{case_id:int}/comments", name="cases:comment", status_code=200)
    async def comment(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        case_id: PathId,
        data: Annotated[CommentForm, FormBody],
    ) -> Any:
        template = COMMENTS if is_htmx(request) else CASE_PAGE
        try:
            async with db.begin_nested():
                await cases.add_comment(db, case_id=case_id, author=current_user, body=data.body, now=utcnow())
        except DomainError as error:
            if error.status_code == 404:
                raise
            return await self._case_page(
                request, db, current_user, case_id, error=error, body=data.body, template=template
            )
        if is_htmx(request):
            return await self._case_page(request, db, current_user, case_id, done="commented", template=COMMENTS)
        return see_other(f"{self.path}/{case_id}?done=commented#comments")

    @post("/{case_id:int}/comments/{comment_id:int}/delete", name="cases:comment-delete", status_code=200)
    async def delete_comment(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        case_id: PathId,
        comment_id: PathId,
        data: FormPost,
    ) -> Any:
        await cases.delete_comment(db, case_id=case_id, comment_id=comment_id, user=current_user)
        if is_htmx(request):
            return await self._case_page(request, db, current_user, case_id, done="comment-deleted", template=COMMENTS)
        return see_other(f"{self.path}/{case_id}?done=comment-deleted#comments")


# The coordinator's case desk ----------------------------------------------------------------


class CaseAdminController(Controller):
    """Write a case from the template, publish it for a week, take it back, and keep the comments tidy."""

    path = "/admin/cases"
    include_in_schema = False
    guards = [requires("coordinator")]

    async def _form(
        self,
        request: AnyRequest,
        db: AsyncSession,
        staff: User,
        *,
        case: Case | None,
        draft: cases.CaseDraft,
        error: DomainError | None = None,
        done: str = "",
    ) -> Template:
        skills = await accounts.list_skills(db, site_id=staff.site_id)
        context = {
            **_shared(staff),
            "case": case,
            "draft": draft,
            "skills": [("", _("No particular skill"))] + [(s.code, skill_label(s)) for s in skills],
            "language_options": list(LANGUAGES.items()),
            "summary": await cases.summarise(db, case, utcnow()) if case is not None else None,
            "comments": await cases.comments(db, case_id=case.id, viewer=staff) if case is not None else [],
            "limits": cases,
            "error": error,
            "done": done,
        }
        return page(request, ADMIN_FORM, context, status_code=refused_status(request, error))

    async def _edit_page(
        self,
        request: AnyRequest,
        db: AsyncSession,
        staff: User,
        case_id: int,
        *,
        error: DomainError | None = None,
        done: str = "",
    ) -> Template:
        case = await cases.staff_case(db, case_id=case_id, site_id=staff.site_id)
        skill = await cases.skill_of(db, case)
        draft = cases.draft_of(case, skill.code if skill is not None else "")
        return await self._form(request, db, staff, case=case, draft=draft, error=error, done=done)

    @get("/", name="cases:admin")
    async def index(self, request: AnyRequest, db: Db, current_user: CurrentUser, done: str = "") -> Template:
        site = await accounts.get_site(db, current_user.site_id)
        now = utcnow()
        context = {
            **_shared(current_user),
            "summaries": await cases.staff_list(db, site_id=site.id, now=now),
            "best": await cases.best_applied(db, site_id=site.id, now=now),
            "this_week": str(cases.current_week(site, now)),
            "rule": cases.best_applied_rule(),
            "done": done if done in NOTICES else "",
        }
        return page(request, ADMIN_LIST, context)

    @get("/new", name="cases:new")
    async def new(self, request: AnyRequest, db: Db, current_user: CurrentUser) -> Template:
        site = await accounts.get_site(db, current_user.site_id)
        return await self._form(
            request, db, current_user, case=None, draft=cases.blank_draft(site, current_user, utcnow())
        )

    @post("/", name="cases:create", status_code=200)
    async def create(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, data: Annotated[CaseForm, FormBody]
    ) -> Any:
        try:
            async with db.begin_nested():
                case = await cases.create_case(
                    db, author=current_user, draft=data.draft(), publish=data.action == "publish", now=utcnow()
                )
        except DomainError as error:
            return await self._form(request, db, current_user, case=None, draft=data.draft(), error=error)
        done = "published" if case.status is CaseStatus.published else "created"
        return see_other(f"{self.path}/{case.id}?done={done}")

    @get("/{case_id:int}", name="cases:edit")
    async def edit(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, case_id: PathId, done: str = ""
    ) -> Template:
        return await self._edit_page(request, db, current_user, case_id, done=done if done in NOTICES else "")

    @post("/{case_id:int}", name="cases:update", status_code=200)
    async def update(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        case_id: PathId,
        data: Annotated[CaseForm, FormBody],
    ) -> Any:
        case = await cases.staff_case(db, case_id=case_id, site_id=current_user.site_id)
        try:
            async with db.begin_nested():
                await cases.update_case(
                    db,
                    case_id=case.id,
                    staff=current_user,
                    draft=data.draft(),
                    publish=data.action == "publish",
                    now=utcnow(),
                )
        except DomainError as error:
            return await self._form(request, db, current_user, case=case, draft=data.draft(), error=error)
        done = "published" if data.action == "publish" else "saved"
        return see_other(f"{self.path}/{case.id}?done={done}")

    @post("/{case_id:int}/publish", name="cases:publish", status_code=200)
    async def publish(self, db: Db, current_user: CurrentUser, case_id: PathId, data: FormPost) -> Any:
        await cases.set_published(db, case_id=case_id, staff=current_user, published=True, now=utcnow())
        return see_other(f"{self.path}/{case_id}?done=published")

    @post("/{case_id:int}/unpublish", name="cases:unpublish", status_code=200)
    async def unpublish(self, db: Db, current_user: CurrentUser, case_id: PathId, data: FormPost) -> Any:
        await cases.set_published(db, case_id=case_id, staff=current_user, published=False, now=utcnow())
        return see_other(f"{self.path}/{case_id}?done=unpublished")

    @post("/{case_id:int}/delete", name="cases:delete", status_code=200)
    async def delete_case(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, case_id: PathId, data: FormPost
    ) -> Any:
        try:
            async with db.begin_nested():
                await cases.delete_draft(db, case_id=case_id, staff=current_user)
        except DomainError as error:
            if error.status_code == 404:
                raise
            return await self._edit_page(request, db, current_user, case_id, error=error)
        return see_other(f"{self.path}/?done=deleted")

    @post("/{case_id:int}/comments", name="cases:admin-comment", status_code=200)
    async def comment(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        case_id: PathId,
        data: Annotated[CommentForm, FormBody],
    ) -> Any:
        try:
            async with db.begin_nested():
                await cases.add_comment(db, case_id=case_id, author=current_user, body=data.body, now=utcnow())
        except DomainError as error:
            if error.status_code == 404:
                raise
            return await self._edit_page(request, db, current_user, case_id, error=error)
        return see_other(f"{self.path}/{case_id}?done=commented#comments")

    @post("/{case_id:int}/comments/{comment_id:int}/delete", name="cases:admin-comment-delete", status_code=200)
    async def delete_comment(
        self, db: Db, current_user: CurrentUser, case_id: PathId, comment_id: PathId, data: FormPost
    ) -> Any:
        await cases.delete_comment(db, case_id=case_id, comment_id=comment_id, user=current_user)
        return see_other(f"{self.path}/{case_id}?done=comment-deleted#comments")


# The JSON API -------------------------------------------------------------------------------


class CaseApiController(Controller):
    """Published cases of my site as JSON, with search; agents mark "I used this"."""

    path = "/api/v1/cases"
    tags = ["cases"]

    @get("/", name="api:cases", guards=[requires("agent", "coordinator")])
    async def list_cases(self, db: Db, current_user: CurrentUser, q: str = "") -> list[CaseOut]:
        """Published cases, newest week first; with ``q``, those containing every word of it (see cases.py)."""
        site = await accounts.get_site(db, current_user.site_id)
        now = utcnow()
        if q.strip():
            found = await cases.search(db, site_id=site.id, query=q, now=now)
        else:
            library = await cases.library(db, viewer=current_user, site=site, now=now)
            found = library.this_week + library.earlier
        return [CaseOut.of(summary, summary.skill_code or None) for summary in found]

    @get("/{case_id:int}", name="api:case", guards=[requires("agent", "coordinator")])
    async def get_case(self, db: Db, current_user: CurrentUser, case_id: PathId) -> CaseOut:
        case = await cases.visible_case(db, case_id=case_id, viewer=current_user, published_only=True)
        summary = await cases.summarise(db, case, utcnow())
        return CaseOut.of(summary, summary.skill_code or None)

    @put("/{case_id:int}/use", name="api:case-use", guards=[requires("agent")], status_code=200)
    async def mark_used(self, db: Db, current_user: CurrentUser, case_id: PathId) -> UseOut:
        """Mark "I used this"; marking again changes nothing."""
        state = await cases.set_used(db, case_id=case_id, agent=current_user, used=True, now=utcnow())
        return UseOut.of(case_id, state)

    @delete("/{case_id:int}/use", name="api:case-unuse", guards=[requires("agent")], status_code=200)
    async def unmark_used(self, db: Db, current_user: CurrentUser, case_id: PathId) -> UseOut:
        """Take back "I used this"; taking it back again changes nothing."""
        state = await cases.set_used(db, case_id=case_id, agent=current_user, used=False, now=utcnow())
        return UseOut.of(case_id, state)


router = Router(path="/", route_handlers=[CaseLibraryController, CaseAdminController, CaseApiController])
