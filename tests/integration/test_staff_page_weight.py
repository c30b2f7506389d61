"""Staff pages keep to a weight budget on a realistic week (issue 18, item 15).

The demo centre's roster week (60 agents, three skills, 243 draft lines) weighed 1.4 MB of HTML: every line
carried its own move-or-change form with a picker of every agent. The page now lists one day of schedules and
one skill's coverage at a time once the draft is long, and fetches a line's form when asked. Sizes, not times:
bytes are what a tablet on a weak connection waits for, and they do not depend on the machine.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site
from backend.availability.models import OfferedSlot, Preference
from backend.core.db import utcnow
from backend.core.slots import IsoWeek, local_slot
from backend.roster import service
from backend.roster.models import AssignmentSource, Roster, RosterAssignment
from tests.conftest import login
from tests.factories import Factory, a_skill, an_agent

ZONE = ZoneInfo("Asia/Shanghai")
BUDGET_BYTES = 200_000
AGENTS = 60
HTMX = {"hx-request": "true"}


@pytest.fixture
async def long_week(db: AsyncSession, site: Site, people: Factory) -> tuple[IsoWeek, Roster, int]:
    """Next week's draft: 60 agents in three skills, a 4-hour line on each day they work (one day in five off).

    336 lines, 48 a day."""
    week = IsoWeek.containing(utcnow(), ZONE).shifted(1)
    skills = [await a_skill(db, site, code) for code in ("general", "billing", "tech")]
    roster = await service.roster_of(db, site_id=site.id, week=week)
    lines = 0
    for n in range(AGENTS):
        agent = await an_agent(people, skills=skills, display_name=f"坐席{n:02d}", password=None)
        for weekday in range(7):
            if (n + weekday) % 5 == 0:
                continue  # a day off in five
            start = local_slot(week.days()[weekday], 8 + n % 12, 0, ZONE)
            db.add_all(
                OfferedSlot(user_id=agent.id, slot=s, preference=Preference.preferred) for s in range(start, start + 8)
            )
            db.add(RosterAssignment(
                roster_id=roster.id, user_id=agent.id, skill_id=skills[n % 3].id, start_slot=start, end_slot=start + 8,
                source=AssignmentSource.solver,
            ))  # fmt: skip
            lines += 1
    await db.commit()
    return week, roster, lines


async def test_the_roster_week_of_a_long_draft_keeps_to_the_budget(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, long_week: tuple[IsoWeek, Roster, int]
) -> None:
    week, _roster, lines = long_week
    coordinator = await people.make(Role.coordinator, locale="zh-Hans")
    assert (await login(client, coordinator.email)).status_code == 303
    assert lines == 336

    page = await client.get(f"/admin/roster?week={week}")
    assert page.status_code == 200
    assert len(page.content) <= BUDGET_BYTES
    monday = week.days()[0].isoformat()
    assert re.search(rf'day={monday}[^"]*#schedules" aria-current="page"', page.text)  # the first day is shown
    shown = page.text.count('class="row roster-line"')
    assert shown == 48  # Monday's lines: the 12 agents whose day off it is are not listed
    assert page.text.count('<figure class="roster-chart"') == 1  # one skill's coverage, the others a tab away
    assert page.text.count('hx-get="/admin/roster/lines/') == shown  # each line's form is a tap away, not on the page

    whole = await client.get(f"/admin/roster?week={week}&day=all")
    assert whole.text.count('class="row roster-line"') == lines
    assert len(whole.content) < 3 * BUDGET_BYTES  # asked for on purpose: ~410 KB, a quarter of it with the forms

    tech_friday = await client.get(f"/admin/roster?week={week}&skill=tech&day={week.days()[4].isoformat()}")
    assert 'id="chart-tech"' in tech_friday.text
    assert len(tech_friday.content) <= BUDGET_BYTES


async def test_a_lines_form_comes_when_asked_with_every_agent_to_choose(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, long_week: tuple[IsoWeek, Roster, int]
) -> None:
    week, roster, _lines = long_week
    coordinator = await people.make(Role.coordinator)
    assert (await login(client, coordinator.email)).status_code == 303
    line = (await service.draft_lines(db, roster))[0]

    form = await client.get(f"/admin/roster/lines/{line.id}/edit?week={week}", headers=HTMX)
    assert form.status_code == 200
    assert "<html" not in form.text
    assert f'action="/admin/roster/lines/{line.id}"' in form.text
    agent_picker = re.search(r'<select id="l\d+-agent" name="agent">(.*?)</select>', form.text, re.S)
    assert agent_picker is not None
    assert agent_picker.group(1).count("<option") == AGENTS
    assert f'<option value="{line.user_id}" selected>' in form.text

    full = await client.get(f"/admin/roster/lines/{line.id}/edit?week={week}")
    assert "<html" in full.text
    assert "Back to the roster" in full.text
    assert (await client.get(f"/admin/roster/lines/{line.id + 10_000}/edit?week={week}")).status_code == 404


async def test_a_day_or_skill_not_of_the_week_is_refused_naming_it(
    client: httpx.AsyncClient, people: Factory, long_week: tuple[IsoWeek, Roster, int]
) -> None:
    week, _roster, _lines = long_week
    coordinator = await people.make(Role.coordinator)
    assert (await login(client, coordinator.email)).status_code == 303
    json = {"accept": "application/json"}
    day = await client.get(f"/admin/roster?week={week}&day=2001-01-01", headers=json)
    assert day.status_code == 422
    assert day.json()["field"] == "day"
    skill = await client.get(f"/admin/roster?week={week}&skill=nope", headers=json)
    assert skill.status_code == 422
    assert skill.json()["field"] == "skill"
