"""Two agents with the same name can be told apart in staff lists and pickers (issue 18, item 15)."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, User
from backend.accounts.service import person_labels
from backend.availability.models import OfferedSlot, Preference
from backend.core.db import utcnow
from backend.core.slots import IsoWeek, local_slot, slot_of, utc_start
from tests.conftest import login
from tests.factories import Factory, a_held_shift, a_skill, an_agent

ZONE = ZoneInfo("Asia/Shanghai")


def person(user_id: int, name: str, email: str) -> User:
    return User(id=user_id, display_name=name, email=email)


def test_a_name_alone_where_nobody_shares_it() -> None:
    assert person_labels([person(1, "Li Wei", "liwei@example.com"), person(2, "Wang Fang", "wf@example.com")]) == {
        1: "Li Wei",
        2: "Wang Fang",
    }


def test_namesakes_carry_their_emails_local_part() -> None:
    labels = person_labels(
        [
            person(1, "Li Wei", "liwei@example.com"),
            person(2, "li  wei", "liwei2@example.com"),  # the same name as a reader sees it
            person(3, "Zhang Min", "zm@example.com"),
        ]
    )
    assert labels == {1: "Li Wei (liwei)", 2: "li  wei (liwei2)", 3: "Zhang Min"}


def test_namesakes_with_the_same_local_part_carry_the_whole_email() -> None:
    labels = person_labels([person(1, "Li Wei", "liwei@a.example"), person(2, "Li Wei", "liwei@b.example")])
    assert labels == {1: "Li Wei (liwei@a.example)", 2: "Li Wei (liwei@b.example)"}


def test_the_same_person_twice_is_no_namesake() -> None:
    li = person(1, "Li Wei", "liwei@example.com")
    assert person_labels([li, li]) == {1: "Li Wei"}


async def test_the_rosters_agent_picker_tells_namesakes_apart(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    week = IsoWeek.containing(utcnow(), ZONE).shifted(1)
    billing = await a_skill(db, site, "billing")
    for email in ("liwei", "liwei2"):
        agent = await an_agent(people, skills=[billing], display_name="李伟", email=f"{email}@example.com")
        start = local_slot(week.days()[0], 9, 0, ZONE)
        db.add_all(
            OfferedSlot(user_id=agent.id, slot=s, preference=Preference.preferred) for s in range(start, start + 8)
        )
    await db.commit()
    coordinator = await people.make(Role.coordinator)
    assert (await login(client, coordinator.email)).status_code == 303

    page = await client.get(f"/admin/roster?week={week}")
    picker = re.search(r'<select id="add-agent" name="agent">(.*?)</select>', page.text, re.S)
    assert picker is not None
    assert re.findall(r">([^<]+)</option>", picker.group(1)) == ["李伟 (liwei)", "李伟 (liwei2)"]


async def test_the_attendance_list_tells_namesakes_apart(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    start = utc_start(slot_of(utcnow()) + 2)
    for email in ("liwei", "liwei2"):
        agent = await an_agent(people, display_name="李伟", email=f"{email}@example.com")
        await a_held_shift(db, agent, start)
    coordinator = await people.make(Role.coordinator)
    assert (await login(client, coordinator.email)).status_code == 303

    day = start.astimezone(ZONE).date().isoformat()  # the shift's local day, whatever the hour
    page = await client.get(f"/admin/attendance?day={day}")
    assert page.status_code == 200
    assert "李伟 (liwei)" in page.text
    assert "李伟 (liwei2)" in page.text
