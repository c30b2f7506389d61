"""History import, the forecast and its adjustments, the week view and the staffing API, on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import AuditEntry, Role, Site, Skill
from backend.accounts.zones import site_zone
from backend.availability.models import OfferedSlot, Preference
from backend.certifications.service import ADMIN_OVERRIDE, grant_certification
from backend.core.slots import IsoWeek, local_slot
from backend.demand import history
from backend.demand.demo import load_demo_history
from backend.demand.models import ContactInterval, DayScale, ForecastOverride
from tests.conftest import login, post_form
from tests.factories import Factory, bearer

HEADER = "interval_start,skill,offered,handled,aht_seconds,abandoned\n"
NOW = dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC)  # a Sunday: the current week is 2026-W47


@pytest.fixture
async def skills(db: AsyncSession, site: Site) -> dict[str, Skill]:
    made = {}
    for code in ("general", "billing", "tech"):
        made[code] = await accounts.ensure_skill(db, site=site, code=code, name=code.title())
    await db.commit()
    return made


async def stored_rows(db: AsyncSession, site: Site) -> int:
    return int(
        await db.scalar(select(func.count()).select_from(ContactInterval).where(ContactInterval.site_id == site.id))
        or 0
    )


def csv_body(*rows: str) -> str:
    return HEADER + "".join(f"{row}\n" for row in rows)


async def coordinator_headers(db: AsyncSession, people: Factory) -> dict[str, str]:
    return await bearer(db, await people.make(Role.coordinator))


# History import --------------------------------------------------------------------------------


async def test_import_then_reimport_replaces_the_interval(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, site: Site, skills: dict[str, Skill]
) -> None:
    headers = await coordinator_headers(db, people)
    body = csv_body(
        "2026-11-02T09:00:00+08:00,general,40,38,250.5,2",
        "2026-11-02T09:30:00+08:00,general,44,44,240,",
        "2026-11-02T01:30:00Z,billing,10,9,400,1",
    )
    first = await client.post("/api/v1/demand/history", content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"rows": 3, "replaced": 0}
    again = await client.post(
        "/api/v1/demand/history", content=csv_body("2026-11-02T09:00:00+08:00,general,50,50,260,0"), headers=headers
    )
    assert again.json() == {"rows": 1, "replaced": 1}
    assert await stored_rows(db, site) == 3
    nine = local_slot(dt.date(2026, 11, 2), 9, 0, site_zone(site))
    row = await db.scalar(select(ContactInterval).where(ContactInterval.slot == nine))
    assert row is not None
    await db.refresh(row)
    assert (row.offered, row.handled, row.aht_seconds, row.abandoned) == (50, 50, 260.0, 0)
    billing = await db.scalar(select(ContactInterval).where(ContactInterval.skill_id == skills["billing"].id))
    assert billing is not None
    assert billing.slot == nine + 1  # 01:30Z is 09:30 in Shanghai: any offset names the same slot line


async def test_bad_rows_are_listed_and_nothing_is_written(
    client: httpx.AsyncClient,
    db: AsyncSession,
    people: Factory,
    site: Site,
    skills: dict[str, Skill],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(history, "BATCH_ROWS", 2)  # good rows before the bad ones are written, then undone
    headers = await coordinator_headers(db, people)
    body = csv_body(
        "2026-11-02T09:00:00+08:00,general,40,38,250,2",
        "2026-11-02T09:30:00+08:00,general,40,38,250,2",
        "2026-11-02T10:00:00+08:00,general,40,38,250,2",
        "2026-11-02T10:00:00+08:00,general,41,38,250,3",
        "2026-11-02T10:30:00+08:00,general,10,12,250,",
        "2026-11-02T10:45:00+08:00,general,10,5,250,",
        "2026-11-02T11:00:00,general,10,5,250,",
        "2026-11-02T11:30:00+08:00,mystery,10,5,250,",
        "2026-11-02T12:00:00+08:00,general,-1,0,250,",
        "2026-11-02T12:30:00+08:00,general,10",
        "2026-11-02T13:00:00+08:00,general,10,5,0,",
        "2030-01-01T00:00:00+08:00,general,10,5,200,",
    )
    response = await client.post("/api/v1/demand/history", content=body, headers=headers)
    assert response.status_code == 422
    answer = response.json()
    assert answer["field"] is None
    assert answer["problem_count"] == 9
    problems = {p["row"]: p["message"] for p in answer["problems"]}
    assert problems[4] == "a second row for general at this interval"
    assert problems[5] == "handled (12) exceeds offered (10)"
    assert "not on a :00 or :30 boundary" in problems[6]
    assert "has no UTC offset" in problems[7]
    assert problems[8] == "unknown skill 'mystery'"
    assert "offered (-1) is negative" in problems[9]
    assert problems[10] == "expected 6 fields, found 3"
    assert "aht_seconds is 0" in problems[11]
    assert "in the future" in problems[12]
    assert await stored_rows(db, site) == 0


async def test_only_the_first_fifty_problems_are_listed(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, skills: dict[str, Skill]
) -> None:
    headers = await coordinator_headers(db, people)
    body = csv_body(*[f"2026-11-02T09:00:00+08:00,nobody{i},1,1,100," for i in range(120)])
    answer = (await client.post("/api/v1/demand/history", content=body, headers=headers)).json()
    assert answer["problem_count"] == 120
    assert len(answer["problems"]) == 50
    assert answer["problems"][0] == {"row": 1, "message": "unknown skill 'nobody0'"}


@pytest.mark.parametrize("body", ["", "\n\n", HEADER])
async def test_an_empty_file_has_no_rows(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, skills: dict[str, Skill], body: str
) -> None:
    headers = await coordinator_headers(db, people)
    response = await client.post("/api/v1/demand/history", content=body, headers=headers)
    assert response.status_code == 422
    assert "no rows" in response.json()["message"]


async def test_a_wrong_header_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, skills: dict[str, Skill]
) -> None:
    headers = await coordinator_headers(db, people)
    body = "start,skill,offered,handled\n2026-11-02T09:00:00+08:00,general,1,1\n"
    answer = (await client.post("/api/v1/demand/history", content=body, headers=headers)).json()
    messages = [p["message"] for p in answer["problems"]]
    assert {p["row"] for p in answer["problems"]} == {0}
    assert "missing column interval_start" in messages
    assert "missing column aht_seconds" in messages
    assert "unknown column start" in messages


async def test_the_upload_streams_past_the_default_body_limit(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, site: Site, skills: dict[str, Skill]
) -> None:
    """12 MB, above Litestar's 10 MB default, sent in chunks: read as a stream (a bad first row keeps it quick)."""
    headers = await coordinator_headers(db, people)

    async def upload() -> AsyncIterator[bytes]:
        yield (HEADER + "2026-11-02T09:00:00+08:00,general,1,2,100,\n").encode()
        block = "".join(
            f"2026-11-{day:02d}T{hour:02d}:00:00+08:00,tech,5,5,100,\n" for day in range(1, 31) for hour in range(24)
        )
        sent = 0
        while sent < 12 * 1024 * 1024:
            yield block.encode()
            sent += len(block)

    response = await client.post("/api/v1/demand/history", content=upload(), headers=headers)
    assert response.status_code == 422
    answer = response.json()
    assert answer["problems"][0] == {"row": 1, "message": "handled (2) exceeds offered (1)"}
    assert answer["problem_count"] > 1000  # the repeated block is reported as duplicates, all of it read
    assert await stored_rows(db, site) == 0


