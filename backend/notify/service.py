"""Telling agents things: the in-app inbox and Web Push, through an outbox written in the caller's transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import STAFF_ROLES, Role, User, UserStatus
from backend.accounts.service import staff_of_site
from backend.core.db import utcnow
from backend.core.errors import DomainError, NotFound
from backend.core.i18n import DEFAULT_LOCALE, speaking
from backend.core.i18n import gettext as _
from backend.core.slots import known_time_zone
from backend.notify import endpoints, keys, messages, policy, wakeup
from backend.notify.messages import Words, moment_value, skill_values
from backend.notify.models import Kind, Notification, NotificationPreference, PushMessage, PushStatus, PushSubscription

__all__ = ["Kind", "Outgoing", "moment_value", "notify", "notify_many", "notify_staff", "skill_values"]

INBOX_PAGE_SIZE = 50
SUBJECT_MAX_CHARS = 120
SUPERSEDED = "superseded by a newer push on the same topic"
UNSUBSCRIBED = "the device unsubscribed"


async def notify(
    session: AsyncSession,
    *,
    user_id: int,
    kind: Kind,
    message: str | None = None,
    values: Mapping[str, Any] | None = None,
    title: str = "",
    body: str = "",
    url: str = "/app",
    subject: str | None = None,
    expires_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Notification:
    """Record a notification for ``user_id`` in the caller's transaction (inbox row + push outbox rows).

    ``message`` names its words in ``notify.messages`` and ``values`` fills them: the inbox and the push
    word it in the reader's language when they read it, so a language switch reaches old notifications
    too. The words as of now, in the user's language, are kept as ``title``/``body`` for the record. A
    ``title`` (and ``body``) without ``message`` is stored as given, in one language: only for words no
    registry message has.
    ``subject`` names what it is about (e.g. ``shift:42``): a newer push with the same
    subject replaces a pending one (the Web Push ``Topic`` header). Nothing is sent
    here: the outbox worker sends after the transaction commits. The inbox row is
    immediate; quiet hours only hold back the push, to the end of the quiet hours
    in the user's time zone. A kind the user muted reaches the inbox only.
    ``expires_at`` (optional) ends the push's life early, e.g. when an offer lapses.
    ``now`` is the caller's clock when it has one (a timed job deciding what is due).
    """
    kind = Kind(kind)
    if not policy.is_app_path(url):
        raise ValueError(f"a notification links to a path on this site, not {url!r}")
    now = now or utcnow()
    stored: dict[str, Any] | None = None
    if message is not None:
        stored = {**(values or {}), "message": message}
        title, body = await _first_words(session, user_id, stored, now)
    note = Notification(
        user_id=user_id,
        kind=kind,
        title=policy.clip_title(title),
        body=body,
        values=stored,
        url=url,
        subject=(subject or "")[:SUBJECT_MAX_CHARS],
        created_at=now,
    )
    session.add(note)
    await session.flush()
    preference = await session.get(NotificationPreference, user_id)
    if preference is not None and kind.value in preference.muted_kinds:
        return note
    subscriptions = list(await session.scalars(select(PushSubscription.id).where(PushSubscription.user_id == user_id)))
    if not subscriptions:
        return note
    send_at = now
    if preference is not None:
        zone = await _zone_of(session, user_id)
        send_at = policy.quiet_until(now, start=preference.quiet_start, end=preference.quiet_end, zone=zone) or now
    topic = policy.topic_of(note.subject)
    if topic:
        await session.execute(
            update(PushMessage)
            .where(
                PushMessage.subscription_id.in_(subscriptions),
                PushMessage.topic == topic,
                PushMessage.status == PushStatus.pending,
            )
            .values(status=PushStatus.dropped, last_error=SUPERSEDED)
        )
    ttl = policy.ttl_of(kind)
    if expires_at is not None:
        ttl = min(ttl, int((expires_at - send_at).total_seconds()))
        if ttl <= 0:
            return note
    for subscription_id in subscriptions:
        session.add(
            PushMessage(
                notification_id=note.id,
                subscription_id=subscription_id,
                status=PushStatus.pending,
                attempts=0,
                next_attempt_at=send_at,
                expires_at=send_at + dt.timedelta(seconds=ttl),
                created_at=now,
                topic=topic,
                urgency=policy.urgency_of(kind),
                ttl_seconds=ttl,
            )
        )
    await session.flush()
    wakeup.mark_queued(session.info)
    return note


class Outgoing(msgspec.Struct, frozen=True, kw_only=True):
    """One notification for ``notify_many``: what ``notify`` takes for one person, worded by a message."""

    user_id: int
    kind: Kind
    message: str
    values: Mapping[str, Any]
    url: str
    subject: str | None = None
    expires_at: dt.datetime | None = None
    now: dt.datetime


async def notify_many(session: AsyncSession, notes: Sequence[Outgoing]) -> list[Notification]:
    """``notify`` for many notifications at once, in order, in a few statements: the same inbox rows and push
    outbox rows (muted kinds, quiet hours, a newer push on a topic dropping a pending one, ``expires_at``) as
    calling ``notify`` for each in turn."""
    for outgoing in notes:
        if not policy.is_app_path(outgoing.url):
            raise ValueError(f"a notification links to a path on this site, not {outgoing.url!r}")
    if not notes:
        return []
    ids = sorted({outgoing.user_id for outgoing in notes})
    people = {
        row.id: (row.locale, known_time_zone(row.timezone) or ZoneInfo("UTC"))
        for row in await session.execute(select(User.id, User.locale, User.timezone).where(User.id.in_(ids)))
    }
    preferences = {
        row.user_id: row
        for row in await session.scalars(select(NotificationPreference).where(NotificationPreference.user_id.in_(ids)))
    }
    subscriptions: dict[int, list[int]] = {}
    query = select(PushSubscription.user_id, PushSubscription.id).where(PushSubscription.user_id.in_(ids))
    for user_id, subscription_id in await session.execute(query.order_by(PushSubscription.id)):
        subscriptions.setdefault(user_id, []).append(subscription_id)
    rows = []
    for outgoing in notes:
        stored = {**outgoing.values, "message": outgoing.message}
        locale, zone = people.get(outgoing.user_id, (None, ZoneInfo("UTC")))
        with speaking(locale or DEFAULT_LOCALE):
            words = worded(stored, None, reader=messages.Reader.at(zone, outgoing.now))
        rows.append(
            Notification(
                user_id=outgoing.user_id,
                kind=Kind(outgoing.kind),
                title=policy.clip_title(words.title),
                body=words.body,
                values=stored,
                url=outgoing.url,
                subject=(outgoing.subject or "")[:SUBJECT_MAX_CHARS],
                created_at=outgoing.now,
            )
        )
    session.add_all(rows)
    await session.flush()
    pushes: list[PushMessage] = []
    pending: dict[tuple[int, str], PushMessage] = {}  # the batch's newest pending push per subscription and topic
    superseded: set[tuple[int, str]] = set()  # pending pushes written before this batch to drop
    for outgoing, note in zip(notes, rows, strict=True):
        kind = Kind(outgoing.kind)
        preference = preferences.get(outgoing.user_id)
        devices = subscriptions.get(outgoing.user_id, [])
        if (preference is not None and kind.value in preference.muted_kinds) or not devices:
            continue
        send_at = outgoing.now
        if preference is not None:
            zone = people.get(outgoing.user_id, (None, ZoneInfo("UTC")))[1]
            start, end = preference.quiet_start, preference.quiet_end
            send_at = policy.quiet_until(outgoing.now, start=start, end=end, zone=zone) or outgoing.now
        topic = policy.topic_of(note.subject)
        if topic:
            for subscription_id in devices:
                earlier = pending.pop((subscription_id, topic), None)
                if earlier is None:
                    superseded.add((subscription_id, topic))
                else:
                    earlier.status, earlier.last_error = PushStatus.dropped, SUPERSEDED
        ttl = policy.ttl_of(kind)
        if outgoing.expires_at is not None:
            ttl = min(ttl, int((outgoing.expires_at - send_at).total_seconds()))
            if ttl <= 0:
                continue
        for subscription_id in devices:
            push = PushMessage(
                notification_id=note.id,
                subscription_id=subscription_id,
                status=PushStatus.pending,
                attempts=0,
                next_attempt_at=send_at,
                expires_at=send_at + dt.timedelta(seconds=ttl),
                created_at=outgoing.now,
                topic=topic,
                urgency=policy.urgency_of(kind),
                ttl_seconds=ttl,
            )
            pushes.append(push)
            if topic:
                pending[(subscription_id, topic)] = push
    if superseded:
        await session.execute(
            update(PushMessage)
            .where(
                tuple_(PushMessage.subscription_id, PushMessage.topic).in_(sorted(superseded)),
                PushMessage.status == PushStatus.pending,
            )
            .values(status=PushStatus.dropped, last_error=SUPERSEDED)
            .execution_options(synchronize_session=False)
        )
    if pushes:
        session.add_all(pushes)
        await session.flush()
        if any(push.status == PushStatus.pending for push in pushes):
            wakeup.mark_queued(session.info)
    return rows


async def notify_staff(
    session: AsyncSession,
    *,
    site_id: int,
    kind: Kind,
    values: Mapping[str, Any],
    link: str,
    now: dt.datetime,
    only_user_ids: Collection[int] | None = None,
    roles: frozenset[Role] = STAFF_ROLES,
    subject: str | None = None,
) -> int:
    """Alert the site's staff (``roles``, coordinators and admins by default) in the caller's transaction.

    ``only_user_ids`` narrows it to those people of the site, whatever their role (a shift lead on duty
    may be an agent). The words are the message named ``values["message"]``, else the one named after
    the kind. ``subject`` is the event's key (``late:seat:42``): someone already told about it is not
    told again, so a job that runs every minute alerts once. Inbox, push, muted kinds and quiet hours
    behave as for agents (``notify``). Returns how many people were told.
    """
    kind = Kind(kind)
    message = str(values.get("message", kind.value))
    if only_user_ids is not None:
        query = select(User).where(
            User.site_id == site_id, User.id.in_(sorted(set(only_user_ids))), User.status == UserStatus.active
        )
        people = list(await session.scalars(query.order_by(User.id)))
    else:
        people = await staff_of_site(session, site_id=site_id, roles=roles)
    told_already: set[int] = set()
    if subject and people:
        query = select(Notification.user_id).where(
            Notification.user_id.in_([person.id for person in people]),
            Notification.kind == kind,
            Notification.subject == subject[:SUBJECT_MAX_CHARS],
        )
        told_already = set(await session.scalars(query))
    count = 0
    for person in people:
        if person.id in told_already:
            continue
        await notify(
            session, user_id=person.id, kind=kind, message=message, values=values, url=link, subject=subject, now=now
        )
        count += 1
    return count


async def _zone_of(session: AsyncSession, user_id: int) -> ZoneInfo:
    """The user's zone; a message still goes out, in UTC, if the stored name is not a zone."""
    name = await session.scalar(select(User.timezone).where(User.id == user_id))
    return known_time_zone(name) or ZoneInfo("UTC")


