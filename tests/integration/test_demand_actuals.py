"""Actual volumes posted as the day runs (``POST /api/v1/demand/actuals``): stored, replaced on re-post, refused
all or nothing with every problem named by row and field."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site
from backend.core.db import utcnow
from backend.core.slots import slot_of, utc_start
from backend.demand.models import ContactInterval
from tests.factories import Factory, a_skill, bearer

URL = "/api/v1/demand/actuals"


def half_hours_ago(count: int) -> dt.datetime:
    """The start of the half-hour ``count`` before the one under way, with a +08:00 offset."""
    return utc_start(slot_of(utcnow()) - count).astimezone(dt.timezone(dt.timedelta(hours=8)))


def a_row(start: dt.datetime, **changes: Any) -> dict[str, Any]:
    row = {"interval_start": start.isoformat(), "skill": "billing", "offered": 120, "handled": 110, "aht_seconds": 280}
    return {**row, **changes}


async def stored(db: AsyncSession, site: Site) -> dict[int, tuple[int, int]]:
    rows = await db.execute(
        select(ContactInterval.slot, ContactInterval.offered, ContactInterval.handled).where(
            ContactInterval.site_id == site.id
        )
    )
    return {slot: (offered, handled) for slot, offered, handled in rows}


@pytest.fixture
async def token(db: AsyncSession, site: Site, people: Factory) -> dict[str, str]:
    await a_skill(db, site)
    return await bearer(db, await people.make(Role.coordinator))


async def test_actuals_are_stored_and_a_repost_replaces_the_interval(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, token: dict[str, str]
) -> None:
    first, now = half_hours_ago(1), half_hours_ago(0)
    sent = await client.post(URL, json={"rows": [a_row(first), a_row(now, offered=30, handled=20)]}, headers=token)
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"stored": 2, "replaced": 0}

    # the half-hour under way is posted again as its counts grow: the new counts replace the old
    again = await client.post(URL, json={"rows": [a_row(now, offered=55, handled=50)]}, headers=token)
    assert again.json() == {"stored": 1, "replaced": 1}
    assert await stored(db, site) == {slot_of(first): (120, 110), slot_of(now): (55, 50)}


async def test_a_bad_batch_names_each_row_and_field_and_stores_nothing(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, token: dict[str, str]
) -> None:
    rows = [
        a_row(half_hours_ago(2)),
        a_row(half_hours_ago(-1)),  # the next half-hour has not begun
        a_row(half_hours_ago(3), handled=130),
        a_row(half_hours_ago(4), skill="nope"),
        a_row(half_hours_ago(2)),  # the same interval twice
    ]
    refused = await client.post(URL, json={"rows": rows}, headers=token)
    assert refused.status_code == 422
    body = refused.json()
    assert [p["field"] for p in body["problems"]] == [
        "rows[1].interval_start",
        "rows[2].handled",
        "rows[3].skill",
        "rows[4].interval_start",
    ]
    assert body["field"] == "rows[1].interval_start"
    assert "in the future" in body["problems"][0]["message"]
    assert body["problem_count"] == 4
    assert await stored(db, site) == {}


async def test_a_time_without_offset_or_off_the_half_hour_is_refused(
    client: httpx.AsyncClient, token: dict[str, str]
) -> None:
    start = half_hours_ago(2)
    naive = a_row(start, interval_start=start.replace(tzinfo=None).isoformat())
    odd = a_row(start + dt.timedelta(minutes=10))
    refused = await client.post(URL, json={"rows": [naive, odd]}, headers=token)
    assert refused.status_code == 422
    assert [p["field"] for p in refused.json()["problems"]] == ["rows[0].interval_start", "rows[1].interval_start"]


async def test_a_negative_count_is_refused_by_its_field(client: httpx.AsyncClient, token: dict[str, str]) -> None:
    refused = await client.post(URL, json={"rows": [a_row(half_hours_ago(1), offered=-1)]}, headers=token)
    assert refused.status_code in {400, 422}
    assert "rows[0].offered" in refused.text


async def test_agents_and_anonymous_callers_may_not_post_actuals(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    agent_token = await bearer(db, await people.make(Role.agent))
    body = {"rows": [a_row(half_hours_ago(1))]}
    assert (await client.post(URL, json=body, headers=agent_token)).status_code == 403
    assert (await client.post(URL, json=body)).status_code == 401
