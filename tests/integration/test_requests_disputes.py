"""Pay disputes are one kind of request: a line questioned on the Earnings page is a pay request routed like any
other, and it is settled from either side (the old pay disputes page or the request) once, with one word to the
agent."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, User
from backend.core.db import utcnow
from backend.notify.models import Kind, Notification
from backend.pay import periods
from backend.pay.models import Adjustment, Dispute, DisputeStatus
from backend.requests import actions, routing
from backend.requests.models import EventKind, Request, RequestEvent, RequestKind, RequestStatus, RequestTeam
from tests.conftest import Factory, login, post_form
from tests.integration.test_earnings import DAY, UTC, a_worked_week

OPEN_REF = "2026-11-03:piece:call:billing"


@pytest.fixture(autouse=True)
def the_week_after_the_worked_week(time_machine: time_machine.TimeMachineFixture) -> None:
    """The worked week is 2-8 November 2026: the agent questions it on Tuesday 10 November, 12:00 in Shanghai."""
    time_machine.move_to(dt.datetime(2026, 11, 10, 4, 0, tzinfo=UTC), tick=True)


async def a_finance_team(db: AsyncSession, people: Factory) -> tuple[RequestTeam, User]:
    """Pay requests go to the finance team's queue (no named owner)."""
    coordinator = await people.make(Role.coordinator)
    finance = await people.make(Role.finance)
    team = await routing.create_team(db, staff=coordinator, name="Finance", now=utcnow())
    await routing.add_member(db, staff=coordinator, team_id=team.id, user_id=finance.id)
    await routing.set_rule(db, staff=coordinator, kind=RequestKind.pay, team_id=team.id)
    await db.commit()
    return team, finance