async def _first_words(
    session: AsyncSession, user_id: int, values: Mapping[str, Any], now: dt.datetime
) -> tuple[str, str]:
    """The words as the user would read them now, in their own language, kept for the record."""
    locale = await session.scalar(select(User.locale).where(User.id == user_id))
    with speaking(locale or DEFAULT_LOCALE):
        words = worded(values, None, reader=messages.Reader.at(await _zone_of(session, user_id), now))
    return words.title, words.body


def worded(values: Mapping[str, Any] | None, fallback: Notification | None, *, reader: messages.Reader) -> Words:
    """A notification's title and body in the current language: from its message and values, or, for a row
    written before notifications kept their values, the words it was first sent with."""
    if values is None or values.get("message") not in messages.MESSAGES:
        return Words(fallback.title, fallback.body) if fallback is not None else Words("")
    words = messages.words_of(values["message"], values, reader)
    return Words(policy.clip_title(words.title), words.body)


# The inbox


class InboxEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One notification as the reader sees it now: worded in their current language and zone."""

    id: int
    kind: Kind
    title: str
    body: str
    url: str
    created_at: dt.datetime
    read_at: dt.datetime | None


async def inbox(
    session: AsyncSession, *, user_id: int, limit: int = INBOX_PAGE_SIZE, now: dt.datetime | None = None
) -> list[InboxEntry]:
    """The user's notifications, newest first, worded in the current language (the reader's)."""
    query = (
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    reader = messages.Reader.at(await _zone_of(session, user_id), now or utcnow())
    entries = []
    for note in await session.scalars(query):
        words = worded(note.values, note, reader=reader)
        entries.append(
            InboxEntry(
                id=note.id,
                kind=note.kind,
                title=words.title,
                body=words.body,
                url=note.url,
                created_at=note.created_at,
                read_at=note.read_at,
            )
        )
    return entries


async def unread_count(session: AsyncSession, *, user_id: int) -> int:
    query = select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    return int(await session.scalar(query) or 0)


async def mark_read(session: AsyncSession, *, user_id: int, notification_id: int) -> Notification:
    """Mark one of the user's own notifications read; anyone else's is not found."""
    note = await session.get(Notification, notification_id)
    if note is None or note.user_id != user_id:
        raise NotFound("notification")
    if note.read_at is None:
        note.read_at = utcnow()
        await session.flush()
    return note


async def mark_all_read(session: AsyncSession, *, user_id: int) -> int:
    result = await session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# Preferences


class Preferences(msgspec.Struct, frozen=True, kw_only=True):
    """What reaches the phone: the kinds pushed, and quiet hours (both or neither)."""

    push_kinds: frozenset[Kind]
    quiet_start: str | None = None
    quiet_end: str | None = None


async def preferences(session: AsyncSession, *, user_id: int) -> Preferences:
    row = await session.get(NotificationPreference, user_id)
    if row is None:
        return Preferences(push_kinds=frozenset(Kind))
    return Preferences(
        push_kinds=frozenset(kind for kind in Kind if kind.value not in row.muted_kinds),
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
    )


def _clock(text: str | None, field: str) -> str | None:
    if not text:
        return None
    try:
        policy.parse_clock(text)
    except ValueError:
        raise DomainError(_("Use a time on the hour or half-hour, like 22:00 or 07:30."), field=field) from None
    return text


async def save_preferences(
    session: AsyncSession, *, user_id: int, push_kinds: set[Kind], quiet_start: str | None, quiet_end: str | None
) -> Preferences:
    """Store the user's choices; quiet hours need a start and a different end, on the half-hour grid."""
    start, end = _clock(quiet_start, "quiet_start"), _clock(quiet_end, "quiet_end")
    if bool(start) != bool(end):
        field = "quiet_end" if start else "quiet_start"
        raise DomainError(_("Quiet hours need both a start and an end."), field=field)
    if start and start == end:
        raise DomainError(_("Quiet hours must end at a different time than they start."), field="quiet_end")
    row = await session.get(NotificationPreference, user_id)
    if row is None:
        row = NotificationPreference(user_id=user_id)
        session.add(row)
    row.muted_kinds = sorted(kind.value for kind in Kind if kind not in push_kinds)
    row.quiet_start, row.quiet_end = start, end
    row.updated_at = utcnow()
    await session.flush()
    return await preferences(session, user_id=user_id)


