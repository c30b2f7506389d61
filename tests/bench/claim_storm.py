"""The claim storm: many agents claiming a few open seats at once, over HTTP, against the real server.

What a published roster's gaps look like from the server: N agents on their
phones tap "Claim" on the same few open shifts within the same second. The
benchmark starts ``weft serve`` (uvicorn, several worker processes) on a fresh
PostgreSQL database, makes N onboarded, certified senior agents with API
tokens and a handful of open shifts, then fires every agent's claims at once
(each agent claims ``--claims`` shifts, one after another, as a phone would).
Beside it, in the same run and against the same server, the same number of
concurrent requests to a trivial endpoint (``GET /healthz``: no database) and
to an authenticated read (``GET /api/v1/me``) show what the server costs
before any claim logic runs.

Reported per scenario: requests, wall seconds, throughput, p50/p95/p99
latency in ms, and status counts. Claims also report the database's own
count of held seats against the seats offered: overbooking is a failure.

    python tests/bench/claim_storm.py [--agents 500] [--shifts 10] [--seats 5] [--claims 3] [--workers 4] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from backend.accounts import service as accounts
from backend.accounts import tokens
from backend.accounts.models import Role, Tier
from backend.core.db import Database
from backend.core.migrate import migrate
from backend.core.slots import slot_of
from backend.learning.service import ADMIN_OVERRIDE, grant_certification, mark_onboarded
from backend.shifts.models import Shift, ShiftSeat
from tests.conftest import drop_postgres_database, fresh_postgres_database

ROOT = Path(__file__).resolve().parents[2]
SKILL = "support"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def build_world(url: str, agents: int, shifts: int, seats: int) -> tuple[list[str], list[int]]:
    """N agents with tokens, and ``shifts`` open shifts of ``seats`` seats tomorrow, one after another."""
    database = Database.from_url(url)
    secrets: list[str] = []
    shift_ids: list[int] = []
    async with database.session(write=True) as session:
        site = await accounts.ensure_site(session, name="Storm", timezone="Asia/Shanghai", country="CN")
        skill = await accounts.ensure_skill(session, site=site, code=SKILL, name="Support")
        for number in range(agents):
            agent = await accounts.create_user(
                session,
                site=site,
                email=f"storm{number}@example.com",
                display_name=f"Agent {number}",
                role=Role.agent,
                password=None,
            )
            agent.tier = Tier.senior  # no priority window: the storm is about the race, not the rules
            await grant_certification(session, user=agent, skill=skill, source=ADMIN_OVERRIDE)
            await mark_onboarded(session, agent)
            _token, secret = await tokens.create_token(session, user=agent, name="storm")
            secrets.append(secret)
        start = slot_of(dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
        for index in range(shifts):
            shift = Shift(
                site_id=site.id,
                skill_id=skill.id,
                start_slot=start + index * 8,
                end_slot=start + index * 8 + 6,
                seats=seats,
                taken=0,
                origin="manual",
                opened_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
            )
            session.add(shift)
            await session.flush()
            shift_ids.append(shift.id)
    await database.dispose()
    return secrets, shift_ids


async def held_seats(url: str, shift_ids: list[int]) -> dict[int, tuple[int, int, int]]:
    """Per shift: (seats, taken, seat rows held) as the database has them after the storm."""
    database = Database.from_url(url)
    async with database.session() as session:
        rows = await session.execute(
            select(Shift.id, Shift.seats, Shift.taken).where(Shift.id.in_(shift_ids)).order_by(Shift.id)
        )
        counts = dict(
            (
                await session.execute(
                    select(ShiftSeat.shift_id, func.count())
                    .where(ShiftSeat.shift_id.in_(shift_ids), ShiftSeat.released_at.is_(None))
                    .group_by(ShiftSeat.shift_id)
                )
            ).all()
        )
    await database.dispose()
    return {int(i): (int(s), int(t), int(counts.get(i, 0))) for i, s, t in rows}


def start_server(url: str, port: int, workers: int, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "WEFT_DATABASE_URL": url,
        "WEFT_SECRET_KEY": "storm-" + "k" * 40,
        "WEFT_DATA_DIR": str(data_dir),
        "WEFT_BASE_URL": f"http://127.0.0.1:{port}",
    }
    command = [str(ROOT / ".venv" / "bin" / "weft"), "serve", "--port", str(port), "--workers", str(workers)]
    if not Path(command[0]).exists():
        command = [sys.executable, "-m", "backend.cli", "serve", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.terminate()
    raise RuntimeError("the server did not come up within 60 s")


def summary(name: str, latencies: list[float], statuses: Counter[int], seconds: float) -> dict[str, Any]:
    ordered = sorted(latencies)

    def percentile(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1) if ordered else 0.0

    return {
        "scenario": name,
        "requests": len(latencies),
        "seconds": round(seconds, 2),
        "per_second": round(len(latencies) / seconds, 1) if seconds else 0.0,
        "p50_ms": round(statistics.median(ordered), 1) if ordered else 0.0,
        "p95_ms": percentile(0.95),
        "p99_ms": percentile(0.99),
        "statuses": dict(sorted(statuses.items())),
    }


async def storm(base: str, secrets: list[str], shift_ids: list[int], claims: int) -> dict[str, Any]:
    """Every agent at once; each claims ``claims`` shifts in turn (a phone waits for one answer before the next)."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    limits = httpx.Limits(max_connections=len(secrets), max_keepalive_connections=len(secrets))
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        gate = asyncio.Event()

        async def agent(secret: str, seed: int) -> None:
            picks = random.Random(seed).sample(shift_ids, min(claims, len(shift_ids)))
            headers = {"Authorization": f"Bearer {secret}"}
            await gate.wait()
            for shift_id in picks:
                began = time.perf_counter()
                response = await client.post(f"/api/v1/shifts/{shift_id}/claim", headers=headers)
                latencies.append((time.perf_counter() - began) * 1000)
                statuses[response.status_code] += 1

        tasks = [asyncio.create_task(agent(secret, n)) for n, secret in enumerate(secrets)]
        await asyncio.sleep(0.2)
        began = time.perf_counter()
        gate.set()
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - began
    return summary("claim storm", latencies, statuses, seconds)


