"""Course authoring: one form applied to a course's draft document, and what the authoring pages list.

A coordinator edits a course one piece at a time (its metadata, one lesson, one
question); each form is applied to the whole document, which is then checked
exactly as an imported file is (msgspec's constraints, then ``content_problems``)
before ``courses.save_draft`` stores it. A problem is refused whole and named
twice: by its path in the document (``quiz.questions[2].choices``) and by the
form field it came from, so the page can show it beside that field.

Editing a published course edits a copy of its current version: the first
change makes the next draft version, and the published one stays as it was.

The functions that build documents are pure (dicts in, dicts out); the few at
the end read the database for the pages.
"""

from __future__ import annotations

import copy
import random
import string
from collections.abc import Callable
from typing import Any

import msgspec
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import DomainError, NotFound
from backend.core.i18n import gettext as _
from backend.learning import courses, quiz
from backend.learning.authoring_schemas import (
    MAX_CHOICES,
    MAX_REPLIES,
    CreateForm,
    LessonFields,
    MetadataForm,
)
from backend.learning.content import CourseContent, Quiz
from backend.learning.models import Course, CourseVersion, QuizAttempt

Doc = dict[str, Any]
FieldOf = Callable[[str], str | None]
LOCALES = (("en", "en"), ("zh", "zh-Hans"))  # form suffix, document language
LESSON_KINDS = ("text", "video", "scenario")
QUESTION_KINDS = ("single", "multiple", "true_false", "ordering")
QUIZ_SETTINGS = ("draw", "pass_percent", "time_limit_minutes", "cooldown_minutes", "attempts_per_day")


def _int_bounds(struct: type[msgspec.Struct]) -> dict[str, tuple[int | None, int | None]]:
    """The range content.py allows for each whole-number field, read from its constraints (one source)."""
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    return {
        field.name: (field.type.ge, field.type.le)
        for field in info.fields
        if isinstance(field.type, msgspec.inspect.IntType)
    }


INT_BOUNDS = {**_int_bounds(CourseContent), **_int_bounds(Quiz)}

# Where a problem at a document path is shown on the metadata form.
METADATA_FIELDS = {
    "code": "code",
    "title": "title_en",
    "summary": "summary_en",
    "estimated_minutes": "estimated_minutes",
    "certifies": "certifies",
    **{f"quiz.{name}": name for name in (*QUIZ_SETTINGS, "partial_credit")},
}
LESSON_FIELDS = {
    "kind": "kind",
    "title": "title_en",
    "body": "body_en",
    "video_url": "video_url",
    "customer_says": "customer_says_en",
    "replies": "replies",
}
QUESTION_FIELDS = {"kind": "kind", "prompt": "prompt_en", "explanation": "explanation_en", "choices": "choices"}


def _lookup(path: str, fields: dict[str, str], prefix: str = "", rename: str = "") -> str | None:
    """The form field for ``path`` below ``prefix``: ``lessons[2].title.en`` -> ``title_en``."""
    if not path.startswith(prefix):
        return None
    rest = path[len(prefix) :].lstrip(".")
    for key, name in fields.items():
        if rest == key or rest.startswith((f"{key}.", f"{key}[")):
            return f"{rename}{name}" if rename and name != "kind" else name
    return None


def metadata_field(path: str) -> str | None:
    return _lookup(path, METADATA_FIELDS)


def lesson_field(index: int) -> FieldOf:
    return lambda path: _lookup(path, LESSON_FIELDS, f"lessons[{index}]")


def question_field(index: int) -> FieldOf:
    return lambda path: _lookup(path, QUESTION_FIELDS, f"quiz.questions[{index}]")


def create_field(path: str) -> str | None:
    """The new-course form holds the metadata, lesson 1 (``lesson_*``) and question 1."""
    lesson = _lookup(path, LESSON_FIELDS, "lessons[0]", rename="lesson_")
    question = _lookup(path, QUESTION_FIELDS, "quiz.questions[0]")
    return metadata_field(path) or lesson or ("question_kind" if question == "kind" else question)


def refuse(path: str, message: str, field_of: FieldOf) -> DomainError:
    """A problem named by its form field when the form has one, else by its path in the document."""
    field = field_of(path)
    return DomainError(message if field else f"{path}: {message}", field=field)


def validated(doc: Doc, field_of: FieldOf) -> CourseContent:
    """The document as a course, checked exactly like an import; the first problem is refused."""
    try:
        content = msgspec.convert(doc, CourseContent)
    except msgspec.ValidationError as error:
        message, _sep, where = str(error).partition(" - at `$")
        path = where.rstrip("`").lstrip(".")
        raise refuse(path, message, field_of) from None
    problems = courses.content_problems(content)
    if problems:
        raise refuse(*problems[0], field_of)
    return content


