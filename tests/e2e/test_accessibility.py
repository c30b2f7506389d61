"""axe-core finds no serious or critical violation on any agent page, in English and in Chinese.

axe comes from npm (tests/quality) and is injected with ``page.evaluate``, which the page's CSP does
not govern (a script tag would be refused: script-src 'self'). It runs the WCAG 2.0 and 2.1 A and AA
rules and axe's best practices on each page as an agent with a shift under way, a locked statement
and a quiz in progress sees it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from functools import cache
from typing import Any

import pytest
from sqlalchemy import select

from backend.accounts.models import Role, Site, Skill, User
from backend.core.db import utcnow
from backend.core.slots import slot_of, utc_start
from backend.demo import DEMO_PASSWORD
from backend.pay import periods
from backend.pay.models import RateCard
from backend.work.models import WorkKind, WorkRecord
from tests.e2e.quality import AXE_SCRIPT, first_course_url, require_npm_tool
from tests.e2e.test_earnings import RATES
from tests.e2e.test_learn import run
from tests.e2e.test_my_schedule import e2e_database_url
from tests.e2e.test_sign_in import sign_in, zh
from tests.factories import Factory, a_held_shift, a_pay_period_before_all, a_rate_card, an_agent

pytestmark = pytest.mark.browser

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING_IMPACTS = {"serious", "critical"}
LOCALES = ("en", "zh-Hans")
CALLS = 6


async def _an_agent_with_a_history(session: Any, site: Site, skill: Skill, locale: str, past: dt.datetime) -> dict:
    """An agent of ``locale`` with a shift under way and calls in this period and in the one ``past`` falls in."""
    agent = await an_agent(
        Factory(db=session, site=site), email=f"axe-{uuid.uuid4().hex[:8]}@example.com", locale=locale,
        password=DEMO_PASSWORD,
    )  # fmt: skip
    now = utcnow()
    under_way = await a_held_shift(session, agent, utc_start(slot_of(now) - 1), slots=4, skill=skill)
    await a_held_shift(session, agent, utc_start(slot_of(past) - 3), slots=3, skill=skill, taken_at=past)
    for tag, at in (("now", now - dt.timedelta(minutes=1)), ("past", past)):
        for n in range(CALLS):
            session.add(
                WorkRecord(
                    site_id=site.id, user_id=agent.id, source="e2e-axe", external_id=f"{tag}-{agent.id}-{n}",
                    occurred_at=at, kind=WorkKind.call, count=1,
                )
            )  # fmt: skip
    await session.flush()
    return {"email": agent.email, "shift_id": under_way.id}


@cache
def agents_with_a_history(database_url: str) -> dict[str, dict]:
    """One agent per language, seeded once per session; the past period is locked so each has a statement."""

    async def work(session: Any) -> dict[str, dict]:
        site = await session.scalar(select(Site).order_by(Site.id))
        skill = await session.scalar(select(Skill).where(Skill.site_id == site.id, Skill.code == "general"))
        if await session.scalar(select(RateCard.id).where(RateCard.site_id == site.id).limit(1)) is None:
            await a_rate_card(session, site, RATES, effective_from=dt.date(2020, 1, 1))
        period, past = await a_pay_period_before_all(session, site)
        agents = {locale: await _an_agent_with_a_history(session, site, skill, locale, past) for locale in LOCALES}
        finance = await session.scalar(select(User).where(User.site_id == site.id, User.role == Role.finance))
        await periods.lock_period(session, period_id=period.id, by=finance, now=utcnow())
        return agents

    return dict(run(database_url, work))


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """The serious and critical violations axe finds on the page as it stands."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT.read_text())
    found = page.evaluate(
        """async (tags) => {
            const only = {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']};
            const results = await axe.run(document, only);
            return results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ': ' + n.failureSummary),
            }));
        }""",
        AXE_TAGS,
    )
    return [violation for violation in found if violation["impact"] in BLOCKING_IMPACTS]


def open_quiz(page: Any, course_url: str) -> None:
    """Start (or resume) the course's quiz, reading its lessons first if the course asks for them."""
    page.goto(course_url)
    start = page.locator("#quiz form button[type=submit], #quiz a.button")
    if start.count() == 0:
        page.goto(course_url + "/lessons/1")
        while "/lessons/" in page.url:
            page.locator("form.lesson-next button").click()
            page.wait_for_load_state()
        page.goto(course_url)
    start.first.click()
    page.wait_for_url("**/app/learn/attempts/*")


@pytest.mark.parametrize("locale", LOCALES)
def test_no_agent_page_has_a_serious_accessibility_violation(
    phone: Any, live_server: str, tmp_path_factory: pytest.TempPathFactory, locale: str
) -> None:
    require_npm_tool(AXE_SCRIPT)
    del live_server
    agent = agents_with_a_history(e2e_database_url(tmp_path_factory))[locale]
    sign_in(phone, agent["email"])
    phone.wait_for_url("**/app")
    assert phone.locator("html").get_attribute("lang") == locale
    phone.goto("/app/earnings")
    statement = phone.locator("a.earn-statement").first.get_attribute("href")
    course = first_course_url(phone)
    pages = {
        "Home": "/app",
        "Availability": "/app/availability",
        "Open shifts": "/app/shifts/open",
        "My schedule": "/app/shifts",
        "Handover notes": f"/app/shifts/{agent['shift_id']}/handover",
        "Learn": "/app/learn",
        "A course": course,
        "A lesson": course + "/lessons/1",
        "Earnings": "/app/earnings",
        "A statement": statement,
        "Inbox": "/app/inbox",
        "Profile": "/app/profile",
        "Notification settings": "/app/inbox/settings",
        "Payouts": "/app/payouts",
    }
    report: dict[str, list[dict[str, Any]]] = {}
    for name, path in pages.items():
        assert path, f"no link to {name}"
        response = phone.goto(path)
        assert response is not None
        assert response.ok, f"{name} ({path}) answered {response.status}"
        phone.wait_for_load_state("networkidle")
        report[name] = axe_violations(phone)
    open_quiz(phone, course)
    assert phone.get_by_role("heading", level=1).inner_text() == (zh("Quiz") if locale == "zh-Hans" else "Quiz")
    report["A quiz"] = axe_violations(phone)

    failing = {name: found for name, found in report.items() if found}
    lines = [
        f"{name}: [{v['impact']}] {v['id']} ({v['help']})\n    " + "\n    ".join(v["nodes"])
        for name, found in failing.items()
        for v in found
    ]
    assert not failing, f"axe ({locale}) found serious or critical violations:\n" + "\n".join(lines)
