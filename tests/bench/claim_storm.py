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

    python -m tests.bench.claim_storm [--agents 500] [--shifts 10] [--seats 5] [--claims 3] [--workers 4]
                                      [--spread SECONDS] [--json]
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from sqlalchemy import func, select

from backend.accounts import service as accounts
from backend.accounts import tokens
from backend.accounts.models import Role, Tier
from backend.certifications.service import ADMIN_OVERRIDE, grant_certification, mark_onboarded
from backend.core.db import Database
from backend.core.migrate import migrate
from backend.core.slots import slot_of
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
            await mark_onboarded(session, user=agent)
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


async def fire(
    base: str,
    secrets: list[str],
    requests_of: Callable[[int], list[tuple[str, str]]],
    name: str,
    spread_seconds: float = 0.0,
) -> dict[str, Any]:
    """Every client at once, each sending its requests one after another (a phone waits for each answer).

    With ``spread_seconds`` the clients start evenly over that many seconds instead of all in the same
    instant: agents tapping in the seconds after a notification, not a synchronised burst.

    Each client opens its keep-alive connection before the start (a warm-up ``GET /healthz``), so the
    numbers are the server's answers, not TCP handshakes. aiohttp, not httpx: the client shares the two
    cores with the server, and aiohttp costs it about a third as much per request.
    """
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    connector = aiohttp.TCPConnector(limit=len(secrets), force_close=False)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(base_url=base, connector=connector, timeout=timeout) as client:
        gate, warmed = asyncio.Event(), asyncio.Event()
        waiting = [len(secrets)]

        async def one(number: int, secret: str) -> None:
            headers = {"Authorization": f"Bearer {secret}"}
            async with client.get("/healthz") as warm:
                await warm.read()
            waiting[0] -= 1
            if not waiting[0]:
                warmed.set()
            await gate.wait()
            await asyncio.sleep(spread_seconds * number / len(secrets))
            for method, path in requests_of(number):
                began = time.perf_counter()
                async with client.request(method, path, headers=headers) as response:
                    await response.read()
                    statuses[response.status] += 1
                latencies.append((time.perf_counter() - began) * 1000)

        tasks = [asyncio.create_task(one(n, secret)) for n, secret in enumerate(secrets)]
        await warmed.wait()
        await asyncio.sleep(0.5)
        began = time.perf_counter()
        gate.set()
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - began
    return summary(name, latencies, statuses, seconds)


def claims_of(shift_ids: list[int], claims: int) -> Callable[[int], list[tuple[str, str]]]:
    """Agent ``n`` claims ``claims`` of the shifts, picked by a seeded draw (the same in every run)."""

    def requests(number: int) -> list[tuple[str, str]]:
        picks = random.Random(number).sample(shift_ids, min(claims, len(shift_ids)))
        return [("POST", f"/api/v1/shifts/{shift_id}/claim") for shift_id in picks]

    return requests


def repeated(path: str, times: int) -> Callable[[int], list[tuple[str, str]]]:
    return lambda _number: [("GET", path)] * times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--shifts", type=int, default=10)
    parser.add_argument("--seats", type=int, default=5)
    parser.add_argument("--claims", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--spread", type=float, default=0.0, help="also run the claims with starts spread over S s")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    url = fresh_postgres_database()
    if url is None:
        raise SystemExit("the claim storm needs PostgreSQL on 127.0.0.1:5432")
    results: list[dict[str, Any]] = []
    try:
        migrate(url, "head")
        rounds = 2 if args.spread else 1  # the spread run gets shifts of its own, still all open
        secrets, all_shift_ids = asyncio.run(build_world(url, args.agents, args.shifts * rounds, args.seats))
        shift_ids, spread_ids = all_shift_ids[: args.shifts], all_shift_ids[args.shifts :]
        port = free_port()
        with tempfile.TemporaryDirectory() as data_dir:
            server = start_server(url, port, args.workers, Path(data_dir))
            try:
                base = f"http://127.0.0.1:{port}"
                healthz, me = repeated("/healthz", args.claims), repeated("/api/v1/me", args.claims)
                results.append(asyncio.run(fire(base, secrets, healthz, "GET /healthz")))
                results.append(asyncio.run(fire(base, secrets, me, "GET /api/v1/me")))
                claimed = asyncio.run(fire(base, secrets, claims_of(shift_ids, args.claims), "claim storm"))
                if args.spread:
                    spread_name = f"claims, starts spread over {args.spread:g} s"
                    spread = fire(base, secrets, claims_of(spread_ids, args.claims), spread_name, args.spread)
                    spread_result = asyncio.run(spread)
            finally:
                server.terminate()
                server.wait(timeout=30)
        for result, ids in [(claimed, shift_ids)] + ([(spread_result, spread_ids)] if args.spread else []):
            seats = asyncio.run(held_seats(url, ids))
            result["seats_offered"] = sum(s for s, _, _ in seats.values())
            result["seats_held"] = sum(h for _, _, h in seats.values())
            result["overbooked_shifts"] = sum(1 for s, t, h in seats.values() if h > s or t != h)
            results.append(result)
    finally:
        drop_postgres_database(url)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"# Claim storm, {dt.date.today()}, {machine}; {args.agents} agents, {args.workers} server workers")
    for result in results:
        print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
