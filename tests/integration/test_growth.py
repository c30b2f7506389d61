"""Growth: each agent's matrix, the coordinator's table, and tier promotions approved or declined."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import AuditEntry, Role, Site, Tier, User
from backend.accounts.site_settings import site_settings, update_site_settings
from backend.certifications.service import ADMIN_OVERRIDE, grant_certification, mark_onboarded
from backend.core.db import utcnow
from backend.core.errors import Conflict, NotFound
from backend.core.slots import slot_of, utc_start
from backend.growth import service as growth
from backend.growth.models import PromotionDecision, PromotionSuggestion
from backend.learning.models import Course, CourseVersion, QuizAttempt, VersionStatus
from backend.shifts import attendance, market
from backend.shifts.allocation import ClaimRefused, Why
from backend.shifts.models import Shift
from backend.work.models import WorkKind, WorkRecord
from tests.conftest import login, post_form
from tests.factories import Factory, a_held_shift, a_skill, an_open_shift

HTMX = {"hx-request": "true"}
# A Thursday noon in Shanghai; its ISO week (2026-W50) starts Monday 7 December.
NOW = dt.datetime(2026, 12, 10, 4, 0, tzinfo=dt.UTC)
THIS_MONDAY = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
LAST_MONDAY = THIS_MONDAY - dt.timedelta(days=7)


# The world a test needs -----------------------------------------------------------------------


async def a_worked_shift(db: AsyncSession, agent: User, start: dt.datetime, *, slots: int = 4) -> Shift:
    """A shift ``agent`` held from three days before it, confirmed (through attendance) an hour before it."""
    shift = await a_held_shift(db, agent, start, slots=slots)
    await attendance.confirm_shift(db, shift_id=shift.id, agent=agent, now=start - dt.timedelta(hours=1))
    await db.commit()
    return shift


async def a_no_show(db: AsyncSession, agent: User, coordinator: User, start: dt.datetime) -> Shift:
    shift = await a_worked_shift(db, agent, start)
    await attendance.mark_no_show(
        db, shift_id=shift.id, user_id=agent.id, coordinator=coordinator, now=start + dt.timedelta(hours=1)
    )
    await db.commit()
    return shift


async def quiz_attempts(db: AsyncSession, agent: User, scores: list[tuple[dt.datetime, float]]) -> None:
    """Submitted attempts of one published course, scored ``percent`` at each moment."""
    course = Course(site_id=agent.site_id, code=f"course-{agent.id}-{uuid.uuid4().hex[:6]}")
    db.add(course)
    await db.flush()
    version = CourseVersion(
        course_id=course.id,
        number=1,
        content={},
        title="Billing basics",
        certifies="billing",
        status=VersionStatus.published,
    )
    db.add(version)
    await db.flush()
    for submitted_at, percent in scores:
        db.add(
            QuizAttempt(
                user_id=agent.id,
                course_id=course.id,
                version_id=version.id,
                started_at=submitted_at - dt.timedelta(minutes=5),
                deadline_at=submitted_at + dt.timedelta(minutes=10),
                drawn=[],
                submitted_at=submitted_at,
                answers={},
                score_percent=percent,
                passed=percent >= 80,
                results=[],
            )
        )
    await db.commit()


async def recent_history(db: AsyncSession, agent: User, coordinator: User, *, worked: int, no_shows: int = 0) -> None:
    """Shifts on the days before the real now (one a day, two hours at 10:00 UTC), the no-shows first."""
    today = utcnow().replace(hour=10, minute=0, second=0, microsecond=0)
    for day in range(1, no_shows + worked + 1):
        start = today - dt.timedelta(days=day)
        if day <= no_shows:
            await a_no_show(db, agent, coordinator, start)
        else:
            await a_worked_shift(db, agent, start)


async def ready_for_mid(db: AsyncSession, site: Site, people: Factory, **fields: object) -> tuple[User, User]:
    """A junior agent meeting the site's (lowered) junior-to-mid thresholds, and a coordinator."""
    await update_site_settings(db, site, mid_after_shifts=3, mid_min_reliability=90, mid_min_quiz_percent=75)
    await db.commit()
    coordinator = await people.make(Role.coordinator)
    agent = await people.make(Role.agent, **fields)
    await recent_history(db, agent, coordinator, worked=3)
    await quiz_attempts(db, agent, [(utcnow() - dt.timedelta(days=2), 80.0)])
    return agent, coordinator


