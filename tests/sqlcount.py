"""Count the SQL statements a block of code sends, and keep the slowest: for query budgets in tests and benches.

    with count_queries(database.bind) as counted:
        await client.get("/admin/today")
    assert counted.count <= 12, counted.statements

Listens to the engine's ``before_cursor_execute``/``after_cursor_execute`` events (the sync engine under an async
one), so it sees every statement of every session on that engine, in this process, while the block runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


@dataclass
class Counted:
    statements: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)

    def slowest(self) -> tuple[float, str]:
        """The slowest statement's milliseconds and text; (0, "") when none ran."""
        if not self.seconds:
            return 0.0, ""
        index = max(range(len(self.seconds)), key=self.seconds.__getitem__)
        return self.seconds[index] * 1000, self.statements[index]


def sync_engine_of(bind: AsyncEngine | AsyncConnection | Engine) -> Engine:
    if isinstance(bind, AsyncConnection):
        return bind.engine.sync_engine
    if isinstance(bind, AsyncEngine):
        return bind.sync_engine
    return bind


@contextmanager
def count_queries(bind: AsyncEngine | AsyncConnection | Engine) -> Iterator[Counted]:
    engine = sync_engine_of(bind)
    counted = Counted()
    started: list[float] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        started.append(time.perf_counter())

    def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counted.statements.append(statement)
        counted.seconds.append(time.perf_counter() - started.pop() if started else 0.0)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
