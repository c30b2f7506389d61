"""Bad CSV files at every importer (issue 15, items 7 and 14): a 422 naming the row, nothing stored, never a 500.

Each importer is fed the same hostile files: a row in GBK (the probe's case: two
Chinese external ids became one string of replacement characters and an agent's
calls were "already stored (skipped)"), a field longer than the csv module's
131,072-character limit, a 20 MB line with no line break, and a quote left open.
Old Mac line endings (a lone CR) are read like any other. Times are relative to
the process clock.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, User
from backend.core.db import utcnow
from backend.core.slots import SLOT_SECONDS
from backend.demand.models import ContactInterval
from backend.work.csv_import import COLUMNS
from backend.work.models import WorkRecord
from tests.conftest import login
from tests.factories import Factory, a_skill, bearer

WORK_HEADER = ",".join(COLUMNS)
HISTORY_HEADER = "interval_start,skill,offered,handled,aht_seconds,abandoned"
TWENTY_MB = 20 * 1024 * 1024
CSV_FIELD_LIMIT = 131_072


def hours_ago(hours: int) -> dt.datetime:
    """A half-hour boundary ``hours`` before now, in Shanghai time (as a contact centre exports it)."""
    at = int((utcnow() - dt.timedelta(hours=hours)).timestamp()) // SLOT_SECONDS * SLOT_SECONDS
    return dt.datetime.fromtimestamp(at, dt.timezone(dt.timedelta(hours=8)))


def work_row(agent: User, external_id: str, hours: int) -> str:
    return f"genesys,{external_id},{agent.id},,{hours_ago(hours).isoformat()},call,1,240,5,yes,billing"


def history_row(skill: str, hours: int) -> str:
    return f"{hours_ago(hours).isoformat()},{skill},40,38,250,2"


@dataclass(frozen=True)
class Hostile:
    """A file whose row 2 cannot be read, between good rows 1 and 3; ``words`` are in the problem of row 2."""

    name: str
    build: Callable[[str, str, bytes, str], bytes]
    words: str


def _gbk(header: str, good: str, bad_text: bytes, after: str) -> bytes:
    return f"{header}\n{good}\n".encode() + bad_text + f"\n{after}\n".encode()


def _long_field(header: str, good: str, _bad_text: bytes, after: str) -> bytes:
    return f'{header}\n{good}\n"{"x" * (CSV_FIELD_LIMIT + 1)}",1\n{after}\n'.encode()


def _open_quote(header: str, good: str, _bad_text: bytes, after: str) -> bytes:
    return f'{header}\n{good}\n"genesys,c-9\n{after}\n'.encode()


def _twenty_mb_line(header: str, good: str, _bad_text: bytes, _after: str) -> bytes:
    return f"{header}\n{good}\n".encode() + b"x" * TWENTY_MB


HOSTILE = [
    Hostile("gbk", _gbk, "not UTF-8"),
    Hostile("field over the csv limit", _long_field, "longer than"),
    Hostile("open quote", _open_quote, "quotes"),
    Hostile("20 MB line", _twenty_mb_line, "longer than"),
]


@pytest.fixture
async def coordinator(db: AsyncSession, site: Site, people: Factory) -> User:
    for code in ("billing", "general"):
        await a_skill(db, site, code)
    user = await people.make(Role.coordinator)
    await db.commit()
    return user


async def work_stored(db: AsyncSession, site: Site) -> int:
    return int(await db.scalar(select(func.count()).where(WorkRecord.site_id == site.id)) or 0)


async def history_stored(db: AsyncSession, site: Site) -> int:
    query = select(func.count()).select_from(ContactInterval).where(ContactInterval.site_id == site.id)
    return int(await db.scalar(query) or 0)


async def upload(client: httpx.AsyncClient, path: str, body: bytes) -> httpx.Response:
    token = client.cookies.get("weft_csrf") or ""
    return await client.post(path, files={"file": ("file.csv", body, "text/csv")}, headers={"x-csrftoken": token})


async def in_chunks(body: bytes, size: int = 1024 * 1024) -> AsyncIterator[bytes]:
    for offset in range(0, len(body), size):
        yield body[offset : offset + size]


def row_problem(page: httpx.Response, row: int) -> str:
    """The text of the page's problem at ``row`` (the list item that starts "Row N")."""
    text = html.unescape(page.text)
    start = text.index(f"Row {row}:")
    return text[start : text.index("</li>", start)]


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda hostile: hostile.name)
async def test_a_bad_work_records_file_is_refused_naming_the_row_and_stores_nothing(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, coordinator: User, hostile: Hostile
) -> None:
    agent = await people.make(Role.agent)
    await db.commit()
    await login(client, coordinator.email)
    bad = f"genesys,{'张三'},{agent.id},,{hours_ago(2).isoformat()},call,1,240,5,yes,billing".encode("gbk")
    body = hostile.build(WORK_HEADER, work_row(agent, "c-1", 3), bad, work_row(agent, "c-3", 4))

    refused = await upload(client, "/admin/work/", body)

    assert refused.status_code == 422
    assert hostile.words in row_problem(refused, 2)
    assert "nothing was imported" in refused.text
    assert await work_stored(db, site) == 0


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda hostile: hostile.name)
async def test_a_bad_history_file_is_refused_by_the_api_naming_the_row_and_stores_nothing(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, coordinator: User, hostile: Hostile
) -> None:
    headers = await bearer(db, coordinator)
    bad = history_row("张三", 2).encode("gbk")
    body = hostile.build(HISTORY_HEADER, history_row("billing", 3), bad, history_row("billing", 4))

    refused = await client.post("/api/v1/demand/history", content=in_chunks(body), headers=headers)

    assert refused.status_code == 422
    answer = refused.json()
    assert answer["problem_count"] == 1
    [problem] = answer["problems"]
    assert problem["row"] == 2
    assert hostile.words in problem["message"]
    assert await history_stored(db, site) == 0


