"""Every agent page or fragment that names an object by id answers 404 for an object that is not the agent's.

Another agent's shift, swap, attempt, drill, note or comment, and anything of another site, is answered
exactly as an id that does not exist, so ids cannot be probed and nothing of a colleague's shows. The
test lists the app's own routes: a new id-bearing route under ``/app/`` without a case here fails it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import httpx
from litestar import Litestar
from litestar.routes import HTTPRoute
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.core.db import utcnow
from backend.handover import service as handover
from backend.learning import cases, drills, quiz
from backend.notify.models import Kind
from backend.notify.service import notify
from backend.pay import periods
from backend.requests import attachments, intake
from backend.requests.models import RequestKind
from backend.requests.schemas import RequestDraft
from backend.shifts import cover, intraday, swaps
from backend.shifts.models import CoverReason
from tests.conftest import login, post_form
from tests.factories import (
    Factory,
    a_claimed_shift,
    a_course,
    a_held_shift,
    a_skill,
    an_agent,
    an_open_shift,
    sample_course,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Names, not objects of anyone's: a tab, and a skill's code (any code without a course here leads to Learn).
NOT_OBJECTS = {"/app/{tab:str}", "/app/learn/skills/{skill_code:str}"}


def at(now: dt.datetime, days: int, clock: str) -> dt.datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    day = now.astimezone(SHANGHAI).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


@dataclass
class Foreign:
    """Ids of things that are not the signed-in agent's: a colleague's at the same site, or another site's."""

    held: int  # a shift a colleague holds
    missed: int  # a past shift a colleague missed (their no-show, theirs to appeal)
    open_elsewhere: int  # an open shift of another site
    swap: int  # a colleague's offer named to a third colleague
    note: int  # a coordinator's handover note on the colleague's shift
    notification: int  # a colleague's inbox message
    course_elsewhere: int  # a published course of another site
    attempt: int  # a colleague's quiz attempt at a course of this site
    drill: int  # a colleague's drill card
    case_elsewhere: int  # a published case of another site
    case: int  # a case of this site ...
    comment: int  # ... and a colleague's comment on it
    cover_elsewhere: int  # a cover request of another site
    period_elsewhere: int  # a pay period of another site
    intraday_offer: int = 0  # a colleague's same-day offer (VTO on their shift)
    request: int = 0  # a colleague's schedule request (not an idea: not public) ...
    attachment: int = 0  # ... and the file sent with it
    idea_elsewhere: int = 0  # an improvement idea of another site


