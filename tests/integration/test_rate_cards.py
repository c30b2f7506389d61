"""Rate cards and tax profiles: finance writes, coordinators read, agents are turned away, bad rows are named."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site
from backend.core.errors import Conflict, DomainError, NotFound
from backend.pay import rate_cards
from backend.pay.models import RateCard, TaxProfile
from backend.pay.rate_routes import site_today
from backend.pay.rates import Rates, piece_rate
from tests.conftest import login, post_form
from tests.factories import Factory, a_skill, bearer

HTMX = {"hx-request": "true"}


def card_form(
    day: dt.date, rows: list[tuple[str, str, str, str]] | None = None, **fields: str
) -> list[tuple[str, str]]:
    """The rate card form as the browser posts it: piece rows are repeated fields, blank rows included."""
    rows = rows if rows is not None else [("call", "", "", "0.60"), ("chat", "", "", "0.50")]
    form = {
        "effective_from": day.isoformat(),
        "base_junior": "28.00",
        "base_mid": "32",
        "base_senior": "38.5",
        "urgent_bonus": "30.00",
        "quality_min_csat": "4.5",
        "quality_percent": "10",
        "quality_min_ratings": "10",
        **fields,
    }
    items = list(form.items())
    for kind, tier, skill, rate in [*rows, ("", "", "", "")]:
        items += [("piece_kind", kind), ("piece_tier", tier), ("piece_skill", skill), ("piece_rate", rate)]
    return items


async def post_card(client: httpx.AsyncClient, items: list[tuple[str, str]], **headers: str) -> httpx.Response:
    token = client.cookies.get("weft_csrf")
    if not token:
        await client.get("/finance/rates/")
        token = client.cookies.get("weft_csrf")
    data: dict[str, list[str]] = {}
    for name, value in [*items, ("_csrf_token", token or "")]:
        data.setdefault(name, []).append(value)
    return await client.post("/finance/rates/", data=data, headers=headers)


async def card_count(db: AsyncSession, site: Site) -> int:
    return await db.scalar(select(func.count()).select_from(RateCard).where(RateCard.site_id == site.id)) or 0


async def test_finance_creates_a_card_from_the_form_and_sees_it_current(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    await a_skill(db, site)
    finance = await people.make(Role.finance)
    await login(client, finance.email)
    today = site_today(site)
    rows = [
        ("call", "", "", "0.60"),
        ("call", "senior", "billing", "0.90"),
        ("ticket", "mid", "", "1.20"),
        ("callback", "", "billing", "0.80"),
    ]
    saved = await post_card(client, card_form(today, rows))
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/finance/rates?saved={today.isoformat()}"

    card = await rate_cards.current_rate_card(db, site_id=site.id, on=today)
    assert card is not None
    assert (card.effective_from, card.currency, card.created_by_id) == (today, "CNY", finance.id)
    rates = rate_cards.rates_of(card)
    assert rates.base_hourly_minor == {"junior": 2800, "mid": 3200, "senior": 3850}
    assert [(p.kind, p.tier, p.skill, p.rate_minor) for p in rates.pieces] == [
        ("call", None, None, 60),
        ("call", "senior", "billing", 90),
        ("ticket", "mid", None, 120),
        ("callback", None, "billing", 80),
    ]
    assert rates.urgent_bonus_minor == 3000
    assert rates.quality_bonus is not None
    assert (rates.quality_bonus.min_csat_average, rates.quality_bonus.percent_of_piece_pay) == (4.5, 10)

    page = await client.get(saved.headers["location"])
    assert page.status_code == 200
    assert "Rate card saved" in page.text
    assert f'id="rate-card-{card.id}"' in page.text
    assert "Current" in page.text
    assert "38.50 CNY" in page.text
    assert "0.90 CNY" in page.text


async def test_the_most_specific_piece_rate_wins(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    await accounts.ensure_skill(db, site=site, code="billing", name="Billing")
    finance = await people.make(Role.finance)
    await login(client, finance.email)
    today = site_today(site)
    rows = [
        ("call", "", "", "0.50"),
        ("call", "senior", "", "0.70"),
        ("call", "", "billing", "0.60"),
        ("call", "senior", "billing", "0.90"),
    ]
    assert (await post_card(client, card_form(today, rows))).status_code == 303
    card = await rate_cards.current_rate_card(db, site_id=site.id, on=today)
    assert card is not None
    rates = rate_cards.rates_of(card)
    assert piece_rate(rates, kind="call", tier="senior", skill="billing") == 90  # tier and skill
    assert piece_rate(rates, kind="call", tier="senior", skill="general") == 70  # tier
    assert piece_rate(rates, kind="call", tier="junior", skill="billing") == 60  # skill
    assert piece_rate(rates, kind="call", tier="junior", skill=None) == 50  # neither
    assert piece_rate(rates, kind="chat", tier="senior", skill="billing") == 0  # no row for chats


async def test_a_new_card_supersedes_the_current_one_from_its_date(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    finance = await people.make(Role.finance)
    await login(client, finance.email)
    today = site_today(site)
    assert (await post_card(client, card_form(today))).status_code == 303
    next_week = today + dt.timedelta(days=7)
    assert (await post_card(client, card_form(next_week, base_junior="29.00"))).status_code == 303

    current = await rate_cards.current_rate_card(db, site_id=site.id, on=today)
    later = await rate_cards.current_rate_card(db, site_id=site.id, on=next_week + dt.timedelta(days=1))
    assert current is not None
    assert later is not None
    assert current.effective_from == today
    assert rate_cards.rates_of(later).base_hourly_minor["junior"] == 2900
    assert await rate_cards.current_rate_card(db, site_id=site.id, on=today - dt.timedelta(days=1)) is None
    assert [c.effective_from for c in await rate_cards.rate_cards_of(db, site_id=site.id)] == [next_week, today]
    page = await client.get("/finance/rates/")
    assert "Scheduled" in page.text
    assert "Current" in page.text


async def test_copy_from_current_prefills_the_form(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    finance = await people.make(Role.finance)
    await login(client, finance.email)
    today = site_today(site)
    assert (await post_card(client, card_form(today, [("ticket", "senior", "", "1.25")]))).status_code == 303
    blank = await client.get("/finance/rates/")
    assert 'name="base_junior" type="text" value=""' in blank.text
    copied = await client.get("/finance/rates/?copy=current")
    assert copied.status_code == 200
    assert 'name="base_junior" type="text" value="28.00"' in copied.text
    assert 'name="base_senior" type="text" value="38.50"' in copied.text
    assert 'name="piece_rate" inputmode="decimal" value="1.25"' in copied.text
    assert '<option value="senior" selected>' in copied.text
    assert 'name="quality_min_csat" type="text" value="4.5"' in copied.text


async def test_a_past_date_is_refused_by_name_and_nothing_is_written(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    finance = await people.make(Role.finance)
    await login(client, finance.email)
    yesterday = site_today(site) - dt.timedelta(days=1)
    refused = await post_card(client, card_form(yesterday))
    assert refused.status_code == 422
    assert 'id="e-effective_from"' in refused.text
    assert 'name="base_senior" type="text" value="38.5"' in refused.text, "what was typed comes back"
    assert await card_count(db, site) == 0


@pytest.mark.parametrize(
    ("rows", "fields", "named"),
    [
        ([("call", "", "", "0.60"), ("chat", "", "", "0.50"), ("ticket", "", "", "1.2.0")], {}, "pieces[2].rate"),
        ([("call", "", "", "0.60"), ("chat", "", "", "-0.50")], {}, "pieces[1].rate"),
        ([("call", "", "", "0.60"), ("", "", "", "0.50")], {}, "pieces[1].kind"),
        ([("call", "", "nosuchskill", "0.60")], {}, "pieces[0].skill"),
        ([("call", "", "", "0.60"), ("call", "", "", "0.70")], {}, "pieces[1].kind"),
        ([("call", "", "", "1000000.01")], {}, "pieces[0].rate"),
        ([], {"base_mid": "thirty"}, "base_mid"),
        ([], {"urgent_bonus": "-1"}, "urgent_bonus"),
        ([], {"quality_min_csat": "6"}, "quality_min_csat"),
        ([], {"quality_percent": "150"}, "quality_percent"),
        ([], {"effective_from": "next week"}, "effective_from"),
    ],
)
async def test_bad_rates_are_refused_naming_the_field_or_row(
    client: httpx.AsyncClient,
    people: Factory,
    db: AsyncSession,
    site: Site,
    rows: list[tuple[str, str, str, str]],
    fields: dict[str, str],
    named: str,
) -> None:
    finance = await people.make(Role.finance)
    await login(client, finance.email)
    refused = await post_card(client, card_form(site_today(site), rows or None, **fields))
    assert refused.status_code == 422
    assert f'id="e-{named}"' in refused.text
    assert await card_count(db, site) == 0


async def test_a_refused_row_comes_back_with_the_row_marked(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    finance = await people.make(Role.finance)
    await login(client, finance.email)
    rows = [("call", "", "", "0.60"), ("chat", "", "", "0.50"), ("ticket", "", "", "abc")]
    refused = await post_card(client, card_form(site_today(site), rows), **HTMX)
    assert refused.status_code == 200, "htmx swaps the refused form in"
    assert '<tr id="piece-row-2" class="invalid">' in refused.text
    assert "Row 3: Enter an amount such as 20.00." in refused.text
    assert 'value="abc"' in refused.text


@pytest.mark.parametrize(
    ("rows", "fields", "named", "words"),
    [
        ([], {"base_junior": "28,50"}, "base_junior", "Use a point for decimals"),
        ([], {"urgent_bonus": "1.200,50"}, "urgent_bonus", "Use a point for decimals"),
        ([("call", "", "", "0,60")], {}, "pieces[0].rate", "Row 1: Use a point for decimals"),
        ([("call", "", "", "0.605")], {}, "pieces[0].rate", "Row 1: Enter at most two decimals"),
    ],
)
async def test_a_rate_typed_with_a_comma_for_decimals_is_refused_not_multiplied(
    client: httpx.AsyncClient,
    people: Factory,
    db: AsyncSession,
    site: Site,
    rows: list[tuple[str, str, str, str]],
    fields: dict[str, str],
    named: str,
    words: str,
) -> None:
    finance = await people.make(Role.finance)
    await login(client, finance.email)
    refused = await post_card(client, card_form(site_today(site), rows or None, **fields))
    assert refused.status_code == 422
    assert f'id="e-{named}"' in refused.text
    assert words in refused.text
    assert await card_count(db, site) == 0


async def test_rates_typed_with_full_width_digits_and_thousands_are_read_as_meant(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    finance = await people.make(Role.finance)
    await login(client, finance.email)
    rows = [("call", "", "", " ０．６ ")]  # noqa: RUF001 -- full-width, as a Chinese keyboard types them
    full_width_thirty = "３０"  # noqa: RUF001
    saved = await post_card(
        client, card_form(site_today(site), rows, base_senior="1,038.50", urgent_bonus=full_width_thirty)
    )
    assert saved.status_code == 303
    card = await db.scalar(select(RateCard).where(RateCard.site_id == site.id))
    assert card is not None
    rates = rate_cards.rates_of(card)
    assert rates.base_hourly_minor["senior"] == 103850
    assert rates.urgent_bonus_minor == 3000
    assert piece_rate(rates, kind="call", tier="junior", skill=None) == 60


async def test_a_second_card_on_the_same_date_is_a_conflict(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    finance = await people.make(Role.finance)
    await login(client, finance.email)
    today = site_today(site)
    assert (await post_card(client, card_form(today))).status_code == 303
    again = await post_card(client, card_form(today, base_junior="99.00"))
    assert again.status_code == 409
    assert 'id="e-effective_from"' in again.text
    assert await card_count(db, site) == 1
    with pytest.raises(Conflict):
        await rate_cards.create_rate_card(
            db,
            site=site,
            effective_from=today,
            rates=Rates(base_hourly_minor={"junior": 1, "mid": 1, "senior": 1}),
            by=finance,
            today=today,
        )


async def test_coordinator_reads_the_cards_but_cannot_write_one(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    finance = await people.make(Role.finance)
    today = site_today(site)
    await rate_cards.create_rate_card(
        db,
        site=site,
        effective_from=today,
        rates={"base_hourly_minor": {"junior": 2800, "mid": 3200, "senior": 3800}},
        by=finance,
        today=today,
    )
    await db.commit()
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    page = await client.get("/finance/rates/")
    assert page.status_code == 200
    assert "28.00 CNY" in page.text
    assert 'action="/finance/rates/"' not in page.text, "no form for a reader"
    assert (await post_card(client, card_form(today + dt.timedelta(days=1)))).status_code == 403
    assert await card_count(db, site) == 1
    assert (await client.get("/finance/tax-profiles/")).status_code == 403


async def test_agents_are_turned_away(client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site) -> None:
    agent = await people.make(Role.agent)
    await login(client, agent.email)
    assert (await client.get("/finance/rates/")).status_code == 403
    assert (await post_card(client, card_form(site_today(site)))).status_code == 403
    assert (await client.get("/finance/tax-profiles/")).status_code == 403
    headers = await bearer(db, agent)
    assert (await client.get("/api/v1/rate-cards", headers=headers)).status_code == 403
    assert await card_count(db, site) == 0


async def test_the_json_api_lists_and_creates_cards(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    finance = await people.make(Role.finance)
    coordinator = await people.make(Role.coordinator)
    headers = await bearer(db, finance)
    today = site_today(site)
    body = {
        "effective_from": today.isoformat(),
        "rates": {
            "base_hourly_minor": {"junior": 2800, "mid": 3200, "senior": 3800},
            "pieces": [{"kind": "call", "rate_minor": 60}, {"kind": "call", "tier": "senior", "rate_minor": 90}],
            "urgent_bonus_minor": 3000,
        },
    }
    created = await client.post("/api/v1/rate-cards", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "current"
    assert created.json()["rates"]["pieces"][1] == {"kind": "call", "rate_minor": 90, "tier": "senior", "skill": None}

    bad = {**body, "effective_from": (today + dt.timedelta(days=3)).isoformat()}
    bad["rates"] = {**body["rates"], "pieces": [{"kind": "call", "rate_minor": 60}, {"kind": "chat", "rate_minor": -5}]}  # type: ignore[dict-item]
    refused = await client.post("/api/v1/rate-cards", json=bad, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["field"] == "rates.pieces[1].rate_minor"
    past = await client.post("/api/v1/rate-cards", json={**body, "effective_from": "2020-01-01"}, headers=headers)
    assert (past.status_code, past.json()["field"]) == (422, "effective_from")
    duplicate = await client.post("/api/v1/rate-cards", json=body, headers=headers)
    assert (duplicate.status_code, duplicate.json()["field"]) == (409, "effective_from")

    listed = await client.get("/api/v1/rate-cards", headers=await bearer(db, coordinator))
    assert listed.status_code == 200
    assert [(c["effective_from"], c["status"], c["currency"]) for c in listed.json()] == [
        (today.isoformat(), "current", "CNY")
    ]
    assert (
        await client.post("/api/v1/rate-cards", json=body, headers=await bearer(db, coordinator))
    ).status_code == 403


async def test_cards_of_another_site_are_not_listed(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    other = await accounts.ensure_site(db, name="Elsewhere", timezone="America/New_York", country="US")
    boss = await people.make(Role.finance, site=other)
    await rate_cards.create_rate_card(
        db,
        site=other,
        effective_from=site_today(other),
        rates={"base_hourly_minor": {"junior": 1500, "mid": 1800, "senior": 2200}},
        by=boss,
        today=site_today(other),
    )
    await db.commit()
    finance = await people.make(Role.finance)
    assert (await client.get("/api/v1/rate-cards", headers=await bearer(db, finance))).json() == []


async def test_finance_marks_a_taxpayer_id_on_file_and_removes_it(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    agent = await people.make(Role.agent, display_name="Ana Agent")
    finance = await people.make(Role.finance)
    await login(client, finance.email)
    page = await client.get("/finance/tax-profiles/")
    assert page.status_code == 200
    assert f'id="agent-{agent.id}"' in page.text
    assert "Not on file" in page.text
    assert not await rate_cards.taxpayer_id_on_file(db, user_id=agent.id)

    marked = await post_form(client, f"/finance/tax-profiles/{agent.id}", {"last4": "1234"})
    assert marked.status_code == 303
    assert await rate_cards.taxpayer_id_on_file(db, user_id=agent.id)
    assert "On file, ending 1234" in (await client.get("/finance/tax-profiles/")).text

    bad = await post_form(client, f"/finance/tax-profiles/{agent.id}", {"last4": "12a4"})
    assert bad.status_code == 422
    assert 'id="e-last4"' in bad.text
    profile = await db.scalar(select(TaxProfile).where(TaxProfile.user_id == agent.id))
    assert profile is not None
    await db.refresh(profile)
    assert profile.taxpayer_id_last4 == "1234", "a refused change leaves the profile as it was"

    cleared = await post_form(client, f"/finance/tax-profiles/{agent.id}/clear", {})
    assert cleared.status_code == 303
    assert not await rate_cards.taxpayer_id_on_file(db, user_id=agent.id)
    await db.refresh(profile)
    assert (profile.taxpayer_id_on_file, profile.taxpayer_id_last4) == (False, None)


async def test_tax_profiles_only_for_agents_of_the_site(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    other = await accounts.ensure_site(db, name="Elsewhere", timezone="America/New_York", country="US")
    stranger = await people.make(Role.agent, site=other)
    coordinator = await people.make(Role.coordinator)
    finance = await people.make(Role.finance)
    await login(client, finance.email)
    assert (await post_form(client, f"/finance/tax-profiles/{stranger.id}", {"last4": "1234"})).status_code == 404
    assert (await post_form(client, f"/finance/tax-profiles/{coordinator.id}", {"last4": "1234"})).status_code == 404
    assert (await post_form(client, "/finance/tax-profiles/999999", {"last4": "1234"})).status_code == 404
    assert await db.scalar(select(func.count()).select_from(TaxProfile)) == 0
    with pytest.raises(NotFound):
        await rate_cards.set_taxpayer_id(db, site_id=site.id, user_id=stranger.id, last4="1234")
    with pytest.raises(DomainError):
        await rate_cards.create_rate_card(
            db,
            site=site,
            effective_from=site_today(site),
            rates={"base_hourly_minor": {"junior": 1, "mid": 1}},
            by=finance,
            today=site_today(site),
        )
