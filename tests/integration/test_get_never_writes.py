"""A GET never writes: every GET route of the app, as every role, inserts, updates and deletes nothing.

A read that wrote took SQLite's write lock inside a read transaction and failed with
"database is locked" beside any concurrent import (issue 15, the roster API). The one
write a read may make is the documented best-effort "last used" touch of the caller's
login session or API token.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from litestar.routes import HTTPRoute
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from backend.accounts.models import Role, Site
from backend.core.db import utcnow
from backend.core.slots import IsoWeek
from backend.requests import attachments, intake
from backend.requests.models import RequestKind
from backend.requests.schemas import RequestDraft
from backend.roster.models import Roster
from tests.conftest import login
from tests.factories import Factory, a_course, a_held_shift, a_skill, an_agent

# Where a read may write: the caller's own session or token being marked as used (best effort).
TOUCHES = re.compile(r"^\s*UPDATE\s+\"?(login_sessions|api_tokens)\"?\s", re.IGNORECASE)
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE)\b", re.IGNORECASE)
NOT_PAGES = ("/static", "/api/schema")


@contextmanager
def writes_seen(connection: AsyncConnection) -> Iterator[list[str]]:
    """Every statement that writes, on the connection the app under test uses, while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if WRITES.match(statement) and not TOUCHES.match(statement):
            seen.append(statement.split("\n")[0][:160])

    event.listen(connection.sync_connection, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", record)


def get_paths(app: Any, values: dict[str, str]) -> list[str]:
    """Every GET route's path with its parameters filled in from ``values`` (unknown ids: 1)."""
    paths = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(NOT_PAGES):
            continue
        if any("GET" in handler.http_methods for handler in route.route_handlers):
            paths.append(re.sub(r"\{(\w+):\w+\}", lambda m: values.get(m.group(1), "1"), route.path))
    return sorted(set(paths))


@pytest.mark.parametrize("role", [None, Role.agent, Role.coordinator, Role.finance, Role.admin])
async def test_no_get_route_writes_for_any_role(
    app: Any,
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    db: AsyncSession,
    site: Site,
    people: Factory,
    role: Role | None,
) -> None:
    billing = await a_skill(db, site, "billing")
    agent = await an_agent(people, skills=[billing])
    shift = await a_held_shift(db, agent, utcnow() + dt.timedelta(days=2), skill=billing)
    course = await a_course(db, site)
    draft = RequestDraft(kind=RequestKind.schedule, title="Wrong end time", details="It says 20:00.", shift=shift.id)
    asked = await intake.raise_request(db, asker=agent, draft=draft, now=utcnow())
    screenshot = await attachments.store(
        db, request=asked, uploader=agent, filename="rota.txt", data=b"The rota says 20:00.", now=utcnow()
    )
    if role is not None:
        user = agent if role is Role.agent else await people.make(role)
        assert (await login(client, user.email)).status_code == 303
    week = str(IsoWeek.containing(utcnow(), dt.UTC).shifted(1))
    values = {
        "user_id": str(agent.id),
        "shift_id": str(shift.id),
        "course_id": str(course.id),
        "week": week,
        "tab": "shifts",
        "skill_code": "billing",
        "key": "q1",
        "request_id": str(asked.id),
        "attachment_id": str(screenshot.id),
    }
    written: dict[str, list[str]] = {}
    for path in get_paths(app, values):
        with writes_seen(connection) as seen:
            await client.get(path)
        if seen:
            written[path] = seen
    assert written == {}


async def test_the_roster_api_answers_an_untouched_week_empty_without_storing_it(
    client: httpx.AsyncClient, connection: AsyncConnection, db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    assert (await login(client, coordinator.email)).status_code == 303
    week = str(IsoWeek.containing(utcnow(), dt.UTC).shifted(2))
    with writes_seen(connection) as seen:
        answer = await client.get(f"/api/v1/rosters/{week}")
    assert answer.status_code == 200
    assert answer.json() == {"week": week, "published_version": 0, "lines": [], "run": None}
    assert seen == []
    assert await db.scalar(select(func.count()).select_from(Roster)) == 0
