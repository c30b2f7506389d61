"""Runs the outbox senders and the timed jobs: ``weft worker`` on its own, or inside ``weft serve`` on SQLite.

On PostgreSQL any number of workers may run: each claims rows with
``FOR UPDATE SKIP LOCKED``, so no push is sent by two of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable

import aiohttp

from backend.certifications import jobs as certification_jobs
from backend.core.db import Database, WriteRefusals, utcnow
from backend.core.settings import Settings
from backend.growth import service as growth
from backend.notify import endpoints, keys, wakeup
from backend.notify.sender import SendReport, prune_finished, send_due
from backend.ops import jobs as ops_jobs
from backend.pay import jobs as pay_jobs
from backend.payouts.jobs import BATCH_SIZE as PAYOUT_BATCH
from backend.payouts.jobs import PayoutRounds
from backend.requests import timers as request_timers
from backend.shifts import jobs as shift_jobs

log = logging.getLogger("weft.worker")

BATCH_SIZE = 100
OUTBOX_KEEP_DAYS = 30
PRUNE_EVERY_SECONDS = 3600
DIGEST_SCAN_EVERY = dt.timedelta(minutes=1)  # open-shift digests go out at most this late

Job = Callable[..., Awaitable[int]]  # job(session, *, now): do what is due at ``now``, answer how much

# Each domain's timed work, by name for the log, run in this order in one transaction: every round, and
# the scans that read every agent's week about once a minute (every ``DIGEST_SCAN_EVERY``).
EVERY_ROUND: list[tuple[str, Job]] = [
    *shift_jobs.EVERY_ROUND,
    ("certification reminders sent", certification_jobs.remind_expiring_certifications),
    *request_timers.EVERY_ROUND,  # requests' clocks: warnings, breaches, escalations, auto-close
]
EVERY_MINUTE: list[tuple[str, Job]] = [
    *shift_jobs.EVERY_MINUTE,
    ("promotion suggestions open", growth.refresh_all_promotions),
    ("pay periods made", pay_jobs.keep_periods_ready),  # pages only read them (a GET never writes)
    *request_timers.EVERY_MINUTE,  # clocks for open requests that have none (disputes carried over)
    *ops_jobs.EVERY_MINUTE,  # the duty log's system items, late agents and missing hand-overs
]


class PushWorker:
    """Sends due pushes every ``push_worker_interval_seconds``, sooner when a commit queued some or a request's
    clock is due (``seconds_to_sleep``)."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self._nudged = asyncio.Event()
        self._stopping = asyncio.Event()
        self._next_digest_scan: dt.datetime | None = None
        self._pruned_at: float | None = None
        self._refusals = WriteRefusals(log, meanwhile="pushes and timed jobs wait until it accepts them again")
        self.payouts = PayoutRounds(database, settings)  # Stripe transfers, when this server has a Stripe key
        self._more_payouts = False

    def nudge(self) -> None:
        self._nudged.set()

    def stop(self) -> None:
        self._stopping.set()
        self._nudged.set()

    async def prepare(self) -> None:
        """Make the VAPID key now, so the first page that asks for it finds it."""
        async with self.database.session(write=True) as session:
            await keys.vapid_pair(session, self.settings)

    async def run_once(self, http: aiohttp.ClientSession | None = None) -> SendReport:
        await self.run_jobs()
        payouts = await self.payouts.run_round()
        self._more_payouts = payouts.total >= PAYOUT_BATCH  # a full batch: more may be due at once
        return await send_due(self.database, settings=self.settings, limit=BATCH_SIZE, http=http)

    async def run_jobs(self) -> None:
        """The domains' timed work (``EVERY_ROUND``, ``EVERY_MINUTE``), first: what it queues goes out this round.

        A failing job is logged and does not hold back the pushes already queued.
        """
        now = utcnow()
        digests = self._next_digest_scan is None or now >= self._next_digest_scan
        jobs = [*EVERY_ROUND, *(EVERY_MINUTE if digests else [])]
        try:
            async with self.database.session(write=True) as session:
                done = {name: await job(session, now=now) for name, job in jobs}
            if digests:
                self._next_digest_scan = now + DIGEST_SCAN_EVERY
        except Exception as error:
            if not self._refusals.noted(error):
                log.exception("timed jobs failed; trying again at the next tick")
            return
        if any(done.values()):
            log.info("jobs: %s", ", ".join(f"{count} {name}" for name, count in done.items() if count))

    async def run_round(self, http: aiohttp.ClientSession | None = None) -> SendReport:
        """One tick of the loop: prune now and then, the timed jobs, the due pushes.

        A failing round is logged and the loop outlives it (a database restart). A database that refuses
        writes is said once a minute in one line, not as a traceback every tick.
        """
        report = SendReport()
        try:
            if self._pruned_at is None or time.monotonic() - self._pruned_at > PRUNE_EVERY_SECONDS:
                await prune_finished(self.database, before=utcnow() - dt.timedelta(days=OUTBOX_KEEP_DAYS))
                self._pruned_at = time.monotonic()
            report = await self.run_once(http)
        except Exception as error:
            if not self._refusals.noted(error):
                log.exception("push round failed; trying again at the next tick")
            return report
        if report.total:
            log.info(
                "push: %s sent, %s dropped, %s to retry, %s failed",
                report.sent,
                report.dropped,
                report.retried,
                report.failed,
            )
        return report

    async def seconds_to_sleep(self, now: dt.datetime | None = None) -> float:
        """The tick's sleep: the interval, or less when a request's clock is due sooner (the worker wakes for it)."""
        interval = float(self.settings.push_worker_interval_seconds)
        try:
            async with self.database.session() as session:
                due = await request_timers.next_timer_at(session)
        except Exception as error:
            if not self._refusals.noted(error):
                log.exception("could not read the next request clock; sleeping the usual interval")
            return interval
        if due is None:
            return interval
        return max(0.0, min(interval, (due - (now or utcnow())).total_seconds()))

    async def run(self) -> None:
        """Loop until ``stop()``; a failing round is logged and tried again at the next tick."""
        try:
            await self.prepare()
        except Exception as error:  # an unmigrated database: pages say so; the loop keeps trying
            if not self._refusals.noted(error):
                log.exception("could not prepare the VAPID key")
        loop = asyncio.get_running_loop()
        stop_listening = wakeup.subscribe(lambda: loop.call_soon_threadsafe(self._nudged.set))
        try:
            async with endpoints.push_http(self.settings) as http:
                while not self._stopping.is_set():
                    self._nudged.clear()
                    report = await self.run_round(http)
                    if report.total >= BATCH_SIZE or self._more_payouts:
                        continue
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._nudged.wait(), await self.seconds_to_sleep())
        finally:
            stop_listening()


async def run_worker(settings: Settings, *, once: bool = False) -> SendReport | None:
    """``weft worker``: send due pushes until interrupted, or one round with ``once``."""
    database = Database.from_url(settings.database_url)
    worker = PushWorker(database, settings)
    try:
        if once:
            await worker.prepare()
            return await worker.run_once()
        await worker.run()  # prepares too, and outlives a database that refuses writes at start
        return None
    finally:
        await database.dispose()
