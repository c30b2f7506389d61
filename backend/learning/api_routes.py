"""Courses, quizzes and drills as JSON (API tokens or a browser session).

Agents list and read the published courses of their site, take quizzes and
answer drills; only their own attempts and drills exist for them (404
otherwise). Coordinators (and admins) import, export and publish courses;
other roles get 403. Refusals answer ``{message, field, request_id}``; a
refused start adds ``reason``, ``next_start_at`` and ``lessons_unread``.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, Router, get, post
from litestar.openapi.datastructures import ResponseSpec

from backend.accounts import service as accounts
from backend.accounts.dependencies import CurrentUser
from backend.core.bounds import PathId
from backend.core.db import utcnow
from backend.core.errors import NotFound
from backend.core.security import Principal, requires
from backend.core.web import AnyRequest, CurrentPrincipal, Db, json_error
from backend.learning import courses, drills, quiz
from backend.learning.content import CourseContent
from backend.learning.models import CourseVersion
from backend.learning.schemas import (
    AttemptOut,
    CourseDetailOut,
    CourseOut,
    DrillAnswerBody,
    DrillOutcomeOut,
    DrillQuestionOut,
    GateOut,
    LessonOut,
    NewCourseOut,
    QuizRulesOut,
    SubmitBody,
)


def _locale(principal: Principal) -> str:
    return principal.locale


def refused_start(request: AnyRequest, refused: quiz.AttemptRefused) -> Response[Any]:
    gate = refused.gate
    return json_error(
        request,
        refused.status_code,
        refused.message,
        refused.field,
        reason=gate.reason,
        next_start_at=gate.next_start_at.isoformat() if gate.next_start_at else None,
        lessons_unread=gate.lessons_unread,
    )


class LearnApiController(Controller):
    """The agent's side: courses, attempts, drills."""

    path = "/api/v1"
    tags = ["learning"]
    guards = [requires("agent")]

    @get("/courses", name="api:courses")
    async def list_courses(self, db: Db, principal: CurrentPrincipal, current_user: CurrentUser) -> list[CourseOut]:
        """Published courses of my site with where I stand: required and expiring first."""
        listed = await quiz.courses_for_agent(db, agent=current_user, now=utcnow())
        return [CourseOut.of(item, _locale(principal)) for item in listed]

    @get("/courses/{course_id:int}", name="api:course")
    async def course(
        self, db: Db, principal: CurrentPrincipal, current_user: CurrentUser, course_id: PathId
    ) -> CourseDetailOut:
        """A published course's lessons, its quiz rules and whether I may start the quiz now."""
        now = utcnow()
        await courses.agent_course(db, agent=current_user, course_id=course_id)
        item = next(
            item
            for item in await quiz.courses_for_agent(db, agent=current_user, now=now)
            if item.course.id == course_id
        )
        rules = item.content.quiz
        gate = await quiz.attempt_gate(db, agent=current_user, course_id=course_id, now=now)
        return CourseDetailOut(
            course=CourseOut.of(item, _locale(principal)),
            lessons=[LessonOut.of(lesson, _locale(principal)) for lesson in item.content.lessons],
            quiz=QuizRulesOut(
                questions_drawn=rules.draw,
                pass_percent=rules.pass_percent,
                partial_credit=rules.partial_credit,
                time_limit_minutes=rules.time_limit_minutes,
                cooldown_minutes=rules.cooldown_minutes,
                attempts_per_day=rules.attempts_per_day,
            ),
            gate=GateOut.of(gate),
        )

    @post(
        "/courses/{course_id:int}/attempts",
        name="api:attempt-start",
        status_code=201,
        responses={
            200: ResponseSpec(AttemptOut, description="The attempt in progress, resumed.", generate_examples=False),
            201: ResponseSpec(AttemptOut, description="A new attempt.", generate_examples=False),
        },
    )
    async def start(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, current_user: CurrentUser, course_id: PathId
    ) -> Response[Any]:
        """201 with a new attempt's questions (no correct flags), 200 resuming the one in progress;
        409 during the cooldown or past the daily limit (with ``next_start_at``); 422 for a required course
        whose lessons are not all read yet (with ``lessons_unread``)."""
        now = utcnow()
        gate = await quiz.attempt_gate(db, agent=current_user, course_id=course_id, now=now)
        try:
            attempt = await quiz.start_attempt(db, agent=current_user, course_id=course_id, now=now)
        except quiz.AttemptRefused as refused:
            return refused_start(request, refused)
        content = await quiz.attempt_content(db, attempt=attempt)
        status = 200 if gate.open_attempt_id == attempt.id else 201
        return Response(content=AttemptOut.of(attempt, content, _locale(principal)), status_code=status)

    @get("/attempts/{attempt_id:int}", name="api:attempt")
    async def attempt(
        self, db: Db, principal: CurrentPrincipal, current_user: CurrentUser, attempt_id: PathId
    ) -> AttemptOut:
        """One of my attempts: questions while open, results with explanations once submitted."""
        attempt = await quiz.attempt_of(db, agent=current_user, attempt_id=attempt_id)
        content = await quiz.attempt_content(db, attempt=attempt)
        return AttemptOut.of(attempt, content, _locale(principal))

    @post("/attempts/{attempt_id:int}/submit", name="api:attempt-submit", status_code=200)
    async def submit(
        self, db: Db, principal: CurrentPrincipal, current_user: CurrentUser, attempt_id: PathId, data: SubmitBody
    ) -> AttemptOut:
        """Score my answers once: 422 naming a tampered or late answer, or the questions left blank unless
        ``confirm_blanks`` (the attempt stays open); 409 if resubmitted."""
        answers = [(answer.question, list(answer.choices)) for answer in data.answers]
        attempt = await quiz.submit_attempt(
            db,
            agent=current_user,
            attempt_id=attempt_id,
            answers=answers,
            now=utcnow(),
            confirm_blanks=data.confirm_blanks,
        )
        content = await quiz.attempt_content(db, attempt=attempt)
        return AttemptOut.of(attempt, content, _locale(principal))

    @get("/drills", name="api:drills")
    async def due(self, db: Db, principal: CurrentPrincipal, current_user: CurrentUser) -> list[DrillQuestionOut]:
        """My drills due now, most overdue first (at most five)."""
        due = await drills.due_drills(db, agent=current_user, now=utcnow())
        return [DrillQuestionOut.of(drill, _locale(principal)) for drill in due]

    @post("/drills/{card_id:int}/answer", name="api:drill-answer", status_code=200)
    async def answer(
        self, db: Db, principal: CurrentPrincipal, current_user: CurrentUser, card_id: PathId, data: DrillAnswerBody
    ) -> DrillOutcomeOut:
        outcome = await drills.answer_drill(
            db, agent=current_user, card_id=card_id, chosen=list(data.choices), now=utcnow()
        )
        return DrillOutcomeOut.of(outcome, _locale(principal))


