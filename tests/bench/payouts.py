"""The payouts bench: prepare, approve and send a Stripe run to 10,000 agents, clean and with injected faults.

For each database (a SQLite file, and PostgreSQL when reachable) two sites are built with the settlement
bench's world builder (``settlement.build_site``: N agents, a finance user, a past weekly period of work
records), each period is locked by pay's own ``lock_period``, each agent gets a ready connected account
bulk-created at the Stripe stand-in (``POST /_standin/accounts``) and its ``PayoutAccount`` row, and the site
pays through Stripe. The stand-in runs in its own process (``weft stripe-standin --requests-per-second 100``),
so it shares neither the event loop nor the GIL with the sender. Then:

    prepare   ``runs.prepare_run`` on the first site, 3 times (the first two rolled back): median, goal < 10 s;
              the world has no shifts, so every agent also gets a ``pieces_without_shift`` warning (the worst case)
    approve   a second finance user acknowledges the warnings and approves (``runs.approve_run``)
    clean     ``sender.send_due`` back to back, as the worker's round calls it (batches of ``jobs.BATCH_SIZE``)
              but without the worker's wait between rounds, at ``stripe_requests_per_second=100`` (Stripe's
              live-mode rate) until every payout is sent
    faults    the same for the second site's run while 5% of transfer requests are answered 500 and 1% 429
              (``Retry-After: 1``): the bench re-arms the stand-in's N-times faults as requests arrive

After each send: duplicates (the stand-in's transfers in the run's group per ``weft_payout``: more than one is
a duplicate), lost (a payout not ``sent`` or without exactly one transfer, or a transfer id that differs),
the ledger (the sum of every posting is 0; one payout entry per payout) and the run marked sent. The sends
run once each (100 s each at the goal rate): a clean send's goal is a transfer rate within 10% of 100/s.

    python -m tests.bench.payouts [--agents 10000] [--records-per-agent 5] [--database sqlite|postgresql|both]
                                  [--json-file var/bench/payouts.json] [--prepare-only]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select, text

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.accounts.site_settings import update_site_settings
from backend.core.db import Database, utcnow
from backend.core.migrate import migrate
from backend.core.settings import Settings, load_settings
from backend.pay import periods
from backend.pay.models import EntryKind, JournalEntry, Posting
from backend.payouts import jobs, runs, sender
from backend.payouts.gateway import Gateway
from backend.payouts.models import Payout, PayoutAccount, PayoutRun, PayoutStatus, RunStatus
from tests.bench import settlement
from tests.conftest import drop_postgres_database, fresh_postgres_database, fresh_sqlite_database
from tests.stripe_standin import free_port

ROOT = Path(__file__).resolve().parents[2]
STANDIN_KEY = "sk_test_bench"
RATE_PER_SECOND = 100.0  # Stripe's live-mode limit: the sender's rate and the stand-in's
PREPARE_ROUNDS = 3
PREPARE_GOAL_SECONDS = 10.0
RATE_TOLERANCE = 0.10
ERROR_SHARE = 0.05  # transfer requests answered 500 in the faulty send
LIMIT_SHARE = 0.01  # and 429
FAULT_POLL_SECONDS = 0.05
IDLE_POLL_SECONDS = 0.5
SEND_TIMEOUT_SECONDS = 1800.0
ACCOUNT_CHUNK = 5_000
STANDIN_START_SECONDS = 20.0
TRANSFERS = "POST /v1/transfers"


class Rollback(Exception):
    """Leaves a timed prepare without committing it."""


# ---------------------------------------------------------------------------------------------- the stand-in


class StandinProcess:
    """``weft stripe-standin`` in a process of its own, and a client for its control endpoints."""

    def __init__(self, rate: float) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        weft = Path(sys.executable).with_name("weft")
        command = [str(weft), "stripe-standin", "--port", str(self.port), "--requests-per-second", f"{rate:g}"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        self.control = httpx.Client(base_url=self.url, timeout=120)
        deadline = time.monotonic() + STANDIN_START_SECONDS
        while True:
            try:
                self.control.get("/_standin/state").raise_for_status()
                return
            except httpx.HTTPError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the Stripe stand-in did not start") from None
                time.sleep(0.1)

    def call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        answer = self.control.request(method, path, json=payload if method == "POST" else None)
        answer.raise_for_status()
        return answer.json()

    def stop(self) -> None:
        self.control.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# ---------------------------------------------------------------------------------------------- the world


async def build_world(url: str, standin: StandinProcess, *, name: str, agents: int, records: int, seed: int) -> dict:
    """The settlement bench's site, paying through Stripe: period locked, every agent with a ready account."""
    started = time.perf_counter()
    ids = await settlement.build_site(url, name=name, agents=agents, records=records, seed=seed)
    database = Database.from_url(url)
    async with database.session(write=True) as session:
        site = await session.get(Site, ids["site"])
        finance = await session.get(User, ids["finance"])
        assert site is not None
        assert finance is not None
        await update_site_settings(session, site, payout_rail="stripe")
        lock_started = time.perf_counter()
        await periods.lock_period(session, period_id=ids["period"], by=finance, now=utcnow())
        lock_seconds = time.perf_counter() - lock_started
        approver = await accounts.create_user(
            session,
            site=site,
            email=f"approver-{site.id}@example.com",
            display_name="Second finance",
            role=Role.finance,
            password="correct horse battery",
        )
        ids["approver"] = approver.id
    stripe_ids = standin.call("POST", "/_standin/accounts", {"count": agents, "country": "US"})["ids"]
    now = utcnow()
    async with database.session(write=True) as session:
        user_ids = list(
            await session.scalars(
                select(User.id).where(User.site_id == ids["site"], User.role == Role.agent).order_by(User.id)
            )
        )
        rows = [
            {
                "site_id": ids["site"],
                "user_id": user_id,
                "stripe_account_id": account,
                "details_submitted": True,
                "transfers_status": "active",
                "requirements_due": [],
                "instant_available": False,
                "created_at": now,
                "refreshed_at": now,
            }
            for user_id, account in zip(user_ids, stripe_ids, strict=True)
        ]
        for start in range(0, len(rows), ACCOUNT_CHUNK):
            await session.execute(insert(PayoutAccount), rows[start : start + ACCOUNT_CHUNK])
    if database.dialect == "postgresql":  # fresh statistics, as autovacuum makes soon after such bulk writes
        async with database.session() as session:
            await session.execute(text("ANALYZE"))
    await database.dispose()
    ids["build_seconds"] = round(time.perf_counter() - started, 1)
    ids["lock_seconds"] = round(lock_seconds, 2)
    return ids


