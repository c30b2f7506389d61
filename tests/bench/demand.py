"""Benchmarks for demand: importing a million history rows, and staffing a week of ten skills.

Run with ``.venv/bin/python -m tests.bench.demand``. The import goes through
the real code path (CSV bytes streamed into ``import_history``, batched
writes, one unit of work) in a child process per database, so its peak
memory (``ru_maxrss`` less the child's size before the import) is the
import's own. Staffing is pure arithmetic: 336 half-hour slots times 10
skills by Erlang C and by Erlang A, median of several runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from backend.accounts import service
from backend.core.db import Database
from backend.core.migrate import migrate
from backend.core.slots import SLOT_SECONDS
from backend.demand import erlang
from backend.demand.demo import daily_shape
from backend.demand.history import chunks_of, import_history
from tests.conftest import drop_postgres_database, fresh_postgres_database, fresh_sqlite_database

IMPORT_ROWS = 1_000_000
IMPORT_SKILLS = 20
STAFFING_SKILLS = 10
STAFFING_SLOTS = 336
STAFFING_RUNS = 5
FIRST_SLOT = int(dt.datetime(2023, 1, 2, tzinfo=dt.UTC).timestamp()) // SLOT_SECONDS


def history_lines(rows: int, skills: list[str]) -> Iterator[str]:
    """A realistic CSV: every skill at every half hour, volumes with a daily shape."""
    yield "interval_start,skill,offered,handled,aht_seconds,abandoned\n"
    for index in range(rows // len(skills)):
        slot = FIRST_SLOT + index
        start = dt.datetime.fromtimestamp(slot * SLOT_SECONDS, dt.UTC).isoformat()
        hour = (slot % 48) / 2
        for number, code in enumerate(skills):
            offered = round(40 * daily_shape((hour + 8) % 24)) + number
            handled = max(0, offered - 2)
            yield f"{start},{code},{offered},{handled},{240 + number * 7}.5,{offered - handled}\n"


async def import_child(url: str) -> dict[str, float]:
    database = Database.from_url(url)
    codes = [f"skill{n:02d}" for n in range(IMPORT_SKILLS)]
    async with database.session(write=True) as session:
        site = await service.ensure_site(session, name="Bench", timezone="Asia/Shanghai", country="CN")
        for code in codes:
            await service.ensure_skill(session, site=site, code=code, name=code)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    async with database.session(write=True) as session:
        result = await import_history(
            session, site_id=site.id, chunks=chunks_of(history_lines(IMPORT_ROWS, codes)), imported_by_id=None
        )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    await database.dispose()
    return {
        "rows": result.rows,
        "seconds": seconds,
        "peak_mb": (peak - baseline) / 1024,
        "baseline_mb": baseline / 1024,
    }


def run_import(url: str) -> dict[str, float]:
    """The import in a fresh process, so its memory is measured alone."""
    output = subprocess.run(
        [sys.executable, "-m", "tests.bench.demand", "--import-child", url],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def week_of_contacts(skill: int) -> list[float]:
    peak = 20 + 25 * skill  # from 20 to 245 contacts per half hour at the peak
    return [peak * daily_shape((slot % 48) / 2) * (0.6 if slot // 48 >= 5 else 1.0) for slot in range(STAFFING_SLOTS)]


def staff_week(model: str) -> int:
    targets = erlang.Targets(service_level=0.8, answer_within_seconds=20, max_occupancy=0.85, shrinkage=0.3)
    total = 0
    for skill in range(STAFFING_SKILLS):
        aht = 240 + 20 * skill
        for contacts in week_of_contacts(skill):
            if model == "erlang_a":
                staffing = erlang.erlang_a_staffing(
                    contacts=contacts, aht=aht, interval=SLOT_SECONDS, targets=targets, patience=120
                )
            else:
                staffing = erlang.erlang_c_staffing(contacts=contacts, aht=aht, interval=SLOT_SECONDS, targets=targets)
            total += staffing.agents
    return total


def time_staffing(model: str) -> tuple[float, float, int]:
    samples, agents = [], 0
    for _ in range(STAFFING_RUNS):
        started = time.perf_counter()
        agents = staff_week(model)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), max(samples), agents


def main() -> None:
    cpu = platform.processor() or platform.machine()
    machine = f"{platform.node()} ({cpu}, {os.cpu_count()} cores, Python {platform.python_version()})"
    print(f"# Weft demand benchmarks, {dt.date.today()}, {machine}\n")
    print("| measure | database | result |")
    print("| --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("SQLite", fresh_sqlite_database(Path(tmp)))]
        postgres = fresh_postgres_database()
        if postgres:
            targets.append(("PostgreSQL", postgres))
        try:
            for name, url in targets:
                migrate(url, "head")
                result = run_import(url)
                rate = result["rows"] / result["seconds"]
                print(
                    f"| import {int(result['rows']):,} history rows (CSV stream, {IMPORT_SKILLS} skills) | {name} | "
                    f"{result['seconds']:.1f} s, {rate:,.0f} rows/s, peak memory +{result['peak_mb']:.0f} MB "
                    f"(process {result['baseline_mb']:.0f} MB before) |"
                )
        finally:
            if postgres:
                drop_postgres_database(postgres)
    for model, label in (("erlang_c", "Erlang C"), ("erlang_a", "Erlang A (patience 120 s)")):
        median, worst, agents = time_staffing(model)
        print(
            f"| staff {STAFFING_SLOTS} slots x {STAFFING_SKILLS} skills, {label} | none | "
            f"median {median * 1000:.0f} ms of {STAFFING_RUNS} runs (max {worst * 1000:.0f} ms), "
            f"{agents:,} agent-slots |"
        )
    print(f"\nPeak contacts per slot in the staffing run: {math.ceil(max(week_of_contacts(STAFFING_SKILLS - 1)))}.")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--import-child":
        print(json.dumps(asyncio.run(import_child(sys.argv[2]))))
    else:
        main()
