"""Swaps: offer a held shift to a named agent or to everyone eligible, accept, approve, and the pages and API."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.accounts.site_settings import update_site_settings
from backend.core.db import utcnow
from backend.core.errors import Conflict, DomainError, NotFound
from backend.core.i18n import gettext as _
from backend.core.i18n import moment_phrase, speaking
from backend.core.slots import utc_start
from backend.notify.models import Kind, Notification
from backend.shifts import allocation, market, swaps
from backend.shifts.models import Shift, ShiftSeat, ShiftSwap, SwapStatus
from tests.conftest import login, post_form
from tests.factories import Factory, a_claimed_shift, a_skill, an_agent, an_open_shift, bearer

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = utcnow()
HTMX = {"hx-request": "true"}


def at(days: int, clock: str) -> dt.datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    day = NOW.astimezone(SHANGHAI).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


async def holders(db: AsyncSession, shift: Shift) -> list[int]:
    rows = await db.scalars(
        select(ShiftSeat.user_id).where(ShiftSeat.shift_id == shift.id, ShiftSeat.released_at.is_(None))
    )
    return sorted(rows)


async def taken(db: AsyncSession, shift: Shift) -> int:
    return int(await db.scalar(select(Shift.taken).where(Shift.id == shift.id)) or 0)


async def swap_notes(db: AsyncSession, user: User) -> list[str]:
    rows = await db.scalars(
        select(Notification.title).where(Notification.user_id == user.id, Notification.kind == Kind.swap)
    )
    return list(rows)


# The service ---------------------------------------------------------------------------


async def test_a_named_swap_moves_the_seat_and_tells_both_agents(db: AsyncSession, site: Site, people: Factory) -> None:
    skill = await a_skill(db, site)
    giver = await an_agent(people, skills=[skill], display_name="Gina")
    taker = await an_agent(people, skills=[skill], display_name="Tao")
    shift = await a_claimed_shift(db, site, giver, start=at(5, "18:00"), now=NOW)

    offer = await swaps.offer_swap(db, shift_id=shift.id, agent=giver, to_user_id=taker.id, now=NOW)
    again = await swaps.offer_swap(db, shift_id=shift.id, agent=giver, to_user_id=taker.id, now=NOW)
    assert offer.created
    assert not again.created
    assert again.swap.id == offer.swap.id
    assert await holders(db, shift) == [giver.id], "the giver keeps the shift until it is taken"
    assert any("Gina offers you" in title for title in await swap_notes(db, taker))

    swap = await swaps.accept_swap(db, swap_id=offer.swap.id, agent=taker, now=NOW)

    assert swap.status is SwapStatus.accepted
    assert swap.accepted_by_id == taker.id
    assert await holders(db, shift) == [taker.id]
    assert await taken(db, shift) == 1
    assert any("Tao took your shift" in title for title in await swap_notes(db, giver))
    with pytest.raises(Conflict):
        await swaps.accept_swap(db, swap_id=offer.swap.id, agent=taker, now=NOW)


async def test_an_open_swap_is_listed_to_eligible_agents_and_taken_by_one(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    giver = await an_agent(people, skills=[skill])
    taker = await an_agent(people, skills=[skill])
    uncertified = await an_agent(people)
    shift = await a_claimed_shift(db, site, giver, start=at(5, "18:00"), now=NOW)
    offer = await swaps.offer_swap(db, shift_id=shift.id, agent=giver, to_user_id=None, now=NOW)

    assert [v.id for v in (await swaps.swaps_for(db, agent=taker, now=NOW)).open] == [offer.swap.id]
    assert (await swaps.swaps_for(db, agent=uncertified, now=NOW)).open == []
    assert [v.id for v in (await swaps.swaps_for(db, agent=giver, now=NOW)).mine] == [offer.swap.id]

    await swaps.accept_swap(db, swap_id=offer.swap.id, agent=taker, now=NOW)
    assert await holders(db, shift) == [taker.id]
    with pytest.raises(Conflict):
        await swaps.accept_swap(db, swap_id=offer.swap.id, agent=await an_agent(people, skills=[skill]), now=NOW)


async def test_an_ineligible_acceptor_is_refused_with_the_reason(db: AsyncSession, site: Site, people: Factory) -> None:
    await update_site_settings(db, site, max_weekly_hours=9.0, min_rest_hours=0.0, max_shifts_per_day=4)
    skill = await a_skill(db, site)
    giver = await an_agent(people, skills=[skill])
    shift = await a_claimed_shift(db, site, giver, start=at(5, "11:00"), now=NOW)
    offer = await swaps.offer_swap(db, shift_id=shift.id, agent=giver, to_user_id=None, now=NOW)

    busy = await an_agent(people, skills=[skill])
    await a_claimed_shift(db, site, busy, start=at(5, "09:00"), now=NOW)  # 09:00-13:00 clashes with 11:00-15:00
    capped = await an_agent(people, skills=[skill])
    for clock in ("16:00", "20:00"):  # 8 h held, 4 more would pass the 9 h cap
        await a_claimed_shift(db, site, capped, start=at(5, clock), now=NOW)
    uncertified = await an_agent(people)

    for agent, code in ((busy, "overlap"), (capped, "weekly_cap"), (uncertified, "not_certified")):
        with pytest.raises(allocation.ClaimRefused) as refused:
            await swaps.accept_swap(db, swap_id=offer.swap.id, agent=agent, now=NOW)
        assert [r.code.value for r in refused.value.reasons] == [code]
        assert refused.value.status_code == 409
    assert await holders(db, shift) == [giver.id]
    assert (await db.get(ShiftSwap, offer.swap.id)).status is SwapStatus.offered  # type: ignore[union-attr]


async def test_a_named_agent_who_cannot_take_the_shift_is_refused_on_to_with_reasons(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    giver = await an_agent(people, skills=[skill])
    busy = await an_agent(people, skills=[skill], display_name="Bo")
    shift = await a_claimed_shift(db, site, giver, start=at(5, "11:00"), now=NOW)
    await a_claimed_shift(db, site, busy, start=at(5, "09:00"), now=NOW)

    with pytest.raises(swaps.SwapRefused) as refused:
        await swaps.offer_swap(db, shift_id=shift.id, agent=giver, to_user_id=busy.id, now=NOW)
    assert refused.value.status_code == 422
    assert refused.value.field == "to"
    assert [r.code.value for r in refused.value.reasons] == ["overlap"]
    assert "Bo has another shift at that time." in refused.value.message
    assert "09:00" not in refused.value.message, "a colleague's shift times are theirs"

    for bad in (999_999, giver.id, (await people.make(Role.coordinator)).id):
        with pytest.raises(DomainError) as invalid:
            await swaps.offer_swap(db, shift_id=shift.id, agent=giver, to_user_id=bad, now=NOW)
        assert invalid.value.status_code == 422
        assert invalid.value.field == "to"


async def test_only_a_held_unstarted_shift_can_be_offered(db: AsyncSession, site: Site, people: Factory) -> None:
    skill = await a_skill(db, site)
    giver = await an_agent(people, skills=[skill])
    other = await an_agent(people, skills=[skill])
    shift = await a_claimed_shift(db, site, giver, start=at(5, "18:00"), now=NOW)
    with pytest.raises(NotFound):  # a colleague's shift is not theirs to see
        await swaps.offer_swap(db, shift_id=shift.id, agent=other, to_user_id=None, now=NOW)
    with pytest.raises(Conflict, match="already started"):
        await swaps.offer_swap(db, shift_id=shift.id, agent=giver, to_user_id=None, now=utc_start(shift.start_slot))
    given_back = await a_claimed_shift(db, site, other, start=at(6, "18:00"), now=NOW)
    await market.release_shift(db, shift_id=given_back.id, agent=other, now=NOW)
    with pytest.raises(Conflict, match="do not hold"):
        await swaps.offer_swap(db, shift_id=given_back.id, agent=other, to_user_id=None, now=NOW)


async def test_with_approval_the_seat_moves_only_when_a_coordinator_approves(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    await update_site_settings(db, site, swap_needs_approval=True)
    skill = await a_skill(db, site)
    giver = await an_agent(people, skills=[skill])
    taker = await an_agent(people, skills=[skill])
    coordinator = await people.make(Role.coordinator)
    first = await a_claimed_shift(db, site, giver, start=at(5, "18:00"), now=NOW)
    second = await a_claimed_shift(db, site, giver, start=at(8, "18:00"), now=NOW)

    approved = await swaps.offer_swap(db, shift_id=first.id, agent=giver, to_user_id=taker.id, now=NOW)
    assert approved.swap.needs_approval
    swap = await swaps.accept_swap(db, swap_id=approved.swap.id, agent=taker, now=NOW)
    assert swaps.waiting_approval(swap)
    assert await holders(db, first) == [giver.id], "nothing moves before the approval"
    assert [v.id for v in await swaps.waiting_for_approval(db, site=site, now=NOW)] == [swap.id]
    with pytest.raises(DomainError) as forbidden:
        await swaps.approve_swap(db, swap_id=swap.id, coordinator=taker, now=NOW)
    assert forbidden.value.status_code == 403

    swap = await swaps.approve_swap(db, swap_id=swap.id, coordinator=coordinator, now=NOW)
    assert swap.status is SwapStatus.approved
    assert swap.decided_by_id == coordinator.id
    assert await holders(db, first) == [taker.id]
    assert any("approved" in title for title in await swap_notes(db, taker))

    declined = await swaps.offer_swap(db, shift_id=second.id, agent=giver, to_user_id=None, now=NOW)
    await swaps.accept_swap(db, swap_id=declined.swap.id, agent=taker, now=NOW)
    swap = await swaps.decline_swap(db, swap_id=declined.swap.id, user=coordinator, now=NOW)
    assert swap.status is SwapStatus.declined
    assert await holders(db, second) == [giver.id]
    assert await swaps.waiting_for_approval(db, site=site, now=NOW) == []


async def test_decline_cancel_and_expiry(db: AsyncSession, site: Site, people: Factory) -> None:
    skill = await a_skill(db, site)
    giver = await an_agent(people, skills=[skill])
    taker = await an_agent(people, skills=[skill])
    shift = await a_claimed_shift(db, site, giver, start=at(5, "18:00"), now=NOW)

    offer = await swaps.offer_swap(db, shift_id=shift.id, agent=giver, to_user_id=taker.id, now=NOW)
    with pytest.raises(DomainError) as not_mine:
        await swaps.cancel_swap(db, swap_id=offer.swap.id, agent=taker, now=NOW)
    assert not_mine.value.status_code == 404
    assert (await swaps.decline_swap(db, swap_id=offer.swap.id, user=taker, now=NOW)).status is SwapStatus.declined

    offer = await swaps.offer_swap(db, shift_id=shift.id, agent=giver, to_user_id=None, now=NOW)
    assert (await swaps.cancel_swap(db, swap_id=offer.swap.id, agent=giver, now=NOW)).status is SwapStatus.cancelled

    offer = await swaps.offer_swap(db, shift_id=shift.id, agent=giver, to_user_id=taker.id, now=NOW)
    started = utc_start(shift.start_slot) + dt.timedelta(minutes=1)
    [view] = (await swaps.swaps_for(db, agent=giver, now=started)).mine[-1:]
    assert view.status is SwapStatus.expired
    with pytest.raises(Conflict):
        await swaps.accept_swap(db, swap_id=offer.swap.id, agent=taker, now=started)
    await swaps.expire_swaps(db, site_id=site.id, now=started)
    await db.refresh(offer.swap)
    assert offer.swap.status is SwapStatus.expired


async def test_an_offer_whose_giver_released_the_shift_can_no_longer_be_accepted(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    giver = await an_agent(people, skills=[skill])
    taker = await an_agent(people, skills=[skill])
    shift = await a_claimed_shift(db, site, giver, start=at(5, "18:00"), now=NOW)
    offer = await swaps.offer_swap(db, shift_id=shift.id, agent=giver, to_user_id=taker.id, now=NOW)
    await market.release_shift(db, shift_id=shift.id, agent=giver, now=NOW)

    with pytest.raises(Conflict, match="no longer possible"):
        await swaps.accept_swap(db, swap_id=offer.swap.id, agent=taker, now=NOW)
    assert await holders(db, shift) == []
    assert await taken(db, shift) == 0
    assert (await swaps.swaps_for(db, agent=taker, now=NOW)).to_me == []


async def test_an_overlap_reason_offers_the_clashing_shift_for_swap(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill])
    mine = await a_claimed_shift(db, site, agent, start=at(5, "09:00"), now=NOW)
    clashing = await an_open_shift(db, site, start=at(5, "11:00"), seats=1, now=NOW)

    # past the claim's free undo (which would come first, being free): the swap is the fix left
    view = await market.open_shifts_for(db, agent=agent, now=NOW + dt.timedelta(minutes=30))
    item = next(i for i in view.shifts if i.shift_id == clashing.id)
    assert [(fix.label, fix.url) for fix in item.fixes] == [
        ("Offer that shift for swap", f"/app/shifts/{mine.id}/swap")
    ]


# The API ---------------------------------------------------------------------------------


async def test_the_api_offers_lists_and_accepts(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    giver = await an_agent(people, skills=[skill])
    taker = await an_agent(people, skills=[skill])
    shift = await a_claimed_shift(db, site, giver, start=at(5, "18:00"), now=NOW)
    as_giver, as_taker = await bearer(db, giver), await bearer(db, taker)

    created = await client.post(f"/api/v1/shifts/{shift.id}/swap", json={"to": taker.id}, headers=as_giver)
    assert created.status_code == 201, created.text
    swap_id = created.json()["id"]
    listed = (await client.get("/api/v1/swaps", headers=as_taker)).json()
    assert [s["id"] for s in listed["to_me"]] == [swap_id]
    assert listed["to_me"][0]["can_accept"]

    accepted = await client.post(f"/api/v1/swaps/{swap_id}/accept", headers=as_taker)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert await holders(db, shift) == [taker.id]
    again = await client.post(f"/api/v1/swaps/{swap_id}/accept", headers=as_taker)
    assert again.status_code == 409


async def test_the_api_refuses_bad_input_and_others_swaps(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    giver = await an_agent(people, skills=[skill])
    named = await an_agent(people, skills=[skill])
    bystander = await an_agent(people, skills=[skill])
    shift = await a_claimed_shift(db, site, giver, start=at(5, "18:00"), now=NOW)
    as_giver = await bearer(db, giver)

    for body in ({"to": 999_999}, {"to": "x"}, {"to": 0}):
        bad = await client.post(f"/api/v1/shifts/{shift.id}/swap", json=body, headers=as_giver)
        assert bad.status_code == 422, (body, bad.text)
        assert bad.json()["field"] in ("to", "data.to", "$.to"), bad.json()
    unknown_field = await client.post(f"/api/v1/shifts/{shift.id}/swap", json={"to": None, "x": 1}, headers=as_giver)
    assert unknown_field.status_code == 422
    assert "`x`" in unknown_field.json()["message"]

    swap_id = (await client.post(f"/api/v1/shifts/{shift.id}/swap", json={"to": named.id}, headers=as_giver)).json()[
        "id"
    ]
    as_bystander = await bearer(db, bystander)
    for action in ("accept", "decline", "cancel"):
        response = await client.post(f"/api/v1/swaps/{swap_id}/{action}", headers=as_bystander)
        assert response.status_code == 404, (action, response.text)
    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Asia/Shanghai", country="CN")
    stranger = await people.make(Role.agent, site=elsewhere)
    assert (await client.post(f"/api/v1/swaps/{swap_id}/accept", headers=await bearer(db, stranger))).status_code == 404

    for role in (Role.finance, Role.coordinator):
        headers = await bearer(db, await people.make(role))
        assert (await client.post(f"/api/v1/swaps/{swap_id}/accept", headers=headers)).status_code == 403
    assert (await client.post(f"/api/v1/swaps/{swap_id}/approve", headers=as_giver)).status_code == 403
    finance = await bearer(db, await people.make(Role.finance))
    assert (await client.post(f"/api/v1/swaps/{swap_id}/approve", headers=finance)).status_code == 403


async def test_the_api_names_why_a_named_agent_cannot_take_it(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    giver = await an_agent(people, skills=[skill])
    uncertified = await an_agent(people)
    shift = await a_claimed_shift(db, site, giver, start=at(5, "18:00"), now=NOW)

    response = await client.post(
        f"/api/v1/shifts/{shift.id}/swap", json={"to": uncertified.id}, headers=await bearer(db, giver)
    )
    assert response.status_code == 422
    assert response.json()["field"] == "to"
    assert [r["code"] for r in response.json()["reasons"]] == ["not_certified"]


async def test_a_coordinator_approves_through_the_api(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await update_site_settings(db, site, swap_needs_approval=True)
    skill = await a_skill(db, site)
    giver = await an_agent(people, skills=[skill])
    taker = await an_agent(people, skills=[skill])
    shift = await a_claimed_shift(db, site, giver, start=at(5, "18:00"), now=NOW)
    swap_id = (
        await client.post(f"/api/v1/shifts/{shift.id}/swap", json={"to": None}, headers=await bearer(db, giver))
    ).json()["id"]
    accepted = await client.post(f"/api/v1/swaps/{swap_id}/accept", headers=await bearer(db, taker))
    assert accepted.json()["waiting_approval"] is True
    assert await holders(db, shift) == [giver.id]

    approved = await client.post(
        f"/api/v1/swaps/{swap_id}/approve", headers=await bearer(db, await people.make(Role.coordinator))
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert await holders(db, shift) == [taker.id]


# Pages ---------------------------------------------------------------------------------------


async def test_an_agent_offers_from_my_schedule_and_a_colleague_takes_it_without_javascript(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    giver = await an_agent(people, skills=[skill], display_name="Gina")
    taker = await an_agent(people, skills=[skill], display_name="Tao")
    shift = await a_claimed_shift(db, site, giver, start=at(5, "18:00"), now=NOW)

    await login(client, giver.email)
    schedule = await client.get("/app/shifts")
    assert f'href="/app/shifts/{shift.id}/swap"' in schedule.text
    form = await client.get(f"/app/shifts/{shift.id}/swap")
    assert form.status_code == 200
    assert "Tao" in form.text
    offered = await post_form(client, f"/app/shifts/{shift.id}/swap", {"to": str(taker.id)})
    assert offered.status_code == 303
    assert offered.headers["location"] == "/app/shifts/swaps?done=offered"
    refused = await post_form(client, f"/app/shifts/{shift.id}/swap", {"to": "abc"})
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.text

    client.cookies.clear()
    await login(client, taker.email)
    page = await client.get("/app/shifts/swaps")
    swap_id = await db.scalar(select(ShiftSwap.id).where(ShiftSwap.shift_id == shift.id))
    assert f'action="/app/shifts/swaps/{swap_id}/accept"' in page.text
    assert "From Gina" in page.text
    accepted = await post_form(client, f"/app/shifts/swaps/{swap_id}/accept", {})
    assert accepted.status_code == 303
    assert await holders(db, shift) == [taker.id]
    again = await post_form(client, f"/app/shifts/swaps/{swap_id}/accept", {})
    assert again.status_code == 409
    assert "no longer possible" in again.text


async def test_a_colleagues_shift_has_no_swap_form_to_show(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    holder = await an_agent(people, skills=[skill], display_name="Gina")
    await an_agent(people, skills=[skill], display_name="Tao")
    snooper = await an_agent(people, skills=[skill])
    shift = await a_claimed_shift(db, site, holder, start=at(5, "18:00"), now=NOW)

    await login(client, snooper.email)
    form = await client.get(f"/app/shifts/{shift.id}/swap")
    offer = await post_form(client, f"/app/shifts/{shift.id}/swap", {"to": ""})
    unknown = await client.get("/app/shifts/99999999/swap")

    assert (form.status_code, offer.status_code) == (404, 404)
    for answer in (form, offer):
        assert "Tao" not in answer.text
        assert "18:00" not in answer.text
    assert unknown.status_code == 404
    assert await holders(db, shift) == [holder.id]


async def test_the_swaps_page_answers_htmx_in_place_and_speaks_chinese(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    giver = await an_agent(people, skills=[skill])
    taker = await an_agent(people, skills=[skill], locale="zh-Hans")
    shift = await a_claimed_shift(db, site, giver, start=at(5, "18:00"), now=NOW)
    offer = await swaps.offer_swap(db, shift_id=shift.id, agent=giver, to_user_id=taker.id, now=NOW)
    await db.commit()

    await login(client, taker.email)
    page = await client.get("/app/shifts/swaps")
    assert page.status_code == 200
    assert 'lang="zh-Hans"' in page.text
    answer = await client.post(
        f"/app/shifts/swaps/{offer.swap.id}/decline",
        data={"_csrf_token": client.cookies.get("weft_csrf") or ""},
        headers=HTMX,
    )
    assert answer.status_code == 200
    assert 'id="swaps"' in answer.text
    assert await db.scalar(select(func.count()).where(ShiftSwap.status == SwapStatus.declined)) == 1


async def test_a_coordinator_approves_on_the_admin_page(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await update_site_settings(db, site, swap_needs_approval=True)
    skill = await a_skill(db, site)
    giver = await an_agent(people, skills=[skill])
    taker = await an_agent(people, skills=[skill], display_name="Tao")
    coordinator = await people.make(Role.coordinator)
    shift = await a_claimed_shift(db, site, giver, start=at(5, "18:00"), now=NOW)
    offer = await swaps.offer_swap(db, shift_id=shift.id, agent=giver, to_user_id=None, now=NOW)
    await swaps.accept_swap(db, swap_id=offer.swap.id, agent=taker, now=NOW)
    await db.commit()

    await login(client, coordinator.email)
    page = await client.get("/admin/swaps")
    assert page.status_code == 200
    assert "Tao" in page.text
    approved = await post_form(client, f"/admin/swaps/{offer.swap.id}/approve", {})
    assert approved.status_code == 303
    assert approved.headers["location"] == "/admin/swaps?done=approved"
    assert await holders(db, shift) == [taker.id]

    client.cookies.clear()
    await login(client, taker.email)
    assert (await client.get("/admin/swaps")).status_code == 403


async def test_a_new_offer_replaces_the_waiting_one_and_the_offer_speaks_the_named_agents_language(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    giver = await an_agent(people, skills=[skill], display_name="Gina")
    taker = await an_agent(people, skills=[skill], locale="zh-Hans")
    shift = await a_claimed_shift(db, site, giver, start=at(5, "18:00"), now=NOW)

    named = await swaps.offer_swap(db, shift_id=shift.id, agent=giver, to_user_id=taker.id, now=NOW)
    anyone = await swaps.offer_swap(db, shift_id=shift.id, agent=giver, to_user_id=None, now=NOW)

    assert anyone.created
    await db.refresh(named.swap)
    assert named.swap.status is SwapStatus.cancelled
    assert [v.id for v in (await swaps.swaps_for(db, agent=giver, now=NOW)).mine if v.live] == [anyone.swap.id]
    [title] = await swap_notes(db, taker)
    today = utcnow().astimezone(SHANGHAI).date()  # the record is worded as of sending, on the real clock
    with speaking("zh-Hans"):
        when = moment_phrase(utc_start(shift.start_slot), SHANGHAI, today)
        assert title == _("%(name)s offers you their shift %(when)s. Tap to answer.", name="Gina", when=when)
    assert title.startswith("Gina 想把 ")
    assert not re.search(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b", title), "no English weekday in a Chinese sentence"
