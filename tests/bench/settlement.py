"""The settlement bench: lock a week of 10,000 agents and 2,000,000 work records, then export it three ways.

On a fresh PostgreSQL database the bench builds one site with a rate card, N agents (bulk Core
inserts, no password hashing), a finance user and one past weekly pay period holding R work
records (COPY through asyncpg), spread over the agents, the seven days and the four kinds, some
with CSAT. Then each phase runs in a child process of its own, so its peak memory is its own:

    lock     ``periods.lock_period``: every agent settled, posted, checksummed (one transaction)
    csv      ``exports.export_csv`` streamed to /dev/null
    xlsx     ``exports.export_xlsx`` streamed to /dev/null
    json     ``exports.export_json`` streamed to /dev/null

Each child reports wall seconds, its resident memory before the phase (interpreter and imports) and
its peak during the phase (``VmHWM``, reset just before it); the difference is what the phase needed. With
``--compare-agents M`` (default 1,000) a second site with M agents and R*M/N records is built,
locked and exported the same way, to show that export memory does not grow with the period.

    python -m tests.bench.settlement [--agents 10000] [--records 2000000] [--compare-agents 1000] [--json]

Goal (issue 7): lock under 60 s, each export under 30 s, export memory independent of size.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import msgspec
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from backend.accounts import service as accounts
from backend.accounts.models import Role, Tier, User
from backend.core.db import Database, utcnow
from backend.core.migrate import migrate
from backend.pay import exports, periods
from backend.pay.models import PayPeriod, RateCard, SettlementLine
from backend.pay.rates import PieceRate, QualityBonus, Rates
from backend.work.models import WorkRecord
from tests.conftest import drop_postgres_database, fresh_postgres_database

ROOT = Path(__file__).resolve().parents[2]
TIMEZONE = "Asia/Shanghai"
KINDS = ("call", "chat", "ticket", "callback")
TIERS = (Tier.junior, Tier.mid, Tier.senior)
USER_CHUNK = 5_000
RECORD_CHUNK = 100_000
GOALS = {"lock": 60.0, "csv": 30.0, "xlsx": 30.0, "json": 30.0}


def status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (``VmRSS``, ``VmHWM``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> None:
    """Start the peak (VmHWM) again from the current resident set (Linux: ``echo 5 > /proc/self/clear_refs``)."""
    Path("/proc/self/clear_refs").write_text("5")


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# ---------------------------------------------------------------------------------------------- the world


RECORD_COLUMNS = [
    "site_id",
    "user_id",
    "source",
    "external_id",
    "occurred_at",
    "kind",
    "count",
    "handled_seconds",
    "csat",
    "resolved",
    "skill_id",
    "received_at",
]


class RecordSink:
    """Where generated work records go: COPY through asyncpg on PostgreSQL, batched inserts on SQLite (the
    payouts bench builds its world on both)."""

    def __init__(self, connection: asyncpg.Connection | None, database: Database | None) -> None:
        self.connection = connection
        self.database = database

    @classmethod
    async def open(cls, url: str) -> RecordSink:
        if make_url(url).get_backend_name() == "postgresql":
            return cls(await asyncpg.connect(asyncpg_dsn(url)), None)
        return cls(None, Database.from_url(url))

    async def write(self, rows: list[tuple[Any, ...]]) -> None:
        if self.connection is not None:
            await self.connection.copy_records_to_table("work_records", records=rows, columns=RECORD_COLUMNS)
            return
        assert self.database is not None
        async with self.database.session(write=True) as session:
            await session.execute(insert(WorkRecord), [dict(zip(RECORD_COLUMNS, row, strict=True)) for row in rows])

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.execute("ANALYZE")
            await self.connection.close()
        if self.database is not None:
            await self.database.dispose()


async def build_site(url: str, *, name: str, agents: int, records: int, seed: int) -> dict[str, int]:
    """A site, its rate card, ``agents`` agents, a finance user and a past week with ``records`` records."""
    database = Database.from_url(url)
    rng = random.Random(seed)
    async with database.session(write=True) as session:
        site = await accounts.ensure_site(session, name=name, timezone=TIMEZONE, country="CN")
        day = utcnow().astimezone(ZoneInfo(TIMEZONE)).date() - dt.timedelta(days=21)
        period = await periods.period_for(session, site=site, day=day)
        rates = Rates(
            base_hourly_minor={"junior": 2000, "mid": 2500, "senior": 3000},
            pieces=[
                PieceRate(kind="call", rate_minor=55),
                PieceRate(kind="call", tier="senior", rate_minor=70),
                PieceRate(kind="chat", rate_minor=45),
                PieceRate(kind="ticket", rate_minor=80),
                PieceRate(kind="callback", rate_minor=30),
            ],
            quality_bonus=QualityBonus(min_csat_average=4.5, percent_of_piece_pay=10),
        )
        session.add(
            RateCard(site_id=site.id, effective_from=period.starts_on, currency="CNY", rates=msgspec.to_builtins(rates))
        )
        finance = await accounts.create_user(
            session,
            site=site,
            email=f"finance-{name.lower().replace(' ', '-')}@example.com",
            display_name="Finance",
            role=Role.finance,
            password="correct horse battery",
        )
        now = utcnow()
        for start in range(0, agents, USER_CHUNK):
            await session.execute(
                insert(User),
                [
                    {
                        "email": f"{site.id}-agent{number}@example.com",
                        "display_name": f"Agent {number} 代理{number}",
                        "role": Role.agent,
                        "timezone": TIMEZONE,
                        "tier": TIERS[number % 3],
                        "site_id": site.id,
                        "password_hash": None,
                        "created_at": now,
                    }
                    for number in range(start, min(agents, start + USER_CHUNK))
                ],
            )
        user_ids = list(await session.scalars(select(User.id).where(User.site_id == site.id, User.role == Role.agent)))
        ids = {"site": site.id, "period": period.id, "finance": finance.id}
        first_instant = dt.datetime.combine(period.starts_on, dt.time(0), tzinfo=ZoneInfo(TIMEZONE)).astimezone(dt.UTC)
    await database.dispose()

    seconds_in_period = 7 * 24 * 3600
    received = utcnow()
    sink = await RecordSink.open(url)
    try:
        for start in range(0, records, RECORD_CHUNK):
            rows = []
            for number in range(start, min(records, start + RECORD_CHUNK)):
                rated = rng.random() < 0.3
                rows.append(
                    (
                        ids["site"],
                        user_ids[number % len(user_ids)],
                        "bench",
                        f"r{number}",
                        first_instant + dt.timedelta(seconds=rng.randrange(seconds_in_period)),
                        KINDS[rng.randrange(4)],
                        1,
                        rng.randrange(60, 900),
                        (5 if rng.random() < 0.8 else rng.randrange(1, 5)) if rated else None,
                        True,
                        None,
                        received,
                    )
                )
            await sink.write(rows)
    finally:
        await sink.close()
    return ids


# ---------------------------------------------------------------------------------------------- the phases (children)


async def run_phase(url: str, phase: str, period_id: int, finance_id: int) -> dict[str, Any]:
    database = Database.from_url(url)
    before = status_mb("VmRSS")  # after imports; the peak is measured from here
    reset_peak()
    started = time.perf_counter()
    size = 0
    if phase == "lock":
        async with database.session(write=True) as session:
            finance = await session.get(User, finance_id)
            assert finance is not None
            period = await periods.lock_period(session, period_id=period_id, by=finance, now=utcnow())
            assert period.checksum
    else:
        async with database.session() as session:
            period = await session.get(PayPeriod, period_id)
            assert period is not None
            with open(os.devnull, "wb") as sink:  # noqa: ASYNC230 - /dev/null never blocks
                async for chunk in exports.EXPORTERS[phase](session, period=period):
                    size += len(chunk)
                    sink.write(chunk)
    seconds = time.perf_counter() - started
    await database.dispose()
    after = status_mb("VmHWM")
    return {
        "phase": phase,
        "seconds": round(seconds, 2),
        "bytes": size,
        "peak_mb": round(after, 1),
        "baseline_mb": round(before, 1),
        "phase_mb": round(after - before, 1),
    }


def child(url: str, phase: str, period_id: int, finance_id: int) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "tests.bench.settlement",
        "--phase",
        phase,
        "--url",
        url,
        "--period",
        str(period_id),
        "--finance",
        str(finance_id),
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if result.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


async def period_facts(url: str, period_id: int) -> dict[str, Any]:
    database = Database.from_url(url)
    async with database.session() as session:
        totals = await exports.settlement_totals(session, period_id=period_id)
        ledger = await exports.ledger_totals(session, period_id=period_id)
        lines = await session.scalar(
            select(func.count()).select_from(SettlementLine).where(SettlementLine.period_id == period_id)
        )
    await database.dispose()
    return {
        "agents_settled": totals.agents,
        "lines": lines,
        "gross_minor": totals.gross,
        "ledger_gross": ledger["gross"],
    }


def measure(url: str, ids: dict[str, int]) -> dict[str, Any]:
    results = {phase: child(url, phase, ids["period"], ids["finance"]) for phase in ("lock", *exports.FORMATS)}
    return {"phases": results, "facts": asyncio.run(period_facts(url, ids["period"]))}


def report(runs: dict[str, dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps(runs, indent=2))
        return
    print(f"settlement bench · {platform.python_implementation()} {platform.python_version()} · {os.cpu_count()} cpus")
    for label, run in runs.items():
        facts = run["facts"]
        print(
            f"\n{label}: {facts['agents_settled']} settlements, {facts['lines']} lines, "
            f"gross {facts['gross_minor'] / 100:.2f} (ledger {facts['ledger_gross'] / 100:.2f}), "
            f"build {run['build_seconds']} s"
        )
        print(
            f"  {'phase':<6} {'seconds':>8} {'goal':>6} {'out MB':>7} {'peak MB':>8} {'before MB':>9} {'phase MB':>9}"
        )
        for phase, row in run["phases"].items():
            ok = "ok" if row["seconds"] < GOALS[phase] else "SLOW"
            print(
                f"  {phase:<6} {row['seconds']:>8.2f} {ok:>6} {row['bytes'] / 1e6:>7.1f} {row['peak_mb']:>8.1f} "
                f"{row['baseline_mb']:>9.1f} {row['phase_mb']:>9.1f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--compare-agents", type=int, default=1_000, help="a smaller site for export memory; 0: none")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--period", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--finance", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:  # a child: one phase, one JSON line
        print(json.dumps(asyncio.run(run_phase(args.url, args.phase, args.period, args.finance))))
        return

    url = fresh_postgres_database()
    if url is None:
        raise SystemExit("PostgreSQL is not reachable (WEFT_TEST_POSTGRES_URL)")
    try:
        migrate(url, "head")
        runs: dict[str, dict[str, Any]] = {}
        sizes = [(f"{args.agents} agents, {args.records} records", args.agents, args.records)]
        if args.compare_agents and args.compare_agents != args.agents:
            smaller = args.records * args.compare_agents // args.agents
            sizes.insert(0, (f"{args.compare_agents} agents, {smaller} records", args.compare_agents, smaller))
        for index, (label, agents, records) in enumerate(sizes):
            started = time.perf_counter()
            ids = asyncio.run(build_site(url, name=f"Bench {index}", agents=agents, records=records, seed=index))
            build_seconds = round(time.perf_counter() - started, 1)
            runs[label] = {"build_seconds": build_seconds, **measure(url, ids)}
            if not args.json:
                report({label: runs[label]}, as_json=False)
        if args.json:
            report(runs, as_json=True)
    finally:
        if args.keep:
            print(f"database kept: {url}", file=sys.stderr)
        else:
            drop_postgres_database(url)


if __name__ == "__main__":
    main()
