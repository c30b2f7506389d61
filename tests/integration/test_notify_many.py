"""notify_many() writes the same inbox rows and push outbox rows as notify() called for each in turn."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.notify import service
from backend.notify.models import Kind, Notification, PushMessage, PushStatus, PushSubscription
from tests.conftest import Factory

NOW = dt.datetime(2030, 3, 4, 14, 30, tzinfo=dt.UTC)
VALUES = {"id": 7, "title": "My shift swap", "target": "response", "due": "2030-03-04T16:00:00+00:00"}


async def _world(db: AsyncSession, people: Factory) -> list[User]:
    """Five readers: two devices; Chinese in Shanghai with quiet hours now; a kind muted; no device; one device."""
    users = [await people.make() for _ in range(5)]
    users[1].locale, users[1].timezone = "zh-Hans", "Asia/Shanghai"
    for number, user in enumerate(users):
        for device in range({0: 2, 3: 0}.get(number, 1)):
            await service.subscribe(db, user_id=user.id, endpoint=f"https://push.example.com/{user.id}/{device}",
                                    p256dh="key", auth="secret")  # fmt: skip
    await service.save_preferences(db, user_id=users[1].id, push_kinds=set(Kind), quiet_start="22:00",
                                   quiet_end="07:00")  # fmt: skip
    await service.save_preferences(
        db, user_id=users[2].id, push_kinds=set(Kind) - {Kind.staff_request}, quiet_start=None, quiet_end=None
    )
    await db.flush()
    return users


def _outgoing(users: list[User]) -> list[service.Outgoing]:
    notes = []
    for user in users:
        notes.append(service.Outgoing(user_id=user.id, kind=Kind.staff_request, message="request_warned",
                                      values=VALUES, url="/admin/requests/7", now=NOW))  # fmt: skip
        notes.append(service.Outgoing(user_id=user.id, kind=Kind.request, message="request_closed", values=VALUES,
                                      url="/app/requests/7", subject="request:7", now=NOW))  # fmt: skip
    notes.append(service.Outgoing(user_id=users[0].id, kind=Kind.request, message="request_closed", values=VALUES,
                                  url="/app/requests/7", subject="request:7", now=NOW))  # fmt: skip
    notes.append(service.Outgoing(user_id=users[4].id, kind=Kind.request, message="request_closed", values=VALUES,
                                  url="/app/requests/7", subject="request:7", now=NOW,
                                  expires_at=NOW - dt.timedelta(minutes=1)))  # fmt: skip
    return notes


async def _rows(db: AsyncSession, users: list[User]) -> list[Any]:
    """Every row written for these users, with ids replaced by positions (users, devices, notifications)."""
    place = {user.id: number for number, user in enumerate(users)}
    notes = list(
        await db.scalars(select(Notification).where(Notification.user_id.in_(place)).order_by(Notification.id))
    )
    devices = {
        row.id: (place[row.user_id], row.endpoint.rsplit("/", 1)[1])
        for row in await db.scalars(select(PushSubscription).where(PushSubscription.user_id.in_(place)))
    }
    order = {note.id: number for number, note in enumerate(notes)}
    pushes = list(
        await db.scalars(select(PushMessage).where(PushMessage.subscription_id.in_(devices)).order_by(PushMessage.id))
    )
    return [
        [
            (place[n.user_id], n.kind, n.title, n.body, n.values, n.url, n.subject, n.created_at, n.read_at)
            for n in notes
        ],
        sorted(
            (
                order[p.notification_id],
                devices[p.subscription_id],
                p.status,
                p.attempts,
                p.next_attempt_at,
                p.expires_at,
                p.created_at,
                p.topic,
                p.urgency,
                p.ttl_seconds,
                p.last_error,
            )
            for p in pushes
        ),
    ]


async def test_notify_many_writes_what_notify_writes_one_by_one(db: AsyncSession, people: Factory) -> None:
    one_by_one, together = await _world(db, people), await _world(db, people)
    for outgoing, user in zip(_outgoing(one_by_one), _outgoing(one_by_one), strict=True):
        await service.notify(db, user_id=user.user_id, kind=outgoing.kind, message=outgoing.message,
                             values=outgoing.values, url=outgoing.url, subject=outgoing.subject,
                             expires_at=outgoing.expires_at, now=outgoing.now)  # fmt: skip
    written = await service.notify_many(db, _outgoing(together))
    assert len(written) == len(_outgoing(together))
    expected, got = await _rows(db, one_by_one), await _rows(db, together)
    assert got == expected
    titles = {row[0]: row[2] for row in got[0] if row[1] == Kind.staff_request}
    assert titles[1] != titles[0]  # worded in the reader's language (Chinese for one)
    assert {row[2] for row in got[1]} == {PushStatus.pending, PushStatus.dropped}  # a newer push on the topic
    assert any(row[4] > NOW for row in got[1])  # quiet hours hold one reader's push


async def test_notify_many_supersedes_a_pending_push_written_before(db: AsyncSession, people: Factory) -> None:
    one_by_one, together = await _world(db, people), await _world(db, people)
    first = _outgoing(one_by_one)[1]
    await service.notify(db, user_id=first.user_id, kind=first.kind, message=first.message, values=first.values,
                         url=first.url, subject=first.subject, now=NOW)  # fmt: skip
    await service.notify(db, user_id=first.user_id, kind=first.kind, message=first.message, values=first.values,
                         url=first.url, subject=first.subject, now=NOW)  # fmt: skip
    second = _outgoing(together)[1]
    await service.notify(db, user_id=second.user_id, kind=second.kind, message=second.message, values=second.values,
                         url=second.url, subject=second.subject, now=NOW)  # fmt: skip
    await service.notify_many(db, [second])
    assert await _rows(db, together) == await _rows(db, one_by_one)


async def test_notify_many_refuses_a_link_off_the_site(db: AsyncSession, people: Factory) -> None:
    user = await people.make()
    outgoing = service.Outgoing(user_id=user.id, kind=Kind.request, message="request_closed", values=VALUES,
                                url="https://evil.example.com/", now=NOW)  # fmt: skip
    with pytest.raises(ValueError, match="path on this site"):
        await service.notify_many(db, [outgoing])
