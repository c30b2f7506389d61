"""Hand-over between leads: pre-filled from the log and the previous hand-over, acknowledged item by item by
the incoming lead, open items carried until closed, on time / late / missing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, Tier, User
from backend.accounts.zones import site_zone
from backend.core.db import utcnow
from backend.core.errors import Conflict, DomainError, Forbidden
from backend.core.slots import slot_of, utc_start
from backend.ops import handover, log
from backend.ops.handover import HandoverState, Line
from backend.ops.models import Duty, HandoverItem, HandoverItemKind, LogKind, LogStatus
from tests.conftest import login, post_form
from tests.factories import Factory, a_duty, a_lead, an_agent


def local(site: Site, day: dt.date, clock: str, days: int = 0) -> dt.datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    moment = dt.datetime.combine(day + dt.timedelta(days=days), dt.time(hour, minute), tzinfo=site_zone(site))
    return moment.astimezone(dt.UTC)


@dataclass
class Day:
    """Two days ago: Lena leads 08:00-14:00, Coco 14:00-20:00, Lena again 20:00-24:00; at 10:00 the phones
    went down and Lena logged it (still in progress)."""

    site: Site
    day: dt.date
    lena: User
    coco: User
    morning: Duty
    afternoon: Duty
    evening: Duty
    phones: int


async def a_day(db: AsyncSession, site: Site, people: Factory) -> Day:
    day = utcnow().astimezone(site_zone(site)).date() - dt.timedelta(days=2)
    lena = await an_agent(people, display_name="Lena", tier=Tier.senior)
    await a_lead(db, site, lena, now=local(site, day, "07:00"))
    coco = await people.make(Role.coordinator, display_name="Coco")
    morning = await a_duty(db, site, lena, start=local(site, day, "08:00"), hours=6)
    afternoon = await a_duty(db, site, coco, start=local(site, day, "14:00"), hours=6)
    evening = await a_duty(db, site, lena, start=local(site, day, "20:00"), hours=4)
    item = await log.record_item(
        db,
        site=site,
        entry=log.LeadEntry(
            kind=LogKind.system_problem,
            started_at=local(site, day, "10:00"),
            summary="Telephony down",
            details={"system": "Phones", "symptom": "No dial tone", "affected": "8"},
            action="Called IT",
            status=LogStatus.in_progress,
        ),
        author=lena,
        now=local(site, day, "10:05"),
    )
    await db.commit()
    return Day(site, day, lena, coco, morning, afternoon, evening, item.id)


async def test_an_open_item_is_carried_until_it_is_closed(db: AsyncSession, site: Site, people: Factory) -> None:
    w = await a_day(db, site, people)

    offered = await handover.prefilled(db, site=site, duty=w.morning, now=local(site, w.day, "14:05"))
    assert offered == [
        Line(kind=HandoverItemKind.open_item, text="System problem: Telephony down", log_item_id=w.phones)
    ]
    first = await handover.submit_handover(
        db,
        site=site,
        duty_id=w.morning.id,
        by=w.lena,
        focus="Billing queue first",
        warnings="CRM slow after 13:00",
        lines=[
            *offered,
            Line(kind=HandoverItemKind.open_item, text="Call the vendor back", owner_id=w.coco.id),
            Line(kind=HandoverItemKind.follow_up, text="Check the queue at 16:00"),
        ],
        now=local(site, w.day, "14:10"),
    )
    assert first.to_duty_id == w.afternoon.id
    # The log item has no owner yet: a pre-filled line keeps none, a typed open item must have one.
    items = list(await db.scalars(select(HandoverItem).where(HandoverItem.handover_id == first.id)))
    assert [(i.kind, i.text, i.owner_id) for i in items] == [
        (HandoverItemKind.open_item, "System problem: Telephony down", None),
        (HandoverItemKind.open_item, "Call the vendor back", w.coco.id),
        (HandoverItemKind.follow_up, "Check the queue at 16:00", None),
    ]

    # Coco, the incoming lead, acknowledges item by item; the hand-over is acknowledged with the last one.
    with pytest.raises(Forbidden):
        await handover.acknowledge_item(
            db, site_id=site.id, item_id=items[0].id, by=w.lena, now=local(site, w.day, "14:15")
        )
    for minute, item in zip(("14:20", "14:21"), items[:2], strict=True):
        await handover.acknowledge_item(db, site_id=site.id, item_id=item.id, by=w.coco, now=local(site, w.day, minute))
    assert first.acknowledged_at is None
    await handover.acknowledge_item(
        db, site_id=site.id, item_id=items[2].id, by=w.coco, now=local(site, w.day, "14:22")
    )
    assert first.acknowledged_at == local(site, w.day, "14:22")
    assert first.acknowledged_by_id == w.coco.id

    # Coco hands over to Lena at 20:05: both open items are carried (the follow-up is not).
    second = await handover.submit_handover(
        db,
        site=site,
        duty_id=w.afternoon.id,
        by=w.coco,
        focus="",
        warnings="",
        lines=[],
        now=local(site, w.day, "20:05"),
    )
    carried = list(await db.scalars(select(HandoverItem).where(HandoverItem.handover_id == second.id)))
    assert [(i.text, i.carried_from_id, i.owner_id) for i in carried] == [
        ("System problem: Telephony down", items[0].id, None),
        ("Call the vendor back", items[1].id, w.coco.id),
    ]
    assert second.to_duty_id == w.evening.id

    # Lena closes the vendor item at 21:00; at the end of her evening only the phones item is carried.
    await handover.close_item(db, site_id=site.id, item_id=carried[1].id, by=w.lena, now=local(site, w.day, "21:00"))
    third = await handover.submit_handover(
        db,
        site=site,
        duty_id=w.evening.id,
        by=w.lena,
        focus="",
        warnings="",
        lines=[],
        now=local(site, w.day, "00:10", 1),
    )
    last = list(await db.scalars(select(HandoverItem).where(HandoverItem.handover_id == third.id)))
    assert [(i.text, i.carried_from_id) for i in last] == [("System problem: Telephony down", carried[0].id)]
    assert third.to_duty_id is None
    # Closing a carried copy closes the line it was carried from too.
    assert items[1].closed_at == local(site, w.day, "21:00")


async def test_only_the_duty_lead_hands_over_and_only_once(db: AsyncSession, site: Site, people: Factory) -> None:
    w = await a_day(db, site, people)

    with pytest.raises(Forbidden):
        await handover.submit_handover(
            db,
            site=site,
            duty_id=w.morning.id,
            by=w.coco,
            focus="",
            warnings="",
            lines=[],
            now=local(site, w.day, "14:05"),
        )
    await handover.submit_handover(
        db, site=site, duty_id=w.morning.id, by=w.lena, focus="", warnings="", lines=[], now=local(site, w.day, "14:05")
    )
    with pytest.raises(Conflict):
        await handover.submit_handover(
            db,
            site=site,
            duty_id=w.morning.id,
            by=w.lena,
            focus="",
            warnings="",
            lines=[],
            now=local(site, w.day, "14:06"),
        )


async def test_a_typed_open_item_needs_an_owner(db: AsyncSession, site: Site, people: Factory) -> None:
    w = await a_day(db, site, people)

    with pytest.raises(DomainError) as refused:
        await handover.submit_handover(
            db,
            site=site,
            duty_id=w.morning.id,
            by=w.lena,
            focus="",
            warnings="",
            lines=[Line(kind=HandoverItemKind.open_item, text="Printer jam")],
            now=local(site, w.day, "14:05"),
        )

    assert refused.value.field == "item-0-owner"


async def test_handover_status_on_time_late_missing_and_not_due(db: AsyncSession, site: Site, people: Factory) -> None:
    w = await a_day(db, site, people)
    # Due 30 minutes after each duty ends: morning 14:30, afternoon 20:30, evening 00:30.
    await handover.submit_handover(
        db, site=site, duty_id=w.morning.id, by=w.lena, focus="", warnings="", lines=[], now=local(site, w.day, "14:30")
    )
    await handover.submit_handover(
        db,
        site=site,
        duty_id=w.afternoon.id,
        by=w.coco,
        focus="",
        warnings="",
        lines=[],
        now=local(site, w.day, "20:31"),
    )
    start, end = local(site, w.day, "00:00"), local(site, w.day, "00:00", 1)

    at_midnight = await handover.handover_status(
        db, site_id=site.id, start=start, end=end, now=local(site, w.day, "00:00", 1)
    )
    later = await handover.handover_status(
        db, site_id=site.id, start=start, end=end, now=local(site, w.day, "00:31", 1)
    )

    assert [(s.duty_id, s.state) for s in at_midnight] == [
        (w.morning.id, HandoverState.on_time),
        (w.afternoon.id, HandoverState.late),
        (w.evening.id, HandoverState.pending),
    ]
    assert later[2].state is HandoverState.missing
    assert later[2].due_at == local(site, w.day, "00:30", 1)
    assert [s.name for s in later] == ["Lena", "Coco", "Lena"]


# The pages ---------------------------------------------------------------------------------------------


async def test_the_outgoing_lead_hands_over_on_the_page_and_the_next_acknowledges(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    turn = utc_start(slot_of(utcnow()))  # Lena's duty ended at the last half-hour; Coco's began then
    lena = await an_agent(people, display_name="Lena", tier=Tier.senior)
    await a_lead(db, site, lena, now=turn - dt.timedelta(hours=6))
    coco = await people.make(Role.coordinator, display_name="Coco")
    mine = await a_duty(db, site, lena, start=turn - dt.timedelta(hours=4), hours=4)
    await a_duty(db, site, coco, start=turn, hours=4)
    phones = await log.record_item(
        db,
        site=site,
        entry=log.LeadEntry(
            kind=LogKind.other,
            started_at=turn - dt.timedelta(hours=2),
            summary="Fire drill at 15:00",
            details={"what": "Building drill"},
        ),
        author=lena,
        now=turn - dt.timedelta(hours=2),
    )
    await db.commit()
    assert (await login(client, lena.email)).status_code == 303

    form = await client.get("/admin/duty/handover/")
    sent = await post_form(
        client,
        "/admin/duty/handover/",
        {
            "duty_id": str(mine.id),
            "focus": "Keep billing under 2 minutes",
            "warnings": "",
            "item-0-kind": "open_item",
            "item-0-log": str(phones.id),
            "item-0-keep": "on",
            "item-0-text": "Other: Fire drill at 15:00",
            "item-1-kind": "open_item",
            "item-1-text": "Order headsets",
            "item-1-owner": str(coco.id),
            "item-2-kind": "open_item",
            "item-2-text": "",
            "item-4-kind": "follow_up",
            "item-4-text": "Ask Ann about her appeal",
        },
    )
    sent_handover = await handover.handover_of_duty(db, duty_id=mine.id)
    assert sent_handover is not None
    items = list(await db.scalars(select(HandoverItem).where(HandoverItem.handover_id == sent_handover.id)))
    lena_ack = await post_form(client, f"/admin/duty/handover/items/{items[0].id}/ack", {})

    assert (await login(client, coco.email)).status_code == 303
    page = await client.get(f"/admin/duty/handover/{sent_handover.id}")
    one = await post_form(client, f"/admin/duty/handover/items/{items[0].id}/ack", {})
    rest = await post_form(client, f"/admin/duty/handover/{sent_handover.id}/ack", {})
    await db.refresh(sent_handover)

    assert form.status_code == 200
    assert "Fire drill at 15:00" in form.text
    assert sent.status_code == 303
    assert [(i.kind, i.text, i.owner_id, i.log_item_id) for i in items] == [
        (HandoverItemKind.open_item, "Other: Fire drill at 15:00", None, phones.id),
        (HandoverItemKind.open_item, "Order headsets", coco.id, None),
        (HandoverItemKind.follow_up, "Ask Ann about her appeal", None, None),
    ]
    assert lena_ack.status_code == 403  # Lena hands over; Coco, the incoming lead, acknowledges
    assert page.status_code == 200
    assert "Keep billing under 2 minutes" in page.text
    assert one.status_code == 303
    assert rest.status_code == 303
    assert sent_handover.acknowledged_by_id == coco.id


async def test_foreign_and_forbidden_handover_actions(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    w = await a_day(db, site, people)
    other_site = await accounts.ensure_site(db, name="Other Centre", timezone="Europe/Berlin", country="DE")
    stranger = await people.make(Role.coordinator, site=other_site)
    theirs = await a_duty(db, other_site, stranger, start=local(site, w.day, "08:00"))
    foreign = await handover.submit_handover(
        db,
        site=other_site,
        duty_id=theirs.id,
        by=stranger,
        focus="",
        warnings="",
        lines=[Line(kind=HandoverItemKind.follow_up, text="Theirs")],
        now=local(site, w.day, "12:05"),
    )
    await db.commit()
    item = await db.scalar(select(HandoverItem).where(HandoverItem.handover_id == foreign.id))
    finance = await people.make(Role.finance)

    await login(client, w.coco.email)
    assert (await client.get(f"/admin/duty/handover/{foreign.id}")).status_code == 404
    assert (await post_form(client, f"/admin/duty/handover/items/{item.id}/ack", {})).status_code == 404
    assert (await post_form(client, f"/admin/duty/handover/items/{item.id}/close", {})).status_code == 404
    assert (await post_form(client, f"/admin/duty/handover/{foreign.id}/ack", {})).status_code == 404
    # Coco's own duty is two days old: nothing of hers is due, so a post names no duty of hers.
    refused = await post_form(client, "/admin/duty/handover/", {"duty_id": str(w.morning.id)})
    assert refused.status_code == 403
    await login(client, finance.email)
    assert (await post_form(client, f"/admin/duty/handover/items/{item.id}/close", {})).status_code == 403
