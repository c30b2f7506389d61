"""How pushes travel: topics, payload size, quiet hours, backoff and Retry-After."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from backend.core.settings import Settings, SettingsError, load_settings
from backend.notify import policy
from backend.notify.keys import generate_pair, pair_from_private
from backend.notify.models import Kind
from backend.notify.sender import backoff_seconds, retry_after_seconds

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
TOPIC_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def local(zone: ZoneInfo, *args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone)


def test_a_topic_is_32_url_safe_characters_and_the_same_for_the_same_subject() -> None:
    topic = policy.topic_of("shift:42 / Tuesday, 18:00")
    assert len(topic) == 32
    assert set(topic) <= TOPIC_ALPHABET
    assert topic == policy.topic_of("shift:42 / Tuesday, 18:00")
    assert topic != policy.topic_of("shift:43 / Tuesday, 18:00")
    assert policy.topic_of("") == ""


def test_every_kind_has_a_real_ttl_and_urgency_follows_the_kind() -> None:
    assert all(policy.ttl_of(kind) > 0 for kind in Kind)
    assert policy.ttl_of(Kind.waitlist_offer) == 4 * 3600
    assert policy.ttl_of(Kind.roster_published) == 24 * 3600
    assert policy.urgency_of(Kind.cover_request) == "high"
    assert policy.urgency_of(Kind.open_shift) == "low"
    assert policy.urgency_of(Kind.swap) == "normal"


def test_the_payload_stays_small_even_for_a_long_chinese_body() -> None:
    text = policy.payload_of(
        notification_id=7, kind=Kind.swap, title="换班" * 100, body="请确认" * 2000, url="/app/shifts/7", subject="s:7"
    )
    message = json.loads(text)
    assert len(text.encode()) <= policy.PAYLOAD_MAX_BYTES
    assert message["id"] == 7
    assert message["url"] == "/app/shifts/7"
    assert message["tag"] == "s:7"


@pytest.mark.parametrize("url", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "app", "/\\evil"])
def test_a_notification_links_only_to_this_site(url: str) -> None:
    assert not policy.is_app_path(url)


def test_quiet_hours_across_midnight_hold_until_the_morning() -> None:
    late = local(SHANGHAI, 2026, 12, 1, 23, 10)
    early = local(SHANGHAI, 2026, 12, 2, 6, 59)
    morning = local(SHANGHAI, 2026, 12, 2, 7, 0)
    assert policy.quiet_until(late, start="22:00", end="07:00", zone=SHANGHAI) == morning
    assert policy.quiet_until(early, start="22:00", end="07:00", zone=SHANGHAI) == morning
    assert policy.quiet_until(morning, start="22:00", end="07:00", zone=SHANGHAI) is None
    assert policy.quiet_until(local(SHANGHAI, 2026, 12, 1, 21, 59), start="22:00", end="07:00", zone=SHANGHAI) is None


def test_quiet_hours_within_a_day_and_none_at_all() -> None:
    lunch = local(SHANGHAI, 2026, 12, 1, 12, 30)
    assert policy.quiet_until(lunch, start="12:00", end="13:30", zone=SHANGHAI) == local(SHANGHAI, 2026, 12, 1, 13, 30)
    assert policy.quiet_until(lunch, start=None, end=None, zone=SHANGHAI) is None


def test_quiet_hours_follow_the_users_zone_across_a_daylight_saving_change() -> None:
    # New York falls back on 2026-11-01: 22:00 EDT on Oct 31 to 07:00 EST on Nov 1 is ten hours.
    night = local(NEW_YORK, 2026, 10, 31, 23, 0)
    until = policy.quiet_until(night, start="22:00", end="07:00", zone=NEW_YORK)
    assert until == local(NEW_YORK, 2026, 11, 1, 7, 0)
    assert until is not None
    assert until.astimezone(dt.UTC).hour == 12


@pytest.mark.parametrize("clock", ["7:00", "22:15", "24:00", "", "ab:cd"])
def test_quiet_hours_are_on_the_half_hour_grid(clock: str) -> None:
    with pytest.raises(ValueError, match=clock or "^$"):
        policy.parse_clock(clock)


def test_backoff_doubles_from_30_seconds_to_at_most_an_hour() -> None:
    assert [backoff_seconds(n) for n in range(1, 6)] == [30, 60, 120, 240, 480]
    assert backoff_seconds(20) == 3600


def test_retry_after_is_seconds_or_an_http_date() -> None:
    now = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Tue, 01 Dec 2026 10:05:00 GMT", now) == 300
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_a_configured_vapid_key_gives_back_the_same_public_key() -> None:
    pair = generate_pair()
    assert len(pair.private_key) == 43
    assert pair_from_private(pair.private_key) == pair


def settings_with(**values: str) -> Settings:
    return load_settings({"WEFT_DATABASE_URL": "sqlite:///weft.db", "WEFT_SECRET_KEY": "k" * 40, **values})


def test_push_settings_default_to_in_process_on_sqlite_and_a_contact_from_the_base_url() -> None:
    assert settings_with().runs_push_in_process
    assert not settings_with(WEFT_DATABASE_URL="postgresql://db/weft").runs_push_in_process
    assert not settings_with(WEFT_PUSH_IN_PROCESS="false").runs_push_in_process
    assert settings_with(WEFT_BASE_URL="https://weft.example.com/").push_contact == "https://weft.example.com"
    assert settings_with(WEFT_VAPID_SUBJECT="mailto:ops@example.com").push_contact == "mailto:ops@example.com"


@pytest.mark.parametrize(
    ("name", "value"),
    [("WEFT_VAPID_SUBJECT", "ops@example.com"), ("WEFT_VAPID_PRIVATE_KEY", "short"), ("WEFT_PUSH_MAX_ATTEMPTS", "0")],
)
def test_bad_push_settings_stop_the_process_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        settings_with(**{name: value})