async def test_unsafe_api_calls_need_a_coordinator_token(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, skills: dict[str, Skill]
) -> None:
    body = csv_body("2026-11-02T09:00:00+08:00,general,1,1,100,")
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    with_cookie = await client.post("/api/v1/demand/history", content=body, headers={"Content-Type": "text/csv"})
    assert with_cookie.status_code == 401  # a browser session never writes through the API
    agent_token = await bearer(db, await people.make(Role.agent))
    assert (await client.post("/api/v1/demand/history", content=body, headers=agent_token)).status_code == 403
    finance_token = await bearer(db, await people.make(Role.finance))
    assert (await client.post("/api/v1/demand/history", content=body, headers=finance_token)).status_code == 403


async def test_the_upload_page_imports_a_file_and_shows_problems(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, site: Site, skills: dict[str, Skill]
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    page = await client.get("/admin/demand/")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    token = client.cookies.get("weft_csrf") or ""
    good = csv_body("2026-11-02T09:00:00+08:00,general,40,38,250,2")
    files = {"file": ("history.csv", good.encode(), "text/csv")}
    done = await client.post("/admin/demand/", files=files, data={"note": "x"}, headers={"x-csrftoken": token})
    assert done.status_code == 200
    assert "Imported 1 row." in done.text
    bad = csv_body("2026-11-02T09:30:00+08:00,general,10,12,250,")
    refused = await client.post(
        "/admin/demand/", files={"file": ("h.csv", bad.encode(), "text/csv")}, data={"_csrf_token": token}
    )
    assert refused.status_code == 422
    assert "Row 1: handled (12) exceeds offered (10)" in refused.text
    as_htmx = await client.post(
        "/admin/demand/",
        files={"file": ("h.csv", bad.encode(), "text/csv")},
        headers={"x-csrftoken": token, "hx-request": "true"},
    )
    assert as_htmx.status_code == 200  # htmx swaps only 2xx answers
    assert "exceeds offered" in as_htmx.text
    assert await stored_rows(db, site) == 1


# Forecast, adjustments, week view -------------------------------------------------------------


@pytest.fixture
async def demo_history(db: AsyncSession, site: Site, skills: dict[str, Skill]) -> int:
    rows = await load_demo_history(db, site=site, now=NOW)
    await db.commit()
    return rows


async def test_demo_history_is_eight_weeks_with_a_quiet_holiday_and_loads_once(
    db: AsyncSession, site: Site, demo_history: int
) -> None:
    zone = site_zone(site)
    assert demo_history == 8 * 7 * 48 * 3
    assert await load_demo_history(db, site=site, now=NOW) == 0
    first = IsoWeek(2026, 39).slots(zone).start
    assert await db.scalar(select(func.min(ContactInterval.slot))) == first
    assert await db.scalar(select(func.max(ContactInterval.slot))) == IsoWeek(2026, 47).slots(zone).start - 1

    async def day_total(day: dt.date) -> int:
        span = range(local_slot(day, 0, 0, zone), local_slot(day + dt.timedelta(days=1), 0, 0, zone))
        total = await db.scalar(
            select(func.sum(ContactInterval.offered)).where(
                ContactInterval.slot >= span.start, ContactInterval.slot < span.stop
            )
        )
        return int(total or 0)

    national_day, a_week_later = dt.date(2026, 10, 1), dt.date(2026, 10, 8)
    assert await day_total(national_day) < 0.5 * await day_total(a_week_later)


async def test_forecast_api_staffs_every_slot_and_applies_adjustments(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, site: Site, demo_history: int
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    response = await client.get("/api/v1/demand/forecast", params={"skill": "general", "week": "2026-W48"})
    assert response.status_code == 200
    forecast = response.json()
    assert (forecast["skill"], forecast["week"], forecast["model"]) == ("general", "2026-W48", "erlang_c")
    assert len(forecast["slots"]) == 336
    busiest = max(forecast["slots"], key=lambda s: s["contacts"])
    assert busiest["agents"] > 0
    assert busiest["start"].endswith("+08:00")
    night = next(s for s in forecast["slots"] if s["start"].startswith("2026-11-24T03:00"))
    assert (night["contacts"], night["agents"]) == (0.0, 0)

    tuesday = "2026-11-24"
    scaled = await post_form(
        client, "/admin/demand/scale", {"skill": "general", "week": "2026-W48", "day": tuesday, "factor": "1.3"}
    )
    assert scaled.status_code == 303
    slot = busiest["slot"]
    fixed = await post_form(
        client, "/admin/demand/override", {"skill": "general", "week": "2026-W48", "slot": str(slot), "contacts": "7"}
    )
    assert fixed.status_code == 303
    after = (await client.get("/api/v1/demand/forecast", params={"skill": "general", "week": "2026-W48"})).json()
    by_slot = {s["slot"]: s for s in after["slots"]}
    assert by_slot[slot]["contacts"] == 7.0
    assert by_slot[slot]["overridden"] is True
    tuesday_before = [s for s in forecast["slots"] if s["start"].startswith(tuesday) and s["slot"] != slot]
    for before in tuesday_before:
        assert by_slot[before["slot"]]["contacts"] == pytest.approx(before["contacts"] * 1.3, abs=2e-3)
    audited = set(await db.scalars(select(AuditEntry.object_type).where(AuditEntry.actor_id == coordinator.id)))
    assert {"forecast_overrides", "forecast_day_scales"} <= audited

    cleared = await post_form(
        client, "/admin/demand/override", {"skill": "general", "week": "2026-W48", "slot": str(slot), "contacts": ""}
    )
    assert cleared.status_code == 303
    await post_form(
        client, "/admin/demand/scale", {"skill": "general", "week": "2026-W48", "day": tuesday, "factor": "1"}
    )
    assert await db.scalar(select(func.count()).select_from(ForecastOverride)) == 0
    assert await db.scalar(select(func.count()).select_from(DayScale)) == 0


@pytest.mark.parametrize(
    ("path", "form", "field"),
    [
        ("/admin/demand/scale", {"day": "2026-11-24", "factor": "0"}, "factor"),
        ("/admin/demand/scale", {"day": "2026-11-24", "factor": "11"}, "factor"),
        ("/admin/demand/override", {"slot": "987000", "contacts": "-1"}, "contacts"),
        ("/admin/demand/override", {"slot": "987000", "contacts": "many"}, "contacts"),
    ],
)
async def test_bad_adjustments_are_refused_naming_the_field(
    client: httpx.AsyncClient, people: Factory, skills: dict[str, Skill], path: str, form: dict[str, str], field: str
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    response = await post_form(client, path, {"skill": "general", "week": "2026-W48", **form})
    assert response.status_code == 422
    assert field in response.text


async def test_the_overview_shows_the_backtest(client: httpx.AsyncClient, people: Factory, demo_history: int) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    page = await client.get("/admin/demand/")
    assert page.status_code == 200
    assert "2026-W45, 2026-W46" in page.text
    assert "%" in page.text.split('id="backtest"')[1]


async def test_week_view_shows_gaps_and_the_agents_available_in_a_slot(
    client: httpx.AsyncClient,
    db: AsyncSession,
    people: Factory,
    site: Site,
    skills: dict[str, Skill],
    demo_history: int,
) -> None:
    zone = site_zone(site)
    busy = local_slot(dt.date(2026, 11, 24), 20, 0, zone)  # Tuesday evening peak
    keen = await people.make(Role.agent, display_name="Keen Kim")
    maybe = await people.make(Role.agent, display_name="Maybe May")
    uncertified = await people.make(Role.agent, display_name="Not Yet Nia")
    for agent in (keen, maybe):
        await grant_certification(db, user=agent, skill=skills["general"], source=ADMIN_OVERRIDE)
    db.add_all(
        [
            OfferedSlot(user_id=keen.id, slot=busy, preference=Preference.preferred),
            OfferedSlot(user_id=maybe.id, slot=busy, preference=Preference.if_needed),
            OfferedSlot(user_id=uncertified.id, slot=busy, preference=Preference.preferred),
        ]
    )
    await db.commit()
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    page = await client.get("/admin/demand/week", params={"skill": "general", "week": "2026-W48"})
    assert page.status_code == 200
    assert "<svg" in page.text
    assert "cell cell-gap" in page.text
    assert f"slot={busy}" in page.text
    assert "style=" not in page.text.split("<svg", 1)[1].split("</svg>", 1)[0]  # CSP: no inline styles
    detail = await client.get(
        "/admin/demand/slot", params={"skill": "general", "slot": busy}, headers={"hx-request": "true"}
    )
    assert detail.status_code == 200
    assert "<html" not in detail.text
    assert "Keen Kim" in detail.text
    assert "Maybe May" in detail.text
    assert "Not Yet Nia" not in detail.text
    assert "1 preferred, 1 if needed" in detail.text


# Staffing API and calculator ------------------------------------------------------------------


async def test_erlang_c_api_answers_the_textbook_example(client: httpx.AsyncClient, people: Factory) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    params = {
        "contacts": 100,
        "aht": 180,
        "interval": 1800,
        "service_level": 0.8,
        "answer_within": 20,
        "shrinkage": 0.3,
        "max_occupancy": 0.85,
    }
    answer = (await client.get("/api/v1/staffing/erlang-c", params=params)).json()
    assert set(answer) == {"agents", "service_level", "asa_seconds", "occupancy"}
    assert answer["agents"] == 20
    assert answer["service_level"] == pytest.approx(0.8884, abs=1e-3)
    assert answer["asa_seconds"] == pytest.approx(7.84, abs=0.01)
    assert answer["occupancy"] == pytest.approx(10 / 14)
    erlang_a = (await client.get("/api/v1/staffing/erlang-a", params={**params, "patience": 120})).json()
    assert set(erlang_a) == {"agents", "service_level", "asa_seconds", "occupancy", "abandon_rate"}
    assert 0 < erlang_a["abandon_rate"] < 0.1
    assert erlang_a["agents"] <= 20


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"contacts": -5, "aht": 180}, "contacts"),
        ({"contacts": 100, "aht": 0}, "aht"),
        ({"contacts": 100, "aht": 180, "service_level": 1.5}, "service_level"),
        ({"contacts": 100, "aht": 180, "service_level": 0}, "service_level"),
        ({"contacts": 100, "aht": 180, "shrinkage": 1}, "shrinkage"),
        ({"contacts": 100, "aht": 180, "max_occupancy": 1.2}, "max_occupancy"),
        ({"contacts": 100, "aht": 180, "interval": -1800}, "interval"),
        ({"contacts": 100, "aht": 180, "answer_within": -1}, "answer_within"),
        ({"aht": 180}, "contacts"),
        ({"contacts": "lots", "aht": 180}, "contacts"),
    ],
)
async def test_erlang_api_refuses_bad_parameters_with_422(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, params: dict[str, object], field: str
) -> None:
    finance = await people.make(Role.finance)
    await login(client, finance.email)
    for path in ("/api/v1/staffing/erlang-c", "/api/v1/staffing/erlang-a"):
        response = await client.get(path, params=params)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["field"] == field
    patience = await client.get("/api/v1/staffing/erlang-a", params={"contacts": 1, "aht": 1, "patience": 0})
    assert patience.json()["field"] == "patience"


