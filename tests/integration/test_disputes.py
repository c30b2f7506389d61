"""Pay disputes: an agent questions a line, a coordinator or finance resolves it by an adjustment or a rejection."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.core.db import utcnow
from backend.notify.models import Kind, Notification
from backend.pay import disputes, periods
from backend.pay.models import (
    Adjustment,
    Dispute,
    DisputeStatus,
    JournalEntry,
    PayPeriod,
    PeriodStatus,
    SettlementLine,
)
from tests.conftest import Factory, csrf_token, login, post_form
from tests.integration.test_earnings import DAY, UTC, a_worked_week

OPEN_REF = "2026-11-03:piece:call:billing"


@pytest.fixture(autouse=True)
def the_week_after_the_worked_week(time_machine: time_machine.TimeMachineFixture) -> None:
    """The worked week is 2-8 November 2026: the agent questions it on Tuesday 10 November, 12:00 in Shanghai."""
    time_machine.move_to(dt.datetime(2026, 11, 10, 4, 0, tzinfo=UTC), tick=True)


async def an_open_dispute(db: AsyncSession, site: Site, agent: User, comment: str = "I took 14 calls") -> Dispute:
    """The agent questions their billing calls of 3 November while the period is still open."""
    await a_worked_week(db, site, agent)
    period = await periods.period_for(db, site=site, day=DAY)
    dispute = await disputes.file_dispute(
        db, agent=agent, period_id=period.id, line_ref=OPEN_REF, comment=comment, now=utcnow()
    )
    await db.commit()
    return dispute


async def count_disputes(db: AsyncSession) -> int:
    return await db.scalar(select(func.count()).select_from(Dispute)) or 0


async def test_an_agent_questions_an_open_line_from_the_form(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    await a_worked_week(db, site, agent)
    period = await periods.period_for(db, site=site, day=DAY)
    await login(client, agent.email)

    form = await client.get("/app/earnings/disputes/new", params={"period": period.id, "ref": OPEN_REF})
    assert form.status_code == 200
    assert "12 calls × CNY 0.80 = CNY 9.60" in form.text  # noqa: RUF001
    answer = await post_form(
        client, "/app/earnings/disputes", {"period": str(period.id), "ref": OPEN_REF, "comment": "I took 14 calls"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/app/earnings?disputed=1#disputes"

    saved = await db.scalar(select(Dispute).where(Dispute.user_id == agent.id))
    assert saved is not None
    assert (saved.status, saved.line_ref, saved.line_id, saved.comment) == (
        DisputeStatus.open,
        OPEN_REF,
        None,
        "I took 14 calls",
    )
    tab = await client.get("/app/earnings?disputed=1")
    assert "Question sent." in tab.text
    assert "You wrote: I took 14 calls" in tab.text
    assert "Waiting for an answer" in tab.text
    assert "You asked about this line." in tab.text

    again = await post_form(
        client, "/app/earnings/disputes", {"period": str(period.id), "ref": OPEN_REF, "comment": "Still 14"}
    )
    assert again.status_code == 409
    assert await count_disputes(db) == 1


async def test_an_empty_comment_is_refused_and_nothing_is_saved(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    await a_worked_week(db, site, agent)
    period = await periods.period_for(db, site=site, day=DAY)
    await login(client, agent.email)
    for comment in ("", "   ", "x" * 1001):
        answer = await post_form(
            client, "/app/earnings/disputes", {"period": str(period.id), "ref": OPEN_REF, "comment": comment}
        )
        assert answer.status_code == 422
        assert 'aria-invalid="true" aria-describedby="e-comment"' in answer.text
        assert "Say what looks wrong, in up to 1000 characters." in answer.text
    assert await count_disputes(db) == 0


async def test_an_agent_cannot_question_another_agents_line(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, other = await people.make(Role.agent), await people.make(Role.agent)
    await a_worked_week(db, site, agent)
    period = await periods.period_for(db, site=site, day=DAY)
    finance = await people.make(Role.finance)
    await periods.lock_period(db, period_id=period.id, by=finance, now=dt.datetime(2026, 11, 10, 2, 0, tzinfo=UTC))
    await db.commit()
    line_id = await db.scalar(select(SettlementLine.id).where(SettlementLine.user_id == agent.id).limit(1))

    await login(client, other.email)
    form = await client.get("/app/earnings/disputes/new", params={"period": period.id, "line": line_id})
    assert form.status_code == 404
    answer = await post_form(
        client, "/app/earnings/disputes", {"period": str(period.id), "line": str(line_id), "comment": "Mine?"}
    )
    assert answer.status_code == 404
    assert await count_disputes(db) == 0

    await login(client, agent.email)
    mine = await post_form(
        client, "/app/earnings/disputes", {"period": str(period.id), "line": str(line_id), "comment": "Too low"}
    )
    assert mine.status_code == 303
    saved = await db.scalar(select(Dispute).where(Dispute.user_id == agent.id))
    assert saved is not None
    assert saved.line_id == line_id
    assert saved.period_id == period.id


async def test_resolving_by_adjustment_files_it_into_the_open_period(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    dispute = await an_open_dispute(db, site, agent)
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    board = await client.get("/admin/pay/disputes/")
    assert board.status_code == 200
    assert "I took 14 calls" in board.text
    assert agent.display_name in board.text

    answer = await post_form(
        client, f"/admin/pay/disputes/{dispute.id}/adjust", {"amount": "1.60", "reason": "Two calls were missed"}
    )
    assert answer.status_code == 303

    await db.refresh(dispute)
    assert dispute.status == DisputeStatus.adjusted
    assert dispute.resolved_by_id == coordinator.id
    adjustment = await db.get(Adjustment, dispute.adjustment_id)
    assert adjustment is not None
    assert (adjustment.user_id, adjustment.amount_minor, adjustment.reason, adjustment.author_id) == (
        agent.id,
        160,
        "Two calls were missed",
        coordinator.id,
    )
    current = await db.get(PayPeriod, adjustment.period_id)
    assert current is not None
    assert current.status == PeriodStatus.open
    today = periods.site_today(site)
    assert current.starts_on <= today < current.ends_on
    note = await db.scalar(select(Notification).where(Notification.user_id == agent.id))
    assert note is not None
    assert note.kind == Kind.pay_dispute

    await login(client, agent.email)
    tab = await client.get("/app/earnings")
    assert "Adjustment: Two calls were missed = CNY 1.60" in tab.text
    assert "Answer: Two calls were missed" in tab.text
    assert "Adjusted" in tab.text


async def test_a_rejection_needs_its_reason_and_a_resolved_dispute_is_stale(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    dispute = await an_open_dispute(db, site, agent)
    finance = await people.make(Role.finance)
    await login(client, finance.email)

    blank = await post_form(client, f"/admin/pay/disputes/{dispute.id}/reject", {"reason": " "})
    assert blank.status_code == 422
    assert "Give the reason" in blank.text
    await db.refresh(dispute)
    assert dispute.status == DisputeStatus.open

    rejected = await post_form(client, f"/admin/pay/disputes/{dispute.id}/reject", {"reason": "The PBX shows 12"})
    assert rejected.status_code == 303
    await db.refresh(dispute)
    assert (dispute.status, dispute.resolution, dispute.adjustment_id) == (
        DisputeStatus.rejected,
        "The PBX shows 12",
        None,
    )

    stale = await post_form(client, f"/admin/pay/disputes/{dispute.id}/adjust", {"amount": "5", "reason": "Late"})
    assert stale.status_code == 409
    stale_reject = await post_form(client, f"/admin/pay/disputes/{dispute.id}/reject", {"reason": "Again"})
    assert stale_reject.status_code == 409
    assert await db.scalar(select(func.count()).select_from(Adjustment)) == 0

    await login(client, agent.email)
    tab = await client.get("/app/earnings")
    assert "Not changed" in tab.text
    assert "Answer: The PBX shows 12" in tab.text


async def test_who_may_see_and_resolve_disputes(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    dispute = await an_open_dispute(db, site, agent)

    await login(client, agent.email)
    assert (await client.get("/admin/pay/disputes/")).status_code == 403
    refused = await post_form(client, f"/admin/pay/disputes/{dispute.id}/reject", {"reason": "Self-service"})
    assert refused.status_code == 403

    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Asia/Shanghai", country="CN")
    stranger = await people.make(Role.coordinator, site=elsewhere)
    await login(client, stranger.email)
    board = await client.get("/admin/pay/disputes/")
    assert board.status_code == 200
    assert "I took 14 calls" not in board.text
    missing = await post_form(client, f"/admin/pay/disputes/{dispute.id}/reject", {"reason": "Not ours"})
    assert missing.status_code == 404

    await db.refresh(dispute)
    assert dispute.status == DisputeStatus.open


# Money typed by people (issue 15, item 9) ---------------------------------------------------------------------


async def nothing_was_booked(db: AsyncSession, client: httpx.AsyncClient, dispute: Dispute, agent: User) -> None:
    """The dispute is still open, no adjustment or ledger entry exists, and the agent has heard and sees nothing."""
    await db.refresh(dispute)
    assert (dispute.status, dispute.adjustment_id) == (DisputeStatus.open, None)
    assert await db.scalar(select(func.count()).select_from(Adjustment)) == 0
    assert await db.scalar(select(func.count()).select_from(JournalEntry)) == 0
    assert await db.scalar(select(func.count()).where(Notification.user_id == agent.id)) == 0
    await login(client, agent.email)
    tab = await client.get("/app/earnings")
    assert tab.status_code == 200
    assert "Adjustment:" not in tab.text


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("1,20", "Use a point for decimals"),
        ("1.200,50", "Use a point for decimals"),
        ("12.345", "at most two decimals"),
    ],
)
async def test_an_ambiguous_adjustment_amount_is_refused_and_nothing_is_booked(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, typed: str, words: str
) -> None:
    agent = await people.make(Role.agent)
    dispute = await an_open_dispute(db, site, agent)
    finance = await people.make(Role.finance)
    await login(client, finance.email)

    answer = await post_form(
        client, f"/admin/pay/disputes/{dispute.id}/adjust", {"amount": typed, "reason": "Two calls were missed"}
    )

    assert answer.status_code == 422
    assert f'aria-invalid="true" aria-describedby="e-amount-{dispute.id}"' in answer.text
    assert words in answer.text
    assert f'value="{typed}"' in answer.text  # what was typed comes back to be corrected
    await nothing_was_booked(db, client, dispute, agent)


async def test_an_amount_typed_the_ways_people_type_it_is_booked_as_meant(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    dispute = await an_open_dispute(db, site, agent)
    finance = await people.make(Role.finance)
    await login(client, finance.email)

    answer = await post_form(
        client,
        f"/admin/pay/disputes/{dispute.id}/adjust",
        {"amount": " １２０ ", "reason": "Fee"},  # noqa: RUF001
    )

    assert answer.status_code == 303
    adjustment = await db.scalar(select(Adjustment))
    assert adjustment is not None
    assert adjustment.amount_minor == 12000


async def test_a_large_adjustment_is_read_back_and_booked_only_once_confirmed(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    dispute = await an_open_dispute(db, site, agent)
    finance = await people.make(Role.finance)
    await login(client, finance.email)
    path = f"/admin/pay/disputes/{dispute.id}/adjust"

    for headers in ({}, {"HX-Request": "true"}):
        question = await client.post(
            path,
            data={
                "amount": "1,200",
                "reason": "Missed week",
                "_csrf_token": await csrf_token(client, "/admin/pay/disputes/"),
            },
            headers=headers,
        )
        assert question.status_code == 200
        assert f"Book CNY 1,200.00 to {agent.display_name}?" in question.text
        assert 'name="confirmed" value="yes"' in question.text
        assert 'name="amount" value="1200.00"' in question.text
    await nothing_was_booked(db, client, dispute, agent)

    await login(client, finance.email)
    booked = await post_form(client, path, {"amount": "1200.00", "reason": "Missed week", "confirmed": "yes"})
    assert booked.status_code == 303
    await db.refresh(dispute)
    assert dispute.status == DisputeStatus.adjusted
    adjustment = await db.get(Adjustment, dispute.adjustment_id)
    assert adjustment is not None
    assert (adjustment.amount_minor, adjustment.reason) == (120000, "Missed week")
    await login(client, agent.email)
    assert "Adjustment: Missed week = CNY 1,200.00" in (await client.get("/app/earnings")).text


async def test_a_large_adjustment_filed_by_a_service_without_confirmation_is_refused(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    finance = await people.make(Role.finance)
    amount = periods.CONFIRM_ABOVE_MINOR + 1
    for minor in (amount, -amount):
        with pytest.raises(periods.NeedsConfirmation):
            await periods.add_adjustment(
                db, site=site, user_id=agent.id, amount_minor=minor, reason="Bonus", author=finance, now=utcnow()
            )
    assert await db.scalar(select(func.count()).select_from(Adjustment)) == 0
    small = await periods.add_adjustment(
        db,
        site=site,
        user_id=agent.id,
        amount_minor=periods.CONFIRM_ABOVE_MINOR,
        reason="Bonus",
        author=finance,
        now=utcnow(),
    )
    assert small.amount_minor == periods.CONFIRM_ABOVE_MINOR
