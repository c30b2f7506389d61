"""What a new agent tripped over on a 360 px phone, in English and in Chinese: the tab bar, Availability's labels,
presets and "Saved.", My schedule's buttons, Earnings' pills and questions, a week's statement grouped by day and
kind, and a clean console on every agent page through an htmx swap."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from backend.accounts.demo import demo_agents
from backend.accounts.models import Role, Site, Skill, User
from backend.core.db import Database, act_as, utcnow
from backend.core.slots import slot_of, utc_start
from backend.pay import periods
from backend.pay.models import RateCard
from backend.work.models import WorkKind, WorkRecord
from tests.e2e.conftest import E2E_ACTOR, MIN_TAP, PHONE, assert_clean_console
from tests.e2e.test_earnings import RATES
from tests.e2e.test_my_schedule import e2e_database_url, give_shifts
from tests.e2e.test_sign_in import assert_fits_phone_width, english_agents, sign_in, zh
from tests.factories import a_held_shift, a_pay_period_before_all, a_rate_card

pytestmark = pytest.mark.browser

PHONE_HEIGHT = PHONE["viewport"]["height"]
Translate = Callable[[str], str]


def chinese_agents() -> list[dict[str, Any]]:
    return [agent for agent in demo_agents() if agent["locale"] == "zh-Hans" and agent["email"] != "agent01@weft.demo"]


# Each language signs in as its own agent, one no other browser test writes to.
AGENTS: dict[str, tuple[Callable[[], str], Translate]] = {
    "en": (lambda: str(english_agents()[4]["email"]), str),
    "zh": (lambda: str(chinese_agents()[4]["email"]), zh),
}


def box(locator: Any) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, "not on screen"
    return dict(found)


# -- the tab bar ------------------------------------------------------------------------------------------------------

TAB_OF_PAGE = {
    "/app": "Home",
    "/app/availability": "Availability",
    "/app/shifts": "Shifts",
    "/app/shifts/open": "Shifts",
    "/app/learn": "Learn",
    "/app/earnings": "Earnings",
    "/app/payouts": "Earnings",
    "/app/inbox": None,  # reached from the top bar: no tab is this page
    "/app/profile": None,
    "/app/inbox/settings": None,
}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_tab_bar_marks_only_the_tab_a_page_belongs_to(phone: Any, language: str) -> None:
    email, translate = AGENTS[language]
    sign_in(phone, email())
    for path, tab in TAB_OF_PAGE.items():
        phone.goto(path)
        current = phone.get_by_role("navigation", name=translate("Main")).locator('a[aria-current="page"]')
        if tab is None:
            expect(current, f"{path} marks a tab").to_have_count(0)
        else:
            expect(current, f"{path} should mark {tab}").to_have_count(1)
            expect(current).to_contain_text(translate(tab))
            expect(current).to_have_class(re.compile(r"\bactive\b"))
    assert_clean_console(phone)


# -- Availability -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_availability_names_the_week_puts_presets_first_and_shows_saved_where_the_thumb_is(
    phone: Any, language: str
) -> None:
    email, translate = AGENTS[language]
    sign_in(phone, email())
    phone.goto("/app/availability")
    total, weeks = phone.locator(".avail-total"), phone.get_by_role("navigation", name=translate("Weeks"))
    weeks.get_by_role("link").nth(0).click()
    expect(total).to_contain_text(translate("This week"))
    weeks.get_by_role("link").nth(1).click()
    expect(total).to_contain_text(translate("Next week"))
    expect(total).not_to_contain_text(translate("This week"))
    weeks.get_by_role("link").nth(2).click()
    expect(total).not_to_contain_text(translate("Next week"))
    expect(total).not_to_contain_text(translate("This week"))

    phone.goto("/app/availability")  # the week still open to answer

    evening = phone.get_by_role("button", name=translate("Evening 18:00-22:00"))
    first_slot = phone.locator(".avail-grid button").first
    assert box(evening)["y"] + box(evening)["height"] <= box(first_slot)["y"], "the presets sit below the grid"

    late = phone.locator(".avail-grid button:not([disabled])").last  # 23:30, at the foot of the grid
    late.scroll_into_view_if_needed()
    late.click()
    saved = phone.get_by_role("status").filter(has_text=translate("Saved."))
    expect(saved).to_be_visible()
    where, tabbar = box(saved), box(phone.locator(".tabbar"))
    assert where["y"] >= 0, f"Saved. is above the screen: {where}"
    assert where["y"] + where["height"] <= tabbar["y"], f"Saved. is off-screen or under the tab bar: {where}"
    assert_fits_phone_width(phone)
    assert_clean_console(phone)


# -- My schedule ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_shifts_buttons_are_one_row_of_equal_thumb_sized_buttons(
    phone: Any, language: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    email, translate = AGENTS[language]
    give_shifts(e2e_database_url(tmp_path_factory), email(), [slot_of(utcnow()) + 4 * 48])  # in four days
    sign_in(phone, email())
    phone.goto("/app/shifts")
    rows = phone.locator(".shift-card .shift-actions")
    expect(rows.filter(has_text=translate("Release")).first).to_contain_text(translate("Swap"))
    checked = 0
    for index in range(rows.count()):
        buttons = rows.nth(index).locator(":scope > .button, :scope > form > .button")
        if buttons.count() < 2 or not buttons.first.is_visible():
            continue
        boxes = [box(buttons.nth(n)) for n in range(buttons.count())]
        widths, heights, tops = ({round(b[key]) for b in boxes} for key in ("width", "height", "y"))
        assert max(widths) - min(widths) <= 1, f"uneven widths {widths}"
        assert max(heights) - min(heights) <= 1, f"uneven heights {heights}"
        assert len(tops) == 1, f"the buttons stack instead of sharing a row: {tops}"
        assert min(widths) >= MIN_TAP
        assert min(heights) >= MIN_TAP
        checked += 1
    assert checked >= 1, "no shift with two buttons or more"
    assert_fits_phone_width(phone)
    assert_clean_console(phone)


# -- Earnings: pills, questions, the statement grouped ---------------------------------------------------------------


async def _seed_grouped_week(session: Any, email: str) -> None:
    """A locked week with a 1.5 h shift and one day of calls in two skills: two piece lines, one group."""
    user = await session.scalar(select(User).where(User.email == email))
    site = await session.get(Site, user.site_id)
    skills = list(await session.scalars(select(Skill).where(Skill.site_id == site.id).order_by(Skill.id).limit(2)))
    assert len(skills) == 2
    if await session.scalar(select(RateCard.id).where(RateCard.site_id == site.id).limit(1)) is None:
        await a_rate_card(session, site, RATES, effective_from=dt.date(2020, 1, 1))
    seeded = f"polish-{user.id}-{skills[0].code}-0"
    if await session.scalar(select(WorkRecord.id).where(WorkRecord.external_id == seeded)) is not None:
        return  # seeded by an earlier run of this module
    period, past = await a_pay_period_before_all(session, site)
    end = slot_of(past)
    await a_held_shift(session, user, utc_start(end - 3), slots=3, skill=skills[0], taken_at=utc_start(end - 200))
    for skill in skills:
        for n in range(6):
            session.add(
                WorkRecord(
                    site_id=site.id,
                    user_id=user.id,
                    source="e2e-polish",
                    external_id=f"polish-{user.id}-{skill.code}-{n}",
                    occurred_at=past,
                    kind=WorkKind.call,
                    count=1,
                    skill_id=skill.id,
                )
            )
    await session.flush()
    finance = await session.scalar(select(User).where(User.site_id == site.id, User.role == Role.finance))
    await periods.lock_period(session, period_id=period.id, by=finance, now=utcnow())


def seed_grouped_week(database_url: str, email: str) -> None:
    async def seed() -> None:
        database = Database.from_url(database_url)
        try:
            async with database.session(write=True) as session:
                act_as(session, E2E_ACTOR)
                await _seed_grouped_week(session, email)
        finally:
            await database.dispose()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="weft-e2e-seed") as pool:
        pool.submit(lambda: asyncio.run(seed())).result()


def ask(phone: Any, translate: Translate, comment: str) -> None:
    phone.get_by_label(translate("What looks wrong?")).fill(comment)
    phone.get_by_role("button", name=translate("Send question")).click()
    expect(phone.locator("#disputes")).to_contain_text(comment)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_statement_groups_lines_and_the_agent_questions_a_group_and_a_line(
    phone: Any, language: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    email, translate = AGENTS[language]
    seed_grouped_week(e2e_database_url(tmp_path_factory), email())
    sign_in(phone, email())
    phone.goto("/app/earnings")
    phone.locator("#statements a.earn-statement").last.click()  # the oldest: this test's week
    statement_url = phone.url
    statement = phone.locator("#statement")
    expect(statement.get_by_role("heading", level=1)).to_be_visible()
    group = statement.locator(".earn-group").first
    summary = group.locator("summary")
    expect(summary).to_contain_text(translate("Pieces"))
    expect(group.locator(".earn-line").first).to_be_hidden()  # folded: one row per group
    lines = int(re.sub(r"\D", "", summary.locator(".earn-count").inner_text()))
    assert lines >= 2
    amounts = [
        int(re.sub(r"\D", "", text))
        for text in group.locator(".earn-line .earn-amount").all_text_contents()  # folded, yet in the page
    ]
    assert sum(amounts) == int(re.sub(r"\D", "", summary.locator(".earn-amount").inner_text()))
    assert box(summary)["height"] >= MIN_TAP

    summary.click()
    expect(group.locator(".earn-line").first).to_be_visible()
    group.locator("a.earn-question").first.click()  # the whole group
    expect(phone.get_by_role("heading", level=1)).to_have_text(translate("Question these lines"))
    assert_fits_phone_width(phone)
    ask(phone, translate, "The calls of both skills look short.")

    phone.goto(statement_url)
    group = phone.locator("#statement .earn-group").first
    group.locator("summary").click()
    expect(group).to_contain_text(translate("You asked about these lines."))
    group.locator(".earn-line a.earn-question").first.click()  # one line of it
    expect(phone.get_by_role("heading", level=1)).to_have_text(translate("Question a line"))
    ask(phone, translate, "These calls ran long: " + "I handled more than the statement says. " * 2)

    # Earnings: every pill keeps a pill's shape, and a question's title has the width, not a word per line.
    pills = phone.locator(".earn-status")
    expect(pills.first).to_be_visible()
    heights = []
    for index in range(pills.count()):
        pill = pills.nth(index)
        if not pill.is_visible():
            continue
        shape = box(pill)
        radius = float(pill.evaluate("e => parseFloat(getComputedStyle(e).borderTopLeftRadius)"))
        assert shape["height"] <= 32, f"a stretched pill: {shape}"
        assert radius >= shape["height"] / 2 - 0.5, f"not rounded like a pill: {radius} for {shape}"
        heights.append(shape["height"])
    assert max(heights) - min(heights) <= 2, f"pills of different heights: {heights}"
    for title in phone.locator("#disputes .earn-title").all():
        card = box(title.locator("xpath=ancestor::li[1]"))
        assert box(title)["width"] >= max(120, 0.6 * card["width"]), "a question's title is squeezed by its pill"
    assert_fits_phone_width(phone)
    assert_clean_console(phone)


# -- a clean console on every agent page, through an htmx swap ------------------------------------------------------

# Autofill, password managers, translators and test tools write inline styles through the CSSOM (which CSP allows).
# htmx used to copy such a ``style`` onto the swapped-in element with setAttribute, which CSP refuses: one console
# error per element. Marking every element with an id this way makes each swap below prove it no longer does.
TOUCH_STYLES = "document.querySelectorAll('[id]').forEach(e => e.style.setProperty('--touched', '1'))"


def swap(phone: Any, target: Any, *, then: Any) -> None:
    """Tap ``target`` after an extension-like touch of the page; wait for ``then`` to show the swap landed."""
    phone.evaluate(TOUCH_STYLES)
    target.click()
    expect(then).to_be_visible()


def visit(phone: Any, path: str) -> None:
    phone.goto(path)
    expect(phone.locator("#main")).to_be_visible()
    phone.wait_for_load_state("networkidle")  # the inbox badge's own swap has landed


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_agent_page_keeps_a_clean_console_through_an_htmx_swap(phone: Any, language: str) -> None:
    email, translate = AGENTS[language]
    sign_in(phone, email())

    visit(phone, "/app")
    phone.evaluate(TOUCH_STYLES)
    visit(phone, "/app/availability")
    slot = phone.locator(".avail-grid button:not([disabled])").nth(3)
    swap(phone, slot, then=phone.get_by_role("status").filter(has_text=translate("Saved.")))
    swap(phone, slot, then=phone.get_by_role("status").filter(has_text=translate("Saved.")))  # and back

    visit(phone, "/app/shifts/open")
    visit(phone, "/app/shifts")
    calendar = phone.locator("#calendar button").first
    if calendar.count():
        swap(phone, calendar, then=phone.locator("#calendar"))

    visit(phone, "/app/learn")
    phone.locator(".course-title a").first.click()
    course = phone.url.split("?")[0].rstrip("/")
    visit(phone, f"{course}/lessons/1")
    done = phone.locator('form[hx-post$="/done"] button')
    if done.count():
        swap(phone, done.first, then=phone.locator("#course-player"))
    visit(phone, course)
    quiz = phone.get_by_role("button", name=translate("Take the quiz"))
    if quiz.count():
        quiz.first.click()
        expect(phone.get_by_role("heading", level=1)).to_have_text(translate("Quiz"))

    visit(phone, "/app/earnings")
    statement = phone.locator("#statements a.earn-statement").first
    if statement.count():
        statement.click()
        expect(phone.locator("#statement")).to_be_visible()
    visit(phone, "/app/payouts")

    visit(phone, "/app/inbox")
    read_all = phone.locator("#inbox form button")
    if read_all.count():
        swap(phone, read_all.first, then=phone.locator("#inbox"))
    visit(phone, "/app/profile")
    swap(phone, phone.locator("#profile button[type=submit]").first, then=phone.get_by_role("status"))
    visit(phone, "/app/inbox/settings")
    swap(
        phone,
        phone.locator("#preferences button[type=submit]"),
        then=phone.get_by_role("status").filter(has_text=translate("Saved.")),
    )
    assert_clean_console(phone)
