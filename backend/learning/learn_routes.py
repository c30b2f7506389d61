"""The agent's Learn tab: the course list, the lesson player, scenario cards, the quiz, results and drills.

Agents only (staff get 403); a course of another site and another agent's
attempt are 404. A refused form is shown on the page with the refusal at its
field: a plain post gets the refusal's status (422, 409), htmx gets 200 with
the piece re-rendered in place (htmx does not swap error answers). The quiz
form is a plain post: nothing of it is saved unless all of it is accepted,
and a refused one comes back with the agent's answers still chosen.

The quiz form names each answer after its question: ``q:<question>`` with a
choice id as the value (repeated for multiple choice), and for an ordering
question ``order:<question>:<choice>`` with the position (1 = first). A form with
questions left blank comes back asking "submit anyway?" with those questions
marked; its "Submit anyway" button sends ``confirm_blanks=1``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from babel.dates import format_date
from litestar import Controller, Response, Router, get, post
from litestar.response import Redirect, Template

from backend.accounts.dependencies import CurrentUser
from backend.accounts.models import User
from backend.accounts.schemas import FormPost
from backend.accounts.zones import user_zone
from backend.core.bounds import PathId, PathNumber
from backend.core.db import utcnow
from backend.core.errors import DomainError, NotFound
from backend.core.i18n import current_locale, moment_labeller
from backend.core.i18n import gettext as _
from backend.core.security import requires
from backend.core.templating import is_htmx, page, refused_status
from backend.core.web import AnyRequest, Db, FormBody, parse_fields, see_other
from backend.learning import courses, drills, learn, quiz, scoring
from backend.learning.content import CourseContent, Lesson, Question, Text
from backend.learning.courses import localized
from backend.learning.models import Course, QuizAttempt
from backend.learning.render import markdown_html
from backend.learning.schemas import ScenarioForm, ScenarioValues

OVERVIEW_PAGE = "learning/learn.html"
COURSE_PAGE = "learning/course.html"
LESSON_PAGE = "learning/lesson.html"
SCENARIO = "learning/_scenario.html"
QUIZ_PAGE = "learning/quiz.html"
RESULT_PAGE = "learning/result.html"
DRILLS_PAGE = "learning/drills.html"
BASE = "/app/learn"
DRILLS_SHOWN = 10
CSRF_FIELD = "_csrf_token"
CONFIRM_FIELD = "confirm_blanks"


# Shared context --------------------------------------------------------------------------------------


def page_context(agent: User, **extra: Any) -> dict[str, Any]:
    """What every Learn page uses: the agent's clock and language, and the helpers that speak them."""
    zone = user_zone(agent)
    locale = current_locale()
    today = utcnow().astimezone(zone).date()

    def local(moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(zone)

    def clock(moment: dt.datetime) -> str:
        return local(moment).strftime("%H:%M")

    when = moment_labeller(zone, today)

    def span(start: dt.datetime, end: dt.datetime) -> str:
        return f"{when(start)}\u2013{clock(end)}"

    def date_label(moment: dt.datetime) -> str:
        return format_date(local(moment).date(), "medium", locale=locale.replace("-", "_"))

    def text(value: Text | None) -> str:
        return localized(value, locale) if value else ""

    def markdown(value: Text | None) -> Any:
        return markdown_html(text(value))

    context: dict[str, Any] = {
        "tab": "learn",
        "user": agent,
        "t": text,
        "md": markdown,
        "clock": clock,
        "when": when,
        "span": span,
        "date_label": date_label,
        "error": None,
        "notice": None,
    }
    context.update(extra)
    return context


def lesson_url(course_id: int, number: int) -> str:
    return f"{BASE}/courses/{course_id}/lessons/{number}"


# The quiz form -------------------------------------------------------------------------------------


@dataclass
class QuizAnswers:
    """A quiz form read back: the answers for the service, what the agent chose (shown again if refused),
    and the first thing wrong with the form's shape."""

    answers: list[tuple[str, list[str]]] = field(default_factory=list)
    chosen: dict[str, list[str]] = field(default_factory=dict)
    positions: dict[str, dict[str, str]] = field(default_factory=dict)
    problem: DomainError | None = None
    confirm_blanks: bool = False

    def checked(self) -> list[tuple[str, list[str]]]:
        if self.problem is not None:
            raise self.problem
        return self.answers


def read_quiz_form(pairs: Iterable[tuple[str, Any]], questions: dict[str, Question]) -> QuizAnswers:
    """The form's fields as answers per question; a field the form never has, or one sent twice, is a problem.

    Which questions may be answered, and with which choices, is the service's to judge (``quiz.submit_attempt``);
    this only reads the form's shape, and an ordering question's positions into an order. Everything the agent
    chose is kept either way, so a refused form comes back as they left it.
    """
    form = QuizAnswers()
    problems: list[DomainError] = []
    for name, raw in pairs:
        if name == CSRF_FIELD:
            continue
        value = raw if isinstance(raw, str) else ""
        if name == CONFIRM_FIELD:
            form.confirm_blanks = value == "1"
            continue
        kind, _sep, rest = name.partition(":")
        key, _sep, choice = rest.partition(":")
        if kind == "q" and rest:
            values = form.chosen.setdefault(rest, [])
            if value in values:
                problems.append(DomainError(_("The same answer was sent twice."), field=f"q:{rest}"))
            values.append(value)
        elif kind == "order" and key and choice:
            given = form.positions.setdefault(key, {})
            if choice in given:
                problems.append(DomainError(_("The same answer was sent twice."), field=f"q:{key}"))
            given[choice] = value.strip()
        else:
            problems.append(DomainError(_("This form has no field %(name)s.", name=name[:60]), field=name[:60]))
    form.answers = [(key, values) for key, values in form.chosen.items()]
    for key, given in form.positions.items():
        try:
            order = _ordering(key, given, questions.get(key))
        except DomainError as problem:
            problems.append(problem)
            continue
        if order:
            form.answers.append((key, order))
    form.problem = problems[0] if problems else None
    return form


def _ordering(key: str, given: dict[str, str], question: Question | None) -> list[str]:
    """An ordering answer's choice ids, first to last; all positions blank is no answer."""
    if not any(given.values()):
        return []
    count = len(question.choices) if question is not None else len(given)
    try:
        numbers = {choice: int(position) for choice, position in given.items()}
    except ValueError:
        raise DomainError(_("Give every item a position."), field=f"q:{key}") from None
    if any(not 1 <= n <= count for n in numbers.values()):
        raise DomainError(_("Positions go from 1 to %(count)s.", count=count), field=f"q:{key}")
    if len(set(numbers.values())) != len(numbers):
        raise DomainError(_("Use each position once."), field=f"q:{key}")
    return sorted(numbers, key=numbers.__getitem__)


def question_of_field(field: str | None, keys: Iterable[str]) -> str | None:
    """The drawn question a refusal's field names (``q:<key>``, ``answers.<key>``, ``<key>``), if any."""
    if not field:
        return None
    for key in keys:
        if field == key or field.endswith((f":{key}", f".{key}")) or f":{key}:" in field or f".{key}." in field:
            return key
    return None


# The controller ------------------------------------------------------------------------------------


class LearnController(Controller):
    """Courses one lesson at a time, a quiz whose draw the server keeps, results with explanations, drills."""

    path = BASE
    include_in_schema = False
    guards = [requires("agent")]

    @get("/", name="learn:overview")
    async def overview(self, request: AnyRequest, db: Db, current_user: CurrentUser) -> Template:
        now = utcnow()
        view = await learn.learn_overview(db, agent=current_user, now=now)
        due = await drills.due_drills(db, agent=current_user, now=now, limit=DRILLS_SHOWN)
        groups = [
            ("required", _("Required"), view.required),
            ("unlocking", _("Unlock open shifts"), view.unlocking),
            ("in-progress", _("In progress"), view.in_progress),
            ("done", _("Done"), view.done),
            ("others", _("More courses"), view.others),
        ]
        return page(
            request, OVERVIEW_PAGE, page_context(current_user, overview=view, groups=groups, drills_due=len(due))
        )

    @get("/skills/{skill_code:str}", name="learn:for-skill")
    async def for_skill(self, db: Db, current_user: CurrentUser, skill_code: str) -> Redirect:
        """The Open shifts page's "take the course that unlocks it": straight to that course when there is one."""
        course_id = await learn.course_for_skill(db, agent=current_user, skill_code=skill_code)
        return see_other(f"{BASE}/courses/{course_id}" if course_id else BASE)

    async def _course(
        self, request: AnyRequest, db: Db, agent: User, course_id: int, *, status: int = 200, **extra: Any
    ) -> Template:
        now = utcnow()
        card = await learn.course_card(db, agent=agent, course_id=course_id, now=now)
        _found, content = await _course_content(db, agent, course_id)
        gate = await quiz.attempt_gate(db, agent=agent, course_id=course_id, now=now)
        attempts = [a for a in await quiz.attempts_of(db, agent=agent, course_id=course_id) if a.submitted_at]
        certification = None
        if not card.is_onboarding:
            certification = await learn.certification_for(db, agent=agent, skill_code=card.certifies)
        context = page_context(
            agent,
            card=card,
            content=content,
            gate=gate,
            attempts=sorted(attempts, key=lambda a: a.id, reverse=True),
            certification=certification,
            **extra,
        )
        return page(request, COURSE_PAGE, context, status_code=status)

    @get("/courses/{course_id:int}", name="learn:course")
    async def course(self, request: AnyRequest, db: Db, current_user: CurrentUser, course_id: PathId) -> Template:
        return await self._course(request, db, current_user, course_id)

    async def _lesson(
        self,
        request: AnyRequest,
        db: Db,
        agent: User,
        course_id: int,
        number: int,
        *,
        status: int = 200,
        template: str = LESSON_PAGE,
        **extra: Any,
    ) -> Template:
        course, content = await _course_content(db, agent, course_id)
        lesson = _lesson_of(content, number)
        context = page_context(
            agent,
            course_id=course.id,
            content=content,
            lesson=lesson,
            number=number,
            total=len(content.lessons),
            to_quiz=await learn.finish_goes_to_quiz(db, agent=agent, course_id=course.id, now=utcnow()),
            **{"chosen": None, **extra},
        )
        return page(request, template, context, status_code=status)

    @get("/courses/{course_id:int}/lessons/{number:int}", name="learn:lesson")
    async def lesson(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, course_id: PathId, number: PathNumber
    ) -> Template:
        return await self._lesson(request, db, current_user, course_id, number)

    @post("/courses/{course_id:int}/lessons/{number:int}/done", name="learn:lesson-done", status_code=303)
    async def lesson_done(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        course_id: PathId,
        number: PathNumber,
        data: FormPost,
    ) -> Any:
        """Mark a lesson read and go on: the next lesson, or after the last one the quiz itself (started, or the
        one in progress); when the quiz cannot start now, the course page's quiz section says why."""
        course, content = await _course_content(db, current_user, course_id)
        _lesson_of(content, number)
        await courses.record_lesson_done(
            db, agent=current_user, course_id=course.id, lesson_index=number - 1, now=utcnow()
        )
        if number >= len(content.lessons):
            attempt = await learn.quiz_after_lessons(db, agent=current_user, course_id=course.id, now=utcnow())
            target = f"{BASE}/attempts/{attempt.id}" if attempt else f"{BASE}/courses/{course.id}#quiz"
            if is_htmx(request):
                return Response(content="", status_code=200, headers={"HX-Redirect": target})
            return see_other(target)
        if not is_htmx(request):
            return see_other(lesson_url(course.id, number + 1))
        response = await self._lesson(request, db, current_user, course.id, number + 1)
        response.status_code = 200
        response.headers["HX-Push-Url"] = lesson_url(course.id, number + 1)
        return response

    @post("/courses/{course_id:int}/scenario/{number:int}", name="learn:scenario", status_code=200)
    async def scenario(
        self,
        request: AnyRequest,
        db: Db,
        current_user: CurrentUser,
        course_id: PathId,
        number: PathNumber,
        data: Annotated[ScenarioForm, FormBody],
    ) -> Template:
        """The feedback on the reply the agent chose; nothing is recorded (the quiz is what counts)."""
        template = SCENARIO if is_htmx(request) else LESSON_PAGE
        course, content = await _course_content(db, current_user, course_id)
        lesson = _lesson_of(content, number)
        if lesson.kind != "scenario":
            raise NotFound("scenario")
        try:
            chosen = parse_fields(ScenarioValues, data).reply
            if chosen >= len(lesson.replies):
                raise DomainError(_("Choose one of the replies."), field="reply")
        except DomainError as error:
            status = refused_status(request, error)
            return await self._lesson(
                request, db, current_user, course.id, number, status=status, template=template, error=error
            )
        return await self._lesson(request, db, current_user, course.id, number, template=template, chosen=chosen)

    @post("/courses/{course_id:int}/attempts", name="learn:attempt-start", status_code=303)
    async def start(
        self, request: AnyRequest, db: Db, current_user: CurrentUser, course_id: PathId, data: FormPost
    ) -> Any:
        """Start the quiz, or go back to the attempt already open; a cooldown or the daily limit says when (409)."""
        course, _content = await _course_content(db, current_user, course_id)
        try:
            async with db.begin_nested():
                attempt = await quiz.start_attempt(db, agent=current_user, course_id=course.id, now=utcnow())
        except DomainError as error:
            return await self._course(
                request, db, current_user, course.id, status=refused_status(request, error), error=error
            )
        return see_other(f"{BASE}/attempts/{attempt.id}")

    async def _quiz(
        self,
        request: AnyRequest,
        db: Db,
        agent: User,
        attempt: QuizAttempt,
        *,
        status: int = 200,
        error: DomainError | None = None,
        form: QuizAnswers | None = None,
    ) -> Template:
        content = await quiz.attempt_content(db, attempt=attempt)
        questions = quiz.shown_questions(attempt, content)
        keys = [question.key for question in questions]
        blank = error.blank if isinstance(error, quiz.BlankAnswers) else []
        shown_error = None if blank else error
        context = page_context(
            agent,
            attempt=attempt,
            content=content,
            questions=questions,
            error=shown_error,
            error_at=question_of_field(shown_error.field if shown_error else None, keys),
            blank=blank,
            chosen=form.chosen if form else {},
            positions=form.positions if form else {},
            expired=not quiz.accepts_answers(attempt, utcnow()),
            scoring_rule=scoring.rule_summary(
                partial_credit=content.quiz.partial_credit, pass_percent=content.quiz.pass_percent
            ),
        )
        return page(request, QUIZ_PAGE, context, status_code=status)

    @get("/attempts/{attempt_id:int}", name="learn:attempt")
    async def attempt(self, request: AnyRequest, db: Db, current_user: CurrentUser, attempt_id: PathId) -> Any:
        attempt = await quiz.attempt_of(db, agent=current_user, attempt_id=attempt_id)
        if attempt.submitted_at is not None:
            return see_other(f"{BASE}/attempts/{attempt.id}/result")
        return await self._quiz(request, db, current_user, attempt)

    @post("/attempts/{attempt_id:int}", name="learn:attempt-submit", status_code=303)
    async def submit(self, request: AnyRequest, db: Db, current_user: CurrentUser, attempt_id: PathId) -> Any:
        """Score the answers; a refused form (not drawn, sent twice, too late) comes back 422 and nothing is saved.

        Blanks the agent did not confirm are a question, not a refusal: the page comes back (200) with the answers
        kept, the blank questions marked and "Submit anyway", and nothing is saved either."""
        attempt = await quiz.attempt_of(db, agent=current_user, attempt_id=attempt_id)
        if attempt.submitted_at is not None:
            return see_other(f"{BASE}/attempts/{attempt.id}/result")
        content = await quiz.attempt_content(db, attempt=attempt)
        form = read_quiz_form((await request.form()).multi_items(), {q.id: q for q in content.quiz.questions})
        try:
            answers = form.checked()
            async with db.begin_nested():
                await quiz.submit_attempt(
                    db,
                    agent=current_user,
                    attempt_id=attempt.id,
                    answers=answers,
                    now=utcnow(),
                    confirm_blanks=form.confirm_blanks,
                )
        except DomainError as error:
            await db.refresh(attempt)
            status = 200 if isinstance(error, quiz.BlankAnswers) else refused_status(request, error)
            return await self._quiz(request, db, current_user, attempt, status=status, error=error, form=form)
        return see_other(f"{BASE}/attempts/{attempt.id}/result")

    @get("/attempts/{attempt_id:int}/result", name="learn:result")
    async def result(self, request: AnyRequest, db: Db, current_user: CurrentUser, attempt_id: PathId) -> Any:
        attempt = await quiz.attempt_of(db, agent=current_user, attempt_id=attempt_id)
        if attempt.submitted_at is None:
            return see_other(f"{BASE}/attempts/{attempt.id}")
        now = utcnow()
        content = await quiz.attempt_content(db, attempt=attempt)
        certification = None
        if attempt.passed and content.certifies != courses.ONBOARDING:
            certification = await learn.certification_for(db, agent=current_user, skill_code=content.certifies)
        context = page_context(
            current_user,
            attempt=attempt,
            content=content,
            review=quiz.reviewed_questions(attempt, content),
            credit=await learn.pass_credit(db, attempt_id=attempt.id),
            certification=certification,
            onboarded=current_user.onboarded_at is not None,
            gate=await quiz.attempt_gate(db, agent=current_user, course_id=attempt.course_id, now=now),
        )
        return page(request, RESULT_PAGE, context)

    @get("/drills", name="learn:drills")
    async def drills_page(self, request: AnyRequest, db: Db, current_user: CurrentUser) -> Template:
        return await self._drills(request, db, current_user)

    async def _drills(
        self,
        request: AnyRequest,
        db: Db,
        agent: User,
        *,
        status: int = 200,
        error: DomainError | None = None,
        form: QuizAnswers | None = None,
        answered: drills.DrillOutcome | None = None,
    ) -> Template:
        due = await drills.due_drills(db, agent=agent, now=utcnow(), limit=DRILLS_SHOWN)
        shown = _shown_drill(due[0]) if due else None
        context = page_context(
            agent,
            due=due,
            shown=shown,
            answered=answered,
            error=error,
            error_at=shown.key
            if shown is not None and error is not None and error.field not in (None, "card")
            else None,
            chosen=form.chosen if form else {},
            positions=form.positions if form else {},
        )
        return page(request, DRILLS_PAGE, context, status_code=status)

    @post("/drills/{card_id:int}", name="learn:drill-answer", status_code=200)
    async def drill_answer(self, request: AnyRequest, db: Db, current_user: CurrentUser, card_id: PathId) -> Template:
        """Score one review and show the answer with the next card; another agent's card is 404."""
        card = await drills.card_of(db, agent=current_user, card_id=card_id)
        form = read_quiz_form((await request.form()).multi_items(), {})
        try:
            form.checked()
            stray = next((key for key, _values in form.answers if key != card.question_key), None)
            if stray is not None:
                raise DomainError(_("This form has no field %(name)s.", name=f"q:{stray}"[:60]), field="chosen")
            chosen = next((values for _key, values in form.answers), [])
            async with db.begin_nested():
                answered = await drills.answer_drill(
                    db, agent=current_user, card_id=card.id, chosen=chosen, now=utcnow()
                )
        except DomainError as error:
            status = refused_status(request, error)
            return await self._drills(request, db, current_user, status=status, error=error, form=form)
        return await self._drills(request, db, current_user, answered=answered)


def _shown_drill(drill: drills.DueDrill) -> quiz.ShownQuestion:
    """A drill's question as the question form shows it: choices in the card's display order."""
    texts = {choice.id: choice.text for choice in drill.question.choices}
    return quiz.ShownQuestion(
        key=drill.question.id,
        kind=drill.question.kind,
        prompt=drill.question.prompt,
        choices=[quiz.ShownChoice(id=key, text=texts[key]) for key in drill.choice_order],
    )


# Reading a course's content ---------------------------------------------------------------------------


async def _course_content(db: Db, agent: User, course_id: int) -> tuple[Course, CourseContent]:
    """A course the agent may read and its current content; another site's, archived or unpublished is 404."""
    course, version = await courses.agent_course(db, agent=agent, course_id=course_id)
    return course, courses.content_of(version)


def _lesson_of(content: CourseContent, number: int) -> Lesson:
    if not 1 <= number <= len(content.lessons):
        raise NotFound("lesson")
    return content.lessons[number - 1]


router = Router(path="/", route_handlers=[LearnController])
