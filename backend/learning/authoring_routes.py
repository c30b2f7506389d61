"""Course authoring pages for coordinators and admins: list, create, edit, preview, publish, import, export, stats.

Every edit is one form applied to the course's draft document (``authoring``)
and saved through ``courses.save_draft`` inside a savepoint, so a refused form
leaves nothing behind: the page comes back with the problem beside its field
(422, or 200 to htmx, which swaps only 2xx answers). Editing a published course
starts its next draft version; the published version and attempts drawn from it
stay as they are. A course of another site is 404 on every address.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any

from litestar import Controller, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import Skill, User, skill_label
from backend.core.bounds import PathId, PathNumber, QueryNumber
from backend.core.errors import DomainError, NotFound
from backend.core.i18n import current_locale
from backend.core.i18n import gettext as _
from backend.core.security import Principal, requires
from backend.core.templating import page, refused_status
from backend.core.web import AnyRequest, CurrentPrincipal, Db, FormBody, see_other
from backend.learning import authoring, courses, stats
from backend.learning.authoring_schemas import (
    MAX_CHOICES,
    MAX_REPLIES,
    CreateCourseForm,
    LessonForm,
    MetadataForm,
    MoveForm,
    QuestionForm,
)
from backend.learning.models import Course, CourseVersion
from backend.learning.render import markdown_html

BASE = "/admin/courses"
COURSE_PAGE = "learning/admin/course.html"
LESSON_PAGE = "learning/admin/lesson.html"
QUESTION_PAGE = "learning/admin/question.html"
IMPORT_MAX_BYTES = 2 * 1024 * 1024
NEW_COURSE_DEFAULTS = {
    "estimated_minutes": 6,
    "certifies": courses.ONBOARDING,
    "draw": 1,
    "pass_percent": 80,
    "partial_credit": "on",
    "time_limit_minutes": 15,
    "cooldown_minutes": 30,
    "attempts_per_day": 3,
    "question_kind": "single",
}


def course_url(course: Course, rest: str = "") -> str:
    return f"{BASE}/{course.id}{rest}"


def localize(text: Any) -> str:
    return courses.localized(text, current_locale())


def certifies_options(skills: list[Skill]) -> list[tuple[str, str]]:
    return [(courses.ONBOARDING, _("Onboarding")), *((skill.code, skill_label(skill)) for skill in skills)]


def common(**extra: Any) -> dict[str, Any]:
    """What every authoring template uses: the text picker, Markdown and the form's row counts."""
    return {
        "loc": localize,
        "markdown": markdown_html,
        "max_choices": MAX_CHOICES,
        "max_replies": MAX_REPLIES,
        "error": None,
        **extra,
    }


def no_field(_path: str) -> None:
    """Deleting or moving has no form: a problem it causes is named by its path alone."""
    return None


class Editing:
    """The course asked for (404 unless it is of the caller's site), the version being edited, and its document."""

    def __init__(self, course: Course, version: CourseVersion, author: User, skills: list[Skill]) -> None:
        self.course, self.version, self.author, self.skills = course, version, author, skills
        self.doc: dict[str, Any] = dict(version.content)

    @classmethod
    async def of(cls, db: AsyncSession, author: User, course_id: int) -> Editing:
        course = await courses.course_of_site(db, site_id=author.site_id, course_id=course_id)
        version = await authoring.editable_version(db, course_id=course.id)
        return cls(course, version, author, await accounts.list_skills(db, site_id=author.site_id))

    async def save(self, db: AsyncSession, doc: dict[str, Any], field_of: authoring.FieldOf) -> CourseVersion:
        """Check ``doc`` and store it as the course's draft; all or nothing."""
        content = authoring.validated(doc, field_of)
        async with db.begin_nested():
            try:
                return await courses.save_draft(db, course=self.course, content=content, author=self.author)
            except DomainError as error:  # the checks that need the database: the skill certified, the code
                raise DomainError(error.message, field=field_of(error.field or "")) from None

    async def context(self, db: AsyncSession, **extra: Any) -> dict[str, Any]:
        current = await courses.current_version(db, course_id=self.course.id)
        draft = await courses.draft_version(db, course_id=self.course.id)
        doc = dict((draft or self.version).content)
        context = {
            "course": self.course,
            "current": current,
            "draft": draft,
            "doc": doc,
            "versions": await courses.versions_of(db, course_id=self.course.id),
            "certifies": certifies_options(self.skills),
            "meta": authoring.metadata_values(doc),
            "meta_error": None,
        }
        return common(**(context | extra))