# ---------------------------------------------------------------------------------------------- prepare, approve


async def prepare(url: str, ids: dict, *, keep: bool) -> dict[str, Any]:
    """One ``prepare_run`` (until its rows are flushed), rolled back unless ``keep``."""
    database = Database.from_url(url)
    facts: dict[str, Any] = {}
    try:
        async with database.session(write=True) as session:
            finance = await session.get(User, ids["finance"])
            assert finance is not None
            started = time.perf_counter()
            run = await runs.prepare_run(session, period_id=ids["period"], by=finance, now=utcnow())
            facts["seconds"] = round(time.perf_counter() - started, 3)
            facts.update(run=run.id, payouts=run.payout_count, held=run.held_count, total_minor=run.total_minor)
            if not keep:
                raise Rollback
    except Rollback:
        pass
    finally:
        await database.dispose()
    return facts


async def approve(url: str, ids: dict, run_id: int) -> dict[str, Any]:
    database = Database.from_url(url)
    try:
        async with database.session(write=True) as session:
            approver = await session.get(User, ids["approver"])
            assert approver is not None
            started = time.perf_counter()
            acknowledged = await runs.acknowledge_warnings(session, run_id=run_id, by=approver, now=utcnow())
            run = await runs.approve_run(session, run_id=run_id, by=approver, now=utcnow())
            seconds = time.perf_counter() - started
            assert run.status is RunStatus.approved, run.status
    finally:
        await database.dispose()
    return {"seconds": round(seconds, 3), "warnings_acknowledged": acknowledged}


# ---------------------------------------------------------------------------------------------- sending


