"""A course's content as one document: what authors edit, import and export, and what a version freezes.

A published version is never edited: it is this document, stored whole, so an
attempt in progress keeps the lessons and questions it started with while a
newer version is drafted or published. Texts carry every language the author
wrote (``{"en": ..., "zh-Hans": ...}``); the reader sees theirs, or English,
or the first one written.

Questions and choices have ids that stay the same across versions: attempts,
drills and per-question statistics refer to them. An ordering question lists
its choices in the correct order; the agent sees them shuffled.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Locale = Literal["en", "zh-Hans"]
Key = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
Text = Annotated[dict[Locale, Annotated[str, msgspec.Meta(max_length=20_000)]], msgspec.Meta(min_length=1)]
QuestionKind = Literal["single", "multiple", "true_false", "ordering"]
LessonKind = Literal["text", "video", "scenario"]

MAX_COURSE_MINUTES = 10


class Choice(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Key
    text: Text
    correct: bool = False  # ignored for ordering questions: the list order is the answer


class Question(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Key
    kind: QuestionKind
    prompt: Text
    choices: Annotated[list[Choice], msgspec.Meta(min_length=2, max_length=8)]
    explanation: Text


class ScenarioReply(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    text: Text
    feedback: Text
    best: bool = False


class Lesson(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One step of a course: Markdown text (images by URL), a short video, or a scenario card."""

    kind: LessonKind
    title: Text
    body: Text | None = None  # Markdown, sanitized when rendered; the text lesson's content, or a video's caption
    video_url: Annotated[str, msgspec.Meta(max_length=500, pattern=r"^(https://|/static/)")] | None = None
    customer_says: Text | None = None  # a scenario card's situation
    replies: list[ScenarioReply] = []


class Quiz(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    draw: Annotated[int, msgspec.Meta(ge=1, le=50)]  # questions drawn at random per attempt
    pass_percent: Annotated[int, msgspec.Meta(ge=1, le=100)] = 80
    partial_credit: bool = True  # multiple choice and ordering earn part of a point when partly right
    time_limit_minutes: Annotated[int, msgspec.Meta(ge=1, le=120)] = 15
    cooldown_minutes: Annotated[int, msgspec.Meta(ge=0, le=10_080)] = 30  # after a failed attempt
    attempts_per_day: Annotated[int, msgspec.Meta(ge=1, le=20)] = 3
    questions: Annotated[list[Question], msgspec.Meta(min_length=1, max_length=200)]


class CourseContent(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The import/export format (``weft-course/1``): one JSON object per course."""

    format: Literal["weft-course/1"] = "weft-course/1"
    code: Key  # stable across versions and sites' exports; one course per code per site
    title: Text
    summary: Text
    estimated_minutes: Annotated[int, msgspec.Meta(ge=1, le=MAX_COURSE_MINUTES)]
    certifies: Key  # a skill code, or "onboarding"
    lessons: Annotated[list[Lesson], msgspec.Meta(min_length=1, max_length=30)]
    quiz: Quiz
