"""The audit log: every write by a coordinator, finance or an admin, recorded in the same transaction.

Recording happens in one place, a flush hook, so no service can forget it:
a unit of work opened for a privileged actor (``act_as``) writes one
``AuditEntry`` per inserted, updated or deleted object, with the columns
before and after. Secrets (password and token hashes) are masked.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import event, func, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from backend.accounts.models import AuditEntry, LoginAttempt, LoginSession
from backend.core.db import Actor, Base, utcnow

AUDITED_ROLES = frozenset({"coordinator", "finance", "admin", "system"})
UNAUDITED_MODELS: tuple[type[Base], ...] = (AuditEntry, LoginSession, LoginAttempt)
MASK = "***"
PAGE_SIZE = 50


async def browse_audit(
    session: AsyncSession, *, object_type: str = "", actor: str = "", page_number: int = 1
) -> tuple[list[AuditEntry], int]:
    """One page of entries and the total count, for the filters given."""
    query = select(AuditEntry)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if actor:
        query = query.where(AuditEntry.actor_label.contains(actor.strip().lower()))
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    page_number = max(page_number, 1)
    rows = await session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset((page_number - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    return list(rows), total


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _columns(obj: Base) -> list[str]:
    return [attr.key for attr in inspect(obj).mapper.column_attrs]


def _value(obj: Base, key: str, value: Any) -> Any:
    return MASK if key in getattr(obj, "__audit_secret__", ()) and value is not None else _plain(value)


def _snapshot(obj: Base) -> dict[str, Any]:
    return {key: _value(obj, key, getattr(obj, key)) for key in _columns(obj)}


def _changes(obj: Base) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for key in _columns(obj):
        history = state.attrs[key].history
        if history.has_changes():
            before[key] = _value(obj, key, history.deleted[0] if history.deleted else None)
            after[key] = _value(obj, key, history.added[0] if history.added else None)
    return before, after


def _object_id(obj: Base) -> str:
    state = inspect(obj)
    return ",".join(str(part) for part in state.mapper.primary_key_from_instance(obj))


def _entries(session: Session, actor: Actor) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    now = utcnow()

    def row(obj: Base, action: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        rows.append(
            {
                "at": now,
                "actor_id": actor.id,
                "actor_label": actor.label,
                "action": action,
                "object_type": obj.__tablename__,
                "object_id": _object_id(obj),
                "reason": actor.reason,
                "before": before,
                "after": after,
            }
        )

    for obj in session.new:
        if not isinstance(obj, UNAUDITED_MODELS):
            row(obj, "create", None, _snapshot(obj))
    for obj in session.dirty:
        if not isinstance(obj, UNAUDITED_MODELS) and session.is_modified(obj, include_collections=False):
            before, after = _changes(obj)
            if after:
                row(obj, "update", before, after)
    for obj in session.deleted:
        if not isinstance(obj, UNAUDITED_MODELS):
            row(obj, "delete", _snapshot(obj), None)
    return rows


@event.listens_for(Session, "after_flush")
def _record_audit(session: Session, _flush: UOWTransaction) -> None:
    actor: Actor | None = session.info.get("actor")
    if actor is None or actor.role not in AUDITED_ROLES:
        return
    rows = _entries(session, actor)
    if rows:
        session.connection().execute(insert(AuditEntry), rows)