async def inject_faults(control: httpx.AsyncClient, stop: asyncio.Event) -> None:
    """Keep the stand-in's N-times faults armed so that ERROR_SHARE of transfer requests get a 500 and
    LIMIT_SHARE a 429: each poll arms what the request count so far calls for."""
    base = (await control.get("/_standin/state")).json()
    first_requests = base["requests"].get(TRANSFERS, 0)
    first_fired = {kind: base["counters"].get(f"fault_{kind}", 0) for kind in ("500", "rate_limit")}
    while not stop.is_set():
        state = (await control.get("/_standin/state")).json()
        requests = state["requests"].get(TRANSFERS, 0) - first_requests
        for kind, share in (("500", ERROR_SHARE), ("rate_limit", LIMIT_SHARE)):
            fired = state["counters"].get(f"fault_{kind}", 0) - first_fired[kind]
            armed = state["faults"].get(kind, 0)
            due = math.ceil(share * (requests + 1)) - fired
            if due > armed:
                answer = await control.post(
                    f"/_standin/faults/{kind}", json={"times": due, "path": "/v1/transfers", "method": "POST"}
                )
                answer.raise_for_status()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), FAULT_POLL_SECONDS)
    for kind in ("500", "rate_limit"):
        await control.post(f"/_standin/faults/{kind}", json={"times": 0})


async def waiting_payouts(database: Database, run_id: int) -> int:
    async with database.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Payout)
            .where(Payout.run_id == run_id, Payout.status.in_([PayoutStatus.queued, PayoutStatus.sending]))
        )
    return int(count or 0)


async def send(url: str, settings: Settings, standin: StandinProcess, run_id: int, *, faults: bool) -> dict:
    """Send every queued payout as the worker's round does, until none waits; then check what happened."""
    database = Database.from_url(url)
    gateway = Gateway(settings)
    control = httpx.AsyncClient(base_url=standin.url, timeout=60)
    before = standin.call("GET", "/_standin/state")
    stop = asyncio.Event()
    injector = asyncio.create_task(inject_faults(control, stop)) if faults else None
    started = time.perf_counter()
    last_recorded = first_pass = 0.0
    rounds = 0
    totals: Counter[str] = Counter()
    try:
        while time.perf_counter() - started < SEND_TIMEOUT_SECONDS:
            report = await sender.send_due(database, gateway=gateway, now=utcnow(), limit=jobs.BATCH_SIZE)
            rounds += 1
            if report.total:
                totals.update(sent=report.sent, adopted=report.adopted, retried=report.retried, failed=report.failed)
                last_recorded = time.perf_counter() - started
                continue
            if not first_pass:
                first_pass = time.perf_counter() - started
                totals["sent_in_first_pass"] = totals["sent"] + totals["adopted"]
            if not await waiting_payouts(database, run_id):
                break
            await asyncio.sleep(IDLE_POLL_SECONDS)
    finally:
        stop.set()
        if injector is not None:
            await injector
        await control.aclose()
        await gateway.client._requestor._get_http_client().close_async()
    after = standin.call("GET", "/_standin/state")
    checks = await check_run(database, standin, run_id)
    await database.dispose()

    def grew(name: str, *, counter: bool = False) -> int:
        values_after = after["counters"] if counter else after["requests"]
        values_before = before["counters"] if counter else before["requests"]
        return int(values_after.get(name, 0) - values_before.get(name, 0))

    seconds = last_recorded or (time.perf_counter() - started)
    requests = grew(TRANSFERS)
    made = grew("transfers_made", counter=True)
    return {
        "faults": faults,
        "seconds": round(seconds, 2),
        "first_pass_seconds": round(first_pass, 2),
        "sent_in_first_pass": totals["sent_in_first_pass"],
        "rounds": rounds,
        "transfers_made": made,
        "transfers_per_second": round(made / seconds, 1) if seconds else 0.0,
        "first_pass_transfers_per_second": round(totals["sent_in_first_pass"] / first_pass, 1) if first_pass else 0,
        "transfer_requests": requests,
        "requests_per_second": round(requests / seconds, 1) if seconds else 0.0,
        "injected_500": grew("fault_500", counter=True),
        "injected_429": grew("fault_rate_limit", counter=True),
        "rate_limited_total": grew("rate_limited", counter=True),
        "replayed": grew("duplicates_avoided", counter=True),
        "report": dict(totals),
        **checks,
    }


