"""The staff's request pages: queues sorted by time left, team tabs by membership, the site queue and the
bounce-flagged list for coordinators, the work page and each of its forms, files, and the settings pages."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.accounts.site_settings import site_settings
from backend.core.errors import Forbidden, NotFound
from backend.pay.models import DisputeStatus
from backend.requests import attachments, history, queues
from backend.requests.models import (
    Consultation,
    EventKind,
    IdeaOutcome,
    Priority,
    Request,
    RequestEvent,
    RequestKind,
    RequestStatus,
    RequestTarget,
    RequestTeam,
    Responsibility,
    RoutingRule,
    TeamMember,
)
from tests.conftest import Factory, login, post_form
from tests.factories import an_open_shift
from tests.integration.test_requests_disputes import a_finance_team, a_question_from_the_earnings_page

NOW = dt.datetime(2030, 3, 4, 2, 0, tzinfo=dt.UTC)  # Monday 4 March 2030, 10:00 in Shanghai
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def a_working_monday(time_machine: time_machine.TimeMachineFixture) -> None:
    time_machine.move_to(NOW, tick=True)


async def a_team(db: AsyncSession, site: Site, name: str, *members: User) -> RequestTeam:
    team = RequestTeam(site_id=site.id, name=name, name_zh="", created_at=NOW)
    db.add(team)
    await db.flush()
    db.add_all(TeamMember(team_id=team.id, user_id=member.id) for member in members)
    await db.commit()
    return team


async def a_request(
    db: AsyncSession,
    asker: User,
    *,
    title: str = "The app logs me out",
    kind: RequestKind = RequestKind.other,
    team: RequestTeam | None = None,
    owner: User | None = None,
    due_in_minutes: int | None = 240,
    status: RequestStatus | None = None,
    created_at: dt.datetime = NOW,
    flagged: bool = False,
) -> Request:
    """A request as intake leaves it, its clock's next due instant ``due_in_minutes`` from now (None: no clock)."""
    request = Request(
        site_id=asker.site_id,
        kind=kind,
        asker_id=asker.id,
        title=title,
        details="Every time I open My schedule",
        team_id=team.id if team else None,
        owner_id=owner.id if owner else None,
        status=status or (RequestStatus.in_progress if owner else RequestStatus.queued),
        priority=Priority.normal,
        created_at=created_at,
        updated_at=created_at,
        response_due_at=None if due_in_minutes is None else NOW + dt.timedelta(minutes=due_in_minutes),
        bounce_flagged_at=NOW if flagged else None,
    )
    db.add(request)
    await db.flush()
    await history.record(db, request, EventKind.raised, at=created_at, actor_id=asker.id)
    await db.commit()
    return request


async def count(db: AsyncSession, model: type) -> int:
    return await db.scalar(select(func.count()).select_from(model)) or 0


# Queues -----------------------------------------------------------------------------------------------------


