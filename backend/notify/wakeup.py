"""A nudge for in-process senders: a commit that queued pushes wakes them instead of waiting for the next tick.

Only an optimisation: senders also look for due rows every few seconds, so a
lost nudge (another process committed) costs at most one interval.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

QUEUED = "weft_push_queued"
_listeners: set[Callable[[], None]] = set()


def mark_queued(session_info: dict[str, Any]) -> None:
    session_info[QUEUED] = True


def subscribe(listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener`` after each commit that queued pushes; returns the way to stop."""
    _listeners.add(listener)
    return lambda: _listeners.discard(listener)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(QUEUED, False):
        for listener in list(_listeners):
            with contextlib.suppress(RuntimeError):  # its event loop has closed
                listener()
