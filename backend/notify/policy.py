"""How each kind of notification travels: urgency, lifetime, topic, payload, and quiet hours.

Pure rules with no database, so they are unit-tested on their own.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from zoneinfo import ZoneInfo

from backend.core.slots import local_slot, utc_start
from backend.notify.models import Kind

HOUR_SECONDS = 3600
# Web Push Urgency (RFC 8030 5.3): a phone on battery saver only wakes for high.
URGENCY: dict[Kind, str] = {
    Kind.cover_request: "high",
    Kind.intraday_offer: "high",
    Kind.open_shift: "low",
    Kind.staff_late: "high",
    Kind.staff_cover_unfilled: "high",
}
DEFAULT_URGENCY = "normal"
# How long a push service keeps a message for a phone that is offline: past this it is stale.
TTL_SECONDS: dict[Kind, int] = {
    Kind.roster_published: 24 * HOUR_SECONDS,
    Kind.open_shift: 12 * HOUR_SECONDS,
    Kind.cover_request: 2 * HOUR_SECONDS,
    Kind.shift_reminder: 2 * HOUR_SECONDS,
    Kind.swap: 24 * HOUR_SECONDS,
    Kind.waitlist_offer: 4 * HOUR_SECONDS,
    Kind.certification_expiring: 24 * HOUR_SECONDS,
    Kind.pay_dispute: 72 * HOUR_SECONDS,
    Kind.payout: 72 * HOUR_SECONDS,
    Kind.intraday_offer: 1 * HOUR_SECONDS,  # offers lapse after ``intraday_offer_minutes`` (at most 4 hours)
    Kind.shift_change: 24 * HOUR_SECONDS,
    Kind.attendance: 24 * HOUR_SECONDS,
    Kind.staff_dispute: 72 * HOUR_SECONDS,
    Kind.staff_cover_unfilled: 2 * HOUR_SECONDS,
    Kind.staff_unconfirmed: 12 * HOUR_SECONDS,
    Kind.staff_late: 1 * HOUR_SECONDS,
    Kind.staff_handover: 12 * HOUR_SECONDS,
    Kind.request: 72 * HOUR_SECONDS,
    Kind.staff_request: 24 * HOUR_SECONDS,
}
TOPIC_LENGTH = 32
TITLE_MAX_CHARS = 200
PAYLOAD_BODY_MAX_CHARS = 240
# aes128gcm in a 4096-byte record leaves 3993 bytes; stay far below it.
PAYLOAD_MAX_BYTES = 2048
CLOCK = re.compile(r"^([01]\d|2[0-3]):(00|30)$")


def urgency_of(kind: Kind) -> str:
    return URGENCY.get(kind, DEFAULT_URGENCY)


def ttl_of(kind: Kind) -> int:
    return TTL_SECONDS[kind]


def topic_of(subject: str) -> str:
    """The Web Push ``Topic`` for a subject: at most 32 characters of the URL-safe base64 alphabet.

    A hash, because subjects (``shift:42``) contain characters a topic may not; a newer
    push with the same topic replaces one the push service still holds.
    """
    if not subject:
        return ""
    digest = hashlib.sha256(subject.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:TOPIC_LENGTH]


def tag_of(subject: str, notification_id: int) -> str:
    """The service worker's notification tag: the same subject replaces the notification on screen."""
    return subject or f"notification:{notification_id}"


def payload_of(*, notification_id: int, kind: Kind, title: str, body: str, url: str, subject: str) -> str:
    """The push body: ids, a title, a short body and where a tap leads; the rest is in the inbox."""
    short = body if len(body) <= PAYLOAD_BODY_MAX_CHARS else body[: PAYLOAD_BODY_MAX_CHARS - 1] + "…"
    message = {
        "id": notification_id,
        "kind": kind.value,
        "title": title,
        "body": short,
        "url": url,
        "tag": tag_of(subject, notification_id),
    }
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    if len(text.encode()) > PAYLOAD_MAX_BYTES:
        message["body"] = ""
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    return text


def clip_title(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= TITLE_MAX_CHARS else title[: TITLE_MAX_CHARS - 1] + "…"


def is_app_path(url: str) -> bool:
    """Only a path on this site: a tap on a notification must never lead elsewhere."""
    return url.startswith("/") and not url.startswith("//") and "\\" not in url and len(url) <= 500


def parse_clock(text: str) -> tuple[int, int]:
    """ "HH:MM" on the half-hour grid, as Weft's slots are; ValueError otherwise."""
    match = CLOCK.match(text)
    if match is None:
        raise ValueError(text)
    return int(match.group(1)), int(match.group(2))


def quiet_until(now: dt.datetime, *, start: str | None, end: str | None, zone: ZoneInfo) -> dt.datetime | None:
    """The end of the quiet hours ``now`` falls in (local ``start``-``end``, may span midnight), else None."""
    if not start or not end or start == end:
        return None
    start_clock, end_clock = parse_clock(start), parse_clock(end)
    today = now.astimezone(zone).date()
    for day in (today - dt.timedelta(days=1), today):
        begins = utc_start(local_slot(day, *start_clock, zone))
        end_day = day if end_clock > start_clock else day + dt.timedelta(days=1)
        ends = utc_start(local_slot(end_day, *end_clock, zone))
        if begins <= now < ends:
            return ends
    return None
