"""Requests: routing rules (the skill's rule before the any-skill rule, no rule the site's queue, an owner named by
the rule), the responsibility matrix (consulted people asked inside the request, informed people told), the
settings' rules, and who sees and acts on a request."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.core.errors import DomainError, Forbidden, NotFound
from backend.notify.models import Kind, Notification
from backend.requests import access, intake, routing
from backend.requests.models import (
    Calendar,
    Consultation,
    EventKind,
    Involvement,
    Request,
    RequestEvent,
    RequestKind,
    RequestStatus,
    RequestTeam,
    RoutingRule,
)
from backend.requests.schemas import RequestDraft
from tests.conftest import Factory
from tests.factories import a_held_shift, a_skill

NOW = dt.datetime(2030, 3, 4, 2, 0, tzinfo=dt.UTC)  # Monday 4 March 2030, 10:00 in Shanghai
SHIFT_START = NOW + dt.timedelta(days=3)  # far enough for the kind's own priority


async def a_team(db: AsyncSession, coordinator: User, name: str, members: tuple[User, ...] = ()) -> RequestTeam:
    team = await routing.create_team(
        db, staff=coordinator, name=name, name_zh="", calendar=Calendar.business, lead_id=None, now=NOW
    )
    for member in members:
        await routing.add_member(db, staff=coordinator, team_id=team.id, user_id=member.id)
    await db.commit()
    return team


def an_idea(title: str = "A quieter break room") -> RequestDraft:
    return RequestDraft(kind=RequestKind.idea, title=title, details="The break room is loud at noon.")


def something_else() -> RequestDraft:
    return RequestDraft(kind=RequestKind.other, title="My badge", details="My badge stopped opening the door.")


async def told(db: AsyncSession, user: User, message: str) -> int:
    rows = await db.scalars(select(Notification).where(Notification.user_id == user.id))
    return sum(1 for row in rows if (row.values or {}).get("message") == message)


# Routing ----------------------------------------------------------------------------------------------------


async def test_the_rule_for_the_shifts_skill_wins_over_the_rule_for_any_skill(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    scheduler, billing_lead = await people.make(Role.coordinator), await people.make(Role.coordinator)
    agent = await people.make(Role.agent)
    scheduling = await a_team(db, coordinator, "Scheduling", (scheduler,))
    billing_desk = await a_team(db, coordinator, "Billing desk", (billing_lead,))
    billing, sales = await a_skill(db, site, "billing"), await a_skill(db, site, "sales")
    await routing.set_rule(db, staff=coordinator, kind=RequestKind.schedule, skill_id=None, team_id=scheduling.id)
    await routing.set_rule(
        db, staff=coordinator, kind=RequestKind.schedule, skill_id=billing.id, team_id=billing_desk.id
    )
    await db.commit()

    billing_shift = await a_held_shift(db, agent, SHIFT_START, skill=billing)
    sales_shift = await a_held_shift(db, agent, SHIFT_START + dt.timedelta(days=1), skill=sales)
    on_billing = await intake.raise_request(
        db,
        asker=agent,
        draft=RequestDraft(kind=RequestKind.schedule, title="Swap", details="I need a swap.", shift=billing_shift.id),
        now=NOW,
    )
    on_sales = await intake.raise_request(
        db,
        asker=agent,
        draft=RequestDraft(kind=RequestKind.schedule, title="Swap", details="I need a swap.", shift=sales_shift.id),
        now=NOW,
    )
    await db.commit()

    assert (on_billing.skill_id, on_billing.team_id, on_billing.owner_id) == (billing.id, billing_desk.id, None)
    assert (on_sales.skill_id, on_sales.team_id, on_sales.status) == (sales.id, scheduling.id, RequestStatus.queued)
    # The team's members hear of it; the other team does not.
    assert await told(db, billing_lead, "request_new") == 1
    assert await told(db, scheduler, "request_new") == 1
    routed = await db.scalar(
        select(RequestEvent).where(RequestEvent.request_id == on_billing.id, RequestEvent.kind == EventKind.routed)
    )
    assert routed is not None
    assert routed.to_team_id == billing_desk.id


async def test_an_owner_named_by_the_rule_holds_the_request_at_once(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator, owner, other = [await people.make(Role.coordinator) for _ in range(3)]
    agent = await people.make(Role.agent)
    systems = await a_team(db, coordinator, "Systems", (owner, other))
    await routing.set_rule(db, staff=coordinator, kind=RequestKind.other, team_id=systems.id, owner_id=owner.id)
    await db.commit()

    request = await intake.raise_request(db, asker=agent, draft=something_else(), now=NOW)
    await db.commit()

    assert (request.team_id, request.owner_id, request.status) == (systems.id, owner.id, RequestStatus.in_progress)
    assert await told(db, owner, "request_new") == 1
    assert await told(db, other, "request_new") == 0  # the owner holds it, not the whole team


async def test_no_rule_sends_the_request_to_the_sites_queue_and_tells_the_coordinators(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    finance = await people.make(Role.finance)
    agent = await people.make(Role.agent)

    request = await intake.raise_request(db, asker=agent, draft=something_else(), now=NOW)
    await db.commit()

    assert (request.team_id, request.owner_id, request.status) == (None, None, RequestStatus.queued)
    assert await told(db, coordinator, "request_new") == 1
    assert await told(db, finance, "request_new") == 0
    notice = await db.scalar(select(Notification).where(Notification.user_id == coordinator.id))
    assert notice is not None
    assert notice.kind == Kind.staff_request
    assert notice.url == f"/admin/requests/{request.id}"
    kinds = list(await db.scalars(select(RequestEvent.kind).where(RequestEvent.request_id == request.id)))
    assert EventKind.raised in kinds
    assert EventKind.routed not in kinds


async def test_an_archived_teams_rule_is_passed_over(db: AsyncSession, site: Site, people: Factory) -> None:
    coordinator = await people.make(Role.coordinator)
    agent = await people.make(Role.agent)
    team = await a_team(db, coordinator, "Old desk", (coordinator,))
    await routing.set_rule(db, staff=coordinator, kind=RequestKind.other, team_id=team.id)
    await routing.archive_team(db, staff=coordinator, team_id=team.id, now=NOW)
    await db.commit()

    request = await intake.raise_request(db, asker=agent, draft=something_else(), now=NOW)
    assert request.team_id is None
    assert await routing.teams_of_site(db, site.id) == []
    assert [view.name for view in await routing.teams_of_site(db, site.id, archived=True)] == ["Old desk"]


# The settings' rules --------------------------------------------------------------------------------------


async def test_a_rule_is_replaced_for_its_kind_and_skill_and_its_owner_must_be_a_member(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator, outsider = await people.make(Role.coordinator), await people.make(Role.coordinator)
    first = await a_team(db, coordinator, "First", (coordinator,))
    second = await a_team(db, coordinator, "Second", (coordinator,))
    await routing.set_rule(db, staff=coordinator, kind=RequestKind.pay, team_id=first.id)
    await routing.set_rule(db, staff=coordinator, kind=RequestKind.pay, team_id=second.id, owner_id=coordinator.id)
    await db.commit()

    rules = await routing.rules_of_site(db, site.id)
    assert [(rule.kind, rule.team_name, rule.owner_name) for rule in rules] == [
        (RequestKind.pay, "Second", coordinator.display_name)
    ]
    with pytest.raises(DomainError) as refused:
        await routing.set_rule(db, staff=coordinator, kind=RequestKind.pay, team_id=first.id, owner_id=outsider.id)
    assert refused.value.field == "owner"

    # Off the team, the person no longer owns what the rule sends.
    await routing.remove_member(db, staff=coordinator, team_id=second.id, user_id=coordinator.id)
    rule = await db.scalar(select(RoutingRule).where(RoutingRule.site_id == site.id))
    assert rule is not None
    assert rule.owner_id is None


async def test_only_coordinators_change_the_settings_and_another_sites_team_is_refused(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    finance = await people.make(Role.finance)
    agent = await people.make(Role.agent)
    other_site = await accounts.ensure_site(db, name="Other Centre", timezone="Asia/Shanghai", country="CN")
    elsewhere = await people.make(Role.coordinator, site=other_site)
    team = await a_team(db, coordinator, "Finance", (finance,))

    with pytest.raises(Forbidden):
        await routing.create_team(db, staff=finance, name="Mine", now=NOW)
    with pytest.raises(Forbidden):
        await routing.set_rule(db, staff=finance, kind=RequestKind.pay, team_id=team.id)
    with pytest.raises(DomainError) as refused:
        await routing.set_rule(db, staff=elsewhere, kind=RequestKind.pay, team_id=team.id)
    assert refused.value.field == "team"
    with pytest.raises(NotFound):  # a team named by the address: not found on another site
        await routing.add_member(db, staff=elsewhere, team_id=team.id, user_id=elsewhere.id)
    with pytest.raises(DomainError) as refused:
        await routing.add_member(db, staff=coordinator, team_id=team.id, user_id=agent.id)
    assert refused.value.field == "user"
    with pytest.raises(DomainError) as refused:
        await routing.create_team(db, staff=coordinator, name="Finance", now=NOW)
    assert refused.value.field == "name"
    # Finance may read.
    views = await routing.teams_of_site(db, site.id)
    assert [(view.name, [member.user_id for member in view.members]) for view in views] == [("Finance", [finance.id])]
    assert await routing.team_ids_of(db, finance.id) == {team.id}


# The responsibility matrix --------------------------------------------------------------------------------


async def test_consulted_people_are_asked_inside_the_request_and_informed_people_are_told(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    trainer, reviewer = await people.make(Role.coordinator), await people.make(Role.coordinator)
    payroll = await people.make(Role.finance)
    agent = await people.make(Role.agent)
    training = await a_team(db, coordinator, "Training", (trainer,))
    await routing.set_responsibility(
        db, staff=coordinator, kind=RequestKind.idea, involvement=Involvement.consulted, team_id=training.id
    )
    await routing.set_responsibility(
        db, staff=coordinator, kind=RequestKind.idea, involvement=Involvement.consulted, user_id=reviewer.id
    )
    await routing.set_responsibility(
        db, staff=coordinator, kind=RequestKind.idea, involvement=Involvement.informed, user_id=payroll.id
    )
    await routing.set_responsibility(  # named again: one cell
        db, staff=coordinator, kind=RequestKind.idea, involvement=Involvement.informed, user_id=payroll.id
    )
    await db.commit()

    matrix = await routing.matrix_of_site(db, site.id)
    assert sorted(matrix[RequestKind.idea][Involvement.consulted]) == sorted(["Training", reviewer.display_name])
    assert matrix[RequestKind.idea][Involvement.informed] == [payroll.display_name]
    assert matrix[RequestKind.pay][Involvement.acts] == []
    assert await routing.matrix_people(db, site.id, RequestKind.idea, Involvement.consulted) == {
        trainer.id,
        reviewer.id,
    }

    request = await intake.raise_request(db, asker=agent, draft=an_idea(), now=NOW)
    await db.commit()

    consulted = set(await db.scalars(select(Consultation.user_id).where(Consultation.request_id == request.id)))
    assert consulted == {trainer.id, reviewer.id}
    assert await told(db, trainer, "request_consulted") == 1
    assert await told(db, reviewer, "request_consulted") == 1
    assert await told(db, payroll, "request_informed") == 1
    events = list(await db.scalars(select(RequestEvent).where(RequestEvent.request_id == request.id)))
    assert sorted(event.to_user_id for event in events if event.kind == EventKind.consulted) == sorted(
        [trainer.id, reviewer.id]
    )
    assert all(event.internal for event in events if event.kind in (EventKind.consulted, EventKind.informed))
    assert [event.values for event in events if event.kind == EventKind.informed] == [{"count": 1}]
    # A consulted person sees the request.
    assert (await access.visible_request(db, request_id=request.id, viewer=reviewer)).id == request.id

    with pytest.raises(DomainError) as refused:
        await routing.set_responsibility(
            db,
            staff=coordinator,
            kind=RequestKind.idea,
            involvement=Involvement.acts,
            team_id=training.id,
            user_id=reviewer.id,
        )
    assert refused.value.field == "team"


# Who sees and acts on a request ---------------------------------------------------------------------------


async def test_an_agent_sees_their_own_requests_and_the_sites_ideas_only(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    asker, colleague = await people.make(Role.agent), await people.make(Role.agent)
    other_site = await accounts.ensure_site(db, name="Other Centre", timezone="Asia/Shanghai", country="CN")
    stranger = await people.make(Role.agent, site=other_site)
    elsewhere = await people.make(Role.coordinator, site=other_site)
    private = await intake.raise_request(db, asker=asker, draft=something_else(), now=NOW)
    idea = await intake.raise_request(db, asker=asker, draft=an_idea(), now=NOW)
    await db.commit()

    assert (await access.visible_request(db, request_id=private.id, viewer=asker)).id == private.id
    with pytest.raises(NotFound):
        await access.visible_request(db, request_id=private.id, viewer=colleague)
    # Ideas are public within the site, read only.
    assert (await access.visible_request(db, request_id=idea.id, viewer=colleague)).id == idea.id
    assert not await access.may_act(db, idea, colleague)
    with pytest.raises(Forbidden):
        await access.ensure_may_act(db, idea, colleague)
    # Another site's request is not found, whoever asks; nor is one that does not exist.
    for viewer in (stranger, elsewhere):
        for request in (private, idea):
            with pytest.raises(NotFound):
                await access.visible_request(db, request_id=request.id, viewer=viewer)
    with pytest.raises(NotFound):
        await access.visible_request(db, request_id=private.id + 1000, viewer=asker)


async def test_finance_sees_pay_requests_and_their_teams_coordinators_see_everything(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    finance, finance_in_team = await people.make(Role.finance), await people.make(Role.finance)
    agent = await people.make(Role.agent)
    desk = await a_team(db, coordinator, "Desk", (finance_in_team,))
    await routing.set_rule(db, staff=coordinator, kind=RequestKind.other, team_id=desk.id)
    await db.commit()
    other = await intake.raise_request(db, asker=agent, draft=something_else(), now=NOW)
    pay = Request(
        site_id=site.id,
        kind=RequestKind.pay,
        asker_id=agent.id,
        title="Pay",
        details="Missing hours.",
        status=RequestStatus.queued,
        priority="normal",
        created_at=NOW,
        updated_at=NOW,
    )
    db.add(pay)
    await db.commit()

    assert access.is_request_staff(finance)
    assert not access.is_request_staff(agent)
    assert await access.may_act(db, pay, finance)
    assert (await access.visible_request(db, request_id=pay.id, viewer=finance)).id == pay.id
    with pytest.raises(NotFound):
        await access.visible_request(db, request_id=other.id, viewer=finance)
    assert await access.may_act(db, other, finance_in_team)
    assert await access.may_act(db, other, coordinator)
    assert await access.may_act(db, pay, coordinator)
    assert not await access.may_act(db, other, agent)
    count = await db.scalar(select(func.count()).select_from(Request).where(Request.site_id == site.id))
    assert count == 2
