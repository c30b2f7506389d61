"""A quiz with questions left blank is not scored until the agent says so: the page asks, the API names them.

Until then nothing is stored: no score, no drills, no cooldown, and the attempt stays open with the answers kept.
"""

from __future__ import annotations

import html
import re

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, Tier, User
from backend.learning.models import Course, DrillCard, QuizAttempt
from tests.conftest import login, post_form
from tests.factories import Factory, a_course, a_skill, an_agent, bearer
from tests.integration.test_learn_pages import RIGHT, course_doc, drawn_keys, form_answers, start_quiz


async def billing_course(db: AsyncSession, site: Site) -> Course:
    await a_skill(db, site)
    return await a_course(db, site, course_doc("billing-101", "billing", title="Billing 101"))


async def stored(db: AsyncSession, attempt_id: int) -> QuizAttempt:
    attempt = await db.get(QuizAttempt, attempt_id)
    assert attempt is not None
    await db.refresh(attempt)
    return attempt


async def drills_of(db: AsyncSession, agent: User) -> list[str]:
    return list(await db.scalars(select(DrillCard.question_key).where(DrillCard.user_id == agent.id)))


async def test_the_page_asks_before_scoring_a_quiz_with_blanks_and_keeps_the_answers(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    course = await billing_course(db, site)
    agent = await an_agent(people, tier=Tier.senior)
    await login(client, agent.email)
    attempt_id, page = await start_quiz(client, course)
    first, *blank = drawn_keys(page)
    answered = form_answers(page, {first: RIGHT[first]})

    asked = await post_form(client, f"/app/learn/attempts/{attempt_id}", answered)

    assert asked.status_code == 200, "a question, not a refusal: nothing was wrong with the answers given"
    body = html.unescape(asked.text)
    assert "You left 3 questions blank — submit anyway?" in body
    for key in blank:
        assert 'class="question unanswered"' in body.split(f'id="q-{key}"')[0].rsplit("<fieldset", 1)[1]
        assert f'id="u-{key}"' in body
    assert f'id="u-{first}"' not in body
    assert re.search(r'<button[^>]*name="confirm_blanks" value="1"', body)
    assert body.index("Submit answers") < body.index('name="confirm_blanks"'), "Enter still means Submit answers"
    kept = body.split(f'id="q-{first}"', 1)[1].split("</fieldset>", 1)[0]
    assert "checked" in kept or "selected" in kept, "the agent's answer is still chosen"
    attempt = await stored(db, attempt_id)
    assert (attempt.submitted_at, attempt.score_percent, attempt.answers) == (None, None, None)
    assert await drills_of(db, agent) == []
    again = await post_form(client, f"/app/learn/courses/{course.id}/attempts", {})
    assert again.headers["location"] == f"/app/learn/attempts/{attempt_id}", "no cooldown: the same attempt resumes"

    confirmed = await post_form(client, f"/app/learn/attempts/{attempt_id}", {**answered, "confirm_blanks": "1"})

    assert (confirmed.status_code, confirmed.headers["location"]) == (303, f"/app/learn/attempts/{attempt_id}/result")
    attempt = await stored(db, attempt_id)
    assert (attempt.score_percent, attempt.passed) == (25.0, False)
    assert sorted(await drills_of(db, agent)) == sorted(blank)
    cooling = await post_form(client, f"/app/learn/courses/{course.id}/attempts", {})
    assert cooling.status_code == 409, "a confirmed failure starts the cooldown"


async def test_a_quiz_with_every_question_answered_is_scored_without_asking(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    course = await billing_course(db, site)
    agent = await an_agent(people, tier=Tier.senior)
    await login(client, agent.email)
    attempt_id, page = await start_quiz(client, course)
    submitted = await post_form(client, f"/app/learn/attempts/{attempt_id}", form_answers(page, RIGHT))
    assert submitted.status_code == 303
    assert (await stored(db, attempt_id)).score_percent == 100.0


async def test_the_question_asked_reads_in_chinese(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    course = await billing_course(db, site)
    agent = await an_agent(people, tier=Tier.senior, locale="zh-Hans")
    await login(client, agent.email)
    attempt_id, _page = await start_quiz(client, course)
    asked = await post_form(client, f"/app/learn/attempts/{attempt_id}", {})
    body = html.unescape(asked.text)
    assert "你有 4 道题未作答" in body
    assert "仍然提交" in body


async def test_the_api_names_the_blank_questions_and_scores_only_when_confirmed(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    course = await billing_course(db, site)
    agent = await people.make(Role.agent)
    headers = await bearer(db, agent)
    attempt = (await client.post(f"/api/v1/courses/{course.id}/attempts", headers=headers)).json()
    first, *blank = [question["key"] for question in attempt["questions"]]
    answers = [{"question": first, "choices": RIGHT[first]}, {"question": blank[0], "choices": []}]
    submit = f"/api/v1/attempts/{attempt['id']}/submit"

    refused = await client.post(submit, json={"answers": answers}, headers=headers)

    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == f"answers.{blank[0]}"
    assert all(key in refused.json()["message"] for key in blank)
    assert first not in refused.json()["message"]
    assert (await stored(db, attempt["id"])).submitted_at is None
    assert await drills_of(db, agent) == []
    resumed = await client.post(f"/api/v1/courses/{course.id}/attempts", headers=headers)
    assert (resumed.status_code, resumed.json()["id"]) == (200, attempt["id"])

    scored = await client.post(submit, json={"answers": answers, "confirm_blanks": True}, headers=headers)

    assert scored.status_code == 200, scored.text
    assert (scored.json()["score_percent"], scored.json()["passed"]) == (25.0, False)
