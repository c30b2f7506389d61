"""The demo courses are real courses: they import as they are, in both languages, within the rules authors follow."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from backend.demo import DEMO_COURSES, SKILLS
from backend.learning.content import MAX_COURSE_MINUTES, CourseContent, Text
from backend.learning.courses import ONBOARDING, content_problems, parse_course

COURSE_DIR = Path(__file__).resolve().parents[2] / "backend" / "learning" / "demo_courses"
LOCALES = {"en", "zh-Hans"}
WORD = re.compile(r"[A-Za-z]{2,}")
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def course_files() -> list[Path]:
    return sorted(COURSE_DIR.glob("*.json"))


def load(path: Path) -> CourseContent:
    return msgspec.json.decode(path.read_bytes(), type=CourseContent)


def texts(course: CourseContent) -> Iterator[tuple[str, Text]]:
    """Every Text of the course with where it sits, so a missing translation names its place."""
    yield "title", course.title
    yield "summary", course.summary
    for index, lesson in enumerate(course.lessons):
        path = f"lessons[{index}]"
        yield f"{path}.title", lesson.title
        if lesson.body is not None:
            yield f"{path}.body", lesson.body
        if lesson.customer_says is not None:
            yield f"{path}.customer_says", lesson.customer_says
        for reply_index, reply in enumerate(lesson.replies):
            yield f"{path}.replies[{reply_index}].text", reply.text
            yield f"{path}.replies[{reply_index}].feedback", reply.feedback
    for index, question in enumerate(course.quiz.questions):
        path = f"quiz.questions[{index}]"
        yield f"{path}.prompt", question.prompt
        yield f"{path}.explanation", question.explanation
        for choice_index, choice in enumerate(question.choices):
            yield f"{path}.choices[{choice_index}].text", choice.text


def test_the_demo_loads_every_course_file_under_its_own_code() -> None:
    assert sorted(DEMO_COURSES.values()) == [path.name for path in course_files()]
    assert {load(COURSE_DIR / name).code: name for name in DEMO_COURSES.values()} == DEMO_COURSES
    assert list(DEMO_COURSES) == ["onboarding-basics", "billing-disputes", "tech-triage"]


def test_the_courses_cover_onboarding_and_each_trained_demo_skill() -> None:
    certified = {load(path).certifies for path in course_files()}
    assert certified == {ONBOARDING, "billing", "tech"}
    assert certified - {ONBOARDING} <= {code for code, _, _ in SKILLS}


@pytest.mark.parametrize("path", course_files(), ids=lambda path: path.stem)
def test_a_demo_course_imports_without_problems(path: Path) -> None:
    course = parse_course(path.read_bytes())  # the importer's own checks: msgspec, then the cross-field rules
    assert content_problems(course) == []


@pytest.mark.parametrize("path", course_files(), ids=lambda path: path.stem)
def test_every_text_is_written_in_english_and_chinese(path: Path) -> None:
    for where, text in texts(load(path)):
        assert set(text) == LOCALES, where
        assert all(value.strip() for value in text.values()), where
        if WORD.search(text["en"]):  # "¥40" and "P1" read the same in both languages
            assert CHINESE.search(text["zh-Hans"]), f"{where} is not translated"


@pytest.mark.parametrize("path", course_files(), ids=lambda path: path.stem)
def test_a_demo_course_has_every_kind_of_lesson_and_question(path: Path) -> None:
    course = load(path)
    assert course.estimated_minutes <= MAX_COURSE_MINUTES
    assert {lesson.kind for lesson in course.lessons} == {"text", "scenario"}  # no video: see below
    assert 2 <= sum(lesson.kind == "scenario" for lesson in course.lessons) <= 3
    assert all(len(lesson.replies) == 3 for lesson in course.lessons if lesson.kind == "scenario")
    questions = course.quiz.questions
    assert {question.kind for question in questions} == {"single", "multiple", "true_false", "ordering"}
    assert 10 <= len(questions) <= 14
    assert course.quiz.draw == 6 <= len(questions)
    assert course.quiz.pass_percent == 80


@pytest.mark.parametrize("path", course_files(), ids=lambda path: path.stem)
def test_true_false_questions_answer_with_true_and_false(path: Path) -> None:
    for question in load(path).quiz.questions:
        if question.kind == "true_false":
            assert [choice.id for choice in question.choices] == ["true", "false"], question.id
            assert sum(choice.correct for choice in question.choices) == 1, question.id


@pytest.mark.parametrize("path", course_files(), ids=lambda path: path.stem)
def test_ordering_choice_ids_do_not_give_the_order_away(path: Path) -> None:
    """The agent sees the choices shuffled; ids sorted alphabetically must not be the answer."""
    for question in load(path).quiz.questions:
        if question.kind == "ordering":
            ids = [choice.id for choice in question.choices]
            assert ids != sorted(ids), question.id


@pytest.mark.parametrize("path", course_files(), ids=lambda path: path.stem)
def test_demo_content_points_at_no_other_host(path: Path) -> None:
    """The demo runs on a machine with no internet: no video, image or link hosted elsewhere."""
    assert "://" not in path.read_text(encoding="utf-8")
    assert all(lesson.video_url is None for lesson in load(path).lessons)