# Subscriptions


async def subscribe(
    session: AsyncSession, *, user_id: int, endpoint: str, p256dh: str, auth: str, user_agent: str = ""
) -> PushSubscription:
    """Keep a browser's subscription for the signed-in user (upsert by endpoint).

    The endpoint belongs to the device, not to a person: when someone else signs in on
    the same phone and subscribes, the subscription moves to them, and pushes still
    waiting for the previous owner are dropped rather than shown to the new one.
    """
    row = await session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if row is None:
        row = PushSubscription(user_id=user_id, endpoint=endpoint, p256dh=p256dh, auth=auth, created_at=utcnow())
        session.add(row)
    else:
        if row.user_id != user_id or (row.p256dh, row.auth) != (p256dh, auth):
            await _drop_pending(session, row.id, UNSUBSCRIBED)
        row.user_id, row.p256dh, row.auth = user_id, p256dh, auth
    row.user_agent = user_agent[:255]
    await session.flush()
    return row


async def unsubscribe(session: AsyncSession, *, user_id: int, endpoint: str) -> None:
    """Forget one of the user's own devices; another user's endpoint is not found."""
    row = await session.scalar(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint, PushSubscription.user_id == user_id)
    )
    if row is None:
        raise NotFound("subscription")
    await forget_subscription(session, row.id, UNSUBSCRIBED)


