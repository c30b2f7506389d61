"""An agent on a 360 px phone takes the course a billing shift needs, passes its quiz, and claims the shift."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from backend.accounts.models import Site, Tier, User
from backend.core.db import Database, act_as, utcnow
from backend.demo import COORDINATOR_EMAIL, DEMO_PASSWORD
from backend.learning.courses import content_of, current_version, import_course
from backend.learning.models import Course
from tests.e2e.conftest import E2E_ACTOR, assert_clean_console, assert_thumb_sized
from tests.e2e.test_my_schedule import e2e_database_url
from tests.e2e.test_sign_in import assert_fits_phone_width, english_agents, sign_in, zh
from tests.factories import Factory, an_agent, an_open_shift

pytestmark = pytest.mark.browser

COURSE_CODE = "e2e-billing-quick"
TITLE = "Billing in three minutes"
TITLE_ZH = "三分钟账单入门"


def t(en: str, zh_text: str) -> dict[str, str]:
    return {"en": en, "zh-Hans": zh_text}


def opt(key: str, en: str, zh_text: str, correct: bool = False) -> dict[str, Any]:
    return {"id": key, "text": t(en, zh_text), "correct": correct}


# The test knows the answers: it wrote the course. A bank of 3, all drawn.
ANSWERS = {"refund": ["d30"], "needed": ["order", "email"], "steps": ["greet", "verify", "solve"]}
COURSE = {
    "format": "weft-course/1",
    "code": COURSE_CODE,
    "title": t(TITLE, TITLE_ZH),
    "summary": t("Refunds, what to ask for, and the order of a call.", "退款、需要询问的信息和通话顺序。"),
    "estimated_minutes": 3,
    "certifies": "billing",
    "lessons": [
        {"kind": "text", "title": t("Refunds", "退款"), "body": t("Refunds take **30 days**.", "退款需要 **30 天**。")},
        {
            "kind": "video",
            "title": t("Watch a call", "观看通话"),
            "video_url": "/static/e2e-call.mp4",
            "body": t("Transcript: greet, verify, solve.", "文字稿 问候、核实、解决。"),
        },
        {
            "kind": "scenario",
            "title": t("A double charge", "重复扣款"),
            "customer_says": t("I was charged twice!", "我被扣了两次钱。"),
            "replies": [
                {"text": t("Calm down.", "请冷静。"), "feedback": t("That dismisses them.", "这样显得轻视客户。")},
                {
                    "text": t("Let me check both charges.", "我来核对这两笔扣款。"),
                    "feedback": t("Good: you act on it.", "很好 您在解决问题。"),
                    "best": True,
                },
            ],
        },
    ],
    "quiz": {
        "draw": 3,
        "pass_percent": 80,
        "questions": [
            {"id": "refund", "kind": "single", "prompt": t("How long do refunds take?", "退款需要多少天"),
             "explanation": t("Thirty days.", "三十天。"),
             "choices": [opt("d30", "30 days", "30 天", True), opt("d1", "1 day", "1 天"),
                         opt("d90", "90 days", "90 天")]},
            {"id": "needed", "kind": "multiple", "prompt": t("What finds an order?", "用什么查找订单"),
             "explanation": t("Order number and email.", "订单号和邮箱。"),
             "choices": [opt("order", "Order number", "订单号", True), opt("email", "Email", "邮箱", True),
                         opt("pin", "Card PIN", "银行卡密码")]},
            {"id": "steps", "kind": "ordering", "prompt": t("Order the call.", "排列通话步骤。"),
             "explanation": t("Greet, verify, solve.", "问候、核实、解决。"),
             "choices": [opt("greet", "Greet", "问候"), opt("verify", "Verify", "核实"),
                         opt("solve", "Solve", "解决")]},
        ],
    },
}  # fmt: skip


def run(database_url: str, work: Any) -> Any:
    """Run ``work(session)`` in a unit of work of its own thread (Playwright holds this thread's loop)."""

    async def seed() -> Any:
        database = Database.from_url(database_url)
        try:
            async with database.session(write=True) as session:
                act_as(session, E2E_ACTOR)
                return await work(session)
        finally:
            await database.dispose()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="weft-e2e-seed") as pool:
        return pool.submit(lambda: asyncio.run(seed())).result()


@cache
def quick_billing_course(database_url: str) -> int:
    """The short billing course, published once per session by the demo coordinator."""

    async def work(session: Any) -> int:
        site = await session.scalar(select(Site).order_by(Site.id))
        existing = await session.scalar(select(Course).where(Course.site_id == site.id, Course.code == COURSE_CODE))
        if existing is not None:
            return int(existing.id)
        author = await session.scalar(select(User).where(User.email == COORDINATOR_EMAIL))
        course = await import_course(session, site=site, raw=json.dumps(COURSE), author=author, publish=True)
        return int(course.id)

    return int(run(database_url, work))