async def check_run(database: Database, standin: StandinProcess, run_id: int) -> dict[str, Any]:
    """Duplicates and lost payouts against the stand-in's transfers; the ledger's balance; the run's state."""
    async with database.session() as session:
        run = await session.get(PayoutRun, run_id)
        assert run is not None
        rows = (
            await session.execute(
                select(Payout.id, Payout.status, Payout.transfer_id, Payout.amount_minor).where(
                    Payout.run_id == run_id, Payout.status != PayoutStatus.held
                )
            )
        ).all()
        ledger_sum = int(await session.scalar(select(func.coalesce(func.sum(Posting.amount_minor), 0))) or 0)
        payout_entries = int(
            await session.scalar(
                select(func.count())
                .select_from(JournalEntry)
                .where(JournalEntry.period_id == run.period_id, JournalEntry.kind == EntryKind.payout)
            )
            or 0
        )
        run_status, transfer_group, total_minor = run.status, run.transfer_group, run.total_minor
    transfers = [t for t in standin.call("GET", "/_standin/transfers")["data"] if t["transfer_group"] == transfer_group]
    by_payout: dict[str, list[dict[str, Any]]] = {}
    for transfer in transfers:
        by_payout.setdefault(transfer["metadata"].get("weft_payout", ""), []).append(transfer)
    duplicates = sum(len(found) - 1 for found in by_payout.values() if len(found) > 1)
    lost = [
        payout_id
        for payout_id, status, transfer_id, amount in rows
        if status is not PayoutStatus.sent
        or len(by_payout.get(str(payout_id), [])) != 1
        or by_payout[str(payout_id)][0]["id"] != transfer_id
        or by_payout[str(payout_id)][0]["amount"] != amount
    ]
    statuses = Counter(str(status) for _, status, _, _ in rows)
    return {
        "payouts": len(rows),
        "statuses": dict(statuses),
        "transfers_in_group": len(transfers),
        "duplicates": duplicates,
        "lost": len(lost),
        "lost_ids": lost[:20],
        "transferred_minor": sum(t["amount"] for t in transfers),
        "run_total_minor": total_minor,
        "ledger_sum_minor": ledger_sum,
        "payout_entries": payout_entries,
        "run_status": str(run_status),
    }


# ---------------------------------------------------------------------------------------------- one database


def bench_settings(url: str, data_dir: Path, standin: StandinProcess) -> Settings:
    return load_settings(
        {
            "WEFT_DATABASE_URL": url,
            "WEFT_SECRET_KEY": "bench-" + "k" * 40,
            "WEFT_DATA_DIR": str(data_dir),
            "WEFT_STRIPE_SECRET_KEY": STANDIN_KEY,
            "WEFT_STRIPE_API_BASE": standin.url,
            "WEFT_STRIPE_REQUESTS_PER_SECOND": str(RATE_PER_SECOND),
            "WEFT_STRIPE_TIMEOUT_SECONDS": "30",
        }
    )


def bench_database(label: str, url: str, data_dir: Path, standin: StandinProcess, args: argparse.Namespace) -> dict:
    standin.call("POST", "/_standin/reset", {})
    migrate(url, "head")
    records = args.agents * args.records_per_agent
    tags = ("clean",) if args.prepare_only else ("clean", "faults")
    worlds = [
        asyncio.run(build_world(url, standin, name=f"Bench {tag}", agents=args.agents, records=records, seed=index))
        for index, tag in enumerate(tags)
    ]
    say(f"{label}: built {len(worlds)} site(s) of {args.agents} agents ({worlds[0]['build_seconds']} s each, roughly)")
    samples = [
        asyncio.run(prepare(url, worlds[0], keep=round_ == PREPARE_ROUNDS - 1)) for round_ in range(PREPARE_ROUNDS)
    ]
    say(f"{label}: prepare {[s['seconds'] for s in samples]} s")
    result: dict[str, Any] = {
        "build_seconds": [w["build_seconds"] for w in worlds],
        "lock_seconds": [w["lock_seconds"] for w in worlds],
        "prepare": {
            "seconds": [s["seconds"] for s in samples],
            "median_seconds": statistics.median(s["seconds"] for s in samples),
            "payouts": samples[-1]["payouts"],
            "held": samples[-1]["held"],
            "total_minor": samples[-1]["total_minor"],
        },
    }
    if args.prepare_only:
        return result
    clean, faulty = worlds
    other = asyncio.run(prepare(url, faulty, keep=True))
    result["prepare"]["second_site_seconds"] = other["seconds"]
    settings = bench_settings(url, data_dir, standin)
    for key, world, run_facts, faults in (("clean", clean, samples[-1], False), ("faults", faulty, other, True)):
        result[f"approve_{key}"] = asyncio.run(approve(url, world, run_facts["run"]))
        say(f"{label}: sending the {key} run ({run_facts['payouts']} payouts)")
        result[key] = asyncio.run(send(url, settings, standin, run_facts["run"], faults=faults))
        say(
            f"{label}: {key}: {result[key]['seconds']} s, {result[key]['transfers_per_second']}/s, "
            f"{result[key]['duplicates']} duplicates, {result[key]['lost']} lost"
        )
    return result


