"""The requests JSON API: raise, list (mine, or a queue for staff), read, and act with the pages' rules.

A refused field is a 422 naming it and writes nothing; another person's request answers 404 as if absent; an
action the caller's role may not take is 403; one the request's state no longer allows (a second confirm) 409.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.core.db import utcnow
from backend.core.slots import slot_of, utc_start
from backend.requests import actions, routing
from backend.requests.models import Calendar, Request, RequestKind, RequestTeam
from tests.factories import Factory, a_held_shift, a_skill, an_agent, bearer

API = "/api/v1/requests"


def soon(days: int = 2) -> dt.datetime:
    """A slot boundary ``days`` from now (a shift the agent holds, still ahead)."""
    return utc_start(slot_of(utcnow())) + dt.timedelta(days=days)


def schedule_body(shift_id: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "schedule",
        "title": "My shift shows the wrong end time",
        "details": "The rota says 21:00, my confirmation 20:00.",
        "expected": "Tell me which is right.",
        "shift": shift_id,
    }
    return body | changes


async def a_team(db: AsyncSession, coordinator: User, name: str = "Scheduling", *, members: list[User]) -> RequestTeam:
    """A team of ``members`` that schedule requests are routed to."""
    team = await routing.create_team(
        db, staff=coordinator, name=name, name_zh="", calendar=Calendar.calendar, lead_id=coordinator.id, now=utcnow()
    )
    for member in members:
        await routing.add_member(db, staff=coordinator, team_id=team.id, user_id=member.id)
    return team


async def raised(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post(API, json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_an_agent_raises_a_request_about_their_shift_and_lists_only_their_own(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    agent, colleague = await an_agent(people, skills=[skill]), await an_agent(people, skills=[skill])
    shift = await a_held_shift(db, agent, soon(), skill=skill)
    theirs = await a_held_shift(db, colleague, soon(3), skill=skill)
    mine_headers, their_headers = await bearer(db, agent), await bearer(db, colleague)

    made = await raised(client, mine_headers, schedule_body(shift.id))
    assert (made["kind"], made["shift_id"], made["asker_id"]) == ("schedule", shift.id, agent.id)
    assert made["status"] in {"queued", "in_progress"}
    await raised(client, their_headers, schedule_body(theirs.id, title="Their own"))

    listed = await client.get(API, headers=mine_headers)
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()] == [made["id"]]
    read = await client.get(f"{API}/{made['id']}", headers=mine_headers)
    assert read.status_code == 200
    assert read.json()["request"]["title"] == "My shift shows the wrong end time"
    assert "raised" in [event["kind"] for event in read.json()["history"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "weather"}, "kind"),
        ({"title": ""}, "title"),
        ({"title": "x" * 161}, "title"),
        ({"details": ""}, "details"),
        ({"shift": "12"}, "shift"),
        ({"shift": 2**63}, "shift"),
        ({"happened_on": "9999-01-01"}, "happened_on"),
        ({"colour": "red"}, "data"),  # an unknown field: the body as a whole
    ],
)
async def test_a_refused_field_is_named_and_nothing_is_written(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, change: dict[str, Any], field: str
) -> None:
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill])
    shift = await a_held_shift(db, agent, soon(), skill=skill)
    refused = await client.post(API, json=schedule_body(shift.id, **change), headers=await bearer(db, agent))
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field
    assert await db.scalar(select(func.count()).select_from(Request)) == 0


async def test_a_shift_that_is_not_mine_or_a_day_ahead_is_refused_naming_the_field(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    agent, colleague = await an_agent(people, skills=[skill]), await an_agent(people, skills=[skill])
    mine = await a_held_shift(db, agent, soon(), skill=skill)
    theirs = await a_held_shift(db, colleague, soon(3), skill=skill)
    headers = await bearer(db, agent)

    not_mine = await client.post(API, json=schedule_body(theirs.id), headers=headers)
    assert (not_mine.status_code, not_mine.json()["field"]) == (422, "shift")
    ahead = (utcnow() + dt.timedelta(days=3)).date().isoformat()
    future = await client.post(API, json=schedule_body(mine.id, happened_on=ahead), headers=headers)
    assert (future.status_code, future.json()["field"]) == (422, "happened_on")
    unlinked = await client.post(API, json=schedule_body(mine.id, shift=None), headers=headers)
    assert (unlinked.status_code, unlinked.json()["field"]) == (422, "shift")
    assert await db.scalar(select(func.count()).select_from(Request)) == 0


async def test_another_persons_request_answers_404_everywhere(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    agent, colleague = await an_agent(people, skills=[skill]), await an_agent(people, skills=[skill])
    shift = await a_held_shift(db, colleague, soon(), skill=skill)
    theirs = await raised(client, await bearer(db, colleague), schedule_body(shift.id))
    elsewhere = await accounts.ensure_site(db, name="Elsewhere Centre", timezone="Asia/Shanghai", country="CN")
    far_coordinator = await people.make(Role.coordinator, site=elsewhere)

    for headers in (await bearer(db, agent), await bearer(db, far_coordinator)):
        answers = {
            "read": (await client.get(f"{API}/{theirs['id']}", headers=headers)).status_code,
            "answer": (
                await client.post(f"{API}/{theirs['id']}/answer", json={"body": "Hi"}, headers=headers)
            ).status_code,
            "confirm": (await client.post(f"{API}/{theirs['id']}/confirm", headers=headers)).status_code,
            "missing": (await client.get(f"{API}/99999999", headers=headers)).status_code,
        }
        assert answers == {"read": 404, "answer": 404, "confirm": 404, "missing": 404}


async def test_staff_read_a_team_queue_the_site_queue_and_their_own(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill])
    coordinator, finance = await people.make(Role.coordinator), await people.make(Role.finance)
    team = await a_team(db, coordinator, members=[coordinator, finance])
    await routing.set_rule(
        db, staff=coordinator, kind=RequestKind.schedule, skill_id=None, team_id=team.id, owner_id=finance.id
    )
    await db.commit()
    shift = await a_held_shift(db, agent, soon(), skill=skill)
    agent_headers = await bearer(db, agent)
    routed = await raised(client, agent_headers, schedule_body(shift.id))
    unrouted = await raised(client, agent_headers, {"kind": "other", "title": "Locker key", "details": "Lost it."})
    assert (routed["team_id"], routed["owner_id"]) == (team.id, finance.id)
    assert unrouted["team_id"] is None

    coordinator_headers, finance_headers = await bearer(db, coordinator), await bearer(db, finance)
    team_queue = await client.get(API, params={"queue": f"team:{team.id}"}, headers=coordinator_headers)
    assert [row["id"] for row in team_queue.json()] == [routed["id"]]
    site_queue = await client.get(API, params={"queue": "site"}, headers=coordinator_headers)
    assert [row["id"] for row in site_queue.json()] == [unrouted["id"]]
    held = await client.get(API, params={"queue": "mine"}, headers=finance_headers)
    assert [row["id"] for row in held.json()] == [routed["id"]]
    assert (await client.get(API, params={"queue": "site"}, headers=finance_headers)).status_code == 403

    assert (await client.get(API, params={"queue": "mine"}, headers=agent_headers)).status_code == 403
    bad = await client.get(API, params={"queue": "everything"}, headers=coordinator_headers)
    assert (bad.status_code, bad.json()["field"]) == (422, "queue")


async def test_the_loop_answer_pause_resume_resolve_confirm_with_the_pages_rules(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill])
    coordinator = await people.make(Role.coordinator)
    shift = await a_held_shift(db, agent, soon(), skill=skill)
    asker, staff = await bearer(db, agent), await bearer(db, coordinator)
    made = await raised(client, asker, schedule_body(shift.id))
    path = f"{API}/{made['id']}"

    assert (await client.post(f"{path}/answer", json={"body": "Mine"}, headers=asker)).status_code == 403
    assert (await client.post(f"{path}/confirm", headers=asker)).status_code == 409  # nothing resolved yet
    answered = await client.post(f"{path}/answer", json={"body": "The rota is right."}, headers=staff)
    assert answered.status_code == 200, answered.text
    assert answered.json()["first_response_at"] is not None

    bad_reason = await client.post(f"{path}/pause", json={"body": "Hm?", "reason": "lunch"}, headers=staff)
    assert (bad_reason.status_code, bad_reason.json()["field"]) == (422, "reason")
    paused = await client.post(
        f"{path}/pause", json={"body": "Which confirmation?", "reason": "more_information"}, headers=staff
    )
    assert paused.status_code == 200, paused.text
    assert (paused.json()["status"], paused.json()["paused"]) == ("waiting", True)
    assert (await client.post(f"{path}/resume", json={"body": "Resumed."}, headers=staff)).status_code == 403
    resumed = await client.post(f"{path}/resume", json={"body": "The text message."}, headers=asker)
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["paused"] is False
    assert resumed.json()["status"] != "waiting"

    unknown_cause = await client.post(
        f"{path}/resolve", json={"root_cause": "gremlins", "resolution": "Fixed."}, headers=staff
    )
    assert (unknown_cause.status_code, unknown_cause.json()["field"]) == (422, "root_cause")
    by_asker = await client.post(
        f"{path}/resolve", json={"root_cause": "schedule_error", "resolution": "Fixed."}, headers=asker
    )
    assert by_asker.status_code == 403
    resolved = await client.post(
        f"{path}/resolve", json={"root_cause": "schedule_error", "resolution": "Template fixed."}, headers=staff
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"

    assert (await client.post(f"{path}/confirm", headers=staff)).status_code == 403
    confirmed = await client.post(f"{path}/confirm", headers=asker)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "closed"
    assert (await client.post(f"{path}/confirm", headers=asker)).status_code == 409  # replayed

    history = (await client.get(path, headers=asker)).json()["history"]
    assert {"answered", "asked_asker", "asker_replied", "resolved", "confirmed"} <= {e["kind"] for e in history}


async def test_an_asker_reopens_a_resolved_request(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill])
    coordinator = await people.make(Role.coordinator)
    shift = await a_held_shift(db, agent, soon(), skill=skill)
    asker, staff = await bearer(db, agent), await bearer(db, coordinator)
    path = f"{API}/{(await raised(client, asker, schedule_body(shift.id)))['id']}"

    assert (await client.post(f"{path}/reopen", json={"reason": "Still wrong."}, headers=asker)).status_code == 409
    body = {"root_cause": "schedule_error", "resolution": "Fixed."}
    assert (await client.post(f"{path}/resolve", json=body, headers=staff)).status_code == 200
    empty = await client.post(f"{path}/reopen", json={"reason": ""}, headers=asker)
    assert (empty.status_code, empty.json()["field"]) == (422, "reason")
    reopened = await client.post(f"{path}/reopen", json={"reason": "Still wrong."}, headers=asker)
    assert reopened.status_code == 200, reopened.text
    assert (reopened.json()["status"], reopened.json()["reopen_count"]) == ("in_progress", 1)


async def test_a_hand_over_needs_a_note_and_moves_the_request(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill])
    coordinator = await people.make(Role.coordinator)
    training = await a_team(db, coordinator, "Training", members=[coordinator])
    await db.commit()
    shift = await a_held_shift(db, agent, soon(), skill=skill)
    asker, staff = await bearer(db, agent), await bearer(db, coordinator)
    path = f"{API}/{(await raised(client, asker, schedule_body(shift.id)))['id']}"

    no_note = await client.post(f"{path}/hand-over", json={"team": training.id, "note": ""}, headers=staff)
    assert (no_note.status_code, no_note.json()["field"]) == (422, "note")
    by_asker = await client.post(f"{path}/hand-over", json={"team": training.id, "note": "Please."}, headers=asker)
    assert by_asker.status_code == 403
    note = "A training clash, not a rota one; checked Tuesday's session has seats."
    moved = await client.post(f"{path}/hand-over", json={"team": training.id, "note": note}, headers=staff)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["team_id"], moved.json()["handover_count"]) == (training.id, 1)
    history = (await client.get(path, headers=staff)).json()["history"]
    assert [e["body"] for e in history if e["kind"] == "handed_over"] == [note]
    for_asker = (await client.get(path, headers=asker)).json()["history"]
    assert note not in [e["body"] for e in for_asker]  # staff's words about staff's work


async def test_internal_notes_are_never_shown_to_the_asker(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    agent = await an_agent(people, skills=[skill])
    coordinator = await people.make(Role.coordinator)
    shift = await a_held_shift(db, agent, soon(), skill=skill)
    asker, staff = await bearer(db, agent), await bearer(db, coordinator)
    made = await raised(client, asker, schedule_body(shift.id))
    await actions.note(db, request_id=made["id"], actor=coordinator, now=utcnow(), body="Check the old template.")
    await db.commit()

    for_asker = (await client.get(f"{API}/{made['id']}", headers=asker)).json()["history"]
    for_staff = (await client.get(f"{API}/{made['id']}", headers=staff)).json()["history"]
    assert "Check the old template." not in [event["body"] for event in for_asker]
    assert "Check the old template." in [event["body"] for event in for_staff]