async def test_staffing_calculator_page(client: httpx.AsyncClient, people: Factory) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    page = await client.get("/admin/staffing/", params={"contacts": "100", "aht": "180", "model": "erlang_a"})
    assert page.status_code == 200
    assert "agents to schedule" in page.text
    assert "Callers who abandon" in page.text
    bad = await client.get("/admin/staffing/", params={"contacts": "100", "aht": "0"})
    assert bad.status_code == 422


# Who may see what ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.agent, Role.finance])
async def test_agents_and_finance_are_kept_out_of_the_demand_pages(
    client: httpx.AsyncClient, people: Factory, skills: dict[str, Skill], role: Role
) -> None:
    user = await people.make(role)
    await login(client, user.email)
    for path in ("/admin/demand/", "/admin/demand/week?skill=general", "/admin/demand/slot?skill=general&slot=1"):
        assert (await client.get(path)).status_code == 403, path
    staffing = await client.get("/admin/staffing/")
    assert staffing.status_code == (200 if role is Role.finance else 403)
    erlang = await client.get("/api/v1/staffing/erlang-c", params={"contacts": 10, "aht": 100})
    assert erlang.status_code == (200 if role is Role.finance else 403)
    forecast = await client.get("/api/v1/demand/forecast", params={"skill": "general"})
    assert forecast.status_code == (200 if role is Role.finance else 403)