# What each route is sent and with which foreign ids; every one must answer 404.
CASES: dict[tuple[str, str], list[tuple[Callable[[Foreign], str], dict[str, str]]]] = {
    ("POST", "/app/shifts/{shift_id:int}/release"): [(lambda f: f"/app/shifts/{f.held}/release", {})],
    ("GET", "/app/shifts/{shift_id:int}/swap"): [(lambda f: f"/app/shifts/{f.held}/swap", {})],
    ("POST", "/app/shifts/{shift_id:int}/swap"): [(lambda f: f"/app/shifts/{f.held}/swap", {"to": ""})],
    ("POST", "/app/shifts/open/{shift_id:int}/claim"): [(lambda f: f"/app/shifts/open/{f.open_elsewhere}/claim", {})],
    ("POST", "/app/home/open/{shift_id:int}/claim"): [(lambda f: f"/app/home/open/{f.open_elsewhere}/claim", {})],
    ("POST", "/app/shifts/open/{shift_id:int}/waitlist"): [
        (lambda f: f"/app/shifts/open/{f.open_elsewhere}/waitlist", {})
    ],
    ("POST", "/app/shifts/open/{shift_id:int}/waitlist/leave"): [
        (lambda f: f"/app/shifts/open/{f.open_elsewhere}/waitlist/leave", {})
    ],
    ("POST", "/app/shifts/open/{shift_id:int}/undo"): [
        (lambda f: f"/app/shifts/open/{f.held}/undo", {}),
        (lambda f: f"/app/shifts/open/{f.open_elsewhere}/undo", {}),
    ],
    ("POST", "/app/shifts/open/{shift_id:int}/request/withdraw"): [
        (lambda f: f"/app/shifts/open/{f.open_elsewhere}/request/withdraw", {})
    ],
    ("POST", "/app/shifts/swaps/{swap_id:int}/accept"): [(lambda f: f"/app/shifts/swaps/{f.swap}/accept", {})],
    ("POST", "/app/shifts/swaps/{swap_id:int}/decline"): [(lambda f: f"/app/shifts/swaps/{f.swap}/decline", {})],
    ("POST", "/app/shifts/swaps/{swap_id:int}/cancel"): [(lambda f: f"/app/shifts/swaps/{f.swap}/cancel", {})],
    ("POST", "/app/shifts/{shift_id:int}/confirm"): [(lambda f: f"/app/shifts/{f.held}/confirm", {})],
    ("GET", "/app/shifts/{shift_id:int}/attendance"): [(lambda f: f"/app/shifts/{f.held}/attendance", {})],
    ("POST", "/app/shifts/{shift_id:int}/start"): [(lambda f: f"/app/shifts/{f.held}/start", {})],
    ("POST", "/app/reliability/{shift_id:int}/appeal"): [
        (lambda f: f"/app/reliability/{f.missed}/appeal", {"text": "I was there."})
    ],
    ("POST", "/app/shifts/cover/{request_id:int}/accept"): [
        (lambda f: f"/app/shifts/cover/{f.cover_elsewhere}/accept", {})
    ],
    ("GET", "/app/shifts/{shift_id:int}/handover"): [(lambda f: f"/app/shifts/{f.held}/handover", {})],
    ("POST", "/app/shifts/{shift_id:int}/handover/ack"): [(lambda f: f"/app/shifts/{f.held}/handover/ack", {})],
    ("POST", "/app/shifts/{shift_id:int}/handover/notes"): [
        (lambda f: f"/app/shifts/{f.held}/handover/notes", {"kind": "warning", "body": "Printer down."})
    ],
    ("POST", "/app/shifts/{shift_id:int}/handover/{note_id:int}/resolve"): [
        (lambda f: f"/app/shifts/{f.held}/handover/{f.note}/resolve", {})
    ],
    ("GET", "/app/handover/shifts/{shift_id:int}"): [(lambda f: f"/app/handover/shifts/{f.held}", {})],
    ("POST", "/app/inbox/{notification_id:int}/read"): [(lambda f: f"/app/inbox/{f.notification}/read", {})],
    ("GET", "/app/learn/courses/{course_id:int}"): [(lambda f: f"/app/learn/courses/{f.course_elsewhere}", {})],
    ("GET", "/app/learn/courses/{course_id:int}/lessons/{number:int}"): [
        (lambda f: f"/app/learn/courses/{f.course_elsewhere}/lessons/1", {})
    ],
    ("POST", "/app/learn/courses/{course_id:int}/lessons/{number:int}/done"): [
        (lambda f: f"/app/learn/courses/{f.course_elsewhere}/lessons/1/done", {})
    ],
    ("POST", "/app/learn/courses/{course_id:int}/scenario/{number:int}"): [
        (lambda f: f"/app/learn/courses/{f.course_elsewhere}/scenario/3", {"reply": "1"})
    ],
    ("POST", "/app/learn/courses/{course_id:int}/attempts"): [
        (lambda f: f"/app/learn/courses/{f.course_elsewhere}/attempts", {})
    ],
    ("GET", "/app/learn/attempts/{attempt_id:int}"): [(lambda f: f"/app/learn/attempts/{f.attempt}", {})],
    ("POST", "/app/learn/attempts/{attempt_id:int}"): [(lambda f: f"/app/learn/attempts/{f.attempt}", {})],
    ("GET", "/app/learn/attempts/{attempt_id:int}/result"): [(lambda f: f"/app/learn/attempts/{f.attempt}/result", {})],
    ("POST", "/app/learn/drills/{card_id:int}"): [(lambda f: f"/app/learn/drills/{f.drill}", {})],
    ("GET", "/app/cases/{case_id:int}"): [(lambda f: f"/app/cases/{f.case_elsewhere}", {})],
    ("POST", "/app/cases/{case_id:int}/use"): [(lambda f: f"/app/cases/{f.case_elsewhere}/use", {"used": "1"})],
    ("POST", "/app/cases/{case_id:int}/comments"): [
        (lambda f: f"/app/cases/{f.case_elsewhere}/comments", {"body": "Useful."})
    ],
    ("POST", "/app/cases/{case_id:int}/comments/{comment_id:int}/delete"): [
        (lambda f: f"/app/cases/{f.case}/comments/{f.comment}/delete", {}),
        (lambda f: f"/app/cases/{f.case_elsewhere}/comments/{f.comment}/delete", {}),
    ],
    ("GET", "/app/earnings/periods/{period_id:int}"): [(lambda f: f"/app/earnings/periods/{f.period_elsewhere}", {})],
    ("POST", "/app/offers/{offer_id:int}/accept"): [(lambda f: f"/app/offers/{f.intraday_offer}/accept", {})],
    ("POST", "/app/offers/{offer_id:int}/decline"): [(lambda f: f"/app/offers/{f.intraday_offer}/decline", {})],
    ("GET", "/app/requests/{request_id:int}"): [
        (lambda f: f"/app/requests/{f.request}", {}),
        (lambda f: f"/app/requests/{f.idea_elsewhere}", {}),
    ],
    ("GET", "/app/requests/{request_id:int}/files/{attachment_id:int}"): [
        (lambda f: f"/app/requests/{f.request}/files/{f.attachment}", {})
    ],
    ("POST", "/app/requests/{request_id:int}/reply"): [(lambda f: f"/app/requests/{f.request}/reply", {"body": "Hi"})],
    ("POST", "/app/requests/{request_id:int}/confirm"): [(lambda f: f"/app/requests/{f.request}/confirm", {})],
    ("POST", "/app/requests/{request_id:int}/reopen"): [
        (lambda f: f"/app/requests/{f.request}/reopen", {"reason": "Still wrong."})
    ],
    ("POST", "/app/requests/{request_id:int}/rate"): [(lambda f: f"/app/requests/{f.request}/rate", {"rating": "5"})],
    ("POST", "/app/requests/{request_id:int}/me-too"): [
        (lambda f: f"/app/requests/{f.request}/me-too", {"on": "true"}),
        (lambda f: f"/app/requests/{f.idea_elsewhere}/me-too", {"on": "true"}),
    ],
}