# Reading form fields ------------------------------------------------------------------------


def text_of(en: str, zh: str) -> dict[str, str] | None:
    """A two-language text from its two fields; a language left blank is left out."""
    text = {locale: value.strip() for (_suffix, locale), value in zip(LOCALES, (en, zh), strict=True)}
    return {locale: value for locale, value in text.items() if value} or None


def required_text(en: str, zh: str, *, field: str) -> dict[str, str]:
    text = text_of(en, zh)
    if text is None:
        raise DomainError(_("Write this in English or Chinese (or both)."), field=field)
    return text


def whole_number(value: str, *, field: str, name: str | None = None) -> int:
    """A whole number within the range the course document allows for ``name`` (defaults to ``field``)."""
    low, high = INT_BOUNDS[name or field]
    try:
        number = int(value.strip())
    except ValueError:
        number = None
    if number is None or (low is not None and number < low) or (high is not None and number > high):
        raise DomainError(_("Give a whole number from %(low)s to %(high)s.", low=low, high=high), field=field)
    return number


def ticked(value: str) -> bool:
    return value.strip().lower() in {"on", "yes", "true", "1"}


# Building documents -------------------------------------------------------------------------


def apply_metadata(doc: Doc | None, form: MetadataForm, *, code: str | None = None) -> Doc:
    """``doc`` with the form's title, summary, length, certification and quiz settings (a new dict)."""
    result = copy.deepcopy(doc) if doc is not None else {"format": "weft-course/1", "lessons": [], "quiz": {}}
    if code is not None:
        result["code"] = code.strip()
    result["title"] = required_text(form.title_en, form.title_zh, field="title_en")
    result["summary"] = required_text(form.summary_en, form.summary_zh, field="summary_en")
    result["estimated_minutes"] = whole_number(form.estimated_minutes, field="estimated_minutes")
    result["certifies"] = form.certifies.strip()
    quiz = result.setdefault("quiz", {})
    for name in QUIZ_SETTINGS:
        quiz[name] = whole_number(getattr(form, name), field=name)
    quiz["partial_credit"] = ticked(form.partial_credit)
    quiz.setdefault("questions", [])
    return result


def lesson_of(form: LessonFields, *, prefix: str = "") -> Doc:
    """One lesson from the lesson form; only the fields its kind uses."""
    if form.kind not in LESSON_KINDS:
        raise DomainError(_("Choose text, video or scenario."), field="kind")
    lesson: Doc = {
        "kind": form.kind,
        "title": required_text(form.title_en, form.title_zh, field=f"{prefix}title_en"),
    }
    body = text_of(form.body_en, form.body_zh)
    if body is not None:  # a text lesson's content, a video's caption, a scenario's context
        lesson["body"] = body
    if form.kind == "video" and form.video_url.strip():
        lesson["video_url"] = form.video_url.strip()
    if form.kind == "scenario":
        says = text_of(form.customer_says_en, form.customer_says_zh)
        if says is not None:
            lesson["customer_says"] = says
        lesson["replies"] = replies_of(form)
    return lesson


def replies_of(form: LessonFields) -> list[Doc]:
    replies = []
    for number in range(1, MAX_REPLIES + 1):
        text = text_of(getattr(form, f"reply_{number}_en"), getattr(form, f"reply_{number}_zh"))
        feedback = text_of(getattr(form, f"reply_{number}_feedback_en"), getattr(form, f"reply_{number}_feedback_zh"))
        if text is None and feedback is None:
            continue
        if text is None:
            raise DomainError(_("Write the reply this feedback is for."), field=f"reply_{number}_en")
        if feedback is None:
            raise DomainError(
                _("Write the feedback the agent sees for this reply."), field=f"reply_{number}_feedback_en"
            )
        replies.append({"text": text, "feedback": feedback, "best": form.best_reply.strip() == str(number)})
    return replies


def next_key(taken: set[str], stem: str) -> str:
    number = 1
    while f"{stem}{number}" in taken:
        number += 1
    return f"{stem}{number}"


CHOICE_KEYS = tuple(string.ascii_lowercase)


