"""Course authoring as coordinators meet it: create, edit, publish, preview, import, export, statistics; who may."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.core.db import utcnow
from backend.learning import authoring, courses
from backend.learning.authoring_schemas import LessonForm, MetadataForm, QuestionForm
from backend.learning.content import CourseContent, Lesson
from backend.learning.models import Course, CourseVersion, QuizAttempt, VersionStatus
from tests.conftest import login, post_form
from tests.factories import Factory, a_course, a_skill

HTMX = {"hx-request": "true"}


def new_course_form(**changes: str) -> dict[str, str]:
    """The new-course form as a coordinator fills it: metadata, lesson 1 and a single-choice question 1."""
    form = {
        "code": "billing-basics",
        "title_en": "Billing basics",
        "title_zh": "账单基础",
        "summary_en": "Read a bill and explain it.",
        "estimated_minutes": "6",
        "certifies": "billing",
        "draw": "1",
        "pass_percent": "80",
        "partial_credit": "on",
        "time_limit_minutes": "15",
        "cooldown_minutes": "30",
        "attempts_per_day": "3",
        "lesson_title_en": "A bill, line by line",
        "lesson_body_en": "Every bill has **three** parts.",
        "question_kind": "single",
        "prompt_en": "How many parts has a bill?",
        "choice_1_en": "Two",
        "choice_2_en": "Three",
        "choice_2_correct": "on",
        "choice_3_en": "Four",
        "explanation_en": "Plan, usage, taxes.",
    }
    return {**form, **changes}


METADATA = (
    "title_en",
    "title_zh",
    "summary_en",
    "estimated_minutes",
    "certifies",
    "draw",
    "pass_percent",
    "partial_credit",
    "time_limit_minutes",
    "cooldown_minutes",
    "attempts_per_day",
)


def metadata_form(**changes: str) -> dict[str, str]:
    """The editor's metadata form: the new-course form's metadata fields."""
    form = new_course_form(**changes)
    return {name: form[name] for name in METADATA}


def question_form(**changes: str) -> dict[str, str]:
    form = {
        "kind": "multiple",
        "prompt_en": "Which are taxes?",
        "prompt_zh": "哪些是税",
        "choice_1_en": "VAT",
        "choice_1_correct": "on",
        "choice_2_en": "Roaming",
        "choice_3_en": "Service tax",
        "choice_3_correct": "on",
        "explanation_en": "VAT and service tax are taxes.",
    }
    return {**form, **changes}


async def a_coordinator(db: AsyncSession, site: Site, people: Factory, client: httpx.AsyncClient) -> User:
    await a_skill(db, site)
    coordinator = await people.make(Role.coordinator)
    await db.commit()
    assert (await login(client, coordinator.email)).status_code == 303
    return coordinator


async def create(client: httpx.AsyncClient, **changes: str) -> int:
    response = await post_form(client, "/admin/courses/new", new_course_form(**changes))
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/admin/courses/(\d+)", response.headers["location"])
    assert match
    return int(match.group(1))


async def versions(db: AsyncSession, course_id: int) -> list[CourseVersion]:
    query = select(CourseVersion).where(CourseVersion.course_id == course_id).order_by(CourseVersion.number)
    return list(await db.scalars(query.execution_options(populate_existing=True)))


async def course_count(db: AsyncSession) -> int:
    return await db.scalar(select(func.count()).select_from(Course)) or 0


def field_error(page: str, field: str) -> str:
    """The message shown beside ``field``, or fail: the page must name the field the problem is in."""
    match = re.search(rf'id="e-{re.escape(field)}"[^>]*>([^<]*)<', page)
    assert match, f"no error shown at {field}"
    return match.group(1)


# Create, edit, publish -----------------------------------------------------------------------------


async def test_a_coordinator_creates_a_course_adds_lessons_and_questions_and_publishes(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_coordinator(db, site, people, client)
    course_id = await create(client)
    base = f"/admin/courses/{course_id}"

    video = {"kind": "video", "title_en": "Watch", "video_url": "https://media.example/bill.mp4", "body_en": "Caption"}
    assert (await post_form(client, f"{base}/lessons", video)).status_code == 303
    scenario = {
        "kind": "scenario",
        "title_en": "An angry customer",
        "customer_says_en": "My bill doubled!",
        "reply_1_en": "Calm down.",
        "reply_1_feedback_en": "This makes it worse.",
        "reply_2_en": "I'm sorry, let me look at it with you.",
        "reply_2_zh": "抱歉 我和您一起看看",
        "reply_2_feedback_en": "Empathy, then action.",
        "best_reply": "2",
    }
    assert (await post_form(client, f"{base}/lessons", scenario)).status_code == 303
    assert (await post_form(client, f"{base}/questions", question_form())).status_code == 303
    ordering = question_form(kind="ordering", prompt_en="Order the steps", choice_1_en="Greet", choice_2_en="Verify")
    ordering |= {"choice_3_en": "Resolve"}
    assert (await post_form(client, f"{base}/questions", ordering)).status_code == 303
    moved = await post_form(client, f"{base}/lessons/3/move", {"direction": "up"})
    assert moved.status_code == 303
    assert (await post_form(client, f"{base}/metadata", metadata_form(draw="3"))).status_code == 303

    editor = await client.get(base)
    assert editor.status_code == 200
    assert "Draft v1" in editor.text
    published = await post_form(client, f"{base}/publish", {})
    assert published.status_code == 303

    [version] = await versions(db, course_id)
    assert version.status == VersionStatus.published
    content = courses.content_of(version)
    assert [lesson.kind for lesson in content.lessons] == ["text", "scenario", "video"]
    assert [reply.best for reply in content.lessons[1].replies] == [False, True]
    assert content.lessons[1].replies[1].text == {
        "en": "I'm sorry, let me look at it with you.",
        "zh-Hans": "抱歉 我和您一起看看",
    }
    assert [question.id for question in content.quiz.questions] == ["q1", "q2", "q3"]
    taxes = content.quiz.questions[1]
    assert [(choice.id, choice.correct) for choice in taxes.choices] == [("a", True), ("b", False), ("c", True)]
    assert [choice.text["en"] for choice in content.quiz.questions[2].choices] == ["Greet", "Verify", "Resolve"]
    assert content.quiz.draw == 3
    assert content.certifies == "billing"

    listing = await client.get("/admin/courses")
    row = re.search(rf'<tr id="course-{course_id}">(.*?)</tr>', listing.text, re.S)
    assert row
    assert "Published v1" in row.group(1)
    assert "Billing basics" in row.group(1)


async def test_editing_a_published_course_makes_the_next_draft_and_leaves_the_published_version(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_coordinator(db, site, people, client)
    course_id = await create(client)
    base = f"/admin/courses/{course_id}"
    assert (await post_form(client, f"{base}/publish", {})).status_code == 303
    published_content = dict((await versions(db, course_id))[0].content)

    edit = question_form(kind="single", prompt_en="How many parts has a bill, really?", choice_3_correct="")
    edit |= {"choice_1_id": "a", "choice_2_id": "b", "choice_3_id": "c"}
    assert (await post_form(client, f"{base}/questions/q1", edit)).status_code == 303

    first, second = await versions(db, course_id)
    assert (first.number, first.status) == (1, VersionStatus.published)
    assert first.content == published_content
    assert (second.number, second.status) == (2, VersionStatus.draft)
    assert courses.content_of(second).quiz.questions[0].prompt == {
        "en": "How many parts has a bill, really?",
        "zh-Hans": "哪些是税",
    }
    listing = await client.get("/admin/courses")
    assert "Published v1 · draft of v2" in listing.text

    assert (await post_form(client, f"{base}/publish", {})).status_code == 303
    first, second = await versions(db, course_id)
    assert first.status == VersionStatus.retired
    assert second.status == VersionStatus.published


async def test_lessons_are_edited_deleted_and_the_last_one_cannot_go(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_coordinator(db, site, people, client)
    course_id = await create(client)
    base = f"/admin/courses/{course_id}"
    form = await client.get(f"{base}/lessons/1")
    assert form.status_code == 200
    assert "A bill, line by line" in form.text
    changed = {
        "kind": "text",
        "title_en": "A bill",
        "title_zh": "账单",
        "body_en": "Three parts.",
        "body_zh": "三部分。",
    }
    assert (await post_form(client, f"{base}/lessons/1", changed)).status_code == 303
    [draft] = await versions(db, course_id)
    assert courses.content_of(draft).lessons[0].body == {"en": "Three parts.", "zh-Hans": "三部分。"}

    refused = await post_form(client, f"{base}/lessons/1/delete", {})
    assert refused.status_code == 422
    alert = re.search(r'id="page-error">([^<]*)<', refused.text)
    assert alert
    assert alert.group(1).startswith("lessons: ")
    [draft] = await versions(db, course_id)
    assert len(draft.content["lessons"]) == 1
    assert (await client.get(f"{base}/lessons/2")).status_code == 404


# Refusals: 422 at the field, nothing saved -----------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"estimated_minutes": "11"}, "estimated_minutes"),
        ({"choice_3_correct": "on"}, "choices"),  # a single-choice question with two correct choices
        ({"draw": "2"}, "draw"),  # one question in the bank
        ({"certifies": "astrology"}, "certifies"),
        ({"title_en": "", "title_zh": ""}, "title_en"),
        ({"code": "Not A Code"}, "code"),
        ({"lesson_body_en": ""}, "lesson_body_en"),
    ],
)
async def test_a_bad_new_course_is_refused_at_its_field_and_nothing_is_created(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, changes: dict[str, str], field: str
) -> None:
    await a_coordinator(db, site, people, client)
    response = await post_form(client, "/admin/courses/new", new_course_form(**changes))
    assert response.status_code == 422
    if field == "certifies":
        assert 'class="field invalid"' in response.text
        assert "astrology" in response.text
    else:
        assert field_error(response.text, field)
    assert await course_count(db) == 0


async def test_bad_edits_are_refused_at_their_field_and_the_draft_is_unchanged(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_coordinator(db, site, people, client)
    course_id = await create(client)
    base = f"/admin/courses/{course_id}"
    [before] = await versions(db, course_id)
    saved = dict(before.content)

    two_correct = question_form(kind="single")
    response = await post_form(client, f"{base}/questions", two_correct)
    assert response.status_code == 422
    assert "exactly one correct choice" in field_error(response.text, "choices")

    response = await post_form(client, f"{base}/metadata", metadata_form(estimated_minutes="11"))
    assert response.status_code == 422
    assert field_error(response.text, "estimated_minutes")

    response = await post_form(client, f"{base}/metadata", metadata_form(draw="4"))
    assert response.status_code == 422
    assert "4" in field_error(response.text, "draw")

    no_url = {"kind": "video", "title_en": "Watch", "video_url": "http://insecure.example/x.mp4"}
    response = await post_form(client, f"{base}/lessons", no_url)
    assert response.status_code == 422
    assert field_error(response.text, "video_url")

    one_reply = {
        "kind": "scenario",
        "title_en": "S",
        "customer_says_en": "Hi",
        "reply_1_en": "Hello",
        "reply_1_feedback_en": "Fine",
        "best_reply": "1",
    }
    response = await post_form(client, f"{base}/lessons", one_reply)
    assert response.status_code == 422
    assert "two replies" in field_error(response.text, "replies")

    [after] = await versions(db, course_id)
    assert after.content == saved


async def test_a_bad_json_import_names_the_path_and_creates_nothing(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_coordinator(db, site, people, client)
    course_id = await create(client)
    [version] = await versions(db, course_id)
    document: dict[str, Any] = json.loads(courses.export_course(version))
    document["code"] = "imported"
    question = document["quiz"]["questions"][0]
    document["quiz"]["questions"] = [question, {**question, "id": "q2"}, {**question, "id": "q3", "kind": "essay"}]
    before = await course_count(db)

    pasted = await post_form(client, "/admin/courses/import", {"json": json.dumps(document)})
    assert pasted.status_code == 422
    assert "quiz.questions[2].kind" in pasted.text

    document["quiz"]["questions"][2]["kind"] = "single"
    document["quiz"]["draw"] = 4
    token = client.cookies.get("weft_csrf") or ""
    uploaded = await client.post(
        "/admin/courses/import",
        data={"_csrf_token": token},
        files={"file": ("course.json", json.dumps(document).encode(), "application/json")},
    )
    assert uploaded.status_code == 422
    assert "quiz.draw" in uploaded.text

    broken = await post_form(client, "/admin/courses/import", {"json": "{not json"})
    assert broken.status_code == 422
    assert "not valid JSON" in broken.text
    assert await course_count(db) == before


# Export, import, preview --------------------------------------------------------------------------------


async def test_an_exported_course_imports_on_another_site_unchanged(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_coordinator(db, site, people, client)
    course_id = await create(client, certifies="onboarding", code="first-day")
    base = f"/admin/courses/{course_id}"
    assert (await post_form(client, f"{base}/questions", question_form())).status_code == 303
    assert (await post_form(client, f"{base}/publish", {})).status_code == 303
    exported = await client.get(f"{base}/export")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/json")
    assert exported.headers["content-disposition"] == 'attachment; filename="first-day-v1.json"'

    other = await accounts.ensure_site(db, name="Other Centre", timezone="Europe/Berlin", country="DE")
    colleague = await people.make(Role.coordinator, site=other)
    client.cookies.clear()
    assert (await login(client, colleague.email)).status_code == 303
    token = client.cookies.get("weft_csrf") or ""
    imported = await client.post(
        "/admin/courses/import",
        data={"_csrf_token": token, "publish": "on"},
        files={"file": ("first-day-v1.json", exported.content, "application/json")},
    )
    assert imported.status_code == 303, imported.text
    new_id = int(imported.headers["location"].rsplit("/", 1)[1])
    assert new_id != course_id
    again = await client.get(f"/admin/courses/{new_id}/export")
    assert again.content == exported.content
    assert msgspec.json.decode(again.content, type=CourseContent).quiz.questions[1].id == "q2"
    [version] = await versions(db, new_id)
    assert version.status == VersionStatus.published


async def test_the_preview_shows_every_lesson_and_a_draw_that_cannot_be_submitted(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_coordinator(db, site, people, client)
    course_id = await create(client)
    base = f"/admin/courses/{course_id}"
    assert (await post_form(client, f"{base}/questions", question_form())).status_code == 303
    preview = await client.get(f"{base}/preview")
    assert preview.status_code == 200
    assert 'class="phone-frame"' in preview.text
    assert "A bill, line by line" in preview.text
    assert "<strong>three</strong>" in preview.text  # the lesson's Markdown, rendered
    assert "<fieldset disabled" in preview.text
    assert 'type="submit"' not in preview.text.split('class="phone-frame"', 1)[1]
    assert len(re.findall(r'<fieldset class="question[ "]', preview.text)) == 1  # draw 1 of the 2 questions


# Who may ---------------------------------------------------------------------------------------------------


def body_for(url: str) -> dict[str, str]:
    """The least a post needs to get past the form's own checks (a move names its direction)."""
    return {"direction": "up"} if url.endswith("/move") else {}