async def test_a_queue_is_sorted_by_time_left_with_paused_requests_last(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, finance = await people.make(Role.agent), await people.make(Role.finance)
    team = await a_team(db, site, "Finance", finance)
    later = await a_request(db, agent, title="later", team=team, due_in_minutes=300)
    paused = await a_request(db, agent, title="paused", team=team, due_in_minutes=None, status=RequestStatus.waiting)
    over = await a_request(db, agent, title="over", team=team, due_in_minutes=-30)
    soon = await a_request(db, agent, title="soon", team=team, due_in_minutes=20)
    old_unclocked = await a_request(
        db, agent, title="no clock", team=team, due_in_minutes=None, created_at=NOW - dt.timedelta(days=1)
    )
    await a_request(db, agent, title="closed", team=team, status=RequestStatus.closed)

    found = await queues.queue(db, staff=finance, team_id=team.id, now=NOW)

    assert [row.id for row in found.rows] == [over.id, soon.id, later.id, old_unclocked.id, paused.id]
    assert [row.breached for row in found.rows] == [True, False, False, False, False]
    assert found.rows[0].left_minutes == -30
    assert found.rows[1].left_minutes == 20
    assert found.rows[-1].paused
    assert found.rows[-1].left_minutes is None
    assert not found.has_more


async def test_finance_reads_only_their_teams_queues(db: AsyncSession, site: Site, people: Factory) -> None:
    agent, finance, coordinator = (
        await people.make(Role.agent),
        await people.make(Role.finance),
        await people.make(Role.coordinator),
    )
    mine, other = await a_team(db, site, "Finance", finance), await a_team(db, site, "Systems")
    await a_request(db, agent, team=other)

    with pytest.raises(NotFound):
        await queues.queue(db, staff=finance, team_id=other.id, now=NOW)
    with pytest.raises(Forbidden):
        await queues.queue(db, staff=finance, now=NOW)  # the site queue
    assert [tab.key for tab in await queues.tabs_for(db, staff=finance)] == ["mine", f"team:{mine.id}", "pay"]
    pay = await a_request(db, agent, kind=RequestKind.pay, team=other, owner=coordinator)
    assert [row.id for row in (await queues.queue(db, staff=finance, kind=RequestKind.pay, now=NOW)).rows] == [pay.id]
    with pytest.raises(Forbidden):
        await queues.queue(db, staff=finance, kind=RequestKind.system, now=NOW)
    with pytest.raises(Forbidden):
        await queues.queue(db, staff=finance, owner_id=coordinator.id, now=NOW)
    owned = await queues.queue(db, staff=coordinator, owner_id=coordinator.id, now=NOW)
    assert [row.id for row in owned.rows] == [pay.id]
    assert [tab.key for tab in await queues.tabs_for(db, staff=coordinator)] == [
        "mine",
        f"team:{mine.id}",
        f"team:{other.id}",
        "site",
        "flagged",
    ]
    assert len((await queues.queue(db, staff=coordinator, team_id=other.id, now=NOW)).rows) == 2


async def test_the_queue_page_shows_tabs_for_the_viewers_teams(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, finance = await people.make(Role.agent, display_name="Ann Asker"), await people.make(Role.finance)
    mine, other = await a_team(db, site, "Payroll", finance), await a_team(db, site, "Systems")
    await a_request(db, agent, title="Missing night bonus", team=mine, due_in_minutes=90)
    await a_request(db, agent, title="Screen freezes", team=other)
    await login(client, finance.email)

    page = await client.get("/admin/requests", params={"view": f"team:{mine.id}"})
    assert page.status_code == 200
    assert "Payroll (1)" in page.text
    assert "Systems" not in page.text
    assert "Missing night bonus" in page.text
    assert "asked by Ann Asker" in page.text
    assert "1 h 30 min left" in page.text
    assert (await client.get("/admin/requests", params={"view": f"team:{other.id}"})).status_code == 404
    assert (await client.get("/admin/requests", params={"view": "site"})).status_code == 403
    assert (await client.get("/admin/requests", params={"view": "flagged"})).status_code == 403
    assert (await client.get("/admin/requests", params={"view": "nonsense"})).status_code == 422


async def test_coordinators_see_the_site_queue_and_the_bounce_flagged_list(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, coordinator = await people.make(Role.agent), await people.make(Role.coordinator)
    team = await a_team(db, site, "Scheduling")
    await a_request(db, agent, title="Nobody routes me")
    await a_request(db, agent, title="Ping pong", team=team, flagged=True)
    await login(client, coordinator.email)

    site_queue = await client.get("/admin/requests", params={"view": "site"})
    assert site_queue.status_code == 200
    assert "Nobody routes me" in site_queue.text
    assert "Ping pong" not in site_queue.text
    flagged = await client.get("/admin/requests", params={"view": "flagged"})
    assert "Ping pong" in flagged.text
    assert "Bounced between teams" in flagged.text
    assert "Nobody routes me" not in flagged.text


async def test_agents_are_refused_every_staff_page(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    request = await a_request(db, agent)
    await login(client, agent.email)
    for path in ["/admin/requests", "/admin/requests/new", f"/admin/requests/{request.id}", "/admin/requests/settings"]:
        assert (await client.get(path)).status_code == 403, path
    assert (await post_form(client, f"/admin/requests/{request.id}/take", {})).status_code == 403


# The work page ----------------------------------------------------------------------------------------------


async def test_the_work_page_shows_the_clock_history_and_marks_internal_entries(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, coordinator = await people.make(Role.agent, display_name="Ann Asker"), await people.make(Role.coordinator)
    request = await a_request(db, agent, title="Locked out", kind=RequestKind.schedule)
    shift = await an_open_shift(db, site, start=NOW + dt.timedelta(days=1), now=NOW)
    request.shift_id = shift.id
    await history.record(
        db, request, EventKind.noted, at=NOW, actor_id=coordinator.id, body="Checked SSO", internal=True
    )
    await db.commit()
    await login(client, coordinator.email)

    page = await client.get(f"/admin/requests/{request.id}")
    assert page.status_code == 200
    assert "Locked out" in page.text
    assert "Every time I open My schedule" in page.text
    assert 'id="request-clock"' in page.text
    assert 'id="request-history"' in page.text
    assert "Billing" in page.text  # the shift's skill
    assert "Checked SSO" in page.text
    assert "Staff only" in page.text
    assert f'action="/admin/requests/{request.id}/take"' in page.text


async def test_another_sites_request_is_not_found(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    elsewhere = await accounts.ensure_site(db, name="Other Centre", timezone="Asia/Shanghai", country="CN")
    stranger = await people.make(Role.agent, site=elsewhere)
    request = await a_request(db, stranger)
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    assert (await client.get(f"/admin/requests/{request.id}")).status_code == 404
    answer = await post_form(client, f"/admin/requests/{request.id}/answer", {"body": "Hello"})
    assert answer.status_code == 404


async def test_finance_cannot_open_a_request_of_a_team_they_are_not_in(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, finance = await people.make(Role.agent), await people.make(Role.finance)
    request = await a_request(db, agent, team=await a_team(db, site, "Systems"))
    await login(client, finance.email)
    assert (await client.get(f"/admin/requests/{request.id}")).status_code == 404


async def test_each_action_form_works_and_a_refusal_is_shown_beside_its_form(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    coordinator, finance = await people.make(Role.coordinator), await people.make(Role.finance, display_name="Fay")
    scheduling = await a_team(db, site, "Scheduling", coordinator)
    payroll = await a_team(db, site, "Payroll", finance)
    request = await a_request(db, agent, team=scheduling)
    await login(client, coordinator.email)
    base = f"/admin/requests/{request.id}"

    refused = await post_form(client, f"{base}/answer", {"body": "  "})
    assert refused.status_code == 422
    assert 'id="e-answer-body"' in refused.text
    assert "Write something first." in refused.text

    steps = [
        ("take", {}),
        ("answer", {"body": "Try signing out and in."}),
        ("note", {"body": "Probably the SSO cookie"}),
        ("ask", {"body": "Which phone?", "reason": "more_information"}),
        ("priority", {"priority": "high", "reason": "Many agents affected"}),
        ("consult", {"user": str(finance.id), "question": "Is pay affected?"}),
    ]
    for action, form in steps:
        done = await post_form(client, f"{base}/{action}", form)
        assert (done.status_code, done.headers.get("location")) == (303, base), (action, done.text[:3000])

    await db.refresh(request)
    assert (request.status, request.owner_id, request.priority) == (
        RequestStatus.waiting,
        coordinator.id,
        Priority.high,
    )
    assert request.first_response_at is not None

    bad_priority = await post_form(client, f"{base}/priority", {"priority": "sometimes", "reason": "x"})
    assert bad_priority.status_code == 422
    assert 'id="e-priority-priority"' in bad_priority.text

    consultation = await db.scalar(select(Consultation).where(Consultation.request_id == request.id))
    assert consultation is not None
    await login(client, finance.email)
    consult_page = await client.get(base)
    assert consult_page.status_code == 200
    assert "Is pay affected?" in consult_page.text
    answered = await post_form(
        client, f"{base}/consult-answer", {"consultation": str(consultation.id), "answer": "No, it is not."}
    )
    assert answered.status_code == 303

    await login(client, coordinator.email)
    no_note = await post_form(client, f"{base}/hand-over", {"team": str(payroll.id), "note": ""})
    assert no_note.status_code == 422
    assert 'id="e-hand-over-note"' in no_note.text
    handed = await post_form(client, f"{base}/hand-over", {"team": str(payroll.id), "note": "Pay question after all"})
    assert handed.status_code == 303
    no_cause = await post_form(client, f"{base}/resolve", {"root_cause": "", "resolution": "Fixed"})
    assert no_cause.status_code == 422
    assert 'id="e-resolve-root_cause"' in no_cause.text
    resolved = await post_form(client, f"{base}/resolve", {"root_cause": "system_fault", "resolution": "Fixed the SSO"})
    assert resolved.status_code == 303

    await db.refresh(request)
    assert (request.status, request.team_id, request.root_cause) == (RequestStatus.resolved, payroll.id, "system_fault")
    kinds = set(await db.scalars(select(RequestEvent.kind).where(RequestEvent.request_id == request.id)))
    assert {
        EventKind.taken,
        EventKind.answered,
        EventKind.noted,
        EventKind.asked_asker,
        EventKind.priority_raised,
        EventKind.consulted,
        EventKind.consult_answered,
        EventKind.handed_over,
        EventKind.resolved,
    } <= kinds


async def test_htmx_gets_the_work_page_back_with_the_refusal_in_place(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, coordinator = await people.make(Role.agent), await people.make(Role.coordinator)
    request = await a_request(db, agent)
    await login(client, coordinator.email)
    token = client.cookies.get("weft_csrf")
    answer = await client.post(
        f"/admin/requests/{request.id}/note",
        data={"body": "", "_csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200
    assert 'id="request-work"' in answer.text
    assert 'id="e-note-body"' in answer.text


async def test_an_idea_gets_its_outcome_from_the_work_page(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, coordinator = await people.make(Role.agent), await people.make(Role.coordinator)
    idea = await a_request(db, agent, kind=RequestKind.idea, title="A dark theme")
    await login(client, coordinator.email)
    page = await client.get(f"/admin/requests/{idea.id}")
    assert f'action="/admin/requests/{idea.id}/outcome"' in page.text
    refused = await post_form(client, f"/admin/requests/{idea.id}/outcome", {"outcome": "declined", "note": ""})
    assert refused.status_code == 422
    assert 'id="e-outcome-note"' in refused.text
    done = await post_form(client, f"/admin/requests/{idea.id}/outcome", {"outcome": "planned", "note": ""})
    assert done.status_code == 303
    await db.refresh(idea)
    assert idea.idea_outcome == IdeaOutcome.planned


async def test_files_are_served_as_downloads_to_those_who_may_see_the_request(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, coordinator = await people.make(Role.agent), await people.make(Role.coordinator)
    finance = await people.make(Role.finance)
    request = await a_request(db, agent, kind=RequestKind.system, team=await a_team(db, site, "Systems"))
    stored = await attachments.store(db, request=request, uploader=agent, filename="screen.png", data=PNG, now=NOW)
    await db.commit()
    path = f"/admin/requests/{request.id}/files/{stored.id}"

    await login(client, coordinator.email)
    assert path in (await client.get(f"/admin/requests/{request.id}")).text
    served = await client.get(path)
    assert served.status_code == 200
    assert served.content == PNG
    assert served.headers["content-disposition"].startswith("attachment;")
    assert served.headers["x-content-type-options"] == "nosniff"
    assert (await client.get(f"/admin/requests/{request.id}/files/{stored.id + 1}")).status_code == 404

    await login(client, finance.email)
    assert (await client.get(path)).status_code == 404


# Raising as staff ------------------------------------------------------------------------------------------


async def test_staff_raise_a_request_from_the_admin_form(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    finance = await people.make(Role.finance)
    await login(client, finance.email)
    picker = await client.get("/admin/requests/new")
    assert picker.status_code == 200
    assert "/admin/requests/new?kind=system" in picker.text
    assert (await client.get("/admin/requests/new", params={"kind": "system"})).status_code == 200

    refused = await post_form(client, "/admin/requests", {"kind": "system", "title": "", "details": "It crashed"})
    assert refused.status_code == 422
    raised = await post_form(
        client, "/admin/requests", {"kind": "system", "title": "Export crashes", "details": "The CSV export fails"}
    )
    assert raised.status_code == 303
    made = await db.scalar(select(Request).where(Request.asker_id == finance.id))
    assert made is not None
    assert raised.headers["location"] == f"/admin/requests/{made.id}"


# Settings ---------------------------------------------------------------------------------------------------


async def test_coordinators_set_teams_rules_the_matrix_targets_and_hours(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator, finance = await people.make(Role.coordinator), await people.make(Role.finance)
    skill = await accounts.ensure_skill(db, site=site, code="billing", name="Billing")
    await db.commit()
    await login(client, coordinator.email)
    settings = "/admin/requests/settings"
    assert (await client.get(settings)).status_code == 200

    made = await post_form(client, f"{settings}/teams", {"name": "Payroll", "name_zh": "薪资", "calendar": "business"})
    assert made.status_code == 303
    team = await db.scalar(select(RequestTeam).where(RequestTeam.site_id == site.id, RequestTeam.name == "Payroll"))
    assert team is not None
    assert team.name_zh == "薪资"
    nameless = await post_form(client, f"{settings}/teams", {"name": ""})
    assert nameless.status_code == 422
    assert "Give the team a name." in nameless.text

    assert (
        await post_form(client, f"{settings}/teams/{team.id}/members", {"user": str(finance.id)})
    ).status_code == 303
    rule = {"kind": "pay", "skill": str(skill.id), "team": str(team.id), "owner": str(finance.id)}
    assert (await post_form(client, f"{settings}/rules", rule)).status_code == 303
    cell = {"kind": "pay", "involvement": "informed", "user": str(coordinator.id)}
    assert (await post_form(client, f"{settings}/matrix", cell)).status_code == 303
    target = {"kind": "pay", "priority": "high", "first_response_minutes": "30", "resolution_minutes": "240"}
    assert (await post_form(client, f"{settings}/targets", target)).status_code == 303
    backwards = {**target, "resolution_minutes": "10"}
    refused = await post_form(client, f"{settings}/targets", backwards)
    assert refused.status_code == 422
    assert "The resolution target cannot be shorter" in refused.text
    hours = {
        "hours_open": "08:30",
        "hours_close": "17:30",
        "warn_percent": "80",
        "bounce_limit": "2",
        "confirm_days": "7",
        "root_causes": "pay_error\nno_fault\nBank delay",
    }
    token = client.cookies.get("weft_csrf")
    saved = await client.post(
        f"{settings}/hours",
        content=httpx.QueryParams({**hours, "_csrf_token": token}).__str__() + "&days=0&days=1&days=5",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert saved.status_code == 303
    no_days = await post_form(client, f"{settings}/hours", hours)
    assert no_days.status_code == 422

    await db.refresh(site)
    stored = site_settings(site)
    assert (stored.request_hours_open, stored.request_hours_close, stored.request_working_days) == (
        "08:30",
        "17:30",
        [0, 1, 5],
    )
    assert (stored.request_warn_share, stored.request_bounce_limit, stored.request_confirm_days) == (0.8, 2, 7)
    assert stored.request_root_causes == ["pay_error", "no_fault", "Bank delay"]
    assert await count(db, TeamMember) == 1
    assert await count(db, RoutingRule) == 1
    assert await count(db, Responsibility) == 1
    assert await count(db, RequestTarget) == 1
    page = await client.get(settings)
    assert "Payroll" in page.text
    assert "Bank delay" in page.text


async def test_finance_reads_the_settings_but_may_not_change_them(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    finance = await people.make(Role.finance)
    team = await a_team(db, site, "Payroll", finance)
    await login(client, finance.email)
    page = await client.get("/admin/requests/settings")
    assert page.status_code == 200
    assert "Payroll" in page.text
    settings = "/admin/requests/settings"
    for path, form in [
        (f"{settings}/teams", {"name": "Mine now"}),
        (f"{settings}/teams/{team.id}", {"name": "Renamed"}),
        (f"{settings}/teams/{team.id}/archive", {}),
        (f"{settings}/teams/{team.id}/members", {"user": str(finance.id)}),
        (f"{settings}/teams/{team.id}/members/{finance.id}/remove", {}),
        (f"{settings}/rules", {"kind": "pay", "team": str(team.id)}),
        (f"{settings}/rules/1/delete", {}),
        (f"{settings}/matrix", {"kind": "pay", "involvement": "acts", "team": str(team.id)}),
        (f"{settings}/matrix/1/remove", {}),
        (f"{settings}/targets", {"kind": "pay", "priority": "low", "first_response_minutes": "1"}),
        (f"{settings}/hours", {"hours_open": "07:00"}),
    ]:
        assert (await post_form(client, path, form)).status_code == 403, path
    assert await count(db, RequestTeam) == 1


async def test_pages_render_in_chinese(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    coordinator = await people.make(Role.coordinator, locale="zh-Hans")
    request = await a_request(db, agent, team=await a_team(db, site, "Payroll"))
    await login(client, coordinator.email)
    for path in [
        "/admin/requests",
        f"/admin/requests?view=team:{request.team_id}",
        "/admin/requests/new",
        "/admin/requests/new?kind=idea",
        f"/admin/requests/{request.id}",
        "/admin/requests/settings",
    ]:
        page = await client.get(path)
        assert page.status_code == 200, path
        assert 'lang="zh-Hans"' in page.text, path


async def test_a_pay_request_with_a_dispute_is_settled_from_its_work_page(
    client: httpx.AsyncClient,
    db: AsyncSession,
    site: Site,
    people: Factory,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 10, 4, 0, tzinfo=dt.UTC), tick=True)  # the disputes' worked week
    _team, finance = await a_finance_team(db, people)
    agent = await people.make(Role.agent)
    dispute, request = await a_question_from_the_earnings_page(client, db, site, agent)
    await login(client, finance.email)
    base = f"/admin/requests/{request.id}"

    page = await client.get(base)
    assert f'action="{base}/dispute-adjust"' in page.text
    assert f'action="{base}/dispute-reject"' in page.text
    assert f'action="{base}/resolve"' not in page.text
    no_amount = await post_form(client, f"{base}/dispute-adjust", {"amount": "", "reason": "Two calls missed"})
    assert no_amount.status_code == 422
    assert 'id="e-dispute-adjust-amount"' in no_amount.text
    adjusted = await post_form(client, f"{base}/dispute-adjust", {"amount": "1.60", "reason": "Two calls missed"})
    assert adjusted.status_code == 303

    await db.refresh(dispute)
    await db.refresh(request)
    assert dispute.status == DisputeStatus.adjusted
    assert (request.status, request.root_cause) == (RequestStatus.resolved, "pay_error")


async def test_a_refusal_for_a_form_the_page_no_longer_shows_is_shown_at_the_top(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, coordinator = await people.make(Role.agent), await people.make(Role.coordinator)
    request = await a_request(db, agent, status=RequestStatus.closed, due_in_minutes=None)
    await login(client, coordinator.email)
    page = await client.get(f"/admin/requests/{request.id}")
    assert f'action="/admin/requests/{request.id}/answer"' not in page.text
    refused = await post_form(client, f"/admin/requests/{request.id}/answer", {"body": "Late answer"})
    assert refused.status_code in {409, 422}
    assert '<p class="alert" role="alert">' in refused.text.split('id="request-work"', 1)[1]