def _new_course_out(course_id: int, code: str, version: CourseVersion) -> NewCourseOut:
    return NewCourseOut(id=course_id, code=code, version=version.number, status=version.status.value)


class CourseAdminApiController(Controller):
    """The coordinator's side: import, export and publish courses."""

    path = "/api/v1/courses"
    tags = ["learning"]
    guards = [requires("coordinator")]

    @post("/", name="api:course-import", status_code=201)
    async def import_course(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, current_user: CurrentUser, publish: bool = False
    ) -> NewCourseOut:
        """Import a course document (``weft-course/1`` JSON): a new course, or a new draft of the one with its code.

        ``?publish=true`` publishes it at once. A problem anywhere refuses it whole: 422 naming the path.
        """
        site = await accounts.get_site(db, principal.site_id)
        now = utcnow()
        course = await courses.import_course(
            db, site=site, raw=await request.body(), author=current_user, publish=publish, now=now
        )
        version = await courses.current_version(db, course_id=course.id) if publish else None
        version = version or await courses.draft_version(db, course_id=course.id)
        assert version is not None
        return _new_course_out(course.id, course.code, version)

    @get(
        "/{course_id:int}/export",
        name="api:course-export",
        responses={
            200: ResponseSpec(
                CourseContent, description="The course document (weft-course/1).", generate_examples=False
            )
        },
    )
    async def export(
        self, db: Db, principal: CurrentPrincipal, course_id: PathId, version: str = "current"
    ) -> Response[bytes]:
        """The course document as JSON: ``version=current`` (published; the draft if never published) or ``draft``."""
        course = await courses.course_of_site(db, site_id=principal.site_id, course_id=course_id)
        draft = await courses.draft_version(db, course_id=course.id)
        current = await courses.current_version(db, course_id=course.id)
        chosen = draft if version == "draft" else (current or draft)
        if chosen is None:
            raise NotFound("course version")
        return Response(
            content=courses.export_course(chosen),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{course.code}-v{chosen.number}.json"'},
        )

    @post("/{course_id:int}/publish", name="api:course-publish", status_code=200)
    async def publish(
        self, db: Db, principal: CurrentPrincipal, current_user: CurrentUser, course_id: PathId
    ) -> NewCourseOut:
        """Publish the draft: agents take it from now on, attempts in progress keep theirs; 409 without a draft."""
        course = await courses.course_of_site(db, site_id=principal.site_id, course_id=course_id)
        version = await courses.publish_course(db, course=course, by=current_user, now=utcnow())
        return _new_course_out(course.id, course.code, version)


router = Router(path="/", route_handlers=[LearnApiController, CourseAdminApiController])