@pytest.mark.parametrize("hostile", HOSTILE[:2], ids=lambda hostile: hostile.name)
async def test_a_bad_history_file_is_refused_on_the_upload_page(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, coordinator: User, hostile: Hostile
) -> None:
    await login(client, coordinator.email)
    bad = history_row("张三", 2).encode("gbk")
    body = hostile.build(HISTORY_HEADER, history_row("billing", 3), bad, history_row("billing", 4))

    refused = await upload(client, "/admin/demand/", body)

    assert refused.status_code == 422
    assert hostile.words in row_problem(refused, 2)
    assert await history_stored(db, site) == 0


async def test_the_utf8_file_that_gbk_was_mistaken_for_is_stored_whole(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, coordinator: User
) -> None:
    """Two Chinese external ids stay two records once the file is UTF-8 (with Excel's byte-order mark)."""
    agent = await people.make(Role.agent)
    await db.commit()
    await login(client, coordinator.email)
    for form in ("/admin/work/", "/admin/demand/"):
        assert "“CSV UTF-8 (Comma delimited)”" in html.unescape((await client.get(form)).text)
    rows = [work_row(agent, "张三-1", 3), work_row(agent, "李四-1", 4)]
    body = "\ufeff" + "\n".join([WORK_HEADER, *rows]) + "\n"

    done = await upload(client, "/admin/work/", body.encode())

    assert done.status_code == 200, done.text
    assert "Stored 2 new records." in done.text
    ids = set(await db.scalars(select(WorkRecord.external_id).where(WorkRecord.site_id == site.id)))
    assert ids == {"张三-1", "李四-1"}


@pytest.mark.parametrize("line_end", ["\r", "\r\n", "\n"], ids=["CR", "CRLF", "LF"])
async def test_every_line_ending_is_read_by_both_importers(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, coordinator: User, line_end: str
) -> None:
    agent = await people.make(Role.agent)
    headers = await bearer(db, coordinator)
    await login(client, coordinator.email)
    work = line_end.join([WORK_HEADER, work_row(agent, "c-1", 3), work_row(agent, "c-2", 4)]) + line_end
    history = line_end.join([HISTORY_HEADER, history_row("billing", 3), history_row("general", 3)]) + line_end

    stored_work = await upload(client, "/admin/work/", work.encode())
    stored_history = await client.post(
        "/api/v1/demand/history", content=in_chunks(history.encode(), size=7), headers=headers
    )

    assert stored_work.status_code == 200, stored_work.text
    assert "Stored 2 new records." in stored_work.text
    assert stored_history.status_code == 200, stored_history.text
    assert stored_history.json() == {"rows": 2, "replaced": 0}
    assert (await work_stored(db, site), await history_stored(db, site)) == (2, 2)


async def test_problems_before_an_unreadable_row_are_listed_with_it(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, coordinator: User
) -> None:
    headers = await bearer(db, coordinator)
    body = f"{HISTORY_HEADER}\n{history_row('mystery', 3)}\n".encode() + history_row("张三", 2).encode("gbk") + b"\n"

    answer: dict[str, Any] = (await client.post("/api/v1/demand/history", content=body, headers=headers)).json()

    assert answer["problem_count"] == 2
    assert [problem["row"] for problem in answer["problems"]] == [1, 2]
    assert answer["problems"][0]["message"] == "unknown skill 'mystery'"
    assert "Save As" in answer["problems"][1]["message"]  # how to export UTF-8 from Excel
    assert await history_stored(db, site) == 0


async def test_an_unreadable_header_is_refused_as_the_header(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, coordinator: User
) -> None:
    await login(client, coordinator.email)
    body = "来源,编号\n".encode("gbk") + b"genesys,c-1\n"

    refused = await upload(client, "/admin/work/", body)

    assert refused.status_code == 422
    assert "Header: this line is not UTF-8" in html.unescape(refused.text)
    assert await work_stored(db, site) == 0
