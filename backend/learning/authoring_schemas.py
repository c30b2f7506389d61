"""The course authoring forms, as they cross the edge.

Every field arrives as text (bounded in length) and ``authoring`` turns it into
the course document, so that a number out of range or a missing title is shown
beside its field on the form, in the same words as an imported file's problem.
Browsers leave empty fields and unticked boxes out of a form: every field has a
default. Choice and reply rows are numbered fields (``choice_3_en``) rather than
repeated names, so a row keeps its place and its correct flag without JavaScript.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from backend.accounts.schemas import Form

MAX_CHOICES = 8  # content.Question allows 2-8
MAX_REPLIES = 5  # scenario replies offered on the form
ShortText = Annotated[str, msgspec.Meta(max_length=40)]
Line = Annotated[str, msgspec.Meta(max_length=2_000)]
LongText = Annotated[str, msgspec.Meta(max_length=20_000)]
Url = Annotated[str, msgspec.Meta(max_length=500)]


class MetadataForm(Form):
    """Title, summary, length, what it certifies and the quiz's settings; ``code`` only when creating."""

    code: ShortText = ""
    title_en: Line = ""
    title_zh: Line = ""
    summary_en: LongText = ""
    summary_zh: LongText = ""
    estimated_minutes: ShortText = ""
    certifies: ShortText = ""
    draw: ShortText = ""
    pass_percent: ShortText = ""
    partial_credit: ShortText = ""  # a checkbox: "on" when ticked, absent when not
    time_limit_minutes: ShortText = ""
    cooldown_minutes: ShortText = ""
    attempts_per_day: ShortText = ""


class LessonFields(Form):
    kind: ShortText = "text"
    title_en: Line = ""
    title_zh: Line = ""
    body_en: LongText = ""  # a text lesson's Markdown, or a video's caption
    body_zh: LongText = ""
    video_url: Url = ""
    customer_says_en: LongText = ""
    customer_says_zh: LongText = ""
    best_reply: ShortText = ""  # the number (1..MAX_REPLIES) of the best reply


def _numbered(prefix: str, count: int, suffixes: dict[str, Any]) -> list[tuple[str, Any, str]]:
    return [
        (f"{prefix}_{number}_{suffix}", kind, "") for number in range(1, count + 1) for suffix, kind in suffixes.items()
    ]


LessonForm: type[LessonFields] = msgspec.defstruct(
    "LessonForm",
    _numbered("reply", MAX_REPLIES, {"en": LongText, "zh": LongText, "feedback_en": LongText, "feedback_zh": LongText}),
    bases=(LessonFields,),
    kw_only=True,
    forbid_unknown_fields=True,
)


class QuestionFields(Form):
    kind: ShortText = "single"
    prompt_en: LongText = ""
    prompt_zh: LongText = ""
    explanation_en: LongText = ""
    explanation_zh: LongText = ""


QuestionForm: type[QuestionFields] = msgspec.defstruct(
    "QuestionForm",
    _numbered("choice", MAX_CHOICES, {"id": ShortText, "en": Line, "zh": Line, "correct": ShortText}),
    bases=(QuestionFields,),
    kw_only=True,
    forbid_unknown_fields=True,
)


class CreateForm(MetadataForm):
    """A new course is created whole: its metadata, its first (text) lesson and its first question.

    The course document needs at least one lesson and one question, and a draft is always a valid document,
    so the first ones are written on the same form rather than stored as placeholders that could be published.
    """

    lesson_title_en: Line = ""
    lesson_title_zh: Line = ""
    lesson_body_en: LongText = ""
    lesson_body_zh: LongText = ""


CreateCourseForm: type[CreateForm] = msgspec.defstruct(
    "CreateCourseForm",
    [
        ("question_kind", ShortText, "single"),
        ("prompt_en", LongText, ""),
        ("prompt_zh", LongText, ""),
        ("explanation_en", LongText, ""),
        ("explanation_zh", LongText, ""),
        *_numbered("choice", MAX_CHOICES, {"id": ShortText, "en": Line, "zh": Line, "correct": ShortText}),
    ],
    bases=(CreateForm,),
    kw_only=True,
    forbid_unknown_fields=True,
)


class MoveForm(Form):
    direction: Literal["up", "down"]