def question_of(form: Any, *, key: str, kind_field: str = "kind") -> Doc:
    """One question from the question form: rows with text become choices, in the order written.

    A row keeps the choice id it was shown with (ids stay stable across versions); a new row takes the first
    free letter. For an ordering question the rows are written in the correct order and the ticks are ignored.
    """
    kind = getattr(form, kind_field)
    if kind not in QUESTION_KINDS:
        raise DomainError(_("Choose a kind of question."), field=kind_field)
    prompt = required_text(form.prompt_en, form.prompt_zh, field="prompt_en")
    rows = []
    for number in range(1, MAX_CHOICES + 1):
        text = text_of(getattr(form, f"choice_{number}_en"), getattr(form, f"choice_{number}_zh"))
        if text is not None:
            rows.append(
                (getattr(form, f"choice_{number}_id").strip(), text, ticked(getattr(form, f"choice_{number}_correct")))
            )
    if len(rows) < 2:
        raise DomainError(_("Write at least two choices."), field="choices")
    kept = {choice_id for choice_id, _text, _correct in rows if choice_id}
    choices = []
    used: set[str] = set()
    for choice_id, text, correct in rows:
        if not choice_id or choice_id in used:
            choice_id = next(letter for letter in CHOICE_KEYS if letter not in kept | used)
        used.add(choice_id)
        choices.append({"id": choice_id, "text": text, "correct": correct and kind != "ordering"})
    explanation = required_text(form.explanation_en, form.explanation_zh, field="explanation_en")
    return {"id": key, "kind": kind, "prompt": prompt, "choices": choices, "explanation": explanation}


def new_course(form: CreateForm) -> Doc:
    """The first draft: metadata, lesson 1 (text) and question 1, from the new-course form."""
    doc = apply_metadata(None, form, code=form.code)
    lesson_form = LessonFields(
        kind="text",
        title_en=form.lesson_title_en,
        title_zh=form.lesson_title_zh,
        body_en=form.lesson_body_en,
        body_zh=form.lesson_body_zh,
    )
    doc["lessons"] = [lesson_of(lesson_form, prefix="lesson_")]
    doc["quiz"]["questions"] = [question_of(form, key="q1", kind_field="question_kind")]
    return doc


def _lesson_index(doc: Doc, index: int) -> int:
    if not 0 <= index < len(doc["lessons"]):
        raise NotFound("lesson")
    return index


def with_lesson(doc: Doc, lesson: Doc, index: int | None = None) -> Doc:
    """``doc`` with ``lesson`` added at the end (``index`` None) or in place of lesson ``index``."""
    result = copy.deepcopy(doc)
    if index is None:
        result["lessons"].append(lesson)
    else:
        result["lessons"][_lesson_index(doc, index)] = lesson
    return result


def without_lesson(doc: Doc, index: int) -> Doc:
    result = copy.deepcopy(doc)
    del result["lessons"][_lesson_index(doc, index)]
    return result


def moved_lesson(doc: Doc, index: int, direction: str) -> Doc:
    """Lesson ``index`` one place up or down; at either end it stays where it is."""
    result = copy.deepcopy(doc)
    lessons = result["lessons"]
    target = _lesson_index(doc, index) + (-1 if direction == "up" else 1)
    if 0 <= target < len(lessons):
        lessons[index], lessons[target] = lessons[target], lessons[index]
    return result


def question_index(doc: Doc, key: str) -> int:
    for index, question in enumerate(doc["quiz"]["questions"]):
        if question["id"] == key:
            return index
    raise NotFound("question")


def with_question(doc: Doc, question: Doc) -> Doc:
    """``doc`` with ``question`` replacing the one with its id, or added to the bank."""
    result = copy.deepcopy(doc)
    bank = result["quiz"]["questions"]
    for index, existing in enumerate(bank):
        if existing["id"] == question["id"]:
            bank[index] = question
            return result
    bank.append(question)
    return result


def without_question(doc: Doc, key: str) -> Doc:
    result = copy.deepcopy(doc)
    del result["quiz"]["questions"][question_index(doc, key)]
    return result


# Filling forms from a document ----------------------------------------------------------------


def _text_values(text: dict[str, str] | None, name: str) -> dict[str, str]:
    text = text or {}
    return {f"{name}_{suffix}": text.get(locale, "") for suffix, locale in LOCALES}


def metadata_values(doc: Doc) -> dict[str, Any]:
    quiz = doc["quiz"]
    values: dict[str, Any] = {
        "code": doc["code"],
        **_text_values(doc["title"], "title"),
        **_text_values(doc["summary"], "summary"),
        "estimated_minutes": str(doc["estimated_minutes"]),
        "certifies": doc["certifies"],
        "partial_credit": "on" if quiz.get("partial_credit", True) else "",
    }
    return values | {name: str(quiz.get(name, "")) for name in QUIZ_SETTINGS}


