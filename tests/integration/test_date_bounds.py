"""A date in 9999 (or before 2000) is refused at every domain's edge with a 422 naming the field, never a 500.

One request per domain that takes a date, a datetime or an ISO week from a body, a form or a query.
"""

from __future__ import annotations

import html

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site
from backend.pay.models import RateCard
from backend.work.models import WorkRecord
from tests.conftest import login, post_form
from tests.factories import Factory, a_skill, bearer
from tests.integration.test_work_records import csv_file, stored, upload

FAR_DAY = "9999-12-31"
FAR_TIME = "9999-12-31T23:00:00-05:00"  # past the end of what datetime holds once moved to UTC
FAR_WEEK = "9999-W52"
RATES = {"base_hourly_minor": {"junior": 3000, "mid": 3500, "senior": 4000}}


def refused(answer: httpx.Response, field: str) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field, answer.text


async def test_availability_refuses_a_far_block(client: httpx.AsyncClient, db: AsyncSession, people: Factory) -> None:
    headers = await bearer(db, await people.make(Role.agent))
    body = {"week": "2099-W01", "blocks": [{"start": FAR_TIME, "end": FAR_TIME, "preference": "preferred"}]}
    refused(await client.put("/api/v1/availability", json=body, headers=headers), "start")


async def test_handover_refuses_a_far_span(client: httpx.AsyncClient, db: AsyncSession, people: Factory) -> None:
    headers = await bearer(db, await people.make(Role.coordinator))
    body = {"kind": "warning", "body": "Queue is long", "start": FAR_TIME, "end": FAR_TIME}
    refused(await client.post("/api/v1/handover-notes", json=body, headers=headers), "start")


async def test_pay_refuses_a_far_rate_card(client: httpx.AsyncClient, db: AsyncSession, people: Factory) -> None:
    finance = await people.make(Role.finance)
    body = {"effective_from": FAR_DAY, "rates": RATES}
    refused(await client.post("/api/v1/rate-cards", json=body, headers=await bearer(db, finance)), "effective_from")
    await login(client, finance.email)
    form = await post_form(client, "/finance/rates/", {"effective_from": FAR_DAY, "base_junior": "30.00"})
    assert form.status_code == 422
    assert 'id="e-effective_from"' in form.text
    assert await db.scalar(select(func.count()).select_from(RateCard)) == 0


async def test_work_refuses_a_far_record_and_a_far_day(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    coordinator = await people.make(Role.coordinator)
    record = {"external_id": "far-1", "agent_id": agent.id, "occurred_at": FAR_TIME, "kind": "call"}
    answer = await client.post(
        "/api/v1/work-records", json={"source": "pbx", "records": [record]}, headers=await bearer(db, coordinator)
    )
    assert answer.status_code == 422, answer.text
    assert "occurred_at" in answer.text
    assert await db.scalar(select(func.count()).select_from(WorkRecord)) == 0
    await login(client, coordinator.email)
    page = await client.get(f"/admin/work/?day={FAR_DAY}")
    assert page.status_code == 422
    assert 'id="e-day"' in page.text


async def test_demand_refuses_a_far_day_and_a_far_week(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    coordinator = await people.make(Role.coordinator)
    forecast = await client.get(
        f"/api/v1/demand/forecast?skill=billing&week={FAR_WEEK}", headers=await bearer(db, coordinator)
    )
    refused(forecast, "week")
    await login(client, coordinator.email)
    form = {"skill": "billing", "week": "2099-W01", "day": FAR_DAY, "factor": "1.5"}
    assert (await post_form(client, "/admin/demand/scale", form)).status_code == 422


async def test_the_roster_refuses_a_far_week(client: httpx.AsyncClient, db: AsyncSession, people: Factory) -> None:
    headers = await bearer(db, await people.make(Role.coordinator))
    refused(await client.get(f"/api/v1/rosters/{FAR_WEEK}", headers=headers), "week")


async def test_a_work_csv_names_the_row_with_a_far_time(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    agent = await people.make(Role.agent)
    await login(client, (await people.make(Role.coordinator)).email)
    refused = await upload(client, csv_file(f"genesys,c-1,{agent.id},,{FAR_TIME},call,1,240,5,yes,billing"))
    assert refused.status_code == 422
    assert "Row 1 · column occurred_at" in html.unescape(refused.text)
    assert await stored(db, site) == 0