def authoring_urls(course_id: int) -> list[tuple[str, str]]:
    base = f"/admin/courses/{course_id}"
    return [
        ("GET", "/admin/courses"),
        ("GET", "/admin/courses/new"),
        ("POST", "/admin/courses/new"),
        ("POST", "/admin/courses/import"),
        ("GET", base),
        ("POST", f"{base}/metadata"),
        ("GET", f"{base}/lessons/new"),
        ("POST", f"{base}/lessons"),
        ("GET", f"{base}/lessons/1"),
        ("POST", f"{base}/lessons/1"),
        ("POST", f"{base}/lessons/1/delete"),
        ("POST", f"{base}/lessons/1/move"),
        ("GET", f"{base}/questions/new"),
        ("POST", f"{base}/questions"),
        ("GET", f"{base}/questions/q1"),
        ("POST", f"{base}/questions/q1"),
        ("POST", f"{base}/questions/q1/delete"),
        ("GET", f"{base}/preview"),
        ("POST", f"{base}/publish"),
        ("GET", f"{base}/export"),
        ("GET", f"{base}/stats"),
    ]


def basics_course(code: str = "basics") -> dict[str, Any]:
    """A one-lesson onboarding course with a single true-or-false question."""
    return {
        "code": code,
        "title": {"en": "Basics"},
        "summary": {"en": "The basics."},
        "estimated_minutes": 5,
        "certifies": "onboarding",
        "lessons": [{"kind": "text", "title": {"en": "One"}, "body": {"en": "Text"}}],
        "quiz": {
            "draw": 1,
            "questions": [
                {
                    "id": "q1",
                    "kind": "true_false",
                    "prompt": {"en": "True?"},
                    "choices": [
                        {"id": "t", "text": {"en": "True"}, "correct": True},
                        {"id": "f", "text": {"en": "False"}},
                    ],
                    "explanation": {"en": "It is."},
                }
            ],
        },
    }