async def test_another_sites_history_is_never_seen(
    client: httpx.AsyncClient,
    db: AsyncSession,
    people: Factory,
    site: Site,
    skills: dict[str, Skill],
    demo_history: int,
) -> None:
    other = await accounts.ensure_site(db, name="Other Centre", timezone="Europe/Berlin", country="DE")
    await accounts.ensure_skill(db, site=other, code="general", name="General")
    await db.commit()
    stranger = await people.make(Role.coordinator, site=other)
    headers = await bearer(db, stranger)
    # the other site's coordinator cannot write into this site's skills: codes resolve within their own site
    body = csv_body("2026-11-02T09:00:00+01:00,billing,5,5,100,")
    refused = await client.post("/api/v1/demand/history", content=body, headers=headers)
    assert refused.json()["problems"][0]["message"] == "unknown skill 'billing'"
    await login(client, stranger.email)
    forecast = (await client.get("/api/v1/demand/forecast", params={"skill": "general", "week": "2026-W48"})).json()
    assert all(s["contacts"] == 0 for s in forecast["slots"])
    assert "not enough history" in (await client.get("/admin/demand/")).text
    mine = local_slot(dt.date(2026, 11, 24), 20, 0, site_zone(site))
    assert (await client.get("/admin/demand/slot", params={"skill": "tech", "slot": mine})).status_code == 404