# ---------------------------------------------------------------------------------------------- report


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()})"
    print(f"# Payouts bench, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {machine}")
    print(
        f"{args.agents} agents per site, {args.records_per_agent} work records each; sender and stand-in at "
        f"{RATE_PER_SECOND:g} requests/s; faults: {ERROR_SHARE:.0%} 500s and {LIMIT_SHARE:.0%} 429s\n"
    )
    print("| database | measure | value | goal | |")
    print("| --- | --- | --- | --- | --- |")
    floor = RATE_PER_SECOND * (1 - RATE_TOLERANCE)
    for name, result in results.items():
        prep = result["prepare"]
        spread = ", ".join(f"{s:.2f}" for s in prep["seconds"])
        print(
            f"| {name} | prepare {prep['payouts']} payouts, median of {len(prep['seconds'])} (s) | "
            f"{prep['median_seconds']:.2f} ({spread}) | < {PREPARE_GOAL_SECONDS:g} | "
            f"{verdict(prep['median_seconds'] < PREPARE_GOAL_SECONDS)} |"
        )
        if "clean" not in result:
            continue
        print(f"| {name} | approve with warnings acknowledged (s) | {result['approve_clean']['seconds']:.2f} | | |")
        for key in ("clean", "faults"):
            sent = result[key]
            ok_all = sent["duplicates"] == 0 and sent["lost"] == 0 and sent["ledger_sum_minor"] == 0
            print(f"| {name} | {key}: sending time (s) | {sent['seconds']:.1f} | | |")
            rate_ok = sent["transfers_per_second"] >= floor
            print(
                f"| {name} | {key}: transfers per second | {sent['transfers_per_second']:.1f} | >= {floor:g} | "
                f"{verdict(rate_ok) if key == 'clean' else '(tail waits for backoff)'} |"
            )
            if key == "faults":
                print(
                    f"| {name} | {key}: sent until the first moment nothing was due | "
                    f"{sent['sent_in_first_pass']} sent in {sent['first_pass_seconds']:.1f} s = "
                    f"{sent['first_pass_transfers_per_second']}/s | | |"
                )
                print(
                    f"| {name} | {key}: injected 500 / 429, all 429s | {sent['injected_500']} / "
                    f"{sent['injected_429']}, {sent['rate_limited_total']} of {sent['transfer_requests']} requests"
                    " | | |"
                )
            else:
                print(
                    f"| {name} | {key}: 429s from the stand-in's own limit | {sent['rate_limited_total']} of "
                    f"{sent['transfer_requests']} requests | 0 | {verdict(sent['rate_limited_total'] == 0)} |"
                )
            print(
                f"| {name} | {key}: duplicates / lost / ledger sum | {sent['duplicates']} / {sent['lost']} / "
                f"{sent['ledger_sum_minor']} ({sent['payout_entries']} payout entries, run {sent['run_status']}) | "
                f"0 / 0 / 0 | {verdict(ok_all)} |"
            )
    print(f"\nJSON: {args.json_file}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--records-per-agent", type=int, default=5)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--json-file", type=Path, default=ROOT / "var" / "bench" / "payouts.json")
    parser.add_argument("--prepare-only", action="store_true", help="one site: build, lock, prepare; no sending")
    args = parser.parse_args()

    standin = StandinProcess(RATE_PER_SECOND)
    results: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = Path(tmp)
            if args.database in ("sqlite", "both"):
                results["SQLite"] = bench_database("SQLite", fresh_sqlite_database(data_dir), data_dir, standin, args)
            if args.database in ("postgresql", "both"):
                url = fresh_postgres_database()
                if url is None:
                    say("PostgreSQL is not reachable: skipped")
                else:
                    try:
                        results["PostgreSQL"] = bench_database("PostgreSQL", url, data_dir, standin, args)
                    finally:
                        drop_postgres_database(url)
    finally:
        standin.stop()
    args.json_file.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"node": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "agents": args.agents,
        "records_per_agent": args.records_per_agent,
        "rate_per_second": RATE_PER_SECOND,
        "fault_shares": {"500": ERROR_SHARE, "429": LIMIT_SHARE},
        "results": results,
    }
    args.json_file.write_text(json.dumps(document, indent=2))
    report(results, args)


if __name__ == "__main__":
    main()
