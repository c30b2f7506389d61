"""The one clock the suite runs on, and how ``make test-clock`` moves it.

Every test that depends on "today" either reads the process clock (``utcnow()``) and builds its
world relative to it, or sets the clock itself with time-machine's ``time_machine`` fixture
(``time_machine.move_to(...)``) before building a world on literal dates. ``make test-clock``
proves it: ``WEFT_TEST_CLOCK`` names an instant and the whole test process starts there, the clock
ticking on from it, so a test that quietly took a literal date for "this week" fails on the day it
is written, not months later.
"""

from __future__ import annotations

import datetime as dt
import os

import time_machine

CLOCK_VARIABLE = "WEFT_TEST_CLOCK"

_moved: time_machine.travel | None = None


def moved_clock() -> dt.datetime | None:
    """The instant ``WEFT_TEST_CLOCK`` asks the run to start at (ISO 8601 with an offset), if any."""
    text = os.environ.get(CLOCK_VARIABLE, "").strip()
    if not text:
        return None
    instant = dt.datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise ValueError(f"{CLOCK_VARIABLE}={text!r} needs an offset, such as +00:00")
    return instant


def start_moved_clock() -> dt.datetime | None:
    """Move the process clock to ``WEFT_TEST_CLOCK`` (ticking on from there) for the whole run."""
    global _moved
    instant = moved_clock()
    if instant is None or _moved is not None:
        return instant
    _moved = time_machine.travel(instant, tick=True)
    _moved.start()
    return instant
