"""A new agent's week on a 360 x 800 phone, in English and in Simplified Chinese, end to end.

Sign in → offer next week's availability → see the roster's shift on Home → claim an open shift → take a
course and pass its quiz → see earnings → go offline: Home and My schedule still show, with the offline
banner → change availability offline → back online: the change reached the server (another phone of the
same agent sees it). Each step's screen is saved in the test's temporary folder, and for the README as
``web/static/screenshots/journey-<lang>-<step>.png`` when ``WEFT_SAVE_SCREENSHOTS=1``.

The world around the agent is set through the service layer and the factories, relative to the real
clock (the roster's shift tomorrow, an open shift in two days, a shift worked this morning), never to a
date written in the test.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from backend.accounts.models import Site, Skill, Tier
from backend.core.db import utcnow
from backend.core.slots import slot_of, utc_start
from backend.demo import DEMO_PASSWORD
from backend.pay.models import RateCard
from backend.work.models import WorkKind, WorkRecord
from tests.e2e.conftest import Phone, assert_clean_console
from tests.e2e.screenshot import save_screen
from tests.e2e.test_earnings import RATES
from tests.e2e.test_learn import ANSWERS, quick_billing_course, run
from tests.e2e.test_my_schedule import e2e_database_url
from tests.e2e.test_offline_writes import PENDING, words
from tests.e2e.test_pwa import visit_and_keep, wait_for_worker
from tests.e2e.test_sign_in import assert_fits_phone_width, sign_in
from tests.factories import Factory, a_held_shift, a_rate_card, an_agent, an_open_shift

pytestmark = pytest.mark.browser

ROSTER_HOUR = 10  # the rostered shift: tomorrow 10:00-12:00, site time
OPEN_SHIFT_HOUR = 3  # the open shift: in two days, 03:00-07:00, clashing with nothing
CALLS = 12
REPLY = {"en": "Let me check both charges.", "zh-Hans": "我来核对这两笔扣款。"}
COURSE_TITLE = {"en": "Billing in three minutes", "zh-Hans": "三分钟账单入门"}
SKILL = {"en": "General enquiries", "zh-Hans": "综合咨询"}  # the site's own names for its skill
OFFLINE_SLOT = "09:00"


class World:
    """What the test set up for one agent: their email and name, the roster's shift and the open shift."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.email: str = values["email"]
        self.name: str = values["name"]
        self.rostered: str = values["rostered"]
        self.open_shift_id: int = values["open_shift_id"]


def a_new_agents_world(database_url: str, locale: str) -> World:
    """A senior agent reading ``locale``, certified for general enquiries, with a shift worked this morning
    (and its calls), the roster's shift tomorrow, and an open general shift in two days."""

    async def work(session: Any) -> dict[str, Any]:
        site = await session.scalar(select(Site).order_by(Site.id))
        general = await session.scalar(select(Skill).where(Skill.site_id == site.id, Skill.code == "general"))
        if await session.scalar(select(RateCard.id).where(RateCard.site_id == site.id).limit(1)) is None:
            await a_rate_card(session, site, RATES, effective_from=dt.date(2020, 1, 1))
        name = f"Journey {uuid.uuid4().hex[:6]}"
        agent = await an_agent(
            Factory(db=session, site=site), skills=[general], tier=Tier.senior, display_name=name,
            email=f"journey-{uuid.uuid4().hex[:8]}@example.com", password=DEMO_PASSWORD, locale=locale,
        )  # fmt: skip
        now = utcnow()
        await a_held_shift(session, agent, utc_start(slot_of(now) - 4), slots=3, skill=general)
        for n in range(CALLS):
            session.add(
                WorkRecord(
                    site_id=site.id, user_id=agent.id, source="e2e-journey", external_id=f"{agent.id}-{n}",
                    occurred_at=now - dt.timedelta(minutes=2), kind=WorkKind.call, count=1,
                )
            )  # fmt: skip
        zone = ZoneInfo(site.timezone)
        today = now.astimezone(zone).date()
        tomorrow = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(ROSTER_HOUR), tzinfo=zone)
        await a_held_shift(session, agent, tomorrow, slots=4, skill=general)
        in_two_days = dt.datetime.combine(today + dt.timedelta(days=2), dt.time(OPEN_SHIFT_HOUR), tzinfo=zone)
        an_hour_ago = now - dt.timedelta(hours=1)
        shift = await an_open_shift(session, site, general, start=in_two_days, seats=2, now=an_hour_ago)
        await session.flush()
        return {
            "email": agent.email,
            "name": name,
            "rostered": f"{ROSTER_HOUR:02d}:00",
            "open_shift_id": shift.id,
        }

    return World(run(database_url, work))


