"""The site's set-up: admins change it, coordinators read it, bad values change nothing."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service
from backend.accounts.models import Role, Site
from backend.accounts.site_settings import site_settings
from backend.certifications.service import ADMIN_OVERRIDE, grant_certification
from backend.roster.problem import solver_rules
from backend.shifts.eligibility import shift_rules
from tests.conftest import Factory, login, post_form


async def test_admin_renames_the_site_and_moves_its_clock(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    admin = await people.make(Role.admin)
    await login(client, admin.email)
    saved = await post_form(
        client, "/admin/site/", {"name": "Weft Chengdu", "timezone": "Asia/Chongqing", "country": "cn"}
    )
    assert saved.status_code == 200
    await db.refresh(site)
    assert (site.name, site.timezone, site.country) == ("Weft Chengdu", "Asia/Chongqing", "CN")


async def test_bad_site_values_name_the_field_and_change_nothing(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    admin = await people.make(Role.admin)
    await login(client, admin.email)
    response = await post_form(client, "/admin/site/", {"name": "Renamed", "timezone": "Asia/Nowhere", "country": "CN"})
    assert response.status_code == 422
    assert "Asia/Nowhere" in response.text
    await db.refresh(site)
    assert site.name == "Test Centre"


async def test_admin_adds_a_skill_and_duplicates_are_refused(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    admin = await people.make(Role.admin)
    await login(client, admin.email)
    added = await post_form(client, "/admin/site/skills", {"code": "refunds", "name": "Refunds", "name_zh": "退款"})
    assert added.status_code == 200
    assert "退款" in added.text
    again = await post_form(client, "/admin/site/skills", {"code": "Refunds", "name": "Refunds again"})
    assert again.status_code == 409
    bad = await post_form(client, "/admin/site/skills", {"code": "9 lives!", "name": "Cats"})
    assert bad.status_code == 422
    assert [s.code for s in await service.list_skills(db, site_id=site.id)] == ["refunds"]


async def test_coordinator_reads_the_site_but_cannot_change_it(client: httpx.AsyncClient, people: Factory) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    assert (await client.get("/admin/site/")).status_code == 200
    assert (await post_form(client, "/admin/site/skills", {"code": "sneaky", "name": "Sneaky"})).status_code == 403
    assert (
        await post_form(client, "/admin/site/", {"name": "X", "timezone": "UTC", "country": "CN"})
    ).status_code == 403


async def test_agent_page_shows_certifications(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    agent = await people.make(Role.agent)
    skill = await service.ensure_skill(db, site=site, code="billing", name="Billing")
    await grant_certification(db, user=agent, skill=skill, source=ADMIN_OVERRIDE)
    await db.commit()
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    page = await client.get(f"/admin/users/{agent.id}")
    assert "Billing" in page.text  # the skill by its name in the reader's language, not its code


SETTINGS_FORM = {
    "availability_deadline_weekday": "2",
    "availability_deadline_time": "20:30",
    "availability_horizon_weeks": "3",
    "max_weekly_hours": "24",
    "service_level_percent": "90",
    "answer_within_seconds": "15",
    "max_occupancy_percent": "80",
    "shrinkage_percent": "25",
    "staffing_model": "erlang_a",
    "average_patience_seconds": "90",
    "min_shift_hours": "3",
    "max_shift_hours": "6.5",
    "max_shifts_per_day": "2",
    "min_rest_hours": "8",
    "break_after_hours": "0",
    "spare_cover_percent": "5",
}


async def test_coordinator_sets_the_deadline_and_staffing_targets(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    saved = await post_form(client, "/admin/site/settings", SETTINGS_FORM)
    assert saved.status_code == 200
    await db.refresh(site)
    settings = site_settings(site)
    assert (settings.availability_deadline_weekday, settings.availability_deadline_time) == (2, "20:30")
    assert (settings.service_level_target, settings.shrinkage, settings.staffing_model) == (0.9, 0.25, "erlang_a")


async def test_coordinator_sets_the_roster_rules_the_solver_works_by(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    assert (await post_form(client, "/admin/site/settings", SETTINGS_FORM)).status_code == 200
    await db.refresh(site)
    settings = site_settings(site)
    rules = solver_rules(shift_rules(settings), settings)
    assert (rules.min_shift_slots, rules.max_shift_slots, rules.max_shifts_per_day) == (6, 13, 2)
    assert (rules.min_rest_slots, rules.break_after_slots, rules.fairness_spare_cover) == (16, None, 0.05)
    page = await client.get("/admin/site/")
    assert 'name="max_shift_hours" type="number" value="6.5"' in page.text


async def test_a_shortest_shift_longer_than_the_longest_is_refused_by_name(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    bad = await post_form(client, "/admin/site/settings", {**SETTINGS_FORM, "min_shift_hours": "7"})
    assert bad.status_code == 422
    assert 'id="e-min_shift_hours"' in bad.text
    too_much = await post_form(client, "/admin/site/settings", {**SETTINGS_FORM, "spare_cover_percent": "50"})
    assert too_much.status_code == 422
    assert "spare_cover_percent" in too_much.text
    await db.refresh(site)
    assert (site_settings(site).min_shift_hours, site_settings(site).fairness_spare_cover) == (4.0, 0.02)


async def test_coordinator_tunes_the_marketplace_and_bad_values_are_refused_by_name(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    market = {"junior_opens_after_minutes": "30", "request_window_minutes": "10", "swap_needs_approval": "yes"}
    assert (await post_form(client, "/admin/site/settings", {**SETTINGS_FORM, **market})).status_code == 200
    await db.refresh(site)
    settings = site_settings(site)
    assert (settings.junior_opens_after_minutes, settings.request_window_minutes) == (30, 10)
    assert settings.swap_needs_approval is True
    assert settings.claim_grace_minutes == 5, "a setting the form left out stays as it was"

    too_long = await post_form(client, "/admin/site/settings", {**SETTINGS_FORM, "request_window_minutes": "500"})
    assert too_long.status_code == 422
    assert 'id="e-request_window_minutes"' in too_long.text
    backwards = await post_form(client, "/admin/site/settings", {**SETTINGS_FORM, "mid_opens_after_minutes": "45"})
    assert backwards.status_code == 422
    assert 'id="e-mid_opens_after_minutes"' in backwards.text
    await db.refresh(site)
    assert site_settings(site).request_window_minutes == 10


async def test_bad_settings_name_the_field_and_change_nothing(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    bad = await post_form(client, "/admin/site/settings", {**SETTINGS_FORM, "availability_deadline_time": "25:00"})
    assert bad.status_code == 422
    assert "availability_deadline_time" in bad.text
    await db.refresh(site)
    assert site_settings(site).availability_deadline_time == "18:00"


async def test_finance_cannot_change_site_settings(client: httpx.AsyncClient, people: Factory) -> None:
    finance = await people.make(Role.finance)
    await login(client, finance.email)
    assert (await post_form(client, "/admin/site/settings", SETTINGS_FORM)).status_code == 403


LEARNING_FORM = {
    "certification_valid_days": "90",
    "certification_reminder_days": "7",
    "course_pass_pay": "20.00",
    "mid_after_shifts": "12",
    "mid_min_reliability": "85",
    "mid_min_quiz_percent": "75",
    "senior_after_shifts": "60",
    "senior_min_reliability": "95",
    "senior_min_quiz_percent": "90",
}


async def test_coordinator_sets_certification_expiry_pay_to_learn_and_promotion_thresholds(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    saved = await post_form(client, "/admin/site/settings", {**SETTINGS_FORM, **LEARNING_FORM})
    assert saved.status_code == 200
    await db.refresh(site)
    settings = site_settings(site)
    assert (settings.certification_valid_days, settings.certification_reminder_days) == (90, 7)
    assert settings.course_pass_pay_minor == 2000
    assert (settings.mid_after_shifts, settings.mid_min_reliability, settings.mid_min_quiz_percent) == (12, 85, 75)
    assert (settings.senior_after_shifts, settings.senior_min_reliability, settings.senior_min_quiz_percent) == (
        60,
        95,
        90,
    )
    page = await client.get("/admin/site/")
    assert 'name="course_pass_pay" type="text" value="20.00"' in page.text
    assert 'name="senior_min_reliability" type="number" value="95"' in page.text
    cents = await post_form(client, "/admin/site/settings", {**SETTINGS_FORM, "course_pass_pay": "12.5"})
    assert cents.status_code == 200
    await db.refresh(site)
    assert site_settings(site).course_pass_pay_minor == 1250
    assert site_settings(site).mid_after_shifts == 12, "a setting the form left out stays as it was"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("mid_min_reliability", "150"),
        ("senior_min_quiz_percent", "-5"),
        ("certification_valid_days", "0"),
        ("certification_reminder_days", "365"),
        ("course_pass_pay", "twenty"),
        ("course_pass_pay", "-3.00"),
        ("course_pass_pay", "1.999"),
    ],
)
async def test_bad_learning_and_promotion_settings_are_refused_by_name(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site, name: str, value: str
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    bad = await post_form(client, "/admin/site/settings", {**SETTINGS_FORM, **LEARNING_FORM, name: value})
    assert bad.status_code == 422
    assert f'id="e-{name}"' in bad.text
    await db.refresh(site)
    settings = site_settings(site)
    assert (settings.mid_after_shifts, settings.course_pass_pay_minor, settings.certification_valid_days) == (
        10,
        0,
        180,
    )


PAY_FORM = {"pay_cadence": "biweekly", "pay_week_starts_on": "6", "withholding_policy": "cn_labour"}


async def test_coordinator_sets_the_pay_cadence_week_start_and_withholding(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    before = await client.get("/admin/site/")
    assert '<option value="weekly" selected>' in before.text
    assert '<option value="none" selected>' in before.text
    saved = await post_form(client, "/admin/site/settings", {**SETTINGS_FORM, **PAY_FORM})
    assert saved.status_code == 200
    await db.refresh(site)
    settings = site_settings(site)
    assert (settings.pay_cadence, settings.pay_week_starts_on, settings.withholding_policy) == (
        "biweekly",
        6,
        "cn_labour",
    )
    page = await client.get("/admin/site/")
    assert '<option value="biweekly" selected>' in page.text
    assert '<option value="cn_labour" selected>' in page.text
    again = await post_form(client, "/admin/site/settings", SETTINGS_FORM)
    assert again.status_code == 200
    await db.refresh(site)
    assert site_settings(site).withholding_policy == "cn_labour", "a setting the form left out stays as it was"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("pay_cadence", "monthly"),
        ("pay_week_starts_on", "7"),
        ("pay_week_starts_on", "-1"),
        ("withholding_policy", "flat_tax"),
    ],
)
async def test_bad_pay_settings_are_refused_by_name_and_change_nothing(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site, name: str, value: str
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    bad = await post_form(client, "/admin/site/settings", {**SETTINGS_FORM, **PAY_FORM, name: value})
    assert bad.status_code == 422
    assert re.search(rf'<div class="field invalid">\s*<label for="f-{name}">', bad.text), "the field is marked"
    assert f"$.{name}" in bad.text, "the message names the field"
    await db.refresh(site)
    settings = site_settings(site)
    assert (settings.pay_cadence, settings.pay_week_starts_on, settings.withholding_policy) == ("weekly", 0, "none")
    assert settings.availability_deadline_weekday == 3, "nothing else was saved either"


OPS_FORM = {
    "late_after_minutes": "15",
    "reforecast_min_slots": "3",
    "reforecast_damping_percent": "60",
    "reforecast_low_percent": "40",
    "reforecast_high_percent": "250",
    "vto_mode": "standby",
    "vto_standby_percent": "75",
    "vto_max_per_week": "1",
    "vot_bonus": "12.50",
    "intraday_offer_minutes": "30",
    "handover_due_minutes": "45",
}


async def test_coordinator_sets_the_days_operations(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    before = await client.get("/admin/site/")
    assert 'name="vot_bonus" type="text" value="10.00"' in before.text, "the bonus is typed in major units"
    assert 'name="reforecast_high_percent" type="number" value="200"' in before.text
    saved = await post_form(client, "/admin/site/settings", {**SETTINGS_FORM, **OPS_FORM})
    assert saved.status_code == 200, saved.text
    await db.refresh(site)
    settings = site_settings(site)
    assert (settings.late_after_minutes, settings.reforecast_min_slots) == (15, 3)
    assert (settings.reforecast_damping, settings.reforecast_low, settings.reforecast_high) == (0.6, 0.4, 2.5)
    assert (settings.vto_mode, settings.vto_standby_percent, settings.vto_max_per_week) == ("standby", 75, 1)
    assert (settings.vot_bonus_minor, settings.intraday_offer_minutes, settings.handover_due_minutes) == (1250, 30, 45)
    page = await client.get("/admin/site/")
    assert 'name="vot_bonus" type="text" value="12.50"' in page.text
    assert '<option value="standby" selected>' in page.text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("late_after_minutes", "0"),
        ("reforecast_damping_percent", "101"),
        ("reforecast_high_percent", "50"),
        ("vto_mode", "fire"),
        ("vot_bonus", "ten"),
        ("handover_due_minutes", "-5"),
    ],
)
async def test_bad_operations_settings_are_refused_by_name_and_change_nothing(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site, name: str, value: str
) -> None:
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    bad = await post_form(client, "/admin/site/settings", {**SETTINGS_FORM, **OPS_FORM, name: value})
    assert bad.status_code == 422
    assert re.search(rf'<div class="field invalid">\s*<label for="f-{name}">', bad.text), "the field is marked"
    await db.refresh(site)
    settings = site_settings(site)
    assert (settings.late_after_minutes, settings.vot_bonus_minor, settings.vto_mode) == (10, 1000, "release")