async def suggestions_of(db: AsyncSession, agent: User) -> list[PromotionSuggestion]:
    query = select(PromotionSuggestion).where(PromotionSuggestion.user_id == agent.id).order_by(PromotionSuggestion.id)
    return list(await db.scalars(query))


# The matrix ------------------------------------------------------------------------------------


async def test_the_matrix_counts_two_weeks_of_shifts_a_no_show_and_quizzes(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    agent = await people.make(Role.agent)
    await a_worked_shift(db, agent, LAST_MONDAY)  # 2 h
    await a_worked_shift(db, agent, LAST_MONDAY + dt.timedelta(days=1), slots=6)  # 3 h
    await a_worked_shift(db, agent, THIS_MONDAY)  # 2 h
    await a_no_show(db, agent, coordinator, THIS_MONDAY + dt.timedelta(days=1))
    await a_worked_shift(db, agent, NOW + dt.timedelta(days=1))  # not over yet: not counted
    await quiz_attempts(
        db,
        agent,
        [(LAST_MONDAY + dt.timedelta(days=2), 60.0), (THIS_MONDAY, 90.0), (THIS_MONDAY + dt.timedelta(days=1), 80.0)],
    )
    billing = await a_skill(db, site)
    refunds = await a_skill(db, site, "refunds")
    await grant_certification(
        db, user=agent, skill=billing, source=ADMIN_OVERRIDE, expires_at=NOW + dt.timedelta(days=100)
    )
    await grant_certification(
        db, user=agent, skill=refunds, source=ADMIN_OVERRIDE, expires_at=NOW - dt.timedelta(days=1)
    )
    await db.commit()

    matrix = await growth.growth_matrix(db, user=agent, now=NOW)

    assert len(matrix.weeks) == growth.WEEKS_SHOWN
    assert str(matrix.weeks[-1]) == "2026-W50"
    assert matrix.shifts[-2:] == [2, 1]
    assert matrix.shifts[:-2] == [0] * (growth.WEEKS_SHOWN - 2)
    assert matrix.hours[-2:] == [5.0, 2.0]
    assert (matrix.measures.shifts_worked, matrix.measures.hours_worked) == (3, 7.0)
    # Three shifts turned up for, one no-show: 75 now; 100 at the end of last week; nothing counted before.
    assert matrix.reliability_detail.percent == 75
    assert matrix.measures.reliability_percent == 75
    assert matrix.reliability[-2:] == [100, 75]
    assert matrix.reliability[0] is None
    assert matrix.quiz[-2:] == [60.0, 85.0]
    assert matrix.measures.quiz_percent == pytest.approx(76.7)
    assert [(c.skill_code, c.status) for c in matrix.certifications] == [("refunds", "expired"), ("billing", "valid")]
    assert matrix.quality is None
    assert matrix.next is not None
    assert matrix.next.tier is Tier.mid
    needs = {r.key: (r.have, r.need, r.met) for r in matrix.next.requirements}
    assert needs == {"shifts": (3, 10, False), "reliability": (75, 80, False), "quiz": (pytest.approx(76.7), 80, False)}


async def test_quality_comes_from_the_agents_rated_and_resolved_work_records(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await people.make(Role.agent)
    other = await people.make(Role.agent)
    records = [
        (agent, LAST_MONDAY, 5, True),
        (agent, LAST_MONDAY + dt.timedelta(hours=1), 3, False),
        (agent, THIS_MONDAY, 4, True),
        (agent, THIS_MONDAY + dt.timedelta(hours=1), None, True),  # resolved, not rated
        (other, THIS_MONDAY, 1, False),  # someone else's: not in the agent's figures
    ]
    for number, (who, when, csat, resolved) in enumerate(records):
        db.add(
            WorkRecord(
                site_id=site.id, user_id=who.id, source="test", external_id=f"r{number}", occurred_at=when,
                kind=WorkKind.call, count=1, csat=csat, resolved=resolved,
            )
        )  # fmt: skip
    await db.commit()

    quality = (await growth.growth_matrix(db, user=agent, now=NOW)).quality

    assert quality is not None
    assert quality.csat[-2:] == [4.0, 4.0]
    assert quality.csat_now == 4.0
    assert quality.resolution_percent[-2:] == [50.0, 100.0]
    assert quality.resolution_now == 75.0
    assert quality.csat[0] is None
    an_hour_ago = utcnow() - dt.timedelta(hours=1)  # the page shows the weeks up to the real now
    db.add(
        WorkRecord(
            site_id=site.id, user_id=agent.id, source="test", external_id="recent", occurred_at=an_hour_ago,
            kind=WorkKind.chat, count=1, csat=5, resolved=True,
        )
    )  # fmt: skip
    await db.commit()
    await login(client, agent.email)
    page = (await client.get("/app/growth")).text
    assert "Customer satisfaction" in page
    assert "appear once work records arrive" not in page


async def test_my_progress_shows_my_numbers_and_what_the_next_tier_needs(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    agent = await people.make(Role.agent)
    await recent_history(db, agent, coordinator, worked=8, no_shows=1)
    await login(client, agent.email)

    response = await client.get("/app/growth")

    assert response.status_code == 200
    text = response.text
    assert "My progress" in text
    assert "Tier: Junior" in text
    assert "Shifts worked: 8 (10 needed, 2 to go)" in text
    assert "Reliability: 89% (80% needed)" in text  # 8 of 9 shifts
    assert "Quiz average: no quiz taken yet (80% needed)" in text
    assert "appear once work records arrive" in text
    assert "<svg" in text  # the shifts sparkline
    assert 'href="/app/learn"' in text


async def test_my_progress_in_chinese(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent, locale="zh-Hans")
    await login(client, agent.email)
    response = await client.get("/app/growth")
    assert response.status_code == 200
    assert 'lang="zh-Hans"' in response.text


async def test_an_agent_sees_only_their_own_progress(client: httpx.AsyncClient, people: Factory) -> None:
    agent = await people.make(Role.agent)
    other = await people.make(Role.agent, display_name="Somebody Else")
    await login(client, agent.email)
    assert (await client.get(f"/app/growth/{other.id}")).status_code == 404
    own = await client.get("/app/growth")
    assert "Somebody Else" not in own.text


# The coordinator's pages ------------------------------------------------------------------------


async def test_agents_and_finance_may_not_open_the_growth_pages(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, _coordinator = await ready_for_mid(db, site, people)
    await growth.promotion_suggestions(db, site=site, now=utcnow())
    await db.commit()
    (suggestion,) = await suggestions_of(db, agent)
    for role in (Role.agent, Role.finance):
        user = await people.make(role)
        client.cookies.clear()
        await login(client, user.email)
        for path in ("/admin/growth", f"/admin/growth/{agent.id}", "/admin/growth/promotions"):
            assert (await client.get(path)).status_code == 403, (role, path)
        approve = await post_form(client, f"/admin/growth/promotions/{suggestion.id}/approve", {})
        assert approve.status_code == 403
    await db.refresh(agent)
    assert agent.tier is Tier.junior


async def test_another_sites_agent_and_suggestion_are_not_found(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, _coordinator = await ready_for_mid(db, site, people)
    await growth.promotion_suggestions(db, site=site, now=utcnow())
    await db.commit()
    (suggestion,) = await suggestions_of(db, agent)
    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Europe/Berlin", country="DE")
    stranger = await people.make(Role.coordinator, site=elsewhere)
    await login(client, stranger.email)

    assert (await client.get(f"/admin/growth/{agent.id}")).status_code == 404
    assert (await post_form(client, f"/admin/growth/promotions/{suggestion.id}/approve", {})).status_code == 404
    decline = await post_form(client, f"/admin/growth/promotions/{suggestion.id}/decline", {"reason": "No"})
    assert decline.status_code == 404
    table = await client.get("/admin/growth")
    assert agent.display_name not in table.text
    await db.refresh(agent)
    assert agent.tier is Tier.junior


async def test_the_coordinator_table_sorts_and_links_each_matrix(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    busy = await people.make(Role.agent, display_name="Busy Bee")
    idle = await people.make(Role.agent, display_name="Aaron Idle")
    await recent_history(db, busy, coordinator, worked=3)
    await login(client, coordinator.email)

    by_name = await client.get("/admin/growth")
    assert by_name.status_code == 200
    assert by_name.text.index("Aaron Idle") < by_name.text.index("Busy Bee")
    by_shifts = await client.get("/admin/growth?sort=shifts&order=desc")
    assert by_shifts.text.index("Busy Bee") < by_shifts.text.index("Aaron Idle")
    row = re.search(rf'<tr id="agent-{busy.id}">(.*?)</tr>', by_shifts.text, re.S)
    assert row is not None
    assert f'href="/admin/growth/{busy.id}"' in row.group(1)
    assert "<td>3</td>" in row.group(1)
    assert "<td>6</td>" in row.group(1)

    bad = await client.get("/admin/growth?sort=salary")
    assert bad.status_code == 422
    matrix = await client.get(f"/admin/growth/{idle.id}")
    assert matrix.status_code == 200
    assert "Growth: Aaron Idle" in matrix.text
    assert 'id="matrix-quality"' in matrix.text
    assert "Appears once work records arrive." in matrix.text
    assert (await client.get(f"/admin/growth/{coordinator.id}")).status_code == 404  # not an agent


# Promotions -----------------------------------------------------------------------------------


async def test_meeting_the_thresholds_makes_exactly_one_suggestion(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, coordinator = await ready_for_mid(db, site, people)
    short = await people.make(Role.agent, display_name="Not Yet")
    await recent_history(db, short, coordinator, worked=2)
    await quiz_attempts(db, short, [(utcnow() - dt.timedelta(days=1), 100.0)])
    await login(client, coordinator.email)

    first = await client.get("/admin/growth/promotions")
    again = await client.get("/admin/growth/promotions")

    assert first.status_code == again.status_code == 200
    (suggestion,) = await suggestions_of(db, agent)
    assert (suggestion.from_tier, suggestion.to_tier, suggestion.decided_at) == (Tier.junior, Tier.mid, None)
    assert suggestion.measures == {
        "shifts_worked": 3,
        "hours_worked": 6.0,
        "reliability_percent": 100,
        "quiz_percent": 80.0,
    }
    assert await suggestions_of(db, short) == []
    assert again.text.count('id="suggestion-') == 1
    assert f"{agent.display_name}</a>: Junior → Mid" in again.text
    assert (await growth.refresh_all_promotions(db, now=utcnow())) == 1


async def test_approving_moves_the_agent_up_and_their_claim_window_follows(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, coordinator = await ready_for_mid(db, site, people)
    await grant_certification(db, user=agent, skill=await a_skill(db, site), source=ADMIN_OVERRIDE)
    await mark_onboarded(db, user=agent)
    opened = utcnow()
    start = utc_start(slot_of(opened) + 96)  # in two days
    shift = await an_open_shift(db, site, start=start, hours=4, seats=1, now=opened, opened_minutes_ago=0)
    fifteen_minutes_in = opened + dt.timedelta(minutes=15)  # mid's window (10) is open, junior's (20) is not
    with pytest.raises(ClaimRefused) as refused:
        await market.claim_shift(db, shift_id=shift.id, agent=agent, now=fifteen_minutes_in)
    assert [reason.code for reason in refused.value.reasons] == [Why.window]

    await login(client, coordinator.email)
    await client.get("/admin/growth/promotions")
    (suggestion,) = await suggestions_of(db, agent)
    approved = await post_form(client, f"/admin/growth/promotions/{suggestion.id}/approve", {})

    assert approved.status_code == 303
    assert approved.headers["location"] == "/admin/growth/promotions?done=approved"
    await db.refresh(agent)
    await db.refresh(suggestion)
    assert agent.tier is Tier.mid
    assert (suggestion.decision, suggestion.decided_by_id) == (PromotionDecision.approved, coordinator.id)
    claim = await market.claim_shift(db, shift_id=shift.id, agent=agent, now=fifteen_minutes_in)
    assert claim.created
    page = await client.get("/admin/growth/promotions?done=approved")
    assert "Promotion approved" in page.text
    assert f'id="decided-{suggestion.id}"' in page.text
    # Now mid: the next suggestion would be senior, whose thresholds are far off.
    assert await growth.open_suggestions(db, site=site) == []


async def test_a_decline_needs_a_reason_and_holds_until_30_days_or_more_progress(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, coordinator = await ready_for_mid(db, site, people)
    await login(client, coordinator.email)
    await client.get("/admin/growth/promotions")
    (suggestion,) = await suggestions_of(db, agent)

    blank = await post_form(client, f"/admin/growth/promotions/{suggestion.id}/decline", {"reason": "  "})
    assert blank.status_code == 422
    assert 'aria-invalid="true"' in blank.text
    assert "Say why" in blank.text
    await db.refresh(suggestion)
    assert suggestion.decided_at is None

    declined = await post_form(
        client, f"/admin/growth/promotions/{suggestion.id}/decline", {"reason": "Pass the refunds course first"}
    )
    assert declined.status_code == 303
    await db.refresh(suggestion)
    await db.refresh(agent)
    assert (suggestion.decision, suggestion.reason) == (PromotionDecision.declined, "Pass the refunds course first")
    assert agent.tier is Tier.junior

    page = await client.get("/admin/growth/promotions")
    assert 'id="suggestion-' not in page.text
    assert "Pass the refunds course first" in page.text
    decided_at = suggestion.decided_at
    assert decided_at is not None
    assert await growth.promotion_suggestions(db, site=site, now=decided_at + dt.timedelta(days=29)) == []
    (again,) = await growth.promotion_suggestions(db, site=site, now=decided_at + dt.timedelta(days=30))
    assert (again.user_id, again.to_tier) == (agent.id, Tier.mid)


async def test_more_shifts_after_a_decline_bring_the_suggestion_back_sooner(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, coordinator = await ready_for_mid(db, site, people)
    (suggestion,) = await growth.promotion_suggestions(db, site=site, now=utcnow())
    await growth.decline_promotion(
        db, suggestion_id=suggestion.id, coordinator=coordinator, reason="Soon", now=utcnow()
    )
    assert await growth.promotion_suggestions(db, site=site, now=utcnow()) == []
    today = utcnow().replace(hour=2, minute=0, second=0, microsecond=0)
    for day in range(1, growth.RESUGGEST_MORE_SHIFTS + 1):
        await a_worked_shift(db, agent, today - dt.timedelta(days=day))  # a second shift on each of those days
    (again,) = await growth.promotion_suggestions(db, site=site, now=utcnow())
    assert again.measures["shifts_worked"] == 3 + growth.RESUGGEST_MORE_SHIFTS


async def test_a_stale_or_decided_suggestion_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, coordinator = await ready_for_mid(db, site, people)
    await login(client, coordinator.email)
    await client.get("/admin/growth/promotions")
    (suggestion,) = await suggestions_of(db, agent)
    agent.tier = Tier.senior  # an admin set the tier by hand meanwhile
    await db.commit()

    stale = await post_form(client, f"/admin/growth/promotions/{suggestion.id}/approve", {})
    assert stale.status_code == 409
    assert "out of date" in stale.text
    await db.refresh(agent)
    await db.refresh(suggestion)
    assert agent.tier is Tier.senior
    assert suggestion.decided_at is None

    cleared = await post_form(client, f"/admin/growth/promotions/{suggestion.id}/decline", {"reason": "Out of date"})
    assert cleared.status_code == 303
    again = await post_form(client, f"/admin/growth/promotions/{suggestion.id}/approve", {})
    assert again.status_code == 409
    assert "already declined" in again.text
    with pytest.raises(Conflict, match="already declined"):
        await growth.decline_promotion(
            db, suggestion_id=suggestion.id, coordinator=coordinator, reason="y", now=utcnow()
        )
    with pytest.raises(NotFound):
        await growth.approve_promotion(db, suggestion_id=suggestion.id + 1000, coordinator=coordinator, now=utcnow())


async def test_an_approval_is_in_the_audit_log(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent, coordinator = await ready_for_mid(db, site, people)
    await login(client, coordinator.email)
    await client.get("/admin/growth/promotions")
    (suggestion,) = await suggestions_of(db, agent)
    await post_form(client, f"/admin/growth/promotions/{suggestion.id}/approve", {})
    entry = await db.scalar(
        select(AuditEntry).where(AuditEntry.object_type == "users", AuditEntry.object_id == str(agent.id))
    )
    assert entry is not None
    assert (entry.before, entry.after, entry.actor_id) == ({"tier": "junior"}, {"tier": "mid"}, coordinator.id)


def test_a_senior_has_no_next_tier_and_a_zero_quiz_threshold_needs_no_quiz() -> None:
    settings = site_settings(Site(settings={"mid_min_quiz_percent": 0}))
    measures = growth.Measures(shifts_worked=10, hours_worked=20.0, reliability_percent=80, quiz_percent=None)
    assert growth.next_tier(Tier.senior, measures, settings) is None
    mid = growth.next_tier(Tier.junior, measures, settings)
    assert mid is not None
    assert mid.ready
    senior = growth.next_tier(Tier.mid, measures, settings)
    assert senior is not None
    assert not senior.ready
    assert [r.key for r in senior.requirements if not r.met] == ["shifts", "reliability", "quiz"]
