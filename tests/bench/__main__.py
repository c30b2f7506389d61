"""Benchmarks for the foundation: the cost of signing in and of an authenticated request.

Run with ``make bench``. Prints medians and 95th percentiles over several
rounds, for SQLite and (when reachable) PostgreSQL, measured in the same run
through the in-process ASGI transport (no network), so the numbers are the
app's own cost: session lookup, guards, unit of work, rendering.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from backend.accounts import service, tokens
from backend.accounts.models import Role
from backend.app import create_app
from backend.core.db import Database
from backend.core.migrate import migrate
from backend.core.settings import load_settings
from tests.conftest import drop_postgres_database, fresh_postgres_database, fresh_sqlite_database

ROUNDS = 5
REQUESTS_PER_ROUND = 200
LOGINS_PER_ROUND = 5
PASSWORD = "benchmark password"


async def timed(n: int, call: Callable[[], Awaitable[httpx.Response]], expect: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        response = await call()
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == expect, response.status_code
    return samples


async def bench_database(url: str, data_dir: Path) -> dict[str, list[float]]:
    settings = load_settings(
        {"WEFT_DATABASE_URL": url, "WEFT_SECRET_KEY": "bench-" + "k" * 40, "WEFT_DATA_DIR": str(data_dir)}
    )
    database = Database.from_url(url)
    async with database.session(write=True) as session:
        site = await service.ensure_site(session, name="Bench", timezone="Asia/Shanghai", country="CN")
        agent = await service.create_user(
            session, site=site, email="bench@example.com", display_name="Bench", role=Role.agent, password=PASSWORD
        )
        _token, secret = await tokens.create_token(session, user=agent, name="bench")
    app = create_app(settings, database=database)
    headers = {"Authorization": f"Bearer {secret}"}
    results: dict[str, list[float]] = {
        "sign in (argon2id)": [],
        "GET /api/v1/me (session)": [],
        "GET /api/v1/me (token)": [],
        "GET /app page (session)": [],
    }
    transport = httpx.ASGITransport(app=app, client=("127.0.0.2", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        await client.get("/login")
        csrf = client.cookies.get("weft_csrf") or ""

        def sign_in() -> Awaitable[httpx.Response]:
            return client.post("/login", data={"email": "bench@example.com", "password": PASSWORD, "_csrf_token": csrf})

        for _ in range(ROUNDS):
            results["sign in (argon2id)"].append(statistics.median(await timed(LOGINS_PER_ROUND, sign_in, 303)))
            results["GET /api/v1/me (session)"].append(
                statistics.median(await timed(REQUESTS_PER_ROUND, lambda: client.get("/api/v1/me"), 200))
            )
            results["GET /app page (session)"].append(
                statistics.median(await timed(REQUESTS_PER_ROUND, lambda: client.get("/app"), 200))
            )
            results["GET /api/v1/me (token)"].append(
                statistics.median(
                    await timed(REQUESTS_PER_ROUND, lambda: client.get("/api/v1/me", headers=headers), 200)
                )
            )
    await database.dispose()
    return results


def main() -> None:
    machine = f"{platform.node()} ({platform.machine()}, Python {platform.python_version()})"
    print(f"# Weft benchmarks, {dt.date.today()}, {machine}")
    print(f"medians of {ROUNDS} rounds; each round's value is the median of its requests, in milliseconds\n")
    print("| database | measure | median ms | spread (min-max of round medians) |")
    print("| --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("SQLite", fresh_sqlite_database(Path(tmp)))]
        postgres = fresh_postgres_database()
        if postgres:
            targets.append(("PostgreSQL", postgres))
        try:
            for name, url in targets:
                migrate(url, "head")
                for measure, rounds in asyncio.run(bench_database(url, Path(tmp))).items():
                    spread = f"{min(rounds):.2f}-{max(rounds):.2f}"
                    print(f"| {name} | {measure} | {statistics.median(rounds):.2f} | {spread} |")
        finally:
            if postgres:
                drop_postgres_database(postgres)


if __name__ == "__main__":
    main()