@pytest.mark.parametrize("role", [Role.agent, Role.finance])
async def test_agents_and_finance_are_refused_every_authoring_address(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, role: Role
) -> None:
    author = await people.make(Role.coordinator)
    course = await a_course(db, site, basics_course(), author=author)
    user = await people.make(role)
    assert (await login(client, user.email)).status_code == 303
    for method, url in authoring_urls(course.id):
        if method == "GET":
            response = await client.get(url)
        else:
            response = await post_form(client, url, body_for(url))
        assert response.status_code == 403, (method, url)
    [version] = await versions(db, course.id)
    assert version.status == VersionStatus.published


async def test_a_course_of_another_site_is_not_found(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    other = await accounts.ensure_site(db, name="Other Centre", timezone="Europe/Berlin", country="DE")
    theirs = await a_course(
        db, other, basics_course(code="theirs"), author=await people.make(Role.coordinator, site=other)
    )
    await a_coordinator(db, site, people, client)
    for method, url in authoring_urls(theirs.id)[4:]:
        if method == "GET":
            response = await client.get(url)
        else:
            response = await post_form(client, url, body_for(url))
        assert response.status_code == 404, (method, url)
    listing = await client.get("/admin/courses")
    assert "theirs" not in listing.text


# Statistics ------------------------------------------------------------------------------------------------


async def test_the_statistics_page_shows_each_questions_figures(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator = await a_coordinator(db, site, people, client)
    course_id = await create(client)
    base = f"/admin/courses/{course_id}"
    assert (await post_form(client, f"{base}/questions", question_form())).status_code == 303
    assert (await post_form(client, f"{base}/questions", question_form(prompt_en="Inverted"))).status_code == 303
    assert (await post_form(client, f"{base}/publish", {})).status_code == 303
    [version] = await versions(db, course_id)
    agent = await people.make(Role.agent)
    now = utcnow()
    # Ten agents of rising strength, ranked by three anchor questions: q1 is right for the strong half,
    # q2 ("Inverted") for the weak half, q3 for everyone.
    for strength in range(10):
        results = [
            {"question": "q1", "earned": float(strength >= 5), "correct": strength >= 5},
            {"question": "q2", "earned": float(strength < 5), "correct": strength < 5},
            {"question": "q3", "earned": 1.0, "correct": True},
            *(
                {"question": f"anchor{n}", "earned": float(strength >= cut), "correct": strength >= cut}
                for n, cut in enumerate((5, 3, 5))
            ),
        ]
        score = 100 * sum(item["earned"] for item in results) / len(results)  # type: ignore[misc]
        db.add(
            QuizAttempt(
                user_id=agent.id,
                course_id=course_id,
                version_id=version.id,
                started_at=now - dt.timedelta(minutes=30 - strength),
                deadline_at=now,
                drawn=[{"question": item["question"], "choices": []} for item in results],
                submitted_at=now - dt.timedelta(minutes=20 - strength),
                answers={},
                results=results,
                score_percent=score,
                passed=score >= 80,
            )
        )
    await db.commit()
    assert coordinator.role == Role.coordinator

    page = await client.get(f"{base}/stats")
    assert page.status_code == 200
    assert "10 submitted attempts." in page.text

    def row(key: str) -> list[str]:
        match = re.search(rf'<tr id="stat-{key}"[^>]*>(.*?)</tr>', page.text, re.S)
        assert match, key
        return [
            re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)
        ]

    q1 = row("q1")
    assert q1[1:5] == ["10", "50%", "0.50", "+1.00"]
    assert q1[5] == "fine"
    q2 = row("q2")
    assert q2[1:5] == ["10", "50%", "0.50", "-1.00"]
    assert "does not separate strong and weak agents" in q2[5]
    q3 = row("q3")
    assert q3[2] == "100%"
    assert "almost everyone gets it right" in q3[5]
    listing = await client.get("/admin/courses")
    course_row = re.search(rf'<tr id="course-{course_id}">(.*?)</tr>', listing.text, re.S)
    assert course_row
    assert ">10<" in course_row.group(1)

    one_version = await client.get(f"{base}/stats?version=1")
    assert "10 submitted attempts." in one_version.text
    assert (await client.get(f"{base}/stats?version=9")).status_code == 404


async def test_every_authoring_page_opens_for_a_coordinator_in_both_languages(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator = await a_coordinator(db, site, people, client)
    course = await a_course(db, site, basics_course(), author=coordinator)
    base = f"/admin/courses/{course.id}"
    pages = [url for method, url in authoring_urls(course.id) if method == "GET"]
    pages += [f"{base}/lessons/new?kind=video", f"{base}/lessons/new?kind=scenario", f"{base}/stats?version=1"]
    for locale in ("en", "zh-Hans"):
        await post_form(client, "/locale", {"locale": locale, "next": "/admin/courses"})
        for url in pages:
            response = await client.get(url)
            assert response.status_code == 200, (locale, url)
        fragment = await client.get(base, headers=HTMX)
        assert "<html" not in fragment.text
    nav = await client.get("/admin/courses")
    assert 'href="/admin/courses"' in nav.text


# Forms and documents ------------------------------------------------------------------------------------


RICH_COURSE = {
    "format": "weft-course/1",
    "code": "rich",
    "title": {"en": "Rich", "zh-Hans": "丰富"},
    "summary": {"en": "Everything a course can hold."},
    "estimated_minutes": 9,
    "certifies": "onboarding",
    "lessons": [
        {"kind": "text", "title": {"en": "Read", "zh-Hans": "阅读"}, "body": {"en": "# Hi", "zh-Hans": "# 你好"}},
        {"kind": "video", "title": {"en": "Watch"}, "video_url": "/static/v.mp4", "body": {"en": "Transcript"}},
        {
            "kind": "scenario",
            "title": {"en": "Reply"},
            "body": {"en": "Context"},
            "customer_says": {"en": "Help!", "zh-Hans": "救命"},
            "replies": [
                {"text": {"en": "No"}, "feedback": {"en": "Rude"}},
                {"text": {"en": "Yes"}, "feedback": {"en": "Kind", "zh-Hans": "友好"}, "best": True},
                {"text": {"zh-Hans": "也许"}, "feedback": {"zh-Hans": "含糊"}},
            ],
        },
    ],
    "quiz": {
        "draw": 3,
        "pass_percent": 70,
        "partial_credit": False,
        "time_limit_minutes": 12,
        "cooldown_minutes": 0,
        "attempts_per_day": 5,
        "questions": [
            {
                "id": "one",
                "kind": "single",
                "prompt": {"en": "Pick"},
                "choices": [{"id": "x", "text": {"en": "X"}, "correct": True}, {"id": "y", "text": {"en": "Y"}}],
                "explanation": {"en": "X."},
            },
            {
                "id": "many",
                "kind": "multiple",
                "prompt": {"en": "Pick all", "zh-Hans": "全选"},
                "choices": [
                    {"id": "p", "text": {"en": "P"}, "correct": True},
                    {"id": "q", "text": {"en": "Q", "zh-Hans": "Q"}},
                    {"id": "r", "text": {"en": "R"}, "correct": True},
                ],
                "explanation": {"en": "P and R."},
            },
            {
                "id": "tf",
                "kind": "true_false",
                "prompt": {"en": "True?"},
                "choices": [{"id": "t", "text": {"en": "True"}}, {"id": "f", "text": {"en": "False"}, "correct": True}],
                "explanation": {"en": "False."},
            },
            {
                "id": "order",
                "kind": "ordering",
                "prompt": {"en": "Order"},
                "choices": [
                    {"id": "s1", "text": {"en": "1"}},
                    {"id": "s2", "text": {"en": "2"}},
                    {"id": "s3", "text": {"en": "3"}},
                ],
                "explanation": {"en": "1, 2, 3."},
            },
        ],
    },
}


def test_filling_a_form_from_a_course_and_saving_it_unchanged_gives_the_same_course() -> None:
    """Opening an editor and saving without a change loses nothing: every field the document holds is on a form."""
    doc = msgspec.to_builtins(msgspec.convert(RICH_COURSE, CourseContent))
    metadata = msgspec.convert(authoring.metadata_values(doc), MetadataForm)
    assert authoring.apply_metadata(doc, metadata) == doc
    for lesson in doc["lessons"]:
        form = msgspec.convert(authoring.lesson_values(lesson), LessonForm)
        assert msgspec.convert(authoring.lesson_of(form), Lesson) == msgspec.convert(lesson, Lesson)
    for question in doc["quiz"]["questions"]:
        form = msgspec.convert(authoring.question_values(question), QuestionForm)
        assert authoring.question_of(form, key=question["id"]) == question