class CourseAuthoringController(Controller):
    """Coordinators and admins write the site's courses; agents and finance get 403."""

    path = BASE
    guards = [requires("coordinator")]
    include_in_schema = False

    # The list, import and a new course ------------------------------------------------------

    async def _list(self, db: AsyncSession, principal: Principal, **extra: Any) -> dict[str, Any]:
        skills = {skill.code: skill_label(skill) for skill in await accounts.list_skills(db, site_id=principal.site_id)}
        rows = await authoring.course_rows(db, site_id=principal.site_id)
        return common(rows=rows, skill_names=skills | {courses.ONBOARDING: _("Onboarding")}, **extra)

    @get("/", name="authoring:courses")
    async def index(self, request: AnyRequest, db: Db, principal: CurrentPrincipal) -> Template:
        return page(request, "learning/admin/courses.html", await self._list(db, principal))

    @post("/import", name="authoring:import", status_code=303, request_max_body_size=IMPORT_MAX_BYTES)
    async def import_json(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, current_user: CurrentUser
    ) -> Any:
        """A course from a JSON file or pasted text: a new course, or the next draft of the course with its code."""
        form = await request.form()
        upload, pasted = form.get("file"), str(form.get("json") or "")
        try:
            raw: bytes | str = pasted
            if isinstance(upload, UploadFile) and upload.filename:
                raw = await upload.read()
            if not raw or not raw.strip():
                raise DomainError(_("Choose a JSON file or paste the course."), field="file")
            site = await accounts.get_site(db, principal.site_id)
            async with db.begin_nested():
                course = await courses.import_course(
                    db, site=site, raw=raw, author=current_user, publish=bool(form.get("publish"))
                )
        except DomainError as error:
            context = await self._list(db, principal, import_error=error, pasted=pasted)
            return page(request, "learning/admin/courses.html", context, status_code=refused_status(request, error))
        return see_other(course_url(course))

    def _new_page(
        self,
        request: AnyRequest,
        skills: list[Skill],
        values: dict[str, Any],
        error: DomainError | None = None,
    ) -> Template:
        context = common(values=values, certifies=certifies_options(skills), error=error)
        return page(request, "learning/admin/new.html", context, status_code=refused_status(request, error))

    @get("/new", name="authoring:new")
    async def new(self, request: AnyRequest, db: Db, principal: CurrentPrincipal) -> Template:
        skills = await accounts.list_skills(db, site_id=principal.site_id)
        return self._new_page(request, skills, dict(NEW_COURSE_DEFAULTS))

    @post("/new", name="authoring:create", status_code=303)
    async def create(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        current_user: CurrentUser,
        data: Annotated[CreateCourseForm, FormBody],
    ) -> Any:
        skills = await accounts.list_skills(db, site_id=principal.site_id)
        try:
            content = authoring.validated(authoring.new_course(data), authoring.create_field)
            site = await accounts.get_site(db, principal.site_id)
            async with db.begin_nested():
                course = await courses.create_course(db, site=site, content=content, author=current_user)
        except DomainError as error:
            values = authoring.form_values(data)
            return self._new_page(request, skills, values, error)
        return see_other(course_url(course))

    # The editor -------------------------------------------------------------------------------

    @get("/{course_id:int}", name="authoring:course")
    async def course(self, request: AnyRequest, db: Db, current_user: CurrentUser, course_id: PathId) -> Template:
        editing = await Editing.of(db, current_user, course_id)
        return page(request, COURSE_PAGE, await editing.context(db))

    async def _refused(
        self, request: AnyRequest, db: AsyncSession, editing: Editing, error: DomainError, **extra: Any
    ) -> Template:
        context = await editing.context(db, error=error, **extra)
        return page(request, COURSE_PAGE, context, status_code=refused_status(request, error))

    async def _item_page(
        self,
        request: AnyRequest,
        editing: Editing,
        template: str,
        values: dict[str, Any],
        error: DomainError | None = None,
        **which: Any,
    ) -> Template:
        """A lesson's or a question's form; ``which`` names it (``number`` or ``key``, None for a new one)."""
        context = common(course=editing.course, values=values, doc=editing.doc, error=error, **which)
        return page(request, template, context, status_code=refused_status(request, error))

    async def _edit(
        self,
        request: AnyRequest,
        db: AsyncSession,
        editing: Editing,
        change: Callable[[], Awaitable[object]],
        anchor: str,
        refused: Callable[[DomainError], Awaitable[Template]] | None = None,
    ) -> Any:
        """One change to the course, then back to its page at ``anchor``. The change saves in a savepoint, so a
        refusal leaves nothing behind: it comes back on the form that made it (``refused``), else on the course's
        page."""
        try:
            await change()
        except DomainError as error:
            return await (refused or partial(self._refused, request, db, editing))(error)
        return see_other(course_url(editing.course, anchor))

    @post("/{course_id:int}/metadata", name="authoring:metadata", status_code=303)
    async def save_metadata(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        course_id: PathId,
        data: Annotated[MetadataForm, FormBody],
    ) -> Any:
        editing = await Editing.of(db, current_user, course_id)
        values = authoring.form_values(data) | {"code": editing.course.code}
        return await self._edit(
            request,
            db,
            editing,
            lambda: editing.save(db, authoring.apply_metadata(editing.doc, data), authoring.metadata_field),
            "#metadata",
            lambda error: self._refused(request, db, editing, error, meta_error=error, meta=values),
        )

    # Lessons

    @get("/{course_id:int}/lessons/new", name="authoring:lesson-new")
    async def new_lesson(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, course_id: PathId, kind: str = "text"
    ) -> Template:
        editing = await Editing.of(db, current_user, course_id)
        values = {"kind": kind if kind in authoring.LESSON_KINDS else "text"}
        return await self._item_page(request, editing, LESSON_PAGE, values, number=None)

    @get("/{course_id:int}/lessons/{number:int}", name="authoring:lesson")
    async def lesson(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, course_id: PathId, number: PathNumber
    ) -> Template:
        editing = await Editing.of(db, current_user, course_id)
        lessons = editing.doc["lessons"]
        if not 1 <= number <= len(lessons):
            raise NotFound("lesson")
        values = authoring.lesson_values(lessons[number - 1])
        return await self._item_page(request, editing, LESSON_PAGE, values, number=number)

    async def _save_lesson(
        self, request: AnyRequest, db: AsyncSession, author: User, course_id: int, data: Any, number: int | None
    ) -> Any:
        editing = await Editing.of(db, author, course_id)
        if number is not None and not 1 <= number <= len(editing.doc["lessons"]):
            raise NotFound("lesson")
        index = len(editing.doc["lessons"]) if number is None else number - 1

        async def save() -> None:
            doc = authoring.with_lesson(editing.doc, authoring.lesson_of(data), None if number is None else index)
            await editing.save(db, doc, authoring.lesson_field(index))

        values = authoring.form_values(data)
        refused = partial(self._item_page, request, editing, LESSON_PAGE, values, number=number)
        return await self._edit(request, db, editing, save, f"#lesson-{index + 1}", refused)

    @post("/{course_id:int}/lessons", name="authoring:lesson-add", status_code=303)
    async def add_lesson(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        course_id: PathId,
        data: Annotated[LessonForm, FormBody],
    ) -> Any:
        return await self._save_lesson(request, db, current_user, course_id, data, None)

    @post("/{course_id:int}/lessons/{number:int}", name="authoring:lesson-save", status_code=303)
    async def save_lesson(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        course_id: PathId,
        number: PathNumber,
        data: Annotated[LessonForm, FormBody],
    ) -> Any:
        return await self._save_lesson(request, db, current_user, course_id, data, number)

    @post("/{course_id:int}/lessons/{number:int}/delete", name="authoring:lesson-delete", status_code=303)
    async def delete_lesson(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, course_id: PathId, number: PathNumber
    ) -> Any:
        editing = await Editing.of(db, current_user, course_id)
        doc = authoring.without_lesson(editing.doc, number - 1)
        return await self._edit(request, db, editing, lambda: editing.save(db, doc, no_field), "#lessons")

    @post("/{course_id:int}/lessons/{number:int}/move", name="authoring:lesson-move", status_code=303)
    async def move_lesson(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        course_id: PathId,
        number: PathNumber,
        data: Annotated[MoveForm, FormBody],
    ) -> Any:
        editing = await Editing.of(db, current_user, course_id)
        await editing.save(db, authoring.moved_lesson(editing.doc, number - 1, data.direction), no_field)
        return see_other(course_url(editing.course, "#lessons"))

    # Questions

    @get("/{course_id:int}/questions/new", name="authoring:question-new")
    async def new_question(self, request: AnyRequest, db: Db, current_user: CurrentUser, course_id: PathId) -> Template:
        editing = await Editing.of(db, current_user, course_id)
        return await self._item_page(request, editing, QUESTION_PAGE, {"kind": "single"}, key=None)

    @get("/{course_id:int}/questions/{key:str}", name="authoring:question")
    async def question(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, course_id: PathId, key: str
    ) -> Template:
        editing = await Editing.of(db, current_user, course_id)
        bank = editing.doc["quiz"]["questions"]
        values = authoring.question_values(bank[authoring.question_index(editing.doc, key)])
        return await self._item_page(request, editing, QUESTION_PAGE, values, key=key)

    async def _save_question(
        self, request: AnyRequest, db: AsyncSession, author: User, course_id: int, data: Any, key: str | None
    ) -> Any:
        editing = await Editing.of(db, author, course_id)
        bank = editing.doc["quiz"]["questions"]
        if key is None:
            index, question_key = len(bank), authoring.next_key({q["id"] for q in bank}, "q")
        else:
            index, question_key = authoring.question_index(editing.doc, key), key

        async def save() -> None:
            question = authoring.question_of(data, key=question_key)
            await editing.save(db, authoring.with_question(editing.doc, question), authoring.question_field(index))

        values = authoring.form_values(data)
        refused = partial(self._item_page, request, editing, QUESTION_PAGE, values, key=key)
        return await self._edit(request, db, editing, save, f"#question-{question_key}", refused)

    @post("/{course_id:int}/questions", name="authoring:question-add", status_code=303)
    async def add_question(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        course_id: PathId,
        data: Annotated[QuestionForm, FormBody],
    ) -> Any:
        return await self._save_question(request, db, current_user, course_id, data, None)

    @post("/{course_id:int}/questions/{key:str}", name="authoring:question-save", status_code=303)
    async def save_question(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        course_id: PathId,
        key: str,
        data: Annotated[QuestionForm, FormBody],
    ) -> Any:
        return await self._save_question(request, db, current_user, course_id, data, key)

    @post("/{course_id:int}/questions/{key:str}/delete", name="authoring:question-delete", status_code=303)
    async def delete_question(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, course_id: PathId, key: str
    ) -> Any:
        editing = await Editing.of(db, current_user, course_id)
        doc = authoring.without_question(editing.doc, key)
        return await self._edit(request, db, editing, lambda: editing.save(db, doc, no_field), "#questions")

    # Preview, publish, export, statistics ----------------------------------------------------

    @get("/{course_id:int}/preview", name="authoring:preview")
    async def preview(self, request: AnyRequest, db: Db, current_user: CurrentUser, course_id: PathId) -> Template:
        """The course as an agent's phone shows it: lessons in order, then one random draw of the quiz."""
        editing = await Editing.of(db, current_user, course_id)
        content = courses.content_of(editing.version)
        context = common(
            course=editing.course,
            course_id=editing.course.id,
            version=editing.version,
            content=content,
            sample=authoring.sample_quiz(content, random.Random()),
            answers={question.id: question for question in content.quiz.questions},
            # What the agent's lesson and question templates read.
            t=localize,
            md=lambda text: markdown_html(localize(text)) if text else markdown_html(None),
            chosen={},
            positions={},
            error_at=None,
        )
        return page(request, "learning/admin/preview.html", context)

    @post("/{course_id:int}/publish", name="authoring:publish", status_code=303)
    async def publish(self, request: AnyRequest, db: Db, current_user: CurrentUser, course_id: PathId) -> Any:
        editing = await Editing.of(db, current_user, course_id)

        async def publish() -> None:
            async with db.begin_nested():
                await courses.publish_course(db, course=editing.course, by=editing.author)

        return await self._edit(request, db, editing, publish, "")

    @get("/{course_id:int}/export", name="authoring:export")
    async def export(
        self, db: Db, principal: CurrentPrincipal, course_id: PathId, version: QueryNumber = None
    ) -> Response[bytes]:
        """A version's JSON as a download (the draft, else the current version, unless ``version`` names one)."""
        course = await courses.course_of_site(db, site_id=principal.site_id, course_id=course_id)
        chosen = await version_numbered(db, course, version)
        filename = f"{course.code}-v{chosen.number}.json"
        return Response(
            content=courses.export_course(chosen),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @get("/{course_id:int}/stats", name="authoring:stats")
    async def statistics(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, course_id: PathId, version: QueryNumber = None
    ) -> Template:
        """Each question's figures by its key, over every version (or the one asked for)."""
        course = await courses.course_of_site(db, site_id=principal.site_id, course_id=course_id)
        versions = await courses.versions_of(db, course_id=course.id)
        chosen = await version_numbered(db, course, version) if version is not None else None
        results = await authoring.submitted_results(
            db, course_id=course.id, version_id=chosen.id if chosen is not None else None
        )
        newest_first = [chosen] if chosen is not None else versions
        prompts: dict[str, Any] = {}
        in_versions: dict[str, list[int]] = {}
        for each in versions:
            for question in courses.content_of(each).quiz.questions:
                in_versions.setdefault(question.id, []).append(each.number)
        for each in newest_first:
            for question in courses.content_of(each).quiz.questions:
                prompts.setdefault(question.id, question)
        figures = stats.question_stats(stats.rows_of(results), list(prompts))
        context = common(
            course=course,
            versions=versions,
            chosen=chosen,
            attempts=len(results),
            figures=figures,
            prompts=prompts,
            in_versions={key: sorted(numbers) for key, numbers in in_versions.items()},
            min_answers=stats.MIN_ANSWERS,
            too_easy=stats.TOO_EASY_P,
            too_hard=stats.TOO_HARD_P,
            weak=stats.WEAK_D,
            title=localize(courses.content_of(versions[0]).title) if versions else course.code,
        )
        return page(request, "learning/admin/stats.html", context)


async def version_numbered(db: AsyncSession, course: Course, number: int | None) -> CourseVersion:
    """Version ``number`` of ``course`` (404 if it has none), or the one the editor works on."""
    if number is None:
        return await authoring.editable_version(db, course_id=course.id)
    for version in await courses.versions_of(db, course_id=course.id):
        if version.number == number:
            return version
    raise NotFound("course version")


router = Router(path="/", route_handlers=[CourseAuthoringController])
