"""Work records as the contact-centre systems and coordinators send them: the API batch, CSV uploads, mapping.

Every test runs on SQLite and PostgreSQL; the concurrent double submit runs
on a fresh PostgreSQL database of its own, where two transactions really race.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.core.db import Database, create_engine, utcnow
from backend.core.migrate import migrate
from backend.work import service
from backend.work.models import ExternalAgent, WorkKind, WorkRecord
from backend.work.schemas import RecordIn
from tests.conftest import drop_postgres_database, fresh_postgres_database, login, post_form
from tests.factories import Factory, a_skill, bearer

HEADER = "source,external_id,agent_id,external_agent_id,occurred_at,kind,count,handled_seconds,csat,resolved,skill"


def earlier(hours: int = 2) -> str:
    return (utcnow() - dt.timedelta(hours=hours)).astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat()


def a_record(agent_id: int | None, external_id: str, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "external_id": external_id,
        "agent_id": agent_id,
        "occurred_at": earlier(),
        "kind": "call",
        "count": 1,
        "handled_seconds": 240,
        "csat": 5,
        "resolved": True,
        "skill": "billing",
    }
    return {**record, **changes}


async def stored(db: AsyncSession, site: Site) -> int:
    return int(await db.scalar(select(func.count()).where(WorkRecord.site_id == site.id)) or 0)


@pytest.fixture
async def world(db: AsyncSession, site: Site, people: Factory) -> dict[str, Any]:
    await a_skill(db, site)
    agent = await people.make(Role.agent, display_name="Ana Agent")
    other = await people.make(Role.agent, display_name="Bo Agent")
    coordinator = await people.make(Role.coordinator)
    await db.commit()
    return {"agent": agent, "other": other, "coordinator": coordinator, "token": await bearer(db, coordinator)}


# The API ----------------------------------------------------------------------------------------------


async def test_a_batch_is_stored_and_its_replay_counts_as_duplicates(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, world: dict[str, Any]
) -> None:
    agent, other = world["agent"], world["other"]
    records = [a_record(agent.id, f"c-{n}") for n in range(3)] + [a_record(other.id, "c-9", kind="chat", csat=None)]
    body = {"source": "genesys", "records": records}

    first = await client.post("/api/v1/work-records", json=body, headers=world["token"])
    assert first.status_code == 201, first.text
    assert first.json() == {"received": 4, "created": 4, "duplicates": 0, "conflicts": []}
    mine = (await db.scalars(select(WorkRecord).where(WorkRecord.external_id == "c-0"))).one()
    assert (mine.user_id, mine.kind, mine.csat, mine.resolved, mine.handled_seconds) == (
        agent.id,
        WorkKind.call,
        5,
        True,
        240,
    )
    assert mine.occurred_at == dt.datetime.fromisoformat(records[0]["occurred_at"])
    assert mine.skill_id is not None

    again = await client.post("/api/v1/work-records", json=body, headers=world["token"])
    assert again.status_code == 200
    assert again.json() == {"received": 4, "created": 0, "duplicates": 4, "conflicts": []}
    assert await stored(db, site) == 4


async def test_a_replay_with_different_content_is_skipped_and_reported_as_a_conflict(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, world: dict[str, Any]
) -> None:
    agent = world["agent"]
    original = a_record(agent.id, "c-1")
    await client.post("/api/v1/work-records", json={"source": "genesys", "records": [original]}, headers=world["token"])
    changed = {**original, "csat": 2}
    fresh = a_record(agent.id, "c-2")

    answer = await client.post(
        "/api/v1/work-records", json={"source": "genesys", "records": [fresh, changed]}, headers=world["token"]
    )
    assert answer.status_code == 201
    assert answer.json() == {
        "received": 2,
        "created": 1,
        "duplicates": 1,
        "conflicts": [{"index": 1, "external_id": "c-1", "fields": ["csat"]}],
    }
    assert await db.scalar(select(WorkRecord.csat).where(WorkRecord.external_id == "c-1")) == 5


async def test_the_same_external_id_from_another_source_is_another_record(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, world: dict[str, Any]
) -> None:
    record = a_record(world["agent"].id, "c-1")
    for source in ("genesys", "zendesk"):
        answer = await client.post(
            "/api/v1/work-records", json={"source": source, "records": [record]}, headers=world["token"]
        )
        assert answer.json()["created"] == 1
    assert await stored(db, site) == 2


async def test_one_bad_field_refuses_the_whole_batch_naming_the_record_and_field(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, world: dict[str, Any]
) -> None:
    agent = world["agent"]
    records = [a_record(agent.id, "c-1"), a_record(agent.id, "c-2"), a_record(agent.id, "c-3", csat=7)]

    answer = await client.post(
        "/api/v1/work-records", json={"source": "genesys", "records": records}, headers=world["token"]
    )
    assert answer.status_code == 422
    assert answer.json()["field"] == "records[2].csat"
    assert await stored(db, site) == 0

    for bad, field in [
        ({"count": -1}, "records[0].count"),
        ({"kind": "email"}, "records[0].kind"),
        ({"occurred_at": "2026-12-01T18:05:00"}, "records[0].occurred_at"),
        ({"colour": "red"}, "records[0]"),
    ]:
        answer = await client.post(
            "/api/v1/work-records",
            json={"source": "genesys", "records": [a_record(agent.id, "c-9", **bad)]},
            headers=world["token"],
        )
        assert answer.status_code == 422, bad
        assert answer.json()["field"].startswith(field), (bad, answer.json())
    assert await stored(db, site) == 0


async def test_every_problem_of_a_batch_is_listed_by_index_and_nothing_is_written(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, world: dict[str, Any]
) -> None:
    elsewhere = await accounts.ensure_site(db, name="Other Centre", timezone="Asia/Shanghai", country="CN")
    foreign = await people.make(Role.agent, site=elsewhere)
    agent = world["agent"]
    future = (utcnow() + dt.timedelta(hours=1)).isoformat()
    records = [
        a_record(agent.id, "c-1"),
        a_record(999_999, "c-2"),
        a_record(foreign.id, "c-3"),
        a_record(world["coordinator"].id, "c-4"),
        a_record(None, "c-5", external_agent_id="A-404"),
        a_record(agent.id, "c-6", skill="spanish"),
        a_record(agent.id, "c-7", occurred_at=future),
        a_record(agent.id, "c-8", external_agent_id="A-55"),
        a_record(None, "c-9"),
    ]

    answer = await client.post(
        "/api/v1/work-records", json={"source": "genesys", "records": records}, headers=world["token"]
    )
    assert answer.status_code == 422
    body = answer.json()
    assert [p["field"] for p in body["problems"]] == [
        "records[1].agent_id",
        "records[2].agent_id",
        "records[3].agent_id",
        "records[4].external_agent_id",
        "records[5].skill",
        "records[6].occurred_at",
        "records[7].agent_id",
        "records[8].agent_id",
    ]
    assert body["problem_count"] == 8
    assert "no agent with id 999999 at this site" in body["problems"][0]["message"]
    assert body["problems"][1]["message"] == f"no agent with id {foreign.id} at this site"
    assert "A-404" in body["problems"][3]["message"]
    assert await stored(db, site) == 0


async def test_records_can_name_the_agent_by_a_mapped_external_id(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, world: dict[str, Any]
) -> None:
    agent, other = world["agent"], world["other"]
    mapping = {"source": "genesys", "agents": [{"external_agent_id": "A-55", "agent_id": agent.id}]}
    mapped = await client.put("/api/v1/external-agents", json=mapping, headers=world["token"])
    assert mapped.status_code == 200
    assert mapped.json() == {"agents": [{"source": "genesys", "external_agent_id": "A-55", "agent_id": agent.id}]}

    record = a_record(None, "c-1", external_agent_id="A-55")
    answer = await client.post(
        "/api/v1/work-records", json={"source": "genesys", "records": [record]}, headers=world["token"]
    )
    assert answer.status_code == 201
    assert await db.scalar(select(WorkRecord.user_id).where(WorkRecord.external_id == "c-1")) == agent.id
    unmapped_source = await client.post(
        "/api/v1/work-records", json={"source": "zendesk", "records": [record]}, headers=world["token"]
    )
    assert unmapped_source.status_code == 422

    moved = {"source": "genesys", "agents": [{"external_agent_id": "A-55", "agent_id": other.id}]}
    assert (await client.put("/api/v1/external-agents", json=moved, headers=world["token"])).status_code == 200
    assert await db.scalar(select(func.count()).select_from(ExternalAgent)) == 1
    assert await db.scalar(select(WorkRecord.user_id).where(WorkRecord.external_id == "c-1")) == agent.id

    foreign = {"source": "genesys", "agents": [{"external_agent_id": "A-56", "agent_id": 999_999}]}
    refused = await client.put("/api/v1/external-agents", json=foreign, headers=world["token"])
    assert refused.status_code == 422
    assert refused.json()["field"] == "agents[0].agent_id"


async def test_only_coordinators_and_admins_may_send_records(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, world: dict[str, Any]
) -> None:
    body = {"source": "genesys", "records": [a_record(world["agent"].id, "c-1")]}
    assert (await client.post("/api/v1/work-records", json=body)).status_code == 401
    for role in (Role.agent, Role.finance):
        headers = await bearer(db, await people.make(role))
        assert (await client.post("/api/v1/work-records", json=body, headers=headers)).status_code == 403, role
        mapping = {"source": "genesys", "agents": [{"external_agent_id": "A", "agent_id": world["agent"].id}]}
        assert (await client.put("/api/v1/external-agents", json=mapping, headers=headers)).status_code == 403
    assert await stored(db, site) == 0
    admin = await bearer(db, await people.make(Role.admin))
    assert (await client.post("/api/v1/work-records", json=body, headers=admin)).status_code == 201


# The CSV upload page ------------------------------------------------------------------------------------


def csv_file(*lines: str) -> dict[str, Any]:
    return {"file": ("work.csv", ("\n".join([HEADER, *lines]) + "\n").encode(), "text/csv")}


async def upload(client: httpx.AsyncClient, files: dict[str, Any], **headers: str) -> httpx.Response:
    token = client.cookies.get("weft_csrf") or ""
    return await client.post("/admin/work/", files=files, headers={"x-csrftoken": token, **headers})


async def test_a_csv_upload_stores_its_rows_and_a_second_upload_counts_duplicates(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, world: dict[str, Any]
) -> None:
    agent = world["agent"]
    db.add(ExternalAgent(site_id=site.id, source="genesys", external_agent_id="A-55", user_id=world["other"].id))
    await db.commit()
    await login(client, world["coordinator"].email)
    page = await client.get("/admin/work/")
    assert page.status_code == 200
    assert HEADER in page.text
    sample = await client.get("/admin/work/sample.csv")
    assert sample.status_code == 200
    assert sample.text.startswith(HEADER)

    files = csv_file(
        f"genesys,c-1,{agent.id},,{earlier()},call,1,240,5,yes,billing",
        f"genesys,c-2,,A-55,{earlier()},chat,2,,,,",
        f"zendesk,t-1,{agent.id},,{earlier()},ticket,1,,4,no,",
    )
    done = await upload(client, files)
    assert done.status_code == 200
    assert "Stored 3 new records." in done.text
    assert await stored(db, site) == 3
    assert await db.scalar(select(WorkRecord.user_id).where(WorkRecord.external_id == "c-2")) == world["other"].id
    assert "Bo Agent" in done.text  # the recent records list

    again = await upload(client, files)
    assert "Stored 0 new records." in again.text
    assert "3 already stored (skipped)." in again.text
    assert await stored(db, site) == 3


async def test_a_csv_with_bad_rows_stores_nothing_and_names_rows_and_columns(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, world: dict[str, Any]
) -> None:
    agent = world["agent"]
    await login(client, world["coordinator"].email)
    files = csv_file(
        f"genesys,c-1,{agent.id},,{earlier()},call,1,240,5,yes,billing",
        f"genesys,c-2,{agent.id},,{earlier()},call,1,240,9,yes,billing",
        f"genesys,c-3,999999,,{earlier()},call,1,240,5,yes,billing",
        f"genesys,c-4,{agent.id},,yesterday,fax,1,240,5,maybe,billing",
    )
    refused = await upload(client, files)
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "Row 2 · column csat: csat must be from 1 to 5" in text
    assert "Row 3 · column agent_id: no agent with id 999999 at this site" in text
    assert "Row 4 · column occurred_at" in text
    assert "Row 4 · column kind" in text
    assert "Row 4 · column resolved" in text
    assert "5 problems: nothing was imported." in text
    assert await stored(db, site) == 0

    as_htmx = await upload(client, files, **{"hx-request": "true"})
    assert as_htmx.status_code == 200
    assert "nothing was imported" in as_htmx.text
    assert await stored(db, site) == 0


async def test_a_csv_with_sixty_bad_rows_lists_the_first_fifty(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, world: dict[str, Any]
) -> None:
    agent = world["agent"]
    await login(client, world["coordinator"].email)
    good = [f"genesys,g-{n},{agent.id},,{earlier()},call,1,,,," for n in range(100)]
    bad = [f"genesys,b-{n},{agent.id},,{earlier()},call,1,,0,," for n in range(60)]
    refused = await upload(client, csv_file(*good, *bad))
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "60 problems: nothing was imported." in text
    assert text.count("column csat: csat must be from 1 to 5") == 50
    assert "Row 101 · column csat" in text
    assert "Row 150 · column csat" in text
    assert "Row 151 ·" not in text
    assert "…and 10 more." in text
    assert await stored(db, site) == 0


async def test_a_csv_with_a_wrong_header_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, world: dict[str, Any]
) -> None:
    await login(client, world["coordinator"].email)
    files = {"file": ("w.csv", b"source,external_id,when,kind\ngenesys,c-1,x,call\n", "text/csv")}
    refused = await upload(client, files)
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert "missing column occurred_at" in text
    assert "unknown column when" in text


async def test_the_recent_records_filter_by_agent_and_day(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, world: dict[str, Any]
) -> None:
    agent, other = world["agent"], world["other"]
    yesterday = utcnow() - dt.timedelta(days=1)
    records = [
        RecordIn(external_id="a-1", agent_id=agent.id, occurred_at=yesterday, kind=WorkKind.call),
        RecordIn(external_id="b-1", agent_id=other.id, occurred_at=yesterday, kind=WorkKind.ticket),
        RecordIn(external_id="a-old", agent_id=agent.id, occurred_at=yesterday - dt.timedelta(days=3), kind="chat"),
    ]
    await service.ingest(db, site=site, source="genesys", records=records, now=utcnow())
    await db.commit()
    await login(client, world["coordinator"].email)

    everyone = await client.get("/admin/work/")
    assert all(name in everyone.text for name in ("a-1", "b-1", "a-old"))
    only_agent = await client.get("/admin/work/", params={"agent": str(agent.id)})
    assert "a-1" in only_agent.text
    assert "a-old" in only_agent.text
    assert "b-1" not in only_agent.text
    day = yesterday.astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    one_day = await client.get("/admin/work/", params={"agent": str(agent.id), "day": day})
    assert "a-1" in one_day.text
    assert "a-old" not in one_day.text
    assert (await client.get("/admin/work/", params={"day": "soon"})).status_code == 422


async def test_the_work_pages_are_for_coordinators_and_admins(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, world: dict[str, Any]
) -> None:
    for role in (Role.finance, Role.agent):
        user = await people.make(role)
        await login(client, user.email)
        for path in ("/admin/work/", "/admin/work/agents", "/admin/work/sample.csv"):
            assert (await client.get(path)).status_code == 403, (role, path)
        assert (await upload(client, csv_file())).status_code == 403
        client.cookies.clear()


async def test_a_coordinator_maps_and_unmaps_an_external_agent_id_on_the_page(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, world: dict[str, Any]
) -> None:
    agent = world["agent"]
    await login(client, world["coordinator"].email)
    page = await client.get("/admin/work/agents")
    assert page.status_code == 200
    assert "Ana Agent" in page.text

    done = await post_form(
        client, "/admin/work/agents", {"source": "genesys", "external_agent_id": "A-77", "agent_id": str(agent.id)}
    )
    assert done.status_code == 303
    listed = await client.get(done.headers["location"])
    assert "A-77" in listed.text
    assert "Mapping saved." in listed.text
    mapping = (await db.scalars(select(ExternalAgent))).one()
    assert (mapping.source, mapping.user_id) == ("genesys", agent.id)

    refused = await post_form(
        client, "/admin/work/agents", {"source": "genesys", "external_agent_id": "A-78", "agent_id": "999999"}
    )
    assert refused.status_code == 422
    assert "no agent with id 999999 at this site" in refused.text

    elsewhere = await accounts.ensure_site(db, name="Other Centre", timezone="Asia/Shanghai", country="CN")
    outsider = await people.make(Role.coordinator, site=elsewhere)
    removed = await post_form(client, f"/admin/work/agents/{mapping.id}/delete", {})
    assert removed.status_code == 303
    assert await db.scalar(select(func.count()).select_from(ExternalAgent)) == 0
    client.cookies.clear()
    await login(client, outsider.email)
    assert (await post_form(client, f"/admin/work/agents/{mapping.id}/delete", {})).status_code == 404


# The fast path ---------------------------------------------------------------------------------------


async def test_the_bulk_path_skips_replays_too(db: AsyncSession, site: Site, world: dict[str, Any]) -> None:
    now = utcnow()
    rows = [
        {"user_id": world["agent"].id, "source": "bench", "external_id": f"r-{n}", "occurred_at": now, "kind": "call"}
        for n in range(12_001)
    ]
    assert await service.bulk_ingest_rows(db, site_id=site.id, rows=iter(rows), now=now) == 12_001
    assert await service.bulk_ingest_rows(db, site_id=site.id, rows=iter(rows[:10]), now=now) == 0
    assert await stored(db, site) == 12_001


# Concurrency (PostgreSQL) -----------------------------------------------------------------------------


@pytest.fixture
async def racing_database() -> AsyncIterator[Database]:
    url = await asyncio.to_thread(fresh_postgres_database)
    if url is None:
        pytest.skip("PostgreSQL is not reachable")
    await asyncio.to_thread(migrate, url, "head")
    database = Database(create_engine(url, pool_size=12, max_overflow=0))
    try:
        yield database
    finally:
        await database.dispose()
        await asyncio.to_thread(drop_postgres_database, url)


@pytest.mark.postgres
async def test_the_same_batch_submitted_at_once_is_stored_once(racing_database: Database) -> None:
    async with racing_database.session(write=True) as session:
        site = await accounts.ensure_site(session, name="Race Centre", timezone="Asia/Shanghai", country="CN")
        agent = User(
            email="racer@example.com", display_name="Racer", role=Role.agent, timezone=site.timezone, site_id=site.id
        )
        session.add(agent)
        await session.flush()
        site_id, agent_id = site.id, agent.id
    when = utcnow() - dt.timedelta(hours=1)
    records = [
        RecordIn(external_id=f"c-{n}", agent_id=agent_id, occurred_at=when, kind=WorkKind.call) for n in range(500)
    ]

    async def submit() -> service.IngestResult:
        async with racing_database.session(write=True) as session:
            site = await accounts.get_site(session, site_id)
            return await service.ingest(session, site=site, source="genesys", records=records, now=utcnow())

    results = await asyncio.gather(*(submit() for _ in range(8)))

    assert sum(result.created for result in results) == 500
    assert sum(result.duplicates for result in results) == 500 * 7
    async with racing_database.session() as session:
        assert await session.scalar(select(func.count()).select_from(WorkRecord)) == 500
