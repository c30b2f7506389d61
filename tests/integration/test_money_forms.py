"""Money people type on a page is an amount in major units ("12.50"), read by the one strict parser.

The urgent bonus on the coordinator's shift and cover forms and the site's base pay per hour were once whole
numbers of fen/cents: "12.50" was refused and "1250" meant 12.50. Each form now takes an amount as finance's
forms do, refuses "1,20" (1.20 or 120?) naming its field with nothing stored, and shows the stored value back
as an amount.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site
from backend.accounts.site_settings import site_settings
from backend.shifts.models import CoverRequest, Shift
from tests.conftest import login, post_form
from tests.factories import Factory, a_skill
from tests.integration.test_cover import a_shift_and_its_holder, at
from tests.integration.test_site import SETTINGS_FORM
from tests.integration.test_staff_zh import staff_paths


async def test_the_urgent_bonus_on_a_new_shift_is_typed_as_an_amount(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    day = at(5, "00:00").date().isoformat()
    values = {"skill": "billing", "day": day, "start": "18:00", "end": "22:00", "seats": "2"}

    refused = await post_form(client, "/admin/shifts/", {**values, "bonus": "1,20"})
    assert refused.status_code == 422
    assert 'id="e-bonus"' in refused.text
    assert 'value="1,20"' in refused.text, "the refused form comes back as typed"
    assert await db.scalar(select(func.count()).select_from(Shift)) == 0

    made = await post_form(client, "/admin/shifts/", {**values, "bonus": "12.50"})
    assert made.status_code == 303, made.text
    assert list(await db.scalars(select(Shift.bonus_minor))) == [1250]
    listed = await client.get(made.headers["location"])
    assert "CNY 12.50" in listed.text


async def test_the_urgent_bonus_on_a_cover_request_is_typed_as_an_amount(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    shift, holder = await a_shift_and_its_holder(db, site, skill, people, days=1)
    coordinator = await people.make(Role.coordinator)
    await db.commit()
    await login(client, coordinator.email)
    form = {"shift_id": str(shift.id), "absent_user": str(holder.id), "reason": "no_show"}

    refused = await post_form(client, "/admin/cover", {**form, "bonus": "1,20"})
    assert refused.status_code == 422
    assert 'id="e-bonus"' in refused.text
    assert await db.scalar(select(func.count()).select_from(CoverRequest)) == 0

    raised = await post_form(client, "/admin/cover", {**form, "bonus": "12.50"})
    assert raised.status_code == 303, raised.text
    assert list(await db.scalars(select(CoverRequest.bonus_minor))) == [1250]
    assert "CNY 12.50" in (await client.get("/admin/cover")).text


async def test_the_sites_base_pay_per_hour_is_typed_as_an_amount(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)

    saved = await post_form(client, "/admin/site/settings", {**SETTINGS_FORM, "base_hourly_pay": "32.50"})
    assert saved.status_code == 200, saved.text
    await db.refresh(site)
    assert site_settings(site).base_hourly_pay_minor == 3250
    page = await client.get("/admin/site/")
    assert 'name="base_hourly_pay" type="text" value="32.50"' in page.text


@pytest.mark.parametrize("typed", ["1,20", "twelve", "-5.00", "1.999"])
async def test_a_misread_base_pay_is_refused_by_name_and_nothing_is_saved(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, typed: str
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    before = site_settings(site)

    refused = await post_form(
        client, "/admin/site/settings", {**SETTINGS_FORM, "max_weekly_hours": "30", "base_hourly_pay": typed}
    )
    assert refused.status_code == 422
    assert 'id="e-base_hourly_pay"' in refused.text
    await db.refresh(site)
    after = site_settings(site)
    assert (after.base_hourly_pay_minor, after.max_weekly_hours) == (
        before.base_hourly_pay_minor,
        before.max_weekly_hours,
    )


async def test_the_voluntary_overtime_bonus_is_typed_as_an_amount(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)

    saved = await post_form(client, "/admin/site/settings", {**SETTINGS_FORM, "vot_bonus": "15.50"})
    assert saved.status_code == 200, saved.text
    await db.refresh(site)
    assert site_settings(site).vot_bonus_minor == 1550
    assert 'name="vot_bonus" type="text" value="15.50"' in (await client.get("/admin/site/")).text

    refused = await post_form(client, "/admin/site/settings", {**SETTINGS_FORM, "vot_bonus": "1,20"})
    assert refused.status_code == 422
    assert 'id="e-vot_bonus"' in refused.text
    await db.refresh(site)
    assert site_settings(site).vot_bonus_minor == 1550


MINOR_WORDS = re.compile(r"\b(fen|cents?|minor units?)\b|分/|以分计", re.IGNORECASE)
LABEL = re.compile(r"<label[^>]*>(.*?)</label>", re.S)


@pytest.mark.parametrize("role", [Role.admin, Role.finance])
@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
async def test_no_staff_form_asks_for_minor_units(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, role: Role, locale: str
) -> None:
    """Every label of every staff page: money is asked for in the currency's major units, never fen or cents."""
    await a_skill(db, site)
    reader = await people.make(role, locale=locale)
    await login(client, reader.email)
    asking: dict[str, list[str]] = {}
    broken = []
    for path in staff_paths(app, {}):
        answer = await client.get(path)
        if answer.status_code >= 500:
            broken.append(path)  # a page that fails cannot be read for its labels
        page = answer.text if answer.headers.get("content-type", "").startswith("text/html") else ""
        if found := [label for label in LABEL.findall(page) if MINOR_WORDS.search(label)]:
            asking[path] = found
    assert broken == []
    assert asking == {}
