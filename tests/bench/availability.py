"""Benchmark: writing a week of availability through the API, with 10,000 agents in the database.

    .venv/bin/python -m tests.bench.availability [--agents 10000] [--subset 600] [--rounds 3] [--concurrency 8]

10,000 agents and their API tokens are bulk-inserted with Core (tokens hashed
as the app hashes them, already in use), and each agent's week is pre-filled
with Core too, so the tables hold about 300,000 offered slots. Then, in each
of ``rounds`` rounds, a fixed subset of agents PUTs a different realistic
week (3-5 blocks of evenings, mornings or school hours) to
``/api/v1/availability`` through the real app over the in-process ASGI
transport with bearer tokens: once one request at a time (latency), once
``concurrency`` at a time (throughput). The table gives the median over the
rounds of each round's agents per second, median and 95th-percentile latency,
and the time all 10,000 agents would take at that rate. A full pass over
every agent through the API takes several minutes per database on a small
machine, hence the subset. SQLite always; PostgreSQL when reachable.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import platform
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service
from backend.accounts.models import ApiToken, Role, Tier, User, UserStatus
from backend.app import create_app
from backend.availability.models import AvailabilityWeek, OfferedSlot, Preference
from backend.core.db import Database, utcnow
from backend.core.migrate import migrate
from backend.core.security import hash_secret, new_secret
from backend.core.settings import load_settings
from backend.core.slots import IsoWeek, slot_of
from tests.conftest import drop_postgres_database, fresh_postgres_database, fresh_sqlite_database

ZONE = ZoneInfo("Asia/Shanghai")
INSERT_BATCH = 1000
WINDOWS = [(8, 12), (9, 15), (18, 22), (19, 23), (10, 13), (14, 17)]


@dataclass
class Measure:
    database: str
    measure: str
    agents: int
    concurrency: int
    agents_per_second: float
    median_ms: float
    p95_ms: float
    all_agents_seconds: float


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]


def a_week(week: IsoWeek, rng: random.Random) -> dict[str, Any]:
    """3-5 blocks on different days, each a persona-like window."""
    days = rng.sample(range(7), rng.randint(3, 5))
    blocks = []
    for weekday in sorted(days):
        first, last = rng.choice(WINDOWS)
        day = week.monday + dt.timedelta(days=weekday)
        start = dt.datetime.combine(day, dt.time(first), tzinfo=ZONE)
        end = dt.datetime.combine(day, dt.time(last), tzinfo=ZONE)
        blocks.append(
            {
                "start": start.isoformat(),
                "end": end.isoformat(),
                "preference": rng.choice(["preferred"] * 3 + ["if_needed"]),
            }
        )
    return {"week": str(week), "max_hours": float(rng.choice([8, 10, 12, 16, 20])), "blocks": blocks}


async def create_agents(database: Database, count: int, week: IsoWeek) -> list[str]:
    """``count`` agents, each with an API token in use and ``week`` already offered; returns the token secrets."""
    async with database.session(write=True) as session:
        site = await service.ensure_site(session, name="Bench", timezone=ZONE.key, country="CN")
        site_id = site.id
    secrets: list[str] = []
    for first in range(0, count, INSERT_BATCH):
        numbers = range(first, min(first + INSERT_BATCH, count))
        async with database.session(write=True) as session:
            ids = await insert_agents(session, site_id, numbers)
            batch = [new_secret("weft_") for _ in numbers]
            await session.execute(
                insert(ApiToken), [token_row(user_id, secret) for user_id, secret in zip(ids, batch, strict=True)]
            )
            await session.execute(
                insert(OfferedSlot),
                [row for n, user_id in zip(numbers, ids, strict=True) for row in slot_rows(user_id, week, n)],
            )
            await session.execute(
                insert(AvailabilityWeek),
                [{"user_id": user_id, "week": str(week), "max_hours": 12.0, "updated_at": utcnow()} for user_id in ids],
            )
            secrets.extend(batch)
    return secrets


async def insert_agents(session: AsyncSession, site_id: int, numbers: range) -> list[int]:
    emails = [f"bench{n:05d}@example.com" for n in numbers]
    now = utcnow()
    await session.execute(
        insert(User),
        [
            {
                "email": email,
                "display_name": f"Bench {n}",
                "role": Role.agent,
                "locale": "en",
                "timezone": ZONE.key,
                "tier": Tier.junior,
                "status": UserStatus.active,
                "site_id": site_id,
                "created_at": now,
            }
            for n, email in zip(numbers, emails, strict=True)
        ],
    )
    ids = dict((await session.execute(select(User.email, User.id).where(User.email.in_(emails)))).all())
    return [ids[email] for email in emails]


def token_row(user_id: int, secret: str) -> dict[str, Any]:
    now = utcnow()
    return {
        "user_id": user_id,
        "name": "bench",
        "prefix": secret[:12],
        "secret_hash": hash_secret(secret),
        "role": Role.agent,
        "created_at": now,
        "last_used_at": now,
    }


def slot_rows(user_id: int, week: IsoWeek, number: int) -> list[dict[str, Any]]:
    rows = {}
    for block in a_week(week, random.Random(number))["blocks"]:
        start, end = (slot_of(dt.datetime.fromisoformat(block[part])) for part in ("start", "end"))
        rows.update(
            {
                slot: {"user_id": user_id, "slot": slot, "preference": Preference(block["preference"])}
                for slot in range(start, end)
            }
        )
    return list(rows.values())


async def put_week(client: httpx.AsyncClient, secret: str, body: dict[str, Any]) -> float:
    start = time.perf_counter()
    response = await client.put("/api/v1/availability", json=body, headers={"Authorization": f"Bearer {secret}"})
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, response.text
    return elapsed


async def one_round(
    client: httpx.AsyncClient, secrets: list[str], week: IsoWeek, concurrency: int, round_number: int
) -> tuple[float, list[float]]:
    """Every agent of ``secrets`` writes a new week, ``concurrency`` at a time; returns (agents/s, latencies)."""
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for item in enumerate(secrets):
        queue.put_nowait(item)
    latencies: list[float] = []

    async def worker() -> None:
        while not queue.empty():
            index, secret = queue.get_nowait()
            body = a_week(week, random.Random(f"{concurrency}:{round_number}:{index}"))
            latencies.append(await put_week(client, secret, body))

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(secrets) / (time.perf_counter() - start), latencies


async def bench_database(name: str, url: str, data_dir: Path, args: argparse.Namespace) -> list[Measure]:
    settings = load_settings(
        {"WEFT_DATABASE_URL": url, "WEFT_SECRET_KEY": "bench-" + "k" * 40, "WEFT_DATA_DIR": str(data_dir)}
    )
    database = Database.from_url(url)
    week = IsoWeek.containing(utcnow(), ZONE).shifted(2)  # always before its deadline
    started = time.perf_counter()
    secrets = await create_agents(database, args.agents, week)
    setup = Measure(
        name,
        "set-up: agents, tokens, a week each (Core)",
        args.agents,
        1,
        args.agents / (time.perf_counter() - started),
        0,
        0,
        0,
    )
    app = create_app(settings, database=database)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.2", 1))
    subset = secrets[:: max(1, len(secrets) // args.subset)][: args.subset]
    measures = [setup]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        for concurrency in (1, args.concurrency):
            rounds = [await one_round(client, subset, week, concurrency, n) for n in range(args.rounds)]
            rate = statistics.median(r for r, _ in rounds)
            measures.append(
                Measure(
                    name,
                    "PUT /api/v1/availability (replace a week)",
                    len(subset),
                    concurrency,
                    rate,
                    statistics.median(statistics.median(latencies) for _, latencies in rounds),
                    statistics.median(p95(latencies) for _, latencies in rounds),
                    args.agents / rate,
                )
            )
    await database.dispose()
    return measures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--subset", type=int, default=600)
    args = parser.parse_args()
    machine = (
        f"{platform.node()} ({platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()})"
    )
    results: list[Measure] = []
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("SQLite", fresh_sqlite_database(Path(tmp)))]
        postgres = fresh_postgres_database()
        if postgres:
            targets.append(("PostgreSQL", postgres))
        try:
            for name, url in targets:
                migrate(url, "head")
                results.extend(asyncio.run(bench_database(name, url, Path(tmp), args)))
        finally:
            if postgres:
                drop_postgres_database(postgres)
    print(f"# Availability writes, {dt.date.today()}, {machine}\n")
    print(f"{args.agents:,} agents in the database; medians of {args.rounds} rounds over a fixed subset\n")
    print("| database | measure | agents per round | in flight | agents/s | median ms | p95 ms | all at this rate |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for m in results:
        latency = f"{m.median_ms:.1f} | {m.p95_ms:.1f} | {m.all_agents_seconds:.0f} s" if m.median_ms else "- | - | -"
        print(
            f"| {m.database} | {m.measure} | {m.agents:,} | {m.concurrency} | {m.agents_per_second:,.0f} | {latency} |"
        )


if __name__ == "__main__":
    main()