async def forget_subscription(session: AsyncSession, subscription_id: int, reason: str) -> None:
    """Delete a subscription; its waiting pushes are dropped with ``reason`` (kept, for the record)."""
    await _drop_pending(session, subscription_id, reason)
    row = await session.get(PushSubscription, subscription_id)
    if row is not None:
        await session.delete(row)
    await session.flush()


async def _drop_pending(session: AsyncSession, subscription_id: int, reason: str) -> None:
    await session.execute(
        update(PushMessage)
        .where(PushMessage.subscription_id == subscription_id, PushMessage.status == PushStatus.pending)
        .values(status=PushStatus.dropped, last_error=reason)
    )


async def subscriptions_of(session: AsyncSession, *, user_id: int) -> list[PushSubscription]:
    query = select(PushSubscription).where(PushSubscription.user_id == user_id).order_by(PushSubscription.id)
    return list(await session.scalars(query))


async def check_subscription(*, endpoint: str, p256dh: str, auth: str, allow_private_hosts: bool) -> None:
    """Refuse what no browser would send (bad keys) and an endpoint the server may not contact (see ``endpoints``).

    The keys are checked first: they cost nothing, the endpoint costs a DNS lookup.
    """
    try:
        point = keys.b64url_decode(p256dh.rstrip("="))
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise DomainError(_("keys.p256dh is not a P-256 public key."), field="keys.p256dh") from None
    if len(point) != 65:
        raise DomainError(_("keys.p256dh is not a P-256 public key."), field="keys.p256dh")
    try:
        secret = keys.b64url_decode(auth.rstrip("="))
    except ValueError:
        secret = b""
    if len(secret) != 16:
        raise DomainError(_("keys.auth must be a 16-byte secret."), field="keys.auth")
    try:
        await endpoints.reachable_addresses(endpoint, allow_private_hosts=allow_private_hosts)
    except endpoints.EndpointRefused as refused:
        raise DomainError(refused.message, field="endpoint") from None
