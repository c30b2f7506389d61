"""Roster solves off the event loop: a process pool, live progress in the database, cancel.

CP-SAT holds the GIL for seconds at a time, so a solve never runs in the web
process's threads. Each solve runs in a child process (spawned, so no copy of
the server's state or sockets); the child sends progress through a queue and
polls a cancel flag; the parent writes the latest progress to the solve's row
about once a second. Any web process can therefore show it, and a cancel
written by any web process reaches the child within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import queue as queue_module
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.managers import SyncManager
from typing import Any

import msgspec

from backend.accounts.service import get_site
from backend.core.db import Actor, Database, act_as
from backend.core.settings import Settings
from backend.core.slots import IsoWeek
from backend.roster import service, solver
from backend.roster.child import solve_in_child
from backend.roster.service import SolveOrder

log = logging.getLogger("weft.roster")
POLL_SECONDS = 1.0
SYSTEM_ACTOR = Actor(id=None, label="roster solver", role="system", reason="roster solve")

ProgressListener = Callable[[solver.Progress], None]


class SolveJobs:
    """The web app's (or the CLI's) solves in flight, one task per solve run."""

    def __init__(self, database: Database, *, processes: int) -> None:
        self.database = database
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._manager: SyncManager | None = None
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def _ensure_pool(self) -> tuple[ProcessPoolExecutor, SyncManager]:
        if self._pool is None or self._manager is None:
            context = multiprocessing.get_context("spawn")
            self._manager = context.Manager()
            self._pool = ProcessPoolExecutor(max_workers=self.processes, mp_context=context)
        return self._pool, self._manager

    def start(
        self,
        run_id: int,
        problem: solver.Problem,
        settings: solver.SolverSettings,
        hint: solver.Solution | None = None,
        listener: ProgressListener | None = None,
    ) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self._run(run_id, problem, settings, hint, listener))
        self._tasks[run_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(run_id, None))
        return task

    async def wait(self, run_id: int) -> None:
        task = self._tasks.get(run_id)
        if task is not None:
            await asyncio.shield(task)

    async def wait_all(self) -> None:
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def _run(
        self,
        run_id: int,
        problem: solver.Problem,
        settings: solver.SolverSettings,
        hint: solver.Solution | None,
        listener: ProgressListener | None,
    ) -> None:
        pool, manager = self._ensure_pool()
        progress, cancel = manager.Queue(), manager.Event()
        loop = asyncio.get_running_loop()
        encoded_hint = msgspec.msgpack.encode(hint) if hint is not None else None
        future = loop.run_in_executor(
            pool,
            solve_in_child,
            msgspec.msgpack.encode(problem),
            msgspec.msgpack.encode(settings),
            encoded_hint,
            progress,
            cancel,
        )
        try:
            while not future.done():
                await asyncio.wait({future}, timeout=POLL_SECONDS)
                latest = await loop.run_in_executor(None, _drain, progress)
                if latest is not None and listener is not None:
                    listener(latest)
                async with self.database.session(write=True) as session:
                    if await service.record_progress(session, run_id, latest):
                        cancel.set()
            solution = msgspec.msgpack.decode(future.result(), type=solver.Solution)
            async with self.database.session(write=True) as session:
                await service.apply_solution(session, run_id, solution)
        except asyncio.CancelledError:  # shutting down: the child must not run on unattended
            cancel.set()
            raise
        except Exception as error:  # the run must end in a state the coordinator can see
            log.exception("solve %s failed", run_id)
            cancel.set()
            async with self.database.session(write=True) as session:
                await service.fail_run(session, run_id, f"{type(error).__name__}: {error}")

    async def close(self) -> None:
        """Stop at shutdown: ask every child to stop, wait briefly, then drop the pool."""
        for task in list(self._tasks.values()):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._manager is not None:
            self._manager.shutdown()
        self._pool = self._manager = None


def solver_settings(settings: Settings) -> solver.SolverSettings:
    return solver.SolverSettings(time_limit_seconds=settings.solver_time_limit_seconds, workers=settings.solver_workers)


def launch(
    jobs: SolveJobs, order: SolveOrder, settings: Settings, listener: ProgressListener | None = None
) -> asyncio.Task[None]:
    """Start a queued solve once its row is committed (routes call this as the response's background task)."""
    return jobs.start(order.run_id, order.problem, solver_settings(settings), order.hint, listener)


async def solve_and_wait(
    database: Database,
    settings: Settings,
    *,
    site_id: int,
    week: IsoWeek,
    requested_by: int | None = None,
    listener: ProgressListener | None = None,
) -> int:
    """Queue a solve, run it in a child process and wait: the command line's and the demo's way in."""
    async with database.session(write=True) as session:
        act_as(session, SYSTEM_ACTOR)
        site = await get_site(session, site_id)
        order = await service.start_solve(
            session,
            site=site,
            week=week,
            requested_by=requested_by,
            time_limit_seconds=settings.solver_time_limit_seconds,
        )
    jobs = SolveJobs(database, processes=1)
    try:
        await launch(jobs, order, settings, listener)
    finally:
        await jobs.close()
    return order.run_id


def _drain(progress: Any) -> solver.Progress | None:
    """The newest progress message, discarding the older ones behind it."""
    latest = None
    while True:
        try:
            latest = progress.get_nowait()
        except queue_module.Empty:
            break
    return msgspec.msgpack.decode(latest, type=solver.Progress) if latest is not None else None