def a_billing_shift(database_url: str, days_ahead: int) -> int:
    """A billing shift at 03:00 site time ``days_ahead`` days out (clashing with nothing), opened an hour ago."""

    async def work(session: Any) -> int:
        site = await session.scalar(select(Site).order_by(Site.id))
        zone = ZoneInfo(site.timezone)
        day = utcnow().astimezone(zone).date() + dt.timedelta(days=days_ahead)
        start = dt.datetime.combine(day, dt.time(3), tzinfo=zone)
        an_hour_ago = utcnow() - dt.timedelta(hours=1)
        shift = await an_open_shift(session, site, start=start, seats=2, now=an_hour_ago, opened_minutes_ago=0)
        return int(shift.id)

    return int(run(database_url, work))


def a_new_agent(database_url: str, *, onboarded: bool = True, locale: str = "en") -> str:
    """A new senior agent's email: one whose quiz results no other test reads (the demo agents are shared)."""

    async def work(session: Any) -> str:
        site = await session.scalar(select(Site).order_by(Site.id))
        email = f"quiz-{uuid.uuid4().hex[:8]}@example.com"
        people = Factory(db=session, site=site)
        await an_agent(
            people, tier=Tier.senior, email=email, password=DEMO_PASSWORD, onboarded=onboarded, locale=locale
        )
        return email

    return str(run(database_url, work))


def check_phone_fit(page: Any, scope: str) -> None:
    assert_fits_phone_width(page)
    assert_thumb_sized(page, scope, "a, button, select, label.choice, summary")


def answer_quiz(page: Any) -> None:
    """Answer each drawn question right, in whatever order the quiz shows them."""
    for key, right in ANSWERS.items():
        question = page.locator(f"#q-{key}")
        expect(question).to_be_visible()
        if key == "steps":
            for position, choice in enumerate(right, start=1):
                question.locator(f'select[name="order:{key}:{choice}"]').select_option(str(position))
        else:
            for choice in right:
                question.locator(f'input[name="q:{key}"][value="{choice}"]').check()