async def a_question_from_the_earnings_page(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, agent: User, comment: str = "I took 14 calls"
) -> tuple[Dispute, Request]:
    await a_worked_week(db, site, agent)
    period = await periods.period_for(db, site=site, day=DAY)
    await db.commit()
    await login(client, agent.email)
    answer = await post_form(
        client, "/app/earnings/disputes", {"period": str(period.id), "ref": OPEN_REF, "comment": comment}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/app/earnings?disputed=1#disputes"
    dispute = await db.scalar(select(Dispute).where(Dispute.user_id == agent.id))
    assert dispute is not None
    request = await db.scalar(select(Request).where(Request.dispute_id == dispute.id))
    assert request is not None
    return dispute, request


async def notes_to(db: AsyncSession, user: User, kind: Kind | None = None) -> int:
    query = select(func.count()).select_from(Notification).where(Notification.user_id == user.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return await db.scalar(query) or 0


async def events_of(db: AsyncSession, request: Request) -> list[EventKind]:
    rows = await db.scalars(
        select(RequestEvent.kind).where(RequestEvent.request_id == request.id).order_by(RequestEvent.id)
    )
    return list(rows)


async def test_a_line_questioned_on_the_earnings_page_is_a_pay_request_in_the_finance_queue(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    team, finance = await a_finance_team(db, people)
    agent = await people.make(Role.agent)

    dispute, request = await a_question_from_the_earnings_page(client, db, site, agent)

    assert (request.kind, request.asker_id, request.site_id, request.period_id, request.details) == (
        RequestKind.pay,
        agent.id,
        site.id,
        dispute.period_id,
        "I took 14 calls",
    )
    assert (request.team_id, request.owner_id, request.status) == (team.id, None, RequestStatus.queued)
    assert await events_of(db, request) == [EventKind.raised, EventKind.routed]
    # The dispute's own alert is the only one staff get: no second "new request" alert for the same question.
    assert await notes_to(db, finance, Kind.staff_dispute) == 1
    assert await notes_to(db, finance, Kind.staff_request) == 0

    tab = await client.get("/app/earnings?disputed=1")
    assert "Question sent." in tab.text
    assert f'href="/app/requests/{request.id}"' in tab.text

    await login(client, finance.email)
    board = await client.get("/admin/pay/disputes/")
    assert f'href="/admin/requests/{request.id}"' in board.text


async def test_a_refused_question_files_neither_a_dispute_nor_a_request(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_finance_team(db, people)
    agent = await people.make(Role.agent)
    await a_question_from_the_earnings_page(client, db, site, agent)
    period = await periods.period_for(db, site=site, day=DAY)

    for comment in ("", "Still 14"):  # an empty comment (422), the same line again (409)
        answer = await post_form(
            client, "/app/earnings/disputes", {"period": str(period.id), "ref": OPEN_REF, "comment": comment}
        )
        assert answer.status_code in {409, 422}
    assert await db.scalar(select(func.count()).select_from(Dispute)) == 1
    assert await db.scalar(select(func.count()).select_from(Request)) == 1


@pytest.mark.parametrize(
    ("action", "form", "status", "cause"),
    [
        ("adjust", {"amount": "1.60", "reason": "Two calls were missed"}, DisputeStatus.adjusted, "pay_error"),
        ("reject", {"reason": "Two calls were missed"}, DisputeStatus.rejected, "no_fault"),
    ],
)
async def test_resolving_on_the_pay_disputes_page_resolves_the_request_and_tells_the_agent_once(
    client: httpx.AsyncClient,
    db: AsyncSession,
    site: Site,
    people: Factory,
    action: str,
    form: dict[str, str],
    status: DisputeStatus,
    cause: str,
) -> None:
    _team, finance = await a_finance_team(db, people)
    agent = await people.make(Role.agent)
    dispute, request = await a_question_from_the_earnings_page(client, db, site, agent)
    await login(client, finance.email)

    answer = await post_form(client, f"/admin/pay/disputes/{dispute.id}/{action}", form)

    assert answer.status_code == 303
    await db.refresh(dispute)
    await db.refresh(request)
    assert dispute.status == status
    assert (request.status, request.root_cause, request.resolution, request.owner_id) == (
        RequestStatus.resolved,
        cause,
        "Two calls were missed",
        finance.id,
    )
    assert request.resolved_at == dispute.resolved_at
    assert (await events_of(db, request))[-1] == EventKind.resolved
    assert await notes_to(db, agent) == 1
    assert await notes_to(db, agent, Kind.pay_dispute) == 1

    again = await post_form(client, f"/admin/pay/disputes/{dispute.id}/reject", {"reason": "Again"})
    assert again.status_code == 409
    assert await notes_to(db, agent) == 1


async def test_resolving_through_the_request_settles_the_dispute(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    _team, finance = await a_finance_team(db, people)
    agent = await people.make(Role.agent)
    dispute, request = await a_question_from_the_earnings_page(client, db, site, agent)

    await actions.resolve_dispute(
        db,
        request_id=request.id,
        actor=finance,
        action="adjust",
        amount_minor=160,
        reason="Two calls were missed",
        now=utcnow(),
    )
    await db.commit()

    await db.refresh(dispute)
    assert (dispute.status, dispute.resolved_by_id, dispute.resolution) == (
        DisputeStatus.adjusted,
        finance.id,
        "Two calls were missed",
    )
    adjustment = await db.get(Adjustment, dispute.adjustment_id)
    assert adjustment is not None
    assert (adjustment.user_id, adjustment.amount_minor) == (agent.id, 160)
    await db.refresh(request)
    assert (request.status, request.root_cause) == (RequestStatus.resolved, "pay_error")
    assert await notes_to(db, agent) == 1

    await login(client, finance.email)
    board = await client.get("/admin/pay/disputes/")
    assert f'id="dispute-{dispute.id}"' not in board.text  # no longer open
    stale = await post_form(client, f"/admin/pay/disputes/{dispute.id}/reject", {"reason": "Late"})
    assert stale.status_code == 409

    await login(client, agent.email)
    tab = await client.get("/app/earnings")
    assert "Answer: Two calls were missed" in tab.text
    assert f'href="/app/requests/{request.id}"' in tab.text
