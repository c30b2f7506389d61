"""What a solve's child process runs (``jobs.SolveJobs``): the solver only, so a spawned child starts quickly.

The child imports this module and the solver, not the database or the web app.
"""

from __future__ import annotations

from typing import Any

import msgspec

from backend.roster import solver


def solve_in_child(problem: bytes, settings: bytes, hint: bytes | None, progress: Any, cancel: Any) -> bytes:
    """The child's whole job: decode, solve with progress and cancel wired in, encode."""

    def report(update: solver.Progress) -> None:
        progress.put(msgspec.msgpack.encode(update))

    solution = solver.solve(
        msgspec.msgpack.decode(problem, type=solver.Problem),
        msgspec.msgpack.decode(settings, type=solver.SolverSettings),
        msgspec.msgpack.decode(hint, type=solver.Solution) if hint else None,
        on_progress=report,
        should_stop=cancel.is_set,
    )
    return msgspec.msgpack.encode(solution)