def test_agent_passes_the_course_a_billing_shift_needs_and_claims_it(
    phone: Any, live_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    del live_server  # started first, so its database exists
    database_url = e2e_database_url(tmp_path_factory)
    course_id = quick_billing_course(database_url)
    shift_id = a_billing_shift(database_url, days_ahead=12)
    agent = [a for a in english_agents() if "billing" not in a["skills"] and a["tier"] == "senior"][-1]

    sign_in(phone, str(agent["email"]))
    phone.get_by_role("navigation", name="Main").get_by_role("link", name="Shifts").click()
    phone.get_by_role("link", name="Open shifts").click()
    card = phone.locator(f"#shift-{shift_id}")
    expect(card).to_contain_text("Needs the")
    expect(card.get_by_role("button", name="Claim")).to_have_count(0)
    card.get_by_role("link", name="Take the course that unlocks it").click()

    expect(phone).to_have_url(re.compile(rf"/app/learn/courses/{course_id}$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text(TITLE)
    unlocks = phone.locator(".course-unlocks")
    expect(unlocks).to_contain_text(re.compile(rf"Billing[^:]*: \d+ open shifts? [^\n]+\s+Courses to pass:\s+{TITLE}"))
    expect(unlocks.get_by_role("link", name=TITLE)).to_have_attribute("href", f"/app/learn/courses/{course_id}")
    check_phone_fit(phone, "#course")

    phone.get_by_role("link", name="Start with lesson 1").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Refunds")
    expect(phone.locator("#lesson-step")).to_have_text("Lesson 1 of 3")
    check_phone_fit(phone, "#course-player")
    phone.get_by_role("button", name="Next lesson").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Watch a call")
    expect(phone).to_have_url(re.compile(rf"/app/learn/courses/{course_id}/lessons/2$"))
    expect(phone.locator("video")).to_have_attribute("preload", "none")
    expect(phone.locator("figcaption")).to_contain_text("Transcript: greet, verify, solve.")
    assert_fits_phone_width(phone)
    phone.get_by_role("button", name="Next lesson").click()

    expect(phone.get_by_role("heading", level=1)).to_have_text("A double charge")
    phone.get_by_text("Let me check both charges.").click()
    phone.get_by_role("button", name="Check my reply").click()
    expect(phone.locator(".feedback")).to_contain_text("Good: you act on it.")
    check_phone_fit(phone, "#course-player")
    phone.get_by_role("button", name="Finish and go to the quiz").click()

    expect(phone).to_have_url(re.compile(r"/app/learn/attempts/\d+$"))  # the quiz itself, started
    expect(phone.get_by_role("heading", level=1)).to_have_text("Quiz")
    check_phone_fit(phone, "#quiz")
    answer_quiz(phone)
    phone.get_by_role("button", name="Submit answers").click()

    expect(phone.locator(".result-verdict")).to_have_text("Passed")
    expect(phone.locator(".result-score")).to_contain_text("Your score: 100%")
    expect(phone.locator("#result")).to_contain_text("You are certified until")
    check_phone_fit(phone, "#result")

    phone.get_by_role("navigation", name="Main").get_by_role("link", name="Learn").click()
    expect(phone.locator("#learn-done")).to_contain_text(TITLE)
    check_phone_fit(phone, "#learn")

    phone.get_by_role("navigation", name="Main").get_by_role("link", name="Shifts").click()
    phone.get_by_role("link", name="Open shifts").click()
    card = phone.locator(f"#shift-{shift_id}")
    card.get_by_role("button", name="Claim").click()
    expect(card.get_by_role("status")).to_have_text("Claimed")
    assert_clean_console(phone)


def test_the_learn_tab_reads_in_chinese_on_a_phone(
    phone: Any, live_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    del live_server
    course_id = quick_billing_course(e2e_database_url(tmp_path_factory))
    sign_in(phone, "agent01@weft.demo")  # agent01 chose Chinese
    phone.get_by_role("navigation").get_by_role("link", name=zh("Learn")).click()
    expect(phone.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(phone.get_by_role("heading", level=1)).to_have_text(zh("Learn"))
    expect(phone.locator(f"#course-{course_id}")).to_contain_text(TITLE_ZH)
    check_phone_fit(phone, "#learn")

    phone.locator(f"#course-{course_id} .course-title a").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text(TITLE_ZH)
    phone.goto(f"/app/learn/courses/{course_id}/lessons/1")
    expect(phone.get_by_role("heading", level=1)).to_have_text("退款")
    expect(phone.locator(".lesson-text")).to_contain_text("退款需要 30 天。")
    check_phone_fit(phone, "#course-player")
    assert_clean_console(phone)


def test_a_quiz_sent_with_blanks_asks_first_and_keeps_the_answers(
    phone: Any, live_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    del live_server
    database_url = e2e_database_url(tmp_path_factory)
    course_id = quick_billing_course(database_url)
    sign_in(phone, a_new_agent(database_url))
    phone.wait_for_url("**/app")
    phone.goto(f"/app/learn/courses/{course_id}")
    phone.get_by_role("button", name="Take the quiz").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Quiz")
    phone.locator('#q-refund input[name="q:refund"][value="d30"]').check()
    phone.get_by_role("button", name="Submit answers").click()

    expect(phone.locator("#quiz-blanks")).to_contain_text("You left 2 questions blank — submit anyway?")
    for key in ("needed", "steps"):
        expect(phone.locator(f"#q-{key}")).to_contain_text("Not answered yet.")
    expect(phone.locator("#q-refund")).not_to_contain_text("Not answered yet.")
    expect(phone.locator('#q-refund input[value="d30"]')).to_be_checked()
    check_phone_fit(phone, "#quiz")
    phone.get_by_role("button", name="Submit anyway").click()

    expect(phone.locator(".result-verdict")).to_have_text("Not passed")
    expect(phone.locator(".result-score")).to_contain_text("Your score: 33.3%")
    check_phone_fit(phone, "#result")
    assert_clean_console(phone)


def demo_onboarding_course(database_url: str) -> tuple[int, int]:
    """The demo's onboarding course: its id and how many lessons it has."""

    async def work(session: Any) -> tuple[int, int]:
        course = await session.scalar(select(Course).where(Course.code == "onboarding-basics"))
        version = await current_version(session, course_id=course.id)
        return int(course.id), len(content_of(version).lessons)

    return tuple(run(database_url, work))  # type: ignore[return-value]


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
def test_a_new_agent_reads_every_onboarding_lesson_before_its_quiz(
    phone: Any, live_server: str, tmp_path_factory: pytest.TempPathFactory, locale: str
) -> None:
    del live_server
    database_url = e2e_database_url(tmp_path_factory)
    course_id, lessons = demo_onboarding_course(database_url)
    say = zh if locale == "zh-Hans" else str
    sign_in(phone, a_new_agent(database_url, onboarded=False, locale=locale))  # the page speaks theirs after
    phone.wait_for_url("**/app")
    phone.goto("/app/learn")
    required = phone.locator("#learn-required")
    expect(required.locator(f"#course-{course_id}")).to_be_visible()
    check_phone_fit(phone, "#learn")

    phone.goto(f"/app/learn/courses/{course_id}")
    quiz_section = phone.locator("#quiz")
    expect(quiz_section.get_by_role("status")).to_contain_text("1. ")  # names the lessons still to read
    expect(quiz_section.get_by_role("button")).to_have_count(0)  # no quiz before the lessons
    check_phone_fit(phone, "#course")

    phone.get_by_role("link", name=say("Start with lesson 1")).click()
    for number in range(1, lessons):
        expect(phone.locator("#lesson-step")).to_contain_text(str(number))
        phone.get_by_role("button", name=say("Next lesson")).click()
        expect(phone).to_have_url(re.compile(rf"/lessons/{number + 1}$"))
    check_phone_fit(phone, "#course-player")
    phone.get_by_role("button", name=say("Finish and go to the quiz")).click()

    expect(phone).to_have_url(re.compile(r"/app/learn/attempts/\d+$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text(say("Quiz"))
    check_phone_fit(phone, "#quiz")
    assert_clean_console(phone)
