"""The Today board at 10:00 on a fixed Wednesday in Shanghai, with hand-computed figures.

The world: skill billing, 6 contacts forecast (overrides) per half-hour 08:00-12:00 at the default AHT of 300 s
(no history). Erlang C at the site's targets (80% in 20 s, occupancy at most 85%, shrinkage 30%):
6 contacts are 1 erlang; 2 agents give a service level of 1 - 0.333·e^(-1/15) = 69%, 3 give 92%, so 3 on the
phones and ceil(3 / 0.7) = 5 required. Actuals 12, 12, 12 at 08:30, 09:00, 09:30 against 6, 6, 6 forecast: ratio
2.00, damped 0.5 → 1.50 (inside 0.5-2.0), so 10:00 is reforecast at 9 contacts = 1.5 erlangs: 3 agents give
79% (short of 80%), 4 give 94%, so ceil(4 / 0.7) = 6 agents.

Seats: Ana 09:30-13:30 and Bo 09:00-13:00 have not started (late since 09:40 and 09:10, 10 minutes after their
starts), Cy 08:00-12:00 was marked a no-show at 08:20, Di 08:00-12:00 started at 07:58, Ed works 14:00-18:00.
At 10:00: scheduled 3 (Ana, Bo, Di; a no-show does not count), started 1 (Di), gap 6 - 3 = 3.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import httpx
import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, User
from backend.core.slots import slot_of
from backend.demand.models import ContactInterval
from backend.demand.service import set_override
from backend.ops.models import DutyLogItem, LogKind
from backend.shifts.models import Attendance, CoverRequest, Shift, ShiftSeat
from tests.conftest import csrf_token, login
from tests.factories import Factory, a_held_shift, a_skill, an_agent

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 12, 9)  # a Wednesday


def at(clock: str, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=SHANGHAI)


TEN = at("10:00")
DASH = "\u2013"  # the en dash between a shift's times
FORMULA = "3 half-hours: 36 actual / 18 forecast = 2.00; damped 0.5 → 1.50; bounded 0.5–2.0 → 1.50"  # noqa: RUF001


@pytest.fixture(autouse=True)
def ten_oclock(time_machine: time_machine.TimeMachineFixture) -> None:
    time_machine.move_to(TEN, tick=True)


def section(html: str, part: str) -> str:
    found = re.search(rf'<section id="board-{part}".*?</section>', html, re.S)
    assert found, f"no {part} part"
    return found.group(0)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def row_cells(html: str, skill: str, clock: str) -> list[str]:
    slot = slot_of(at(clock))
    found = re.search(rf'<tr id="need-{skill}-{slot}".*?</tr>', html, re.S)
    assert found, f"no row at {clock}"
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", found.group(0), re.S)
    return [text_of(cell) for cell in cells[:6]]


async def started(db: AsyncSession, shift: Shift, when: dt.datetime) -> None:
    seat = await db.scalar(select(ShiftSeat).where(ShiftSeat.shift_id == shift.id))
    assert seat is not None
    db.add(Attendance(seat_id=seat.id, started_at=when, confirmed_at=when - dt.timedelta(hours=12)))
    await db.commit()


@pytest.fixture
async def world(db: AsyncSession, site: Site, people: Factory) -> dict[str, object]:
    billing = await a_skill(db, site)
    for clock in ("08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30"):
        await set_override(db, site=site, skill=billing, slot=slot_of(at(clock)), contacts=6)
    for clock in ("08:30", "09:00", "09:30"):
        db.add(
            ContactInterval(
                site_id=site.id, skill_id=billing.id, slot=slot_of(at(clock)), offered=12, handled=12, aht_seconds=300
            )
        )
    await db.commit()
    names = ("Ana", "Bo", "Cy", "Di", "Ed")
    agents = {name: await an_agent(people, skills=[billing], display_name=name) for name in names}
    shifts = {
        "Ana": await a_held_shift(db, agents["Ana"], at("09:30"), slots=8),
        "Bo": await a_held_shift(db, agents["Bo"], at("09:00"), slots=8),
        "Cy": await a_held_shift(db, agents["Cy"], at("08:00"), slots=8, no_show_at=at("08:20")),
        "Di": await a_held_shift(db, agents["Di"], at("08:00"), slots=8),
        "Ed": await a_held_shift(db, agents["Ed"], at("14:00"), slots=8),
    }
    await started(db, shifts["Di"], at("07:58"))
    coordinator = await people.make(Role.coordinator, display_name="Cora")
    return {"agents": agents, "shifts": shifts, "coordinator": coordinator, "skill": billing}


async def signed_in(client: httpx.AsyncClient, user: User) -> None:
    assert (await login(client, user.email)).status_code == 303


async def htmx_post(client: httpx.AsyncClient, path: str, data: dict[str, str]) -> httpx.Response:
    token = client.cookies.get("weft_csrf") or await csrf_token(client)
    return await client.post(path, data={**data, "_csrf_token": token}, headers={"HX-Request": "true"})


async def test_the_board_at_ten_shows_who_is_late_the_no_show_and_the_reforecast(
    client: httpx.AsyncClient, world: dict[str, object]
) -> None:
    await signed_in(client, world["coordinator"])  # type: ignore[arg-type]
    page = await client.get("/admin/today")
    assert page.status_code == 200
    html = page.text

    now = section(html, "now")
    late = text_of(re.search(r'<ul class="board-list" id="board-late">.*?</ul>', now, re.S).group(0))  # type: ignore[union-attr]
    assert f"Bo · Billing · 09:00{DASH}13:00 · late since 09:10" in late
    assert f"Ana · Billing · 09:30{DASH}13:30 · late since 09:40 · not confirmed" in late
    assert late.index("Bo") < late.index("Ana")  # by start
    assert "Late (2)" in text_of(now)
    assert "No-shows (1)" in text_of(now)
    assert f"Cy · Billing · 08:00{DASH}12:00 · marked at 08:20" in text_of(now)
    assert "On shift now (1)" in text_of(now)
    assert f"Di · Billing · 08:00{DASH}12:00 · started 07:58" in text_of(now)
    assert "Ed" not in text_of(now)
    assert now.count("Mark no-show") == 2

    table = section(html, "table")
    # time, required, reforecast, scheduled, started, gap
    assert row_cells(table, "billing", "10:00") == ["10:00", "5", "6", "3", "1", "3"]
    assert row_cells(table, "billing", "09:00") == ["09:00", "5", "–", "2", "1", "3"]  # noqa: RUF001
    assert row_cells(table, "billing", "12:00") == ["12:00", "0", "0", "2", "–", "+2"]  # noqa: RUF001  Di has left
    # from 10:30 the reforecast needs 6 against 3 scheduled; from 12:00 nothing is needed and 2 are still on
    proposals = text_of(section(html, "proposals"))
    assert f"3 agents short · Billing · 10:30{DASH}12:00" in proposals
    assert f"1 agent too many · Billing · 12:00{DASH}13:30" in proposals
    assert FORMULA in text_of(section(html, "chart"))
    assert "<svg" in section(html, "chart")


async def test_a_part_answers_204_until_it_changes_and_a_no_show_from_the_board_is_logged_at_once(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, world: dict[str, object]
) -> None:
    await signed_in(client, world["coordinator"])  # type: ignore[arg-type]
    part = await client.get("/admin/today/parts/log", headers={"HX-Request": "true"})
    assert part.status_code == 200
    version = re.search(r'data-version="([0-9a-f]+)"', part.text).group(1)  # type: ignore[union-attr]
    unchanged = await client.get("/admin/today/parts/log", headers={"HX-Request": "true", "x-board-version": version})
    assert unchanged.status_code == 204

    bo = world["agents"]["Bo"]  # type: ignore[index]
    shift = world["shifts"]["Bo"]  # type: ignore[index]
    marked = await htmx_post(
        client, "/admin/today/no-show", {"shift_id": str(shift.id), "user": str(bo.id), "cover": "on"}
    )
    assert marked.status_code == 200
    assert marked.headers["HX-Trigger"] == "board-changed"
    assert "Marked a no-show." in marked.text
    assert "No-shows (2)" in text_of(marked.text)
    assert "Late (1)" in text_of(marked.text)

    changed = await client.get("/admin/today/parts/log", headers={"HX-Request": "true", "x-board-version": version})
    assert changed.status_code == 200
    log = text_of(changed.text)
    assert f"No-show · Bo · 09:00{DASH}13:00" in log
    assert f"Cover request · Bo · 09:00{DASH}13:00" in log
    kinds = set((await db.scalars(select(DutyLogItem.kind).where(DutyLogItem.site_id == site.id))).all())
    assert kinds == {LogKind.no_show, LogKind.cover_request}
    cover = await db.scalar(select(CoverRequest).where(CoverRequest.shift_id == shift.id))
    assert cover is not None
    assert cover.absent_user_id == bo.id


async def test_a_gap_gets_cover_on_the_latest_shift_covering_it_and_an_extra_shift_with_a_typed_bonus(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, world: dict[str, object]
) -> None:
    await signed_in(client, world["coordinator"])  # type: ignore[arg-type]
    asked = await htmx_post(client, "/admin/today/cover", {"skill": "billing", "slot": str(slot_of(at("10:00")))})
    assert asked.status_code == 200
    assert "Cover requested" in asked.text
    request = await db.scalar(select(CoverRequest).where(CoverRequest.site_id == site.id))
    assert request is not None
    assert request.shift_id == world["shifts"]["Ana"].id  # type: ignore[index]  # 09:30 starts latest of those at 10:00

    opened = await htmx_post(
        client,
        "/admin/today/extra-shift",
        {"skill": "billing", "start": "10:30", "end": "14:30", "seats": "2", "bonus": "12.50"},
    )
    assert opened.status_code == 200
    assert "Extra shift opened" in opened.text
    extra = await db.scalar(select(Shift).where(Shift.site_id == site.id, Shift.start_slot == slot_of(at("10:30"))))
    assert extra is not None
    assert (extra.end_slot - extra.start_slot, extra.seats, extra.bonus_minor) == (8, 2, 1250)
    summaries = (await db.scalars(select(DutyLogItem.summary).where(DutyLogItem.site_id == site.id))).all()
    assert f"Extra shift opened: billing 10:30{DASH}14:30, 2 seats" in summaries


async def test_refusals_name_the_field_and_leave_nothing_behind(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, world: dict[str, object]
) -> None:
    await signed_in(client, world["coordinator"])  # type: ignore[arg-type]
    token = client.cookies.get("weft_csrf") or await csrf_token(client)
    bad_seats = await client.post(
        "/admin/today/extra-shift",
        data={"skill": "billing", "start": "10:30", "end": "14:30", "seats": "lots", "_csrf_token": token},
    )
    assert bad_seats.status_code == 422
    assert "Enter a whole number." in bad_seats.text
    bad_bonus = await htmx_post(
        client, "/admin/today/extra-shift", {"skill": "billing", "start": "10:30", "end": "14:30", "bonus": "1,20"}
    )
    assert bad_bonus.status_code == 200  # htmx swaps only 2xx: the refusal is in the part
    assert 'role="alert"' in bad_bonus.text
    no_shift = await client.post(
        "/admin/today/cover", data={"skill": "billing", "slot": str(slot_of(at("20:00"))), "_csrf_token": token}
    )
    assert no_shift.status_code == 422
    assert "open an extra shift instead" in no_shift.text
    stale = await client.post(
        "/admin/today/no-show", data={"shift_id": "987654321", "user": "987654321", "_csrf_token": token}
    )
    assert stale.status_code == 404
    assert (await db.scalars(select(Shift.id).where(Shift.site_id == site.id, Shift.seats > 1))).all() == []
    assert (await db.scalars(select(DutyLogItem.id).where(DutyLogItem.site_id == site.id))).all() == []
    assert (await db.scalars(select(CoverRequest.id).where(CoverRequest.site_id == site.id))).all() == []


async def test_finance_reads_the_board_without_buttons_and_agents_are_refused(
    client: httpx.AsyncClient, people: Factory, world: dict[str, object]
) -> None:
    finance = await people.make(Role.finance)
    await signed_in(client, finance)
    page = await client.get("/admin/today")
    assert page.status_code == 200
    assert "Late (2)" in text_of(page.text)
    assert "Mark no-show" not in page.text
    assert "Fill the gap" not in page.text
    token = client.cookies.get("weft_csrf") or await csrf_token(client)
    shift, bo = world["shifts"]["Bo"], world["agents"]["Bo"]  # type: ignore[index]
    for path, data in (
        ("/admin/today/no-show", {"shift_id": str(shift.id), "user": str(bo.id)}),
        ("/admin/today/cover", {"skill": "billing", "slot": str(slot_of(TEN))}),
        ("/admin/today/extra-shift", {"skill": "billing", "start": "10:30", "end": "14:30"}),
    ):
        assert (await client.post(path, data={**data, "_csrf_token": token})).status_code == 403

    await client.post("/logout", data={"_csrf_token": token})
    client.cookies.clear()
    await signed_in(client, bo)
    assert (await client.get("/admin/today")).status_code == 403
    assert (await client.get("/admin/today/parts/now")).status_code == 403


async def test_an_unknown_part_is_404(client: httpx.AsyncClient, world: dict[str, object]) -> None:
    await signed_in(client, world["coordinator"])  # type: ignore[arg-type]
    assert (await client.get("/admin/today/parts/nothing")).status_code == 404


async def test_an_empty_centre_shows_first_steps_not_an_error(client: httpx.AsyncClient, people: Factory) -> None:
    await signed_in(client, await people.make(Role.coordinator))
    page = await client.get("/admin/today")
    assert page.status_code == 200
    assert 'id="first-steps"' in page.text
    assert 'href="/admin/site/"' in page.text
    assert 'href="/admin/demand/"' in page.text
    assert "<svg" not in page.text
