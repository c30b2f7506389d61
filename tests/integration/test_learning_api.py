"""The learning JSON API: courses, attempts, drills for agents; import, export, publish for coordinators."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
from litestar.exceptions import NoRouteMatchFoundException
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.app import create_app
from backend.core.db import Database
from backend.core.settings import Settings
from backend.learning import api_routes, courses
from backend.learning.models import DrillCard, QuizAttempt
from tests.conftest import Factory
from tests.factories import a_skill, bearer, sample_course

API = "/api/v1"
CORRECT_ANSWERS = {
    "q1": ["a"], "q2": ["a", "b"], "q3": ["f"], "q4": ["greet", "verify", "solve", "close"],
    "q5": ["b"], "q6": ["a", "b", "c"],
}  # fmt: skip


@pytest.fixture
def app(settings: Settings, database: Database) -> Any:
    """The app, with the learning API mounted if the app does not list it yet."""
    application = create_app(settings, database=database)
    try:
        application.route_reverse("api:courses")
    except NoRouteMatchFoundException:
        application.register(api_routes.router)
    return application


@pytest.fixture
async def staff(people: Factory) -> User:
    return await people.make(Role.coordinator)


@pytest.fixture
async def agent(people: Factory) -> User:
    return await people.make(Role.agent)


async def import_course(
    client: httpx.AsyncClient, headers: dict[str, str], doc: dict[str, Any], *, publish: bool = True
) -> httpx.Response:
    return await client.post(
        f"{API}/courses",
        params={"publish": str(publish).lower()},
        content=json.dumps(doc),
        headers={**headers, "Content-Type": "application/json"},
    )


@pytest.fixture
async def course_id(db: AsyncSession, site: Site, client: httpx.AsyncClient, staff: User) -> int:
    await a_skill(db, site)
    await db.commit()
    response = await import_course(client, await bearer(db, staff), sample_course())
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "published"
    return response.json()["id"]


async def test_an_agent_lists_reads_and_passes_a_course(
    db: AsyncSession, client: httpx.AsyncClient, agent: User, course_id: int
) -> None:
    headers = await bearer(db, agent)
    listed = (await client.get(f"{API}/courses", headers=headers)).json()
    assert [(c["id"], c["status"], c["title"], c["estimated_minutes"]) for c in listed] == [
        (course_id, "not_started", "Billing basics", 6)
    ]
    detail = (await client.get(f"{API}/courses/{course_id}", headers=headers)).json()
    assert [lesson["kind"] for lesson in detail["lessons"]] == ["text", "video", "scenario"]
    assert detail["quiz"]["questions_drawn"] == 4
    assert detail["gate"]["can_start"] is True
    started = await client.post(f"{API}/courses/{course_id}/attempts", headers=headers)
    assert started.status_code == 201
    attempt = started.json()
    assert len(attempt["questions"]) == 4
    assert attempt["results"] == []
    assert "correct" not in json.dumps(attempt["questions"])
    assert "explanation" not in json.dumps(attempt["questions"])
    resumed = await client.post(f"{API}/courses/{course_id}/attempts", headers=headers)
    assert (resumed.status_code, resumed.json()["id"]) == (200, attempt["id"])
    answers = [{"question": q["key"], "choices": CORRECT_ANSWERS[q["key"]]} for q in attempt["questions"]]
    submitted = await client.post(f"{API}/attempts/{attempt['id']}/submit", json={"answers": answers}, headers=headers)
    assert submitted.status_code == 200, submitted.text
    result = submitted.json()
    assert (result["score_percent"], result["passed"]) == (100.0, True)
    assert all(item["correct"] and item["explanation"] for item in result["results"])
    assert {item["key"]: item["correct_choices"] for item in result["results"]} == {
        q["key"]: CORRECT_ANSWERS[q["key"]] for q in attempt["questions"]
    }
    listed = (await client.get(f"{API}/courses", headers=headers)).json()
    assert listed[0]["status"] == "passed"
    assert listed[0]["certification_expires_at"]


async def test_chinese_readers_get_chinese_texts(
    db: AsyncSession, client: httpx.AsyncClient, people: Factory, course_id: int
) -> None:
    reader = await people.make(Role.agent, locale="zh-Hans")
    listed = (await client.get(f"{API}/courses", headers=await bearer(db, reader))).json()
    assert listed[0]["title"] == "账单基础"


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ([{"question": "UNDRAWN", "choices": ["a"]}], "answers.UNDRAWN"),
        ([{"question": "FIRST", "choices": []}, {"question": "FIRST", "choices": []}], "answers.FIRST"),
        ([{"question": "FIRST", "choices": ["nope"]}], "answers.FIRST.choices"),
    ],
    ids=["not drawn", "duplicate", "unknown choice"],
)
async def test_tampered_answers_are_422_naming_the_answer(
    db: AsyncSession,
    client: httpx.AsyncClient,
    agent: User,
    course_id: int,
    answers: list[dict[str, Any]],
    field: str,
) -> None:
    headers = await bearer(db, agent)
    attempt = (await client.post(f"{API}/courses/{course_id}/attempts", headers=headers)).json()
    drawn = [q["key"] for q in attempt["questions"]]
    undrawn = next(key for key in CORRECT_ANSWERS if key not in drawn)
    body = json.loads(json.dumps(answers).replace("UNDRAWN", undrawn).replace("FIRST", drawn[0]))
    response = await client.post(f"{API}/attempts/{attempt['id']}/submit", json={"answers": body}, headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == field.replace("UNDRAWN", undrawn).replace("FIRST", drawn[0])
    again = (await client.get(f"{API}/attempts/{attempt['id']}", headers=headers)).json()
    assert again["submitted_at"] is None
    assert again["score_percent"] is None


async def test_late_and_repeated_submissions(
    db: AsyncSession, client: httpx.AsyncClient, agent: User, course_id: int
) -> None:
    headers = await bearer(db, agent)
    attempt = (await client.post(f"{API}/courses/{course_id}/attempts", headers=headers)).json()
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    await db.execute(update(QuizAttempt).where(QuizAttempt.id == attempt["id"]).values(deadline_at=past))
    await db.commit()
    late = await client.post(f"{API}/attempts/{attempt['id']}/submit", json={"answers": []}, headers=headers)
    assert (late.status_code, late.json()["field"]) == (422, "deadline_at")
    await db.execute(
        update(QuizAttempt).where(QuizAttempt.id == attempt["id"]).values(deadline_at=past + dt.timedelta(minutes=30))
    )
    await db.commit()
    first = await client.post(
        f"{API}/attempts/{attempt['id']}/submit", json={"answers": [], "confirm_blanks": True}, headers=headers
    )
    assert (first.status_code, first.json()["passed"]) == (200, False)
    second = await client.post(f"{API}/attempts/{attempt['id']}/submit", json={"answers": []}, headers=headers)
    assert second.status_code == 409
    cooling = await client.post(f"{API}/courses/{course_id}/attempts", headers=headers)
    assert cooling.status_code == 409
    assert cooling.json()["reason"] == "cooldown"
    assert cooling.json()["next_start_at"]


async def test_a_body_with_unknown_fields_is_422(
    db: AsyncSession, client: httpx.AsyncClient, agent: User, course_id: int
) -> None:
    headers = await bearer(db, agent)
    attempt = (await client.post(f"{API}/courses/{course_id}/attempts", headers=headers)).json()
    body = {"answers": [{"question": "q1", "choices": ["a"], "correct": True}]}
    response = await client.post(f"{API}/attempts/{attempt['id']}/submit", json=body, headers=headers)
    assert response.status_code == 422


async def test_another_agents_attempt_and_drill_are_404(
    db: AsyncSession, client: httpx.AsyncClient, agent: User, people: Factory, course_id: int
) -> None:
    mine = await bearer(db, agent)
    attempt = (await client.post(f"{API}/courses/{course_id}/attempts", headers=mine)).json()
    await client.post(
        f"{API}/attempts/{attempt['id']}/submit", json={"answers": [], "confirm_blanks": True}, headers=mine
    )
    theirs = await bearer(db, await people.make(Role.agent))
    assert (await client.get(f"{API}/attempts/{attempt['id']}", headers=theirs)).status_code == 404
    submit = await client.post(f"{API}/attempts/{attempt['id']}/submit", json={"answers": []}, headers=theirs)
    assert submit.status_code == 404
    card = await db.scalar(select(DrillCard).where(DrillCard.user_id == agent.id))
    assert card is not None
    answer = await client.post(f"{API}/drills/{card.id}/answer", json={"choices": []}, headers=theirs)
    assert answer.status_code == 404


async def test_drills_come_due_and_are_answered(
    db: AsyncSession, client: httpx.AsyncClient, agent: User, course_id: int
) -> None:
    headers = await bearer(db, agent)
    attempt = (await client.post(f"{API}/courses/{course_id}/attempts", headers=headers)).json()
    await client.post(
        f"{API}/attempts/{attempt['id']}/submit", json={"answers": [], "confirm_blanks": True}, headers=headers
    )
    assert (await client.get(f"{API}/drills", headers=headers)).json() == []
    await db.execute(
        update(DrillCard)
        .where(DrillCard.user_id == agent.id)
        .values(due_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    )
    await db.commit()
    due = (await client.get(f"{API}/drills", headers=headers)).json()
    assert sorted(d["question"]["key"] for d in due) == sorted(q["key"] for q in attempt["questions"])
    assert "correct" not in json.dumps([d["question"] for d in due])
    drill = due[0]
    key = drill["question"]["key"]
    answered = await client.post(
        f"{API}/drills/{drill['id']}/answer", json={"choices": CORRECT_ANSWERS[key]}, headers=headers
    )
    assert answered.status_code == 200
    outcome = answered.json()
    assert outcome["correct"] is True
    assert outcome["explanation"]
    assert outcome["next_due_at"]
    assert len((await client.get(f"{API}/drills", headers=headers)).json()) == len(due) - 1


async def test_staff_import_export_and_publish(
    db: AsyncSession, client: httpx.AsyncClient, staff: User, course_id: int
) -> None:
    headers = await bearer(db, staff)
    exported = await client.get(f"{API}/courses/{course_id}/export", headers=headers)
    assert exported.status_code == 200
    assert exported.headers["content-disposition"] == 'attachment; filename="billing-basics-v1.json"'
    document = exported.json()
    assert document["code"] == "billing-basics"
    assert document["format"] == "weft-course/1"
    document["estimated_minutes"] = 5
    draft = await import_course(client, headers, document, publish=False)
    assert draft.status_code == 201
    assert (draft.json()["id"], draft.json()["version"], draft.json()["status"]) == (course_id, 2, "draft")
    still = (await client.get(f"{API}/courses/{course_id}/export", headers=headers)).json()
    assert still["estimated_minutes"] == 6
    published = await client.post(f"{API}/courses/{course_id}/publish", headers=headers)
    assert (published.status_code, published.json()["version"], published.json()["status"]) == (200, 2, "published")
    now_current = (await client.get(f"{API}/courses/{course_id}/export", headers=headers)).json()
    assert now_current["estimated_minutes"] == 5
    again = await client.post(f"{API}/courses/{course_id}/publish", headers=headers)
    assert again.status_code == 409


async def test_export_round_trips_byte_for_byte(
    db: AsyncSession, client: httpx.AsyncClient, staff: User, course_id: int
) -> None:
    headers = await bearer(db, staff)
    first = (await client.get(f"{API}/courses/{course_id}/export", headers=headers)).content
    await client.post(
        f"{API}/courses",
        content=first,
        headers={**headers, "Content-Type": "application/json"},
        params={"publish": "true"},
    )
    second = (await client.get(f"{API}/courses/{course_id}/export", headers=headers)).content
    assert first == second


async def test_a_bad_import_is_422_naming_the_path_and_writes_nothing(
    db: AsyncSession, site: Site, client: httpx.AsyncClient, staff: User
) -> None:
    headers = await bearer(db, staff)
    doc = sample_course(code="broken", certifies="onboarding")
    doc["quiz"]["questions"][3]["kind"] = "essay"
    response = await import_course(client, headers, doc)
    assert (response.status_code, response.json()["field"]) == (422, "quiz.questions[3].kind")
    unknown_skill = await import_course(client, headers, sample_course(code="broken", certifies="juggling"))
    assert (unknown_skill.status_code, unknown_skill.json()["field"]) == (422, "certifies")
    assert await courses.courses_of_site(db, site_id=site.id) == []


@pytest.mark.parametrize("role", [Role.agent, Role.finance])
async def test_only_coordinators_and_admins_author_courses(
    db: AsyncSession, client: httpx.AsyncClient, people: Factory, course_id: int, role: Role
) -> None:
    headers = await bearer(db, await people.make(role))
    assert (await import_course(client, headers, sample_course(code="other"))).status_code == 403
    assert (await client.get(f"{API}/courses/{course_id}/export", headers=headers)).status_code == 403
    assert (await client.post(f"{API}/courses/{course_id}/publish", headers=headers)).status_code == 403


async def test_finance_and_coordinators_do_not_take_quizzes(
    db: AsyncSession, client: httpx.AsyncClient, people: Factory, course_id: int
) -> None:
    headers = await bearer(db, await people.make(Role.finance))
    assert (await client.post(f"{API}/courses/{course_id}/attempts", headers=headers)).status_code == 403
    assert (await client.get(f"{API}/courses", headers=headers)).status_code == 403


async def test_a_course_of_another_site_is_404_for_staff_and_agents(
    db: AsyncSession, client: httpx.AsyncClient, people: Factory, course_id: int
) -> None:
    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Europe/London", country="GB")
    coordinator = await bearer(db, await people.make(Role.coordinator, site=elsewhere))
    agent = await bearer(db, await people.make(Role.agent, site=elsewhere))
    assert (await client.get(f"{API}/courses/{course_id}/export", headers=coordinator)).status_code == 404
    assert (await client.post(f"{API}/courses/{course_id}/publish", headers=coordinator)).status_code == 404
    assert (await client.get(f"{API}/courses/{course_id}", headers=agent)).status_code == 404
    assert (await client.post(f"{API}/courses/{course_id}/attempts", headers=agent)).status_code == 404
    assert (await client.get(f"{API}/courses", headers=agent)).json() == []