def agent_routes_with_ids(app: Litestar) -> set[tuple[str, str]]:
    """(method, path) of every agent route under ``/app/`` whose path names something."""
    found = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/app/") or "{" not in route.path:
            continue
        for handler in route.route_handlers:
            found |= {(method, route.path) for method in handler.http_methods if method in {"GET", "POST"}}
    return {key for key in found if key[1] not in NOT_OBJECTS}


async def colleague_world(db: AsyncSession, site: Site, people: Factory, me: User) -> Foreign:
    """A colleague of ``me`` with a shift, a swap, a note, a message, an attempt and a drill; another site's things."""
    now = utcnow()
    skill = await a_skill(db, site)
    colleague = await an_agent(people, skills=[skill])
    third = await an_agent(people, skills=[skill])
    coordinator = await people.make(Role.coordinator)
    held = await a_claimed_shift(db, site, colleague, skill, start=at(now, 5, "18:00"), now=now)
    missed_start = at(now, -2, "09:00")
    missed = await a_held_shift(db, colleague, missed_start, no_show_at=missed_start + dt.timedelta(minutes=20))
    offer = await swaps.offer_swap(db, shift_id=held.id, agent=colleague, to_user_id=third.id, now=now)
    note = await handover.write_on_shift(
        db, shift_id=held.id, staff=coordinator, kind="warning", body="The queue is long.", now=now
    )
    message = await notify(db, user_id=colleague.id, kind=Kind.swap, title="Yours alone", now=now)
    course = await a_course(db, site, now=now)
    attempt = await quiz.start_attempt(db, agent=colleague, course_id=course.id, now=now)
    card = await drills.record_missed(
        db, user_id=colleague.id, course_id=course.id, question_key="q1", earned=0.0, now=now - dt.timedelta(days=3)
    )
    case = await cases.create_case(db, author=coordinator, draft=a_case_draft(site, now), publish=True, now=now)
    comment = await cases.add_comment(db, case_id=case.id, author=colleague, body="Worked for me.", now=now)
    vto = await intraday.start_vto(
        db,
        site=site,
        skill_id=skill.id,
        start_slot=held.start_slot + 2,
        end_slot=held.end_slot,
        surplus=1,
        standby=False,
        by=coordinator,
        now=now,
    )
    (colleague_offer,) = await intraday.offers_of_call(db, call_id=vto.id)
    asked = await intake.raise_request(
        db,
        asker=colleague,
        draft=RequestDraft(kind=RequestKind.schedule, title="Wrong end time", details="It says 20:00.", shift=held.id),
        now=now,
    )
    screenshot = await attachments.store(
        db, request=asked, uploader=colleague, filename="rota.txt", data=b"The rota says 20:00.", now=now
    )

    elsewhere = await accounts.ensure_site(db, name="Elsewhere Centre", timezone="Asia/Shanghai", country="CN")
    other_people = Factory(db=db, site=elsewhere)
    far_skill = await a_skill(db, elsewhere, "tech")
    far_coordinator = await other_people.make(Role.coordinator)
    far_holder = await an_agent(other_people, skills=[far_skill])
    far_open = await an_open_shift(db, elsewhere, far_skill, start=at(now, 6, "18:00"), now=now)
    far_missed = await a_claimed_shift(db, elsewhere, far_holder, far_skill, start=at(now, 4, "18:00"), now=now)
    far_cover = await cover.request_cover(
        db,
        site=elsewhere,
        shift_id=far_missed.id,
        absent_user_id=far_holder.id,
        reason=CoverReason.emergency,
        bonus_minor=0,
        by=None,
        now=now,
    )
    far_course = await a_course(db, elsewhere, sample_for("tech"), author=far_coordinator, now=now)
    far_case = await cases.create_case(
        db, author=far_coordinator, draft=a_case_draft(elsewhere, now), publish=True, now=now
    )
    far_period = await periods.period_for(db, site=elsewhere, day=now.date())
    far_idea = await intake.raise_request(
        db,
        asker=far_holder,
        draft=RequestDraft(kind=RequestKind.idea, title="A darker theme", details="For night shifts."),
        now=now,
    )
    await db.commit()
    return Foreign(
        held=held.id,
        missed=missed.id,
        open_elsewhere=far_open.id,
        swap=offer.swap.id,
        note=note.id,
        notification=message.id,
        course_elsewhere=far_course.id,
        attempt=attempt.id,
        drill=card.id,
        case_elsewhere=far_case.id,
        case=case.id,
        comment=comment.id,
        cover_elsewhere=far_cover.id,
        period_elsewhere=far_period.id,
        intraday_offer=colleague_offer.id,
        request=asked.id,
        attachment=screenshot.id,
        idea_elsewhere=far_idea.id,
    )


def a_case_draft(site: Site, now: dt.datetime) -> cases.CaseDraft:
    return cases.CaseDraft(
        title="A caller charged twice",
        situation="The card was charged twice for one order.",
        strategy="Confirm both charges, then refund one.",
        key_points="Check both charges",
        phrases="Let me look at both charges.",
        week=str(cases.current_week(site, now)),
        language="en",
        skill="",
    )


def sample_for(skill_code: str) -> dict[str, object]:
    return sample_course(code=f"{skill_code}-basics", certifies=skill_code)


def test_every_agent_route_that_names_an_object_has_a_case_here(app: Litestar) -> None:
    routes = agent_routes_with_ids(app)
    assert routes - CASES.keys() == set(), "add the new route to CASES with an object that is not the agent's"
    assert CASES.keys() - routes == set(), "a route in CASES is gone: drop its case"


async def test_another_agents_or_another_sites_objects_answer_404_on_every_agent_route(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    me = await an_agent(people, skills=[await a_skill(db, site)])
    foreign = await colleague_world(db, site, people, me)
    assert (await login(client, me.email)).status_code == 303

    answered = {}
    for (method, _route), cases_of_route in CASES.items():
        for path_of, form in cases_of_route:
            path = path_of(foreign)
            response = await (client.get(path) if method == "GET" else post_form(client, path, form))
            answered[f"{method} {path}"] = response.status_code
    assert {request: status for request, status in answered.items() if status != 404} == {}
