"""What a new agent met on the Learn tab (issue 17): the unlock list names the skill and the courses, "Finish and go
to the quiz" lands on the quiz, a required course's quiz waits for its lessons, and the demo lessons need no
other host."""

# ruff: noqa: RUF001 -- the Chinese page uses full-width punctuation, and so do its assertions

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Tier
from backend.certifications.service import grant_certification
from backend.core.db import utcnow
from backend.demo import DEMO_COURSE_DIR, DEMO_COURSES
from backend.learning import courses, quiz
from backend.learning.models import Course
from tests.conftest import login, post_form
from tests.factories import Factory, a_course, a_skill, an_agent, an_open_shift, bearer
from tests.integration.test_learn_pages import course_doc, post_form_htmx
from tests.integration.test_learning_certification import read_every_lesson
from tests.integration.test_learning_quiz import right_answers

ZONE = dt.timezone(dt.timedelta(hours=8))  # the test site's clock (Asia/Shanghai)
OTHER_HOST = re.compile(r"""(?:src|href|poster|srcset|action|data)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def card_of(page: str, course: Course) -> str:
    start = page.index(f'id="course-{course.id}"')
    following = page.find('id="course-', start + 1)
    return page[start : following if following > 0 else len(page)]


def unlock_lines(page: str, course: Course) -> list[str]:
    """The unlock list of one course card on the Learn tab, one line per group, tags stripped."""
    block = card_of(page, course)
    block = block[block.index('class="course-unlocks"') :]
    block = block[: block.index("</ul>")]
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", item)).split()) for item in block.split("<li>")[1:]]


async def test_the_unlock_list_names_the_skill_groups_the_shifts_and_links_the_courses(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    general = await a_skill(db, site, "general")
    await a_skill(db, site, "billing")
    onboarding = await a_course(db, site, course_doc("welcome", "onboarding", title="Welcome"))
    billing = await a_course(db, site, course_doc("billing-101", "billing", title="Billing 101"))
    agent = await an_agent(people, tier=Tier.senior, onboarded=False, skills=[general])
    day = (utcnow() + dt.timedelta(days=4)).astimezone(ZONE).date()
    for offset in range(3):  # three billing shifts on three days, two general ones
        start = dt.datetime.combine(day + dt.timedelta(days=offset), dt.time(18), tzinfo=ZONE)
        await an_open_shift(db, site, "billing", start=start, now=utcnow())
    for offset in range(2):
        start = dt.datetime.combine(day + dt.timedelta(days=offset), dt.time(9), tzinfo=ZONE)
        await an_open_shift(db, site, general, start=start, now=utcnow())
    await login(client, agent.email)

    page = (await client.get("/app/learn")).text
    assert "One of the courses you need" not in page
    welcome_lines = unlock_lines(page, onboarding)
    assert len(welcome_lines) == 2, welcome_lines
    assert re.fullmatch(r"General enquiries: 2 open shifts from \S.* 09:00 Courses to pass: Welcome", welcome_lines[0])
    both = r"Billing: 3 open shifts from \S.* 18:00 Courses to pass: Welcome Billing 101"
    assert re.fullmatch(both, welcome_lines[1]), welcome_lines
    [billing_line] = unlock_lines(page, billing)
    assert re.fullmatch(both, billing_line)
    assert day.strftime("%d").lstrip("0") in billing_line  # from the first of the three days
    assert f'<a href="/app/learn/courses/{billing.id}">Billing 101</a>' in card_of(page, onboarding)


async def test_finish_and_go_to_the_quiz_lands_on_the_quiz(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    course = await a_course(db, site, course_doc("billing-101", "billing", title="Billing 101"))
    agent = await an_agent(people, tier=Tier.senior)
    await login(client, agent.email)
    base = f"/app/learn/courses/{course.id}"
    last = await client.get(f"{base}/lessons/3")
    assert "Finish and go to the quiz" in last.text

    finished = await post_form(client, f"{base}/lessons/3/done", {})
    assert finished.status_code == 303
    quiz_page = await client.get(finished.headers["location"])
    assert quiz_page.status_code == 200
    assert 'name="q:' in quiz_page.text or 'name="order:' in quiz_page.text  # the questions, not the course page
    again = await post_form_htmx(client, f"{base}/lessons/3/done")  # htmx: the same attempt, by HX-Redirect
    assert again.headers["hx-redirect"] == finished.headers["location"]


async def test_a_passed_course_finishes_on_its_page_without_starting_a_quiz(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    course = await a_course(db, site, course_doc("billing-101", "billing", title="Billing 101"))
    agent = await an_agent(people, tier=Tier.senior)
    attempt = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=utcnow())
    content = await quiz.attempt_content(db, attempt=attempt)
    await quiz.submit_attempt(
        db, agent=agent, attempt_id=attempt.id, answers=right_answers(attempt, content), now=utcnow()
    )
    await db.commit()
    await login(client, agent.email)
    base = f"/app/learn/courses/{course.id}"
    assert ">Finish<" in (await client.get(f"{base}/lessons/3")).text
    finished = await post_form(client, f"{base}/lessons/3/done", {})
    assert (finished.status_code, finished.headers["location"]) == (303, f"{base}#quiz")
    assert len(await quiz.attempts_of(db, agent=agent, course_id=course.id)) == 1


async def test_a_required_courses_quiz_is_refused_until_every_lesson_is_read(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    course = await a_course(db, site, course_doc("welcome", "onboarding", title="Welcome"))
    agent = await an_agent(people, tier=Tier.senior, onboarded=False)
    await login(client, agent.email)
    base = f"/app/learn/courses/{course.id}"

    refused = await post_form(client, f"{base}/attempts", {})
    assert refused.status_code == 422
    assert "Read every lesson before the quiz. Still to read (3): 1. Refunds, 2. Watch, and 3. A double charge." in (
        html.unescape(refused.text)
    )
    assert await quiz.attempts_of(db, agent=agent, course_id=course.id) == []
    api = await client.post(f"/api/v1/courses/{course.id}/attempts", headers=await bearer(db, agent))
    assert api.status_code == 422
    assert (api.json()["reason"], api.json()["lessons_unread"]) == ("lessons_unread", [1, 2, 3])

    for number in (1, 3):
        assert (await post_form(client, f"{base}/lessons/{number}/done", {})).status_code == 303
    page = html.unescape((await client.get(base)).text)
    assert "Read every lesson before the quiz. Still to read: 2. Watch." in page
    assert re.search(r"Refunds<span class=\"visually-hidden\"> \(read\)", page)
    assert re.search(r"A double charge<span class=\"visually-hidden\"> \(read\)", page)
    assert not re.search(r"Watch<span class=\"visually-hidden\"> \(read\)", page)
    assert "Resume at lesson 2" in page
    assert f'action="{base}/attempts"' not in page  # no Take the quiz button yet
    assert (await post_form(client, f"{base}/attempts", {})).status_code == 422

    assert (await post_form(client, f"{base}/lessons/2/done", {})).status_code == 303
    started = await post_form(client, f"{base}/attempts", {})
    assert started.status_code == 303
    assert re.fullmatch(r"/app/learn/attempts/\d+", started.headers["location"]), "now the quiz starts"


async def test_onboarding_cannot_be_passed_without_its_lessons(db: AsyncSession, site: Site, people: Factory) -> None:
    course = await a_course(db, site, course_doc("welcome", "onboarding", title="Welcome"))
    agent = await an_agent(people, tier=Tier.senior, onboarded=False)
    now = utcnow()
    with pytest.raises(quiz.LessonsUnread) as refused:
        await quiz.start_attempt(db, agent=agent, course_id=course.id, now=now)
    assert refused.value.status_code == 422
    await courses.record_lesson_done(db, agent=agent, course_id=course.id, lesson_index=2, now=now)
    with pytest.raises(quiz.LessonsUnread):  # the furthest lesson is not every lesson
        await quiz.start_attempt(db, agent=agent, course_id=course.id, now=now)
    await db.refresh(agent)
    assert agent.onboarded_at is None

    await read_every_lesson(db, agent, course, now=now)
    attempt = await quiz.start_attempt(db, agent=agent, course_id=course.id, now=now)
    content = await quiz.attempt_content(db, attempt=attempt)
    await quiz.submit_attempt(db, agent=agent, attempt_id=attempt.id, answers=right_answers(attempt, content), now=now)
    await db.refresh(agent)
    assert agent.onboarded_at is not None


async def test_a_skill_course_can_be_tested_out_of_but_not_renewed_unread(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    billing = await a_skill(db, site)
    course = await a_course(db, site, course_doc("billing-101", "billing", title="Billing 101"))
    chooser = await an_agent(people, tier=Tier.senior)
    now = utcnow()
    gate = await quiz.attempt_gate(db, agent=chooser, course_id=course.id, now=now)
    assert (gate.can_start, gate.reason) == (True, "")  # a course the agent chose: the quiz is open

    renewing = await an_agent(people, tier=Tier.senior)
    await grant_certification(db, user=renewing, skill=billing, source="test", expires_at=now + dt.timedelta(days=3))
    gate = await quiz.attempt_gate(db, agent=renewing, course_id=course.id, now=now)
    assert (gate.can_start, gate.reason, gate.lessons_unread) == (False, "lessons_unread", [1, 2, 3])


def demo_documents() -> dict[str, str]:
    return {name: Path(DEMO_COURSE_DIR, name).read_text(encoding="utf-8") for name in DEMO_COURSES.values()}


async def test_the_demo_lessons_point_at_no_other_host(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    """The demo runs on a machine with no internet: no lesson page loads or links anything from elsewhere."""
    agent = await an_agent(people, tier=Tier.senior)
    await login(client, agent.email)
    for file_name, raw in demo_documents().items():
        content = courses.parse_course(raw)
        course = await a_course(db, site, json.loads(raw))
        for number in range(1, len(content.lessons) + 1):
            page = await client.get(f"/app/learn/courses/{course.id}/lessons/{number}")
            assert page.status_code == 200
            assert not OTHER_HOST.search(page.text), (file_name, number, OTHER_HOST.search(page.text))
            assert "<video" not in page.text


async def test_the_unlock_list_reads_in_chinese(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site, "billing")
    onboarding = await a_course(db, site, course_doc("welcome", "onboarding", title="Welcome"))
    billing = await a_course(db, site, course_doc("billing-101", "billing", title="Billing 101"))
    agent = await an_agent(people, tier=Tier.senior, onboarded=False, locale="zh-Hans")
    day = (utcnow() + dt.timedelta(days=4)).astimezone(ZONE).date()
    for offset in range(2):
        start = dt.datetime.combine(day + dt.timedelta(days=offset), dt.time(18), tzinfo=ZONE)
        await an_open_shift(db, site, "billing", start=start, now=utcnow())
    await login(client, agent.email)

    page = await client.get("/app/learn")
    assert page.status_code == 200, page.text[-3000:]
    [line] = unlock_lines(page.text, billing)
    assert re.fullmatch(
        r"账单：2 个开放班次，最早 \S.* 18:00 需通过的课程： Welcome 中文版 Billing 101 中文版", line
    ), line
    assert unlock_lines(page.text, onboarding) == [line]
    course_page = await client.get(f"/app/learn/courses/{onboarding.id}")
    assert "参加测验前请读完每一课。还没读：1. 退款、2. Watch和3. A double charge。" in html.unescape(course_page.text)