async def reference(base: str, name: str, path: str, secrets: list[str], per_client: int) -> dict[str, Any]:
    """The same concurrency against a cheaper endpoint, for comparison in the same run."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    limits = httpx.Limits(max_connections=len(secrets), max_keepalive_connections=len(secrets))
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        gate = asyncio.Event()

        async def caller(secret: str) -> None:
            headers = {"Authorization": f"Bearer {secret}"}
            await gate.wait()
            for _ in range(per_client):
                began = time.perf_counter()
                response = await client.get(path, headers=headers)
                latencies.append((time.perf_counter() - began) * 1000)
                statuses[response.status_code] += 1

        tasks = [asyncio.create_task(caller(secret)) for secret in secrets]
        await asyncio.sleep(0.2)
        began = time.perf_counter()
        gate.set()
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - began
    return summary(name, latencies, statuses, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--shifts", type=int, default=10)
    parser.add_argument("--seats", type=int, default=5)
    parser.add_argument("--claims", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    url = fresh_postgres_database()
    if url is None:
        raise SystemExit("the claim storm needs PostgreSQL on 127.0.0.1:5432")
    results: list[dict[str, Any]] = []
    try:
        migrate(url, "head")
        secrets, shift_ids = asyncio.run(build_world(url, args.agents, args.shifts, args.seats))
        port = free_port()
        with tempfile.TemporaryDirectory() as data_dir:
            server = start_server(url, port, args.workers, Path(data_dir))
            try:
                base = f"http://127.0.0.1:{port}"
                results.append(asyncio.run(reference(base, "GET /healthz", "/healthz", secrets, args.claims)))
                results.append(asyncio.run(reference(base, "GET /api/v1/me", "/api/v1/me", secrets, args.claims)))
                claimed = asyncio.run(storm(base, secrets, shift_ids, args.claims))
            finally:
                server.terminate()
                server.wait(timeout=30)
        seats = asyncio.run(held_seats(url, shift_ids))
        claimed["seats_offered"] = sum(s for s, _, _ in seats.values())
        claimed["seats_held"] = sum(h for _, _, h in seats.values())
        claimed["overbooked_shifts"] = sum(1 for s, t, h in seats.values() if h > s or t != h)
        results.append(claimed)
    finally:
        drop_postgres_database(url)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"# Claim storm, {dt.date.today()}, {machine}; {args.agents} agents, {args.workers} server workers")
    for result in results:
        print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
