"""The course document's cross-field rules, parsing with readable paths, and export round trips.

``sample_course`` (in ``tests.factories``) is the course the learning tests share: six questions of every kind,
four drawn.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import msgspec
import pytest

from backend.core.errors import DomainError
from backend.learning.content import CourseContent
from backend.learning.courses import content_problems, localized, parse_course
from tests.factories import choice, sample_course, text


def content(doc: dict[str, Any]) -> CourseContent:
    return msgspec.convert(doc, CourseContent)


def paths(doc: dict[str, Any]) -> list[str]:
    return [path for path, _message in content_problems(content(doc))]


def test_sample_course_has_no_problems() -> None:
    assert content_problems(content(sample_course())) == []


@pytest.mark.parametrize(
    ("breaks", "path"),
    [
        (lambda d: d["quiz"]["questions"][1].update(id="q1"), "quiz.questions[1].id"),
        (lambda d: d["quiz"]["questions"][0]["choices"][1].update(id="a"), "quiz.questions[0].choices[1].id"),
        (lambda d: d["quiz"].update(draw=7), "quiz.draw"),
        (lambda d: d["quiz"]["questions"][0]["choices"][1].update(correct=True), "quiz.questions[0].choices"),
        (lambda d: d["quiz"]["questions"][4]["choices"][1].update(correct=False), "quiz.questions[4].choices"),
        (lambda d: d["quiz"]["questions"][2]["choices"].append(choice("x")), "quiz.questions[2].choices"),
        (lambda d: d["quiz"]["questions"][2]["choices"][0].update(correct=True), "quiz.questions[2].choices"),
        (
            lambda d: [c.update(correct=False) for c in d["quiz"]["questions"][1]["choices"]],
            "quiz.questions[1].choices",
        ),
        (lambda d: d["lessons"][0].pop("body"), "lessons[0].body"),
        (lambda d: d["lessons"][1].pop("video_url"), "lessons[1].video_url"),
        (lambda d: d["lessons"][2].pop("customer_says"), "lessons[2].customer_says"),
        (lambda d: d["lessons"][2]["replies"].pop(), "lessons[2].replies"),
        (lambda d: d["lessons"][2]["replies"][0].update(best=True), "lessons[2].replies"),
    ],
)
def test_each_broken_rule_is_named_by_its_path(breaks: Any, path: str) -> None:
    doc = copy.deepcopy(sample_course())
    breaks(doc)
    assert paths(doc) == [path]


def test_parse_names_the_first_problem() -> None:
    doc = sample_course()
    doc["quiz"]["questions"][0]["choices"][1]["correct"] = True
    with pytest.raises(DomainError) as refused:
        parse_course(json.dumps(doc))
    assert refused.value.status_code == 422
    assert refused.value.field == "quiz.questions[0].choices"


def test_parse_makes_msgspec_paths_readable() -> None:
    doc = sample_course()
    doc["quiz"]["questions"][2]["kind"] = "essay"
    with pytest.raises(DomainError) as refused:
        parse_course(json.dumps(doc))
    assert refused.value.field == "quiz.questions[2].kind"
    assert refused.value.message.startswith("quiz.questions[2].kind: ")


def test_parse_refuses_a_course_longer_than_ten_minutes_and_unknown_fields() -> None:
    doc = sample_course()
    doc["estimated_minutes"] = 12
    with pytest.raises(DomainError) as refused:
        parse_course(json.dumps(doc))
    assert refused.value.field == "estimated_minutes"
    doc = sample_course()
    doc["quiz"]["questions"][0]["hint"] = text("psst")
    with pytest.raises(DomainError) as refused:
        parse_course(json.dumps(doc))
    assert refused.value.field == "quiz.questions[0]"


def test_parse_refuses_broken_json() -> None:
    with pytest.raises(DomainError) as refused:
        parse_course(b'{"code": ')
    assert refused.value.field == "content"


def test_localized_prefers_the_reader_then_english_then_the_first() -> None:
    assert localized({"en": "Hello", "zh-Hans": "你好"}, "zh-Hans") == "你好"
    assert localized({"en": "Hello"}, "zh-Hans") == "Hello"
    assert localized({"zh-Hans": "你好"}, "en") == "你好"
    assert localized(None, "en") == ""