class Camera:
    """Saves each step's screen: always in the test's folder, for the README only when asked."""

    def __init__(self, folder: Path, locale: str) -> None:
        self.folder = folder
        self.language = "zh" if locale == "zh-Hans" else "en"
        self.taken: list[Path] = []

    def shoot(self, page: Any, step: str) -> None:
        name = f"journey-{self.language}-{len(self.taken) + 1:02d}-{step}"
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), animations="disabled", caret="hide")
        self.taken.append(path)
        save_screen(page, f"journey-{self.language}-{step}")


def offer_next_week(page: Any, tr: Callable[..., str]) -> None:
    """The Availability tab opens on the week still open for offers: an evening on its last day."""
    page.get_by_role("navigation", name=tr("Main")).get_by_role("link", name=tr("Availability")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(tr("Availability"))
    page.get_by_role("navigation", name=tr("Days")).get_by_role("link").last.click()
    expect(page).to_have_url(re.compile(r"day=6"))
    page.get_by_role("button", name=tr("Evening 18:00-22:00")).click()
    expect(page.get_by_role("status").filter(has_text=tr("Saved."))).to_be_visible()
    expect(page.locator(".avail-grid button.preferred")).to_have_count(8)
    assert_fits_phone_width(page)


def claim(page: Any, tr: Callable[..., str], shift_id: int) -> None:
    page.get_by_role("navigation", name=tr("Main")).get_by_role("link", name=tr("Shifts")).click()
    page.get_by_role("link", name=tr("Open shifts")).click()
    card = page.locator(f"#shift-{shift_id}")
    card.get_by_role("button", name=tr("Claim"), exact=True).click()
    expect(card.get_by_role("status")).to_have_text(tr("Claimed"))
    assert_fits_phone_width(page)


def pass_the_course(page: Any, tr: Callable[..., str], locale: str, course_id: int) -> None:
    """Read the three lessons, then answer every drawn question right."""
    page.goto(f"/app/learn/courses/{course_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(COURSE_TITLE[locale])
    page.goto(f"/app/learn/courses/{course_id}/lessons/1")
    page.get_by_role("button", name=tr("Next lesson")).click()
    expect(page).to_have_url(re.compile(r"/lessons/2$"))
    page.get_by_role("button", name=tr("Next lesson")).click()
    expect(page).to_have_url(re.compile(r"/lessons/3$"))
    page.get_by_text(REPLY[locale]).click()
    page.get_by_role("button", name=tr("Check my reply")).click()
    page.get_by_role("button", name=tr("Finish and go to the quiz")).click()
    expect(page).to_have_url(re.compile(r"/app/learn/(attempts/\d+|courses/\d+#quiz)$"))
    if "/attempts/" not in page.url:  # the quiz is a tap away on the course page
        page.locator("#quiz").get_by_role("button", name=tr("Take the quiz")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(tr("Quiz"))
    for key, right in ANSWERS.items():
        question = page.locator(f"#q-{key}")
        if key == "steps":
            for position, choice in enumerate(right, start=1):
                question.locator(f'select[name="order:{key}:{choice}"]').select_option(str(position))
        else:
            for choice in right:
                question.locator(f'input[name="q:{key}"][value="{choice}"]').check()
    page.get_by_role("button", name=tr("Submit answers")).click()
    expect(page.locator(".result-verdict")).to_have_text(tr("Passed"))
    assert_fits_phone_width(page)


def slot(page: Any, time: str) -> Any:
    return page.locator(".avail-grid button.slot", has_text=time)


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
def test_a_new_agents_week_on_a_phone_from_sign_in_to_an_offline_edit(
    new_phone: Callable[[], Phone],
    live_server: str,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    locale: str,
) -> None:
    del live_server
    tr = words(locale)
    database_url = e2e_database_url(tmp_path_factory)
    course_id = quick_billing_course(database_url)
    world = a_new_agents_world(database_url, locale)
    camera = Camera(tmp_path, locale)
    phone = new_phone()
    page = phone.page

    sign_in(page, world.email)  # a fresh phone shows the sign-in form in the browser's English
    expect(page).to_have_url(re.compile(r"/app$"))
    expect(page.locator("html")).to_have_attribute("lang", locale)
    expect(page.get_by_role("heading", level=1)).to_have_text(tr("Hello, %(name)s").replace("%(name)s", world.name))
    camera.shoot(page, "home")

    offer_next_week(page, tr)
    camera.shoot(page, "availability")

    page.get_by_role("navigation", name=tr("Main")).get_by_role("link", name=tr("Home")).click()
    next_shift = page.locator("#home-next")
    expect(next_shift).to_contain_text(world.rostered)
    expect(next_shift).to_contain_text(SKILL[locale])
    assert_fits_phone_width(page)
    camera.shoot(page, "roster")

    claim(page, tr, world.open_shift_id)
    camera.shoot(page, "claimed")

    pass_the_course(page, tr, locale, course_id)
    camera.shoot(page, "passed")

    page.get_by_role("navigation", name=tr("Main")).get_by_role("link", name=tr("Earnings")).click()
    expect(page.get_by_role("heading", name=tr("Earnings"), level=1)).to_be_visible()
    expect(page.get_by_text(tr("Accrued so far")).first).to_be_visible()
    expect(page.get_by_text(re.compile(rf"^{CALLS}\D")).first).to_be_visible()  # the calls worked this morning
    assert_fits_phone_width(page)
    camera.shoot(page, "earnings")

    # The phone has Weft's worker and has read Home and My schedule online; the agent opens Availability.
    wait_for_worker(page)
    visit_and_keep(page, "/app")
    visit_and_keep(page, "/app/shifts")
    page.goto("/app/availability")
    page.get_by_role("navigation", name=tr("Days")).get_by_role("link").nth(5).click()
    expect(page).to_have_url(re.compile(r"day=5"))
    expect(slot(page, OFFLINE_SLOT)).not_to_have_class(re.compile(r"\bpreferred\b"))
    availability_url = page.url

    phone.context.set_offline(True)
    reader = phone.context.new_page()  # a second tab of the same phone, offline
    reader.goto("/app")
    expect(reader.get_by_role("heading", level=1)).to_have_text(tr("Hello, %(name)s").replace("%(name)s", world.name))
    expect(reader.locator("#offline-banner")).to_be_visible()
    expect(reader.locator("#home-next")).to_contain_text(world.rostered)
    camera.shoot(reader, "offline-home")
    reader.goto("/app/shifts")
    expect(reader.get_by_role("heading", level=1)).to_have_text(tr("My schedule"))
    expect(reader.locator("#offline-banner")).to_be_visible()
    assert_fits_phone_width(reader)
    camera.shoot(reader, "offline-schedule")
    reader.close()

    page.bring_to_front()
    slot(page, OFFLINE_SLOT).click()
    expect(slot(page, OFFLINE_SLOT)).to_have_class(re.compile(r"\bpreferred\b"))
    report = page.locator("#outbox-report")
    expect(report).to_contain_text(tr(*PENDING, count=1))
    assert_fits_phone_width(page)
    camera.shoot(page, "offline-edit")

    phone.context.set_offline(False)
    expect(report).to_contain_text(tr("Back online: the changes you made offline were sent."))
    camera.shoot(page, "back-online")
    other = new_phone().page  # the server's word: another phone of the same agent
    sign_in(other, world.email)
    other.goto(availability_url)
    expect(slot(other, OFFLINE_SLOT)).to_have_class(re.compile(r"\bpreferred\b"))
    assert_clean_console(page)
    assert_clean_console(other)
    assert len(camera.taken) == 10