def lesson_values(lesson: Doc) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": lesson["kind"],
        **_text_values(lesson.get("title"), "title"),
        **_text_values(lesson.get("body"), "body"),
        **_text_values(lesson.get("customer_says"), "customer_says"),
        "video_url": lesson.get("video_url") or "",
        "best_reply": "",
    }
    for number, reply in enumerate(lesson.get("replies") or [], start=1):
        values |= _text_values(reply["text"], f"reply_{number}")
        values |= _text_values(reply["feedback"], f"reply_{number}_feedback")
        if reply.get("best"):
            values["best_reply"] = str(number)
    return values


def question_values(question: Doc) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": question["kind"],
        **_text_values(question["prompt"], "prompt"),
        **_text_values(question["explanation"], "explanation"),
    }
    for number, choice in enumerate(question["choices"], start=1):
        values |= _text_values(choice["text"], f"choice_{number}")
        values[f"choice_{number}_id"] = choice["id"]
        values[f"choice_{number}_correct"] = "on" if choice.get("correct") else ""
    return values


def form_values(form: msgspec.Struct) -> dict[str, Any]:
    """What the author typed, to show the form again after a refusal."""
    return {name: getattr(form, name) for name in form.__struct_fields__ if name != "csrf_token"}


# The preview's sample quiz ------------------------------------------------------------------------


def sample_quiz(content: CourseContent, rng: random.Random) -> list[quiz.ShownQuestion]:
    """One draw made as an agent's attempt makes it (``quiz.draw_questions``), shown as the agent sees it."""
    questions = {question.id: question for question in content.quiz.questions}
    sample = []
    for item in quiz.draw_questions(content, rng):
        question = questions[str(item["question"])]
        texts = {choice.id: choice.text for choice in question.choices}
        order: list[str] = item["choices"]  # type: ignore[assignment]
        sample.append(
            quiz.ShownQuestion(
                key=question.id,
                kind=question.kind,
                prompt=question.prompt,
                choices=[quiz.ShownChoice(id=choice_id, text=texts[choice_id]) for choice_id in order],
            )
        )
    return sample


# Reading for the pages ----------------------------------------------------------------------------


class CourseRow(msgspec.Struct, kw_only=True):
    """One line of the course list."""

    course: Any
    current: Any  # CourseVersion | None
    draft: Any  # CourseVersion | None
    content: CourseContent  # the draft's if there is one, else the current version's
    attempts: int
    passed: int

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.attempts if self.attempts else None


async def editable_version(session: AsyncSession, *, course_id: int) -> CourseVersion:
    """The version the editor works on: the draft, else (to be copied into a new draft) the current one."""
    version = await courses.draft_version(session, course_id=course_id)
    version = version or await courses.current_version(session, course_id=course_id)
    if version is None:
        raise NotFound("course version")
    return version


async def course_rows(session: AsyncSession, *, site_id: int) -> list[CourseRow]:
    counts = {
        course_id: (attempts, passed or 0)
        for course_id, attempts, passed in await session.execute(
            select(
                QuizAttempt.course_id,
                func.count(),
                func.sum(case((QuizAttempt.passed.is_(True), 1), else_=0)),
            )
            .join(Course, Course.id == QuizAttempt.course_id)
            .where(Course.site_id == site_id, QuizAttempt.submitted_at.is_not(None))
            .group_by(QuizAttempt.course_id)
        )
    }
    rows = []
    for course in await courses.courses_of_site(session, site_id=site_id):
        current = await courses.current_version(session, course_id=course.id)
        draft = await courses.draft_version(session, course_id=course.id)
        shown = draft or current
        if shown is None:
            continue
        attempts, passed = counts.get(course.id, (0, 0))
        rows.append(
            CourseRow(
                course=course,
                current=current,
                draft=draft,
                content=courses.content_of(shown),
                attempts=attempts,
                passed=int(passed),
            )
        )
    return rows


async def submitted_results(
    session: AsyncSession, *, course_id: int, version_id: int | None = None
) -> list[list[dict[str, Any]]]:
    """The results of a course's submitted attempts (of one version, if given), oldest first."""
    query = select(QuizAttempt.results).where(QuizAttempt.course_id == course_id, QuizAttempt.submitted_at.is_not(None))
    if version_id is not None:
        query = query.where(QuizAttempt.version_id == version_id)
    rows = await session.scalars(query.order_by(QuizAttempt.submitted_at, QuizAttempt.id))
    return [list(results) for results in rows if results]
