"""What crosses the edge for courses, quizzes and drills: the JSON API's shapes and the Learn tab's forms.

Texts are given in the caller's language (else English, else the first one
written). While an attempt is open nothing says which choice is correct; the
result after submission carries the right answers and the explanations.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from backend.accounts.schemas import Form
from backend.core.bounds import NUMBER_MAX
from backend.core.web import RefuseWith
from backend.learning import drills as drill_service
from backend.learning import quiz as quiz_service
from backend.learning.content import Key, Lesson, Question
from backend.learning.courses import localized
from backend.learning.models import QuizAttempt

ChoiceIds = Annotated[list[Annotated[str, msgspec.Meta(max_length=40)]], msgspec.Meta(max_length=8)]


class AnswerIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One answer: a drawn question's key and the chosen choice ids (ordering: every id, in order)."""

    question: Key
    choices: ChoiceIds


class SubmitBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The answers; ``confirm_blanks`` says the agent means to submit with drawn questions unanswered."""

    answers: Annotated[list[AnswerIn], msgspec.Meta(max_length=60)]
    confirm_blanks: bool = False


class DrillAnswerBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    choices: ChoiceIds


class ChoiceOut(msgspec.Struct):
    id: str
    text: str


class QuestionOut(msgspec.Struct):
    """A question to answer: no correct flags."""

    key: str
    kind: str
    prompt: str
    choices: list[ChoiceOut]


class ReviewedChoiceOut(msgspec.Struct):
    id: str
    text: str
    correct: bool
    chosen: bool


class ReviewedQuestionOut(msgspec.Struct):
    key: str
    kind: str
    prompt: str
    choices: list[ReviewedChoiceOut]
    chosen: list[str]
    correct_choices: list[str]
    earned: float
    correct: bool
    explanation: str


class AttemptOut(msgspec.Struct, kw_only=True):
    """An attempt: its questions while open; once submitted, the score and each question reviewed."""

    id: int
    course_id: int
    started_at: dt.datetime
    deadline_at: dt.datetime
    submitted_at: dt.datetime | None
    score_percent: float | None
    passed: bool | None
    pass_percent: int
    questions: list[QuestionOut]
    results: list[ReviewedQuestionOut]

    @classmethod
    def of(cls, attempt: QuizAttempt, content: quiz_service.CourseContent, locale: str) -> AttemptOut:
        shown = [
            QuestionOut(
                key=question.key,
                kind=question.kind,
                prompt=localized(question.prompt, locale),
                choices=[ChoiceOut(id=choice.id, text=localized(choice.text, locale)) for choice in question.choices],
            )
            for question in quiz_service.shown_questions(attempt, content)
        ]
        reviewed = [
            ReviewedQuestionOut(
                key=item.key,
                kind=item.kind,
                prompt=localized(item.prompt, locale),
                choices=[
                    ReviewedChoiceOut(
                        id=choice.id, text=localized(choice.text, locale), correct=choice.correct, chosen=choice.chosen
                    )
                    for choice in item.choices
                ],
                chosen=item.chosen,
                correct_choices=item.correct_choices,
                earned=item.earned,
                correct=item.correct,
                explanation=localized(item.explanation, locale),
            )
            for item in quiz_service.reviewed_questions(attempt, content)
        ]
        return cls(
            id=attempt.id,
            course_id=attempt.course_id,
            started_at=attempt.started_at,
            deadline_at=attempt.deadline_at,
            submitted_at=attempt.submitted_at,
            score_percent=attempt.score_percent,
            passed=attempt.passed,
            pass_percent=content.quiz.pass_percent,
            questions=shown,
            results=reviewed,
        )


class GateOut(msgspec.Struct, kw_only=True):
    can_start: bool
    reason: str
    message: str
    next_start_at: dt.datetime | None
    attempts_today: int
    attempts_per_day: int
    open_attempt_id: int | None
    lessons_unread: list[int] = []

    @classmethod
    def of(cls, gate: quiz_service.AttemptGate) -> GateOut:
        return cls(**msgspec.structs.asdict(gate))


class CourseOut(msgspec.Struct, kw_only=True):
    """A published course as the calling agent stands with it (see ``quiz.AgentCourse`` for ``status``)."""

    id: int
    code: str
    version: int
    title: str
    summary: str
    estimated_minutes: int
    certifies: str
    status: str
    required: bool
    passed: bool
    lessons_done: int
    lessons_total: int
    best_score_percent: float | None
    certification_expires_at: dt.datetime | None
    open_attempt_id: int | None

    @classmethod
    def of(cls, item: quiz_service.AgentCourse, locale: str) -> CourseOut:
        return cls(
            id=item.course.id,
            code=item.course.code,
            version=item.version.number,
            title=localized(item.content.title, locale),
            summary=localized(item.content.summary, locale),
            estimated_minutes=item.content.estimated_minutes,
            certifies=item.content.certifies,
            status=item.status,
            required=item.required,
            passed=item.passed,
            lessons_done=item.lessons_done,
            lessons_total=item.lessons_total,
            best_score_percent=item.best_score_percent,
            certification_expires_at=item.certification_expires_at,
            open_attempt_id=item.open_attempt_id,
        )


class ReplyOut(msgspec.Struct):
    text: str
    feedback: str
    best: bool


class LessonOut(msgspec.Struct, kw_only=True):
    kind: str
    title: str
    body: str | None  # Markdown: render it sanitized
    video_url: str | None
    customer_says: str | None
    replies: list[ReplyOut]

    @classmethod
    def of(cls, lesson: Lesson, locale: str) -> LessonOut:
        return cls(
            kind=lesson.kind,
            title=localized(lesson.title, locale),
            body=localized(lesson.body, locale) if lesson.body else None,
            video_url=lesson.video_url,
            customer_says=localized(lesson.customer_says, locale) if lesson.customer_says else None,
            replies=[
                ReplyOut(localized(reply.text, locale), localized(reply.feedback, locale), reply.best)
                for reply in lesson.replies
            ],
        )


class QuizRulesOut(msgspec.Struct, kw_only=True):
    questions_drawn: int
    pass_percent: int
    partial_credit: bool
    time_limit_minutes: int
    cooldown_minutes: int
    attempts_per_day: int


class CourseDetailOut(msgspec.Struct, kw_only=True):
    course: CourseOut
    lessons: list[LessonOut]
    quiz: QuizRulesOut
    gate: GateOut


class NewCourseOut(msgspec.Struct, kw_only=True):
    """A course imported or published: its id, code, and the version the call made or published."""

    id: int
    code: str
    version: int
    status: Literal["draft", "published", "retired"]


class DrillQuestionOut(msgspec.Struct, kw_only=True):
    id: int
    course_id: int
    course_title: str
    question: QuestionOut
    due_at: dt.datetime

    @classmethod
    def of(cls, drill: drill_service.DueDrill, locale: str) -> DrillQuestionOut:
        texts = {choice.id: choice.text for choice in drill.question.choices}
        return cls(
            id=drill.card_id,
            course_id=drill.course_id,
            course_title=localized(drill.course_title, locale),  # type: ignore[arg-type]
            question=QuestionOut(
                key=drill.question.id,
                kind=drill.question.kind,
                prompt=localized(drill.question.prompt, locale),
                choices=[ChoiceOut(id=cid, text=localized(texts[cid], locale)) for cid in drill.choice_order],
            ),
            due_at=drill.due_at,
        )


class DrillOutcomeOut(msgspec.Struct, kw_only=True):
    id: int
    earned: float
    correct: bool
    chosen: list[str]
    correct_choices: list[str]
    explanation: str
    mastered: bool
    next_due_at: dt.datetime | None

    @classmethod
    def of(cls, outcome: drill_service.DrillOutcome, locale: str) -> DrillOutcomeOut:
        question: Question = outcome.question
        return cls(
            id=outcome.card_id,
            earned=outcome.earned,
            correct=outcome.correct,
            chosen=outcome.chosen,
            correct_choices=outcome.correct_choices,
            explanation=localized(question.explanation, locale),
            mastered=outcome.mastered,
            next_due_at=outcome.next_due_at,
        )


class ScenarioForm(Form):
    reply: str = ""


class ScenarioValues(msgspec.Struct, kw_only=True):
    """The reply a scenario card's agent chose, by its place in the lesson's replies."""

    reply: Annotated[int, msgspec.Meta(ge=0, le=NUMBER_MAX), RefuseWith(lambda _: _("Choose one of the replies."))]
