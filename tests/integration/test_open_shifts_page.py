"""Open shifts as an agent reads it on a phone: what they can take by default, by day, a page at a time, and
kept true after a claim or an undo (the cheapest fix first)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, Tier, User
from backend.core.db import utcnow
from backend.shifts import market
from backend.shifts.market_routes import PAGE_SHIFTS
from tests.conftest import login
from tests.factories import Factory, a_held_shift, a_skill, an_agent, an_open_shift

SHANGHAI = ZoneInfo("Asia/Shanghai")
HTMX = {"hx-request": "true"}
COMPRESSED_BUDGET_BYTES = 60_000


def at(days: int, clock: str) -> dt.datetime:
    """A Shanghai wall-clock time ``days`` from today (the test site's zone, and its agents')."""
    hour, minute = (int(part) for part in clock.split(":"))
    day = utcnow().astimezone(SHANGHAI).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


def card(html: str, shift_id: int) -> str:
    """The one shift card of ``shift_id`` in a page or fragment (empty when it is not there)."""
    start = rf'<li class="shift-card open-shift[^"]*" id="shift-{shift_id}">'
    found = re.search(start + r'(.*?)(?=<li class="shift-card|</ul>\s*</section>)', html, re.S)
    return found.group(1) if found else ""


def day_refresh_url(html: str, day: dt.date) -> str:
    """The address a day's group re-reads itself from, checking it listens for claims and releases."""
    group = re.search(rf'<section class="[^"]*open-day" id="open-day-{day.isoformat()}"[^>]*>', html, re.S)
    assert group, f"no group for {day}"
    assert 'hx-trigger="shift-claimed from:body, shift-released from:body"' in group.group(0)
    url = re.search(r'hx-get="([^"]+)"', group.group(0))
    assert url
    return url.group(1).replace("&amp;", "&")


async def signed_in(client: httpx.AsyncClient, agent: User) -> None:
    assert (await login(client, agent.email)).status_code == 303


async def htmx_post(client: httpx.AsyncClient, path: str) -> httpx.Response:
    return await client.post(path, data={"_csrf_token": client.cookies.get("weft_csrf")}, headers=HTMX)


