"""Migration 0021 keeps what agents had read: "read up to lesson n" becomes lessons 1..n read, on both databases."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from sqlalchemy import insert, select

from backend.accounts import service as accounts
from backend.accounts.models import Tier
from backend.core.db import Actor, Database, act_as
from backend.core.migrate import migrate
from backend.learning.models import CourseProgress, CourseVersion, LessonProgress
from tests.factories import Factory, a_course, an_agent

ACTOR = Actor(id=None, label="test", role="system", reason="migration test world")
READ_AT = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


def in_session(url: str, work: Any) -> Any:
    async def run() -> Any:
        database = Database.from_url(url)
        try:
            async with database.session(write=True) as session:
                act_as(session, ACTOR)
                return await work(session)
        finally:
            await database.dispose()

    return asyncio.run(run())


def test_lessons_read_before_0021_still_count_after_it(empty_database_url: str) -> None:
    migrate(empty_database_url, "head")

    async def world(session: Any) -> tuple[int, int]:
        site = await accounts.ensure_site(session, name="Test", timezone="Asia/Shanghai", country="CN")
        agent = await an_agent(Factory(db=session, site=site), tier=Tier.senior, email="reader@example.com")
        course = await a_course(session, site)
        await session.commit()
        return agent.id, course.id

    agent_id, course_id = in_session(empty_database_url, world)
    migrate(empty_database_url, "0020")

    async def old_progress(session: Any) -> None:
        version_id = await session.scalar(select(CourseVersion.id).where(CourseVersion.course_id == course_id))
        await session.execute(
            insert(CourseProgress.__table__).values(
                user_id=agent_id, course_id=course_id, version_id=version_id, lessons_done=2, updated_at=READ_AT
            )
        )
        await session.commit()

    in_session(empty_database_url, old_progress)
    migrate(empty_database_url, "head")

    async def read(session: Any) -> list[tuple[int, int, int, dt.datetime]]:
        rows = await session.execute(
            select(
                LessonProgress.user_id, LessonProgress.course_id, LessonProgress.lesson_index, LessonProgress.done_at
            ).order_by(LessonProgress.lesson_index)
        )
        return [tuple(row) for row in rows]

    assert in_session(empty_database_url, read) == [
        (agent_id, course_id, 0, READ_AT),
        (agent_id, course_id, 1, READ_AT),
    ]
