"""The agent's Learn tab as an agent meets it: the course list, lessons, scenario cards, the quiz, results, drills."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, Tier
from backend.accounts.site_settings import update_site_settings
from backend.certifications.service import grant_certification
from backend.core.db import utcnow
from backend.learning.models import Course, CourseProgress, DrillCard, QuizAttempt
from backend.learning.render import markdown_html
from backend.shifts.models import Shift
from tests.conftest import login, post_form
from tests.factories import Factory, a_course, a_skill, an_agent, an_open_shift, text

HTMX = {"hx-request": "true"}


def a_choice(key: str, words: str, correct: bool = False) -> dict[str, Any]:
    return {"id": key, "text": text(words), "correct": correct}


def course_doc(code: str, certifies: str, *, title: str, draw: int = 4, minutes: int = 6) -> dict[str, Any]:
    """A small course whose explanations are easy to spot (``EXPLAIN-<question>``) and whose answers the test knows."""
    questions = [
        {"id": "refund", "kind": "single", "prompt": text("How long do refunds take?"),
         "explanation": text("EXPLAIN-refund: thirty days."),
         "choices": [a_choice("d30", "30 days", True), a_choice("d1", "1 day"), a_choice("d90", "90 days")]},
        {"id": "needed", "kind": "multiple", "prompt": text("What do you need to find an order?"),
         "explanation": text("EXPLAIN-needed: order number and email."),
         "choices": [a_choice("order", "Order number", True), a_choice("email", "Email", True),
                     a_choice("pin", "Card PIN"), a_choice("pet", "Pet's name")]},
        {"id": "aloud", "kind": "true_false", "prompt": text("Card numbers may be read aloud."),
         "explanation": text("EXPLAIN-aloud: never."),
         "choices": [a_choice("t", "True"), a_choice("f", "False", True)]},
        {"id": "steps", "kind": "ordering", "prompt": text("Put the steps of a call in order."),
         "explanation": text("EXPLAIN-steps: greet, verify, solve, close."),
         "choices": [a_choice("greet", "Greet"), a_choice("verify", "Verify"), a_choice("solve", "Solve"),
                     a_choice("close", "Close")]},
    ]  # fmt: skip
    return {
        "format": "weft-course/1",
        "code": code,
        "title": text(title, f"{title} 中文版"),
        "summary": text(f"What {title} covers.", "本课程的内容。"),
        "estimated_minutes": minutes,
        "certifies": certifies,
        "lessons": [
            {
                "kind": "text",
                "title": text("Refunds", "退款"),
                "body": text("Refunds take **30 days**.", "退款需要 **30 天**。"),
            },
            {
                "kind": "video",
                "title": text("Watch"),
                "video_url": "/static/intro.mp4",
                "body": text("TRANSCRIPT line"),
            },
            {
                "kind": "scenario",
                "title": text("A double charge"),
                "customer_says": text("I was charged twice!"),
                "replies": [
                    {"text": text("Calm down."), "feedback": text("FEEDBACK-dismissive")},
                    {"text": text("Let me check both charges."), "feedback": text("FEEDBACK-good"), "best": True},
                ],
            },
        ],
        "quiz": {"draw": draw, "pass_percent": 80, "questions": questions},
    }


RIGHT = {
    "refund": ["d30"],
    "needed": ["order", "email"],
    "aloud": ["f"],
    "steps": ["greet", "verify", "solve", "close"],
}


def form_answers(page: str, answers: dict[str, list[str]]) -> dict[str, Any]:
    """The quiz form filled in with ``answers`` for the questions the page shows (ordering as positions)."""
    data: dict[str, Any] = {}
    for key, chosen in answers.items():
        if f'name="order:{key}:' in page:
            for position, choice in enumerate(chosen, start=1):
                data[f"order:{key}:{choice}"] = str(position)
        elif f'name="q:{key}"' in page:
            data[f"q:{key}"] = chosen
    return data


def drawn_keys(page: str) -> list[str]:
    """The question keys in the order the quiz page shows them."""
    return list(dict.fromkeys(re.findall(r'id="q-([a-z0-9_-]+)"', page)))


async def start_quiz(client: httpx.AsyncClient, course: Course) -> tuple[int, str]:
    started = await post_form(client, f"/app/learn/courses/{course.id}/attempts", {})
    assert started.status_code == 303, started.text
    match = re.fullmatch(r"/app/learn/attempts/(\d+)", started.headers["location"])
    assert match, started.headers["location"]
    page = await client.get(started.headers["location"])
    assert page.status_code == 200
    return int(match.group(1)), page.text


# The overview ----------------------------------------------------------------------------------------


async def test_required_and_expiring_courses_come_first(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site, "billing")
    await a_skill(db, site, "tech")
    await a_skill(db, site, "sales")
    other = await a_course(db, site, course_doc("aaa-other", "sales", title="Alpha Sales"))
    progress = await a_course(db, site, course_doc("bbb-tech", "tech", title="Bravo Tech"))
    expiring = await a_course(db, site, course_doc("ccc-billing", "billing", title="Charlie Billing"))
    onboarding = await a_course(db, site, course_doc("ddd-onboarding", "onboarding", title="Delta Onboarding"))
    agent = await an_agent(people, tier=Tier.senior, onboarded=False)
    billing = await a_skill(db, site, "billing")
    await grant_certification(db, user=agent, skill=billing, source="test", expires_at=utcnow() + dt.timedelta(days=5))
    await db.commit()
    assert (await login(client, agent.email)).status_code == 303
    assert (await post_form(client, f"/app/learn/courses/{progress.id}/lessons/1/done", {})).status_code == 303

    page = await client.get("/app/learn")
    assert page.status_code == 200
    body = page.text
    order = [body.index(f'id="course-{course.id}"') for course in (onboarding, expiring, progress, other)]
    assert order == sorted(order), "onboarding, then the expiring certification, then in progress, then the rest"
    required = body[body.index('id="learn-required"') : body.index('id="learn-in-progress"')]
    assert "Delta Onboarding" in required
    assert "Charlie Billing" in required
    assert "Required before you can claim any shift." in required
    assert "Your certification expires on" in required
    assert "Resume at lesson 2" in body
    assert f'href="/app/learn/courses/{progress.id}/lessons/2"' in body


async def test_a_course_that_unlocks_an_open_shift_names_the_shift(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site, "billing")
    course = await a_course(db, site, course_doc("billing-101", "billing", title="Billing 101", minutes=6))
    zone = dt.timezone(dt.timedelta(hours=8))
    day = (utcnow() + dt.timedelta(days=4)).astimezone(zone).date()
    start = dt.datetime.combine(day, dt.time(18), tzinfo=zone)
    shift = await an_open_shift(db, site, start=start, seats=2, now=utcnow())
    agent = await an_agent(people, tier=Tier.senior)
    await login(client, agent.email)

    shifts_page = await client.get("/app/shifts/open")
    assert "Take the course that unlocks it" in shifts_page.text
    assert 'href="/app/learn/skills/billing"' in shifts_page.text
    sent = await client.get("/app/learn/skills/billing")
    assert (sent.status_code, sent.headers["location"]) == (303, f"/app/learn/courses/{course.id}")
    nothing = await client.get("/app/learn/skills/astrology")
    assert (nothing.status_code, nothing.headers["location"]) == (303, "/app/learn")

    body = html.unescape((await client.get("/app/learn")).text)
    unlocking = body[body.index('id="learn-unlocking"') :]
    assert f'id="course-{course.id}"' in unlocking
    unlocks = unlocking[unlocking.index('class="course-unlocks"') :]
    unlocks = unlocks[: unlocks.index("</ul>")]
    assert "Billing: 1 open shift, " in unlocks
    assert "18:00\u201322:00" in unlocks
    assert f'Courses to pass: <a href="/app/learn/courses/{course.id}">Billing 101</a>' in unlocks
    assert await db.get(Shift, shift.id) is not None


async def test_the_learn_pages_are_for_agents_only(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    course = await a_course(db, site, course_doc("billing-101", "billing", title="Billing 101"))
    for role in (Role.coordinator, Role.finance):
        staff = await people.make(role)
        client.cookies.clear()
        await login(client, staff.email)
        for path in ("/app/learn", f"/app/learn/courses/{course.id}", f"/app/learn/courses/{course.id}/lessons/1"):
            assert (await client.get(path)).status_code == 403, (role, path)
        assert (await post_form(client, f"/app/learn/courses/{course.id}/attempts", {})).status_code == 403


async def test_another_sites_course_and_another_agents_attempt_are_not_found(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    course = await a_course(db, site, course_doc("billing-101", "billing", title="Billing 101"))
    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Asia/Shanghai", country="CN")
    await a_skill(db, elsewhere)
    foreign = await a_course(db, elsewhere, course_doc("billing-101", "billing", title="Foreign Billing"))
    owner = await an_agent(people, tier=Tier.senior)
    await login(client, owner.email)
    attempt_id, _page = await start_quiz(client, course)
    for path in (f"/app/learn/courses/{foreign.id}", f"/app/learn/courses/{foreign.id}/lessons/1"):
        assert (await client.get(path)).status_code == 404, path
    assert (await post_form(client, f"/app/learn/courses/{foreign.id}/attempts", {})).status_code == 404

    client.cookies.clear()
    other = await an_agent(people, tier=Tier.senior)
    await login(client, other.email)
    for path in (f"/app/learn/attempts/{attempt_id}", f"/app/learn/attempts/{attempt_id}/result"):
        assert (await client.get(path)).status_code == 404, path
    refused = await post_form(client, f"/app/learn/attempts/{attempt_id}", {"q:refund": "d30"})
    assert refused.status_code == 404
    attempt = await db.get(QuizAttempt, attempt_id)
    assert attempt is not None
    await db.refresh(attempt)
    assert attempt.submitted_at is None


# Lessons -----------------------------------------------------------------------------------------------


async def test_lessons_step_forward_and_the_course_resumes_where_the_agent_left_off(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    course = await a_course(db, site, course_doc("billing-101", "billing", title="Billing 101"))
    agent = await an_agent(people, tier=Tier.senior)
    await login(client, agent.email)
    base = f"/app/learn/courses/{course.id}"

    first = await client.get(f"{base}/lessons/1")
    assert first.status_code == 200
    assert "Lesson 1 of 3" in first.text
    assert "<strong>30 days</strong>" in first.text
    done = await post_form(client, f"{base}/lessons/1/done", {})
    assert (done.status_code, done.headers["location"]) == (303, f"{base}/lessons/2")
    progress = await db.scalar(select(CourseProgress).where(CourseProgress.user_id == agent.id))
    assert progress is not None
    assert progress.lessons_done == 1

    overview = await client.get(base)
    assert "Resume at lesson 2" in overview.text
    assert f'href="{base}/lessons/2"' in overview.text
    assert "1 of 3 lessons read" in overview.text

    video = await client.get(f"{base}/lessons/2")
    assert re.search(r'<video controls preload="none" playsinline src="/static/intro.mp4"', video.text)
    assert "TRANSCRIPT line" in video.text
    swapped = await post_form_htmx(client, f"{base}/lessons/2/done")
    assert swapped.status_code == 200
    assert swapped.headers["hx-push-url"] == f"{base}/lessons/3"
    assert "I was charged twice!" in swapped.text
    assert "<html" not in swapped.text
    last = await post_form(client, f"{base}/lessons/3/done", {})
    assert last.status_code == 303
    assert re.fullmatch(r"/app/learn/attempts/\d+", last.headers["location"]), "Finish lands on the quiz"
    assert "Resume the quiz" in (await client.get("/app/learn")).text
    assert (await client.get(f"{base}/lessons/4")).status_code == 404


async def post_form_htmx(client: httpx.AsyncClient, path: str, data: dict[str, str] | None = None) -> httpx.Response:
    token = client.cookies.get("weft_csrf")
    assert token
    return await client.post(path, data=data or {}, headers={**HTMX, "x-csrftoken": token})


async def test_a_scenario_card_gives_feedback_on_the_chosen_reply(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    course = await a_course(db, site, course_doc("billing-101", "billing", title="Billing 101"))
    agent = await an_agent(people, tier=Tier.senior)
    await login(client, agent.email)
    path = f"/app/learn/courses/{course.id}/scenario/3"
    await client.get(f"/app/learn/courses/{course.id}/lessons/3")

    fragment = await post_form_htmx(client, path, {"reply": "0"})
    assert fragment.status_code == 200
    assert "FEEDBACK-dismissive" in fragment.text
    assert "Not the best reply." in fragment.text
    assert "FEEDBACK-good" not in fragment.text
    assert "<html" not in fragment.text
    page = await post_form(client, path, {"reply": "1"})
    assert page.status_code == 200
    assert "FEEDBACK-good" in page.text
    assert "A good reply." in page.text
    assert "<html" in page.text
    bad = await post_form(client, path, {"reply": "7"})
    assert bad.status_code == 422
    assert "Choose one of the replies." in bad.text
    assert (await post_form(client, f"/app/learn/courses/{course.id}/scenario/1", {"reply": "0"})).status_code == 404


async def test_a_course_reads_in_chinese(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    course = await a_course(db, site, course_doc("billing-101", "billing", title="Billing 101"))
    agent = await an_agent(people, tier=Tier.senior, locale="zh-Hans")
    await login(client, agent.email)
    overview = await client.get(f"/app/learn/courses/{course.id}")
    assert 'lang="zh-Hans"' in overview.text
    assert "Billing 101 中文版" in overview.text
    assert "本课程的内容。" in overview.text
    lesson = await client.get(f"/app/learn/courses/{course.id}/lessons/1")
    assert "退款需要 <strong>30 天</strong>。" in lesson.text
    assert "Watch" in (await client.get(f"/app/learn/courses/{course.id}/lessons/2")).text  # no Chinese: English


# The quiz ----------------------------------------------------------------------------------------------


async def test_the_quiz_page_shows_no_answers_before_submission(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    course = await a_course(db, site, course_doc("billing-101", "billing", title="Billing 101"))
    agent = await an_agent(people, tier=Tier.senior)
    await login(client, agent.email)
    attempt_id, page = await start_quiz(client, course)
    attempt = await db.get(QuizAttempt, attempt_id)
    assert attempt is not None
    assert drawn_keys(page) == [item["question"] for item in attempt.drawn]
    for item in attempt.drawn:  # choices in the order drawn
        names = re.findall(
            rf'(?:name="q:{item["question"]}" value="|name="order:{item["question"]}:)([a-z0-9_-]+)', page
        )
        assert names == item["choices"]
    assert "EXPLAIN-" not in page
    assert "correct" not in page.split("How scoring works")[0].lower()
    assert 'type="checkbox" name="q:needed"' in page
    assert 'type="radio" name="q:refund"' in page
    assert "How scoring works" in page
    assert "partial credit" in page
    again = await post_form(client, f"/app/learn/courses/{course.id}/attempts", {})
    assert again.headers["location"] == f"/app/learn/attempts/{attempt_id}"  # resumed, not redrawn


async def test_tampered_answers_are_refused_at_the_field_and_nothing_is_saved(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    course = await a_course(db, site, course_doc("billing-101", "billing", title="Billing 101", draw=2))
    agent = await an_agent(people, tier=Tier.senior)
    await login(client, agent.email)
    attempt_id, page = await start_quiz(client, course)
    shown = drawn_keys(page)
    undrawn = next(key for key in RIGHT if key not in shown)
    good = form_answers(page, {key: RIGHT[key] for key in shown})
    path = f"/app/learn/attempts/{attempt_id}"

    not_drawn = await post_form(client, path, {**good, f"q:{undrawn}": RIGHT[undrawn][0]})
    assert not_drawn.status_code == 422
    assert "is not part of this attempt" in html.unescape(not_drawn.text)
    assert 'class="quiz-form"' in not_drawn.text
    assert len(re.findall(r"\bchecked\b", not_drawn.text)) >= 1  # the agent's answers are still chosen

    single = next((key for key in shown if key in ("refund", "aloud")), None)
    token = client.cookies.get("weft_csrf")
    if single is not None:
        twice = await client.post(
            path,
            content=f"_csrf_token={token}&q:{single}={RIGHT[single][0]}&q:{single}={RIGHT[single][0]}",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert twice.status_code == 422
        assert "The same answer was sent twice." in twice.text
        assert f'id="e-{single}"' in twice.text  # said at the question
    stray = await post_form(client, path, {**good, "admin": "1"})
    assert stray.status_code == 422
    assert "This form has no field admin." in stray.text

    attempt = await db.get(QuizAttempt, attempt_id)
    assert attempt is not None
    await db.refresh(attempt)
    assert (attempt.submitted_at, attempt.answers, attempt.score_percent) == (None, None, None)
    assert await db.scalar(select(DrillCard.id).where(DrillCard.user_id == agent.id)) is None


async def test_an_ordering_answer_needs_each_position_once(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    course = await a_course(db, site, course_doc("billing-101", "billing", title="Billing 101"))
    agent = await an_agent(people, tier=Tier.senior)
    await login(client, agent.email)
    attempt_id, page = await start_quiz(client, course)
    answers = form_answers(page, RIGHT)
    answers["order:steps:verify"] = answers["order:steps:greet"]
    refused = await post_form(client, f"/app/learn/attempts/{attempt_id}", answers)
    assert refused.status_code == 422
    assert "Use each position once." in refused.text
    assert 'id="e-steps"' in refused.text
    assert re.search(r'<option value="1" selected>1</option>', refused.text)  # kept as the agent set it


async def test_passing_shows_explanations_the_certificate_and_the_pay(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    await update_site_settings(db, site, course_pass_pay_minor=2000, certification_valid_days=180)
    await db.commit()
    course = await a_course(db, site, course_doc("billing-101", "billing", title="Billing 101"))
    agent = await an_agent(people, tier=Tier.senior)
    await login(client, agent.email)
    attempt_id, page = await start_quiz(client, course)
    shown = drawn_keys(page)
    submitted = await post_form(client, f"/app/learn/attempts/{attempt_id}", form_answers(page, RIGHT))
    assert (submitted.status_code, submitted.headers["location"]) == (303, f"/app/learn/attempts/{attempt_id}/result")

    result = await client.get(submitted.headers["location"])
    assert result.status_code == 200
    body = html.unescape(result.text)
    assert "Passed" in body
    assert "Your score: 100%" in body
    for key in shown:
        assert f"EXPLAIN-{key}" in body
    assert "You earned CNY 20.00 for passing." in body
    assert "You are certified until" in body
    again = await client.get(f"/app/learn/attempts/{attempt_id}")
    assert again.headers["location"] == f"/app/learn/attempts/{attempt_id}/result"
    overview = await client.get("/app/learn")
    done = overview.text[overview.text.index('id="learn-done"') :]
    assert f'id="course-{course.id}"' in done
    assert "Certified until" in done


async def test_failing_shows_the_right_answers_and_when_to_try_again_then_drills_bring_them_back(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    course = await a_course(db, site, course_doc("billing-101", "billing", title="Billing 101"))
    agent = await an_agent(people, tier=Tier.senior)
    await login(client, agent.email)
    attempt_id, page = await start_quiz(client, course)
    wrong = {"refund": ["d90"], "needed": ["pin"], "aloud": ["t"], "steps": ["close", "solve", "verify", "greet"]}
    submitted = await post_form(client, f"/app/learn/attempts/{attempt_id}", form_answers(page, wrong))
    assert submitted.status_code == 303
    body = html.unescape((await client.get(f"/app/learn/attempts/{attempt_id}/result")).text)
    assert "Not passed" in body
    assert "Your score: 0%" in body
    assert "Correct answer" in body
    assert "30 days" in body
    assert "EXPLAIN-refund" in body
    assert re.search(r"Next try: \S+ \d\d:\d\d", body)
    refused = await post_form(client, f"/app/learn/courses/{course.id}/attempts", {})
    assert refused.status_code == 409
    assert "you can try again at" in refused.text

    await db.execute(
        update(DrillCard).where(DrillCard.user_id == agent.id).values(due_at=utcnow() - dt.timedelta(minutes=1))
    )
    await db.commit()
    assert "4 questions to review" in (await client.get("/app/learn")).text
    drills = await client.get("/app/learn/drills")
    assert drills.status_code == 200
    key = drawn_keys(drills.text)[0]
    card = await db.scalar(select(DrillCard).where(DrillCard.user_id == agent.id, DrillCard.question_key == key))
    assert card is not None
    answered = await post_form(client, f"/app/learn/drills/{card.id}", form_answers(drills.text, {key: RIGHT[key]}))
    assert answered.status_code == 200
    assert "Right" in answered.text
    assert "It comes back" in answered.text
    assert "3 questions to review" in answered.text

    client.cookies.clear()
    await login(client, (await an_agent(people, tier=Tier.senior)).email)
    assert (await post_form(client, f"/app/learn/drills/{card.id}", {})).status_code == 404


def test_lesson_markdown_keeps_safe_html_only() -> None:
    rendered = str(
        markdown_html(
            "# Title\n\n**bold** <script>alert(1)</script> <img src=x onerror=alert(1)>"
            " [ok](https://example.com) [bad](javascript:alert(1))"
            " ![a](https://example.com/a.png) ![b](data:image/png;base64,AAAA) ![c](/static/icon.svg) ![d](/evil.png)"
        )
    )
    assert "<h2>Title</h2>" in rendered  # a lesson's top heading sits right under the page's h1
    assert "<strong>bold</strong>" in rendered
    assert "<script" not in rendered
    assert "onerror" not in rendered.replace("&lt;img src=x onerror=alert(1)&gt;", "")  # shown as text, not run
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">ok</a>' in rendered
    assert "javascript:" not in rendered.replace("[bad](javascript:alert(1))", "")
    assert '<img src="https://example.com/a.png" alt="a">' in rendered
    assert '<img src="/static/icon.svg" alt="c">' in rendered
    assert "data:image" not in rendered
    assert "/evil.png" not in rendered