@contextmanager
def statements_seen(connection: AsyncConnection) -> Iterator[list[str]]:
    """Every statement the app under test runs on its connection while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(connection.sync_connection, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", record)


# What is shown by default ----------------------------------------------------------------------------


async def test_by_default_a_shift_only_refusals_stand_in_is_hidden_and_show_everything_shows_it(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    billing = await a_skill(db, site)
    await a_skill(db, site, "tech")
    agent = await an_agent(people, skills=[billing], tier=Tier.senior)
    now = utcnow()
    takeable = await an_open_shift(db, site, billing, start=at(3, "18:00"), now=now)
    one_course_away = await an_open_shift(db, site, "tech", start=at(3, "08:00"), now=now)
    await a_held_shift(db, agent, at(4, "18:00"))  # rostered long ago: no free undo
    # uncertified and overlapping: a swap would mend the clash, never the certification
    two_fixes_away = await an_open_shift(db, site, "tech", start=at(4, "19:00"), now=now)
    await signed_in(client, agent)

    page = await client.get("/app/shifts/open")
    assert page.status_code == 200
    assert "Claim</button>" in card(page.text, takeable.id)
    course = card(page.text, one_course_away.id)
    assert "Needs the Technical support certification." in course
    assert 'href="/app/learn/skills/tech">Take the course that unlocks it</a>' in course
    assert f'id="shift-{two_fixes_away.id}"' not in page.text
    assert 'href="/app/shifts/open?all=1">Show everything</a>' in page.text

    everything = await client.get("/app/shifts/open?all=1")
    refused = card(everything.text, two_fixes_away.id)
    assert "Needs the Technical support certification." in refused
    assert "Overlaps your 18:00 shift." in refused
    assert 'href="/app/shifts/open">Show only what I can take</a>' in everything.text
    assert '<input type="hidden" name="all" value="1">' in everything.text  # the filters keep the choice

    only_tech = await client.get("/app/shifts/open?skill=tech")
    assert f'id="shift-{one_course_away.id}"' in only_tech.text
    assert f'id="shift-{takeable.id}"' not in only_tech.text
    one_day = await client.get(f"/app/shifts/open?day={at(4, '00:00').date().isoformat()}&all=1")
    assert f'id="shift-{two_fixes_away.id}"' in one_day.text
    assert f'id="shift-{takeable.id}"' not in one_day.text


async def test_shifts_are_grouped_under_the_agents_own_days(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    billing = await a_skill(db, site)
    agent = await an_agent(people, skills=[billing], tier=Tier.senior, timezone="Europe/London")
    # 06:00 in Shanghai is 22:00 (23:00 in summer) the evening before in London
    late = await an_open_shift(db, site, billing, start=at(5, "06:00"), now=utcnow())
    await signed_in(client, agent)
    page = await client.get("/app/shifts/open")
    london_day = at(5, "06:00").astimezone(ZoneInfo("Europe/London")).date()
    group = page.text.split(f'id="open-day-{london_day.isoformat()}"', 1)
    assert len(group) == 2, "no heading for the agent's own day"
    assert f'id="shift-{late.id}"' in group[1].split('class="schedule-day open-day"', 1)[0]


# Pages --------------------------------------------------------------------------------------------


async def test_the_next_page_comes_from_the_revealed_link_and_works_without_javascript(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    billing = await a_skill(db, site)
    agent = await an_agent(people, skills=[billing], tier=Tier.senior)
    now = utcnow()
    per_day = 3
    days = range(2, 2 + PAGE_SHIFTS // per_day + 1)  # one day more than a page holds
    made = {
        day: [
            await an_open_shift(db, site, billing, start=at(day, clock), now=now)
            for clock in ("08:00", "13:00", "18:00")
        ]
        for day in days
    }
    await signed_in(client, agent)

    first = await client.get("/app/shifts/open")
    last_day = days[-1]
    for day in days[:-1]:
        for shift in made[day]:
            assert f'id="shift-{shift.id}"' in first.text
    assert all(f'id="shift-{shift.id}"' not in first.text for shift in made[last_day])
    sentinel = re.search(
        r'<a class="button secondary wide open-more" href="([^"]+)" hx-get="\1" hx-trigger="revealed"', first.text
    )
    assert sentinel, "no link that loads the next page when it scrolls into view"
    next_url = sentinel.group(1).replace("&amp;", "&")
    assert next_url == f"/app/shifts/open?since={at(last_day, '00:00').date().isoformat()}"

    more = await client.get(next_url, headers=HTMX)
    assert more.status_code == 200
    assert all(f'id="shift-{shift.id}"' in more.text for shift in made[last_day])
    assert all(f'id="shift-{shift.id}"' not in more.text for shift in made[days[0]])
    assert "open-more" not in more.text  # the last page

    plain = await client.get(next_url)  # a phone without JavaScript follows the link
    assert plain.status_code == 200
    assert "<!doctype html>" in plain.text.lower()
    assert f'id="shift-{made[last_day][0].id}"' in plain.text


async def test_a_demo_sized_list_answers_a_small_compressed_page_in_a_few_queries(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, connection: AsyncConnection
) -> None:
    billing = await a_skill(db, site)
    skills = [billing, await a_skill(db, site, "tech"), await a_skill(db, site, "general")]
    agent = await an_agent(people, skills=[billing], tier=Tier.junior)
    now = utcnow()
    for day in range(1, 14):
        if day % 2:
            await a_held_shift(db, agent, at(day, "12:00"))  # what the agent works: clashes and day limits
        for number, clock in enumerate(
            ("07:00", "08:30", "10:00", "11:30", "13:00", "14:30", "16:00", "17:30", "19:00")
        ):
            for skill in skills:
                await an_open_shift(db, site, skill, start=at(day, clock), hours=4 + number % 3, now=now)
    await signed_in(client, agent)

    with statements_seen(connection) as statements:
        async with client.stream("GET", "/app/shifts/open", headers={"Accept-Encoding": "gzip"}) as response:
            body = await response.aread()
            compressed = response.num_bytes_downloaded
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert compressed < COMPRESSED_BUDGET_BYTES, f"{compressed} bytes compressed"
    assert len(body) < 200_000
    assert len(statements) < 40, f"{len(statements)} statements: a query per card?"
    assert body.count(b'class="shift-card open-shift') >= PAGE_SHIFTS

    everything = await client.get("/app/shifts/open?all=1")
    assert everything.text.count('class="shift-card open-shift') >= PAGE_SHIFTS
    assert "open-more" in everything.text


# After a claim, an undo ------------------------------------------------------------------------------


async def test_after_a_claim_the_overlapping_card_says_why_and_offers_the_free_undo(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    billing = await a_skill(db, site)
    agent = await an_agent(people, skills=[billing], tier=Tier.senior)
    now = utcnow()
    first = await an_open_shift(db, site, billing, start=at(5, "18:00"), now=now)
    overlapping = await an_open_shift(db, site, billing, start=at(5, "20:00"), now=now)
    await signed_in(client, agent)
    page = await client.get("/app/shifts/open")
    assert "Claim</button>" in card(page.text, overlapping.id)
    refresh = day_refresh_url(page.text, at(5, "00:00").date())

    claimed = await htmx_post(client, f"/app/shifts/open/{first.id}/claim")
    assert claimed.headers["hx-trigger"] == "shift-claimed"
    day = await client.get(refresh, headers=HTMX)
    now_refused = card(day.text, overlapping.id)
    assert "Overlaps your 18:00 shift." in now_refused
    assert "Claim</button>" not in now_refused
    assert re.search(r"Undo your 18:00 claim \(free until \d\d:\d\d\)", now_refused)
    assert f'action="/app/shifts/open/{first.id}/undo"' in now_refused
    assert "Offer that shift for swap" not in now_refused

    undone = await htmx_post(client, f"/app/shifts/open/{first.id}/undo")
    assert undone.headers["hx-trigger"] == "shift-released"
    again = await client.get(refresh, headers=HTMX)
    assert "Claim</button>" in card(again.text, overlapping.id)
    assert "Overlaps" not in card(again.text, overlapping.id)


async def test_a_release_from_my_schedule_tells_open_shift_lists_to_re_read_themselves(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    billing = await a_skill(db, site)
    agent = await an_agent(people, skills=[billing], tier=Tier.senior)
    held = await a_held_shift(db, agent, at(5, "18:00"), slots=8)  # 18:00-22:00
    overlapping = await an_open_shift(db, site, billing, start=at(5, "20:00"), now=utcnow())
    await signed_in(client, agent)
    before = await client.get("/app/shifts/open")
    assert f'href="/app/shifts/{held.id}/swap">Offer that shift for swap</a>' in card(before.text, overlapping.id)

    released = await htmx_post(client, f"/app/shifts/{held.id}/release")
    assert released.status_code == 200
    assert released.headers["hx-trigger"] == "shift-released"
    after = await client.get(day_refresh_url(before.text, at(5, "00:00").date()), headers=HTMX)
    assert "Claim</button>" in card(after.text, overlapping.id)


async def test_a_clash_offers_the_free_undo_while_it_lasts_and_a_swap_after(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    billing = await a_skill(db, site)
    agent = await an_agent(people, skills=[billing], tier=Tier.senior)
    now = utcnow()
    made_at = now - dt.timedelta(hours=2)
    clash = await an_open_shift(db, site, billing, start=at(5, "18:00"), now=made_at)
    wanted = await an_open_shift(db, site, billing, start=at(5, "20:00"), now=made_at)
    await market.claim_shift(db, shift_id=clash.id, agent=agent, now=now - dt.timedelta(minutes=2))

    fresh = seen(await market.open_shifts_for(db, agent=agent, now=now), wanted.id)
    assert "overlap" in fresh.codes
    assert [(fix.url, fix.post) for fix in fresh.fixes] == [(f"/app/shifts/open/{clash.id}/undo", True)]
    assert set(fresh.codes) <= fresh.fixes[0].mends  # one tap mends everything the claim caused
    assert fresh.within_one_fix

    later = now + dt.timedelta(minutes=30)  # the free undo is over: offering the shift for swap is what is left
    stale = seen(await market.open_shifts_for(db, agent=agent, now=later), wanted.id)
    assert [(fix.url, fix.post) for fix in stale.fixes] == [(f"/app/shifts/{clash.id}/swap", False)]
    assert stale.within_one_fix


async def test_a_day_limit_or_rest_from_a_fresh_claim_is_mended_by_its_free_undo(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    billing = await a_skill(db, site)
    agent = await an_agent(people, skills=[billing], tier=Tier.senior)
    now = utcnow()
    made_at = now - dt.timedelta(hours=2)
    evening = await an_open_shift(db, site, billing, start=at(5, "18:00"), now=made_at)
    morning = await an_open_shift(db, site, billing, start=at(5, "07:00"), now=made_at)  # no overlap: too close
    await market.claim_shift(db, shift_id=evening.id, agent=agent, now=now - dt.timedelta(minutes=1))

    refused = seen(await market.open_shifts_for(db, agent=agent, now=now), morning.id)
    assert refused.codes
    assert "overlap" not in refused.codes
    assert [fix.url for fix in refused.fixes] == [f"/app/shifts/open/{evening.id}/undo"]
    assert set(refused.codes) <= refused.fixes[0].mends
    later = seen(await market.open_shifts_for(db, agent=agent, now=now + dt.timedelta(hours=1)), morning.id)
    assert later.fixes == []  # no undo left, and nothing a tap mends: hidden by default
    assert not later.within_one_fix


async def test_the_swap_form_offers_the_free_undo_first_while_it_lasts(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    billing = await a_skill(db, site)
    agent = await an_agent(people, skills=[billing], tier=Tier.senior)
    fresh = await an_open_shift(db, site, billing, start=at(5, "18:00"), now=utcnow())
    rostered = await a_held_shift(db, agent, at(6, "18:00"))
    await signed_in(client, agent)
    assert (await htmx_post(client, f"/app/shifts/open/{fresh.id}/claim")).status_code == 200

    form = await client.get(f"/app/shifts/{fresh.id}/swap")
    assert form.status_code == 200
    assert re.search(r"undoing the claim is free until \d\d:\d\d", form.text)
    assert f'action="/app/shifts/open/{fresh.id}/undo"' in form.text
    assert form.text.index("Undo the claim instead") < form.text.index("Offer for swap</button>")
    plain = await client.get(f"/app/shifts/{rostered.id}/swap")
    assert plain.status_code == 200
    assert "Undo the claim instead" not in plain.text

    undone = await client.post(
        f"/app/shifts/open/{fresh.id}/undo", data={"_csrf_token": client.cookies.get("weft_csrf")}
    )
    assert undone.status_code == 303
    assert (await client.get(f"/app/shifts/{fresh.id}/swap")).status_code == 404  # no longer theirs to offer


def seen(view: market.Market, shift_id: int) -> market.OpenShift:
    return next(item for item in view.shifts if item.shift_id == shift_id)


# Who sees what -------------------------------------------------------------------------------------


async def test_open_shifts_are_for_agents_of_the_site_only(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    billing = await a_skill(db, site)
    agent = await an_agent(people, skills=[billing], tier=Tier.senior)
    ours = await an_open_shift(db, site, billing, start=at(3, "18:00"), now=utcnow())
    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Asia/Shanghai", country="CN")
    theirs = await an_open_shift(db, elsewhere, await a_skill(db, elsewhere), start=at(3, "18:00"), now=utcnow())

    coordinator = await people.make(Role.coordinator)
    await signed_in(client, coordinator)
    assert (await client.get("/app/shifts/open")).status_code == 403
    assert (await client.get("/app/shifts/open?all=1", headers=HTMX)).status_code == 403

    client.cookies.clear()
    await signed_in(client, agent)
    day = at(3, "00:00").date().isoformat()
    for path in (
        "/app/shifts/open",
        "/app/shifts/open?all=1",
        f"/app/shifts/open?day={day}&all=1",
        f"/app/shifts/open?since={day}&all=1",
    ):
        answer = await client.get(path, headers=HTMX)
        assert f'id="shift-{ours.id}"' in answer.text, path
        assert f'id="shift-{theirs.id}"' not in answer.text, path
