"""Settings: one msgspec struct read from ``WEFT_*`` environment variables.

A bad value must stop the process at start-up with the variable's name, not
surface later as a confusing 500, so every field is converted and checked
here, once.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from backend.core.slots import known_time_zone

ENV_PREFIX = "WEFT_"
DEFAULT_DATA_DIR = "var"
SECRET_KEY_FILE = "secret_key"

Locale = Literal["en", "zh-Hans"]
VAPID_SUBJECT = re.compile(r"^(mailto:[^@\s]+@[^@\s]+|https://[^\s]+)$")
VAPID_PRIVATE_KEY = re.compile(r"^[A-Za-z0-9_-]{43}$")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the process needs to know about where and how it runs."""

    database_url: str = ""
    secret_key: Annotated[str, msgspec.Meta(min_length=32)] = ""
    base_url: str = "http://127.0.0.1:8000"
    data_dir: str = DEFAULT_DATA_DIR
    site_name: str = "Weft Shanghai"
    site_timezone: str = "Asia/Shanghai"
    site_country: Annotated[str, msgspec.Meta(pattern="^[A-Z]{2}$")] = "CN"
    default_locale: Locale = "en"
    session_max_age_hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 90)] = 24 * 14
    invitation_valid_hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 30)] = 72
    login_failures_per_account: Annotated[int, msgspec.Meta(ge=1)] = 5
    login_failures_per_client: Annotated[int, msgspec.Meta(ge=1)] = 20
    login_window_minutes: Annotated[int, msgspec.Meta(ge=1)] = 15
    # Payouts through Stripe Connect: with no secret key, payouts say they are off and everything else works.
    # The platform endpoint (transfer events) and the Connect endpoint (connected accounts' events) each have
    # their own signing secret. ``stripe_api_base`` points the SDK elsewhere (the stand-in: `weft stripe-standin`).
    stripe_secret_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_connect_webhook_secret: str = ""
    stripe_api_base: str = ""
    # Requests per second the payout sender allows itself (Stripe's limit is lower in test mode than live).
    stripe_requests_per_second: Annotated[float, msgspec.Meta(gt=0, le=1000)] = 20.0
    stripe_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 30.0
    # Web Push: a VAPID key given here wins over the one generated into the database on first use
    # (base64url of the raw 32-byte P-256 private key); the subject is the contact push services
    # see (mailto: or https:), by default derived from WEFT_BASE_URL.
    vapid_private_key: str = ""
    vapid_subject: str = ""
    # The push sender: run it inside the web process (default: only on SQLite, where there is
    # one process anyway), how often it looks for due pushes, and attempts before giving up.
    push_in_process: bool | None = None
    push_worker_interval_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0
    push_max_attempts: Annotated[int, msgspec.Meta(ge=1, le=20)] = 6
    # Development and tests only: let push endpoints be plain http and resolve inside the network
    # (a push service stand-in on loopback). Off, the server contacts only https hosts on the internet.
    push_allow_private_hosts: bool = False
    # Roster solves: wall-clock limit per solve, CP-SAT workers per solve, solves at once.
    solver_time_limit_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 30.0
    solver_workers: Annotated[int, msgspec.Meta(ge=1, le=64)] = 2
    solver_processes: Annotated[int, msgspec.Meta(ge=1, le=16)] = 1

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def runs_push_in_process(self) -> bool:
        return self.is_sqlite if self.push_in_process is None else self.push_in_process

    @property
    def push_contact(self) -> str:
        """The VAPID ``sub`` claim: who a push service may contact about this server's pushes."""
        if self.vapid_subject:
            return self.vapid_subject
        if self.is_https:
            return self.base_url.rstrip("/")
        return "mailto:weft@localhost"

    @property
    def is_https(self) -> bool:
        """Served over HTTPS: cookies are Secure and HSTS is sent. Over plain HTTP (a LAN address in a pilot,
        loopback in development) a Secure cookie would never come back and sign-in would loop.

        The scheme decides, never the host: a guess from the host ("local" by a prefix of the URL) once
        took ``http://10.0.0.5`` for HTTPS and ``127.0.0.1.evil.example`` for this machine."""
        return urlsplit(self.base_url).scheme == "https"


def _env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def _raw_values(environ: dict[str, str]) -> dict[str, str]:
    known = {f.name for f in msgspec.structs.fields(Settings)}
    unknown = sorted(k for k in environ if k.startswith(ENV_PREFIX) and k[len(ENV_PREFIX) :].lower() not in known)
    ignored = {"WEFT_REQUIRE_POSTGRES", "WEFT_REQUIRE_BROWSER", "WEFT_TEST_POSTGRES_URL", "WEFT_TEST_CLOCK"}
    unknown = [k for k in unknown if k not in ignored]
    if unknown:
        raise SettingsError(f"{unknown[0]} is not a Weft setting (known: {', '.join(map(_env_name, sorted(known)))})")
    return {name: environ[_env_name(name)] for name in known if _env_name(name) in environ}


def _field_of(error: msgspec.ValidationError) -> str:
    message = str(error)
    marker = "at `$."
    if marker in message:
        return message.split(marker, 1)[1].split("`", 1)[0].split("[", 1)[0]
    return ""


def _default_database_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / 'weft.db').as_posix()}"


def _embedded_secret_key(data_dir: Path) -> str:
    """Generate the key once and keep it beside the SQLite database, never in the repo."""
    path = data_dir / SECRET_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key + "\n")
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    return key


def _check(settings: Settings) -> None:
    try:
        url = make_url(settings.database_url)
    except ArgumentError as exc:
        raise SettingsError(f"WEFT_DATABASE_URL is not a database URL: {exc}") from None
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        raise SettingsError("WEFT_DATABASE_URL must be a sqlite or postgresql URL")
    if known_time_zone(settings.site_timezone) is None:
        raise SettingsError(f"WEFT_SITE_TIMEZONE {settings.site_timezone!r} is not an IANA time zone")
    base_url = urlsplit(settings.base_url)
    if base_url.scheme not in {"http", "https"} or not base_url.hostname:
        raise SettingsError("WEFT_BASE_URL must be an http:// or https:// URL with a host")
    if settings.vapid_subject and not VAPID_SUBJECT.match(settings.vapid_subject):
        raise SettingsError("WEFT_VAPID_SUBJECT must be a mailto: address or an https:// URL")
    if settings.vapid_private_key and not VAPID_PRIVATE_KEY.match(settings.vapid_private_key):
        raise SettingsError("WEFT_VAPID_PRIVATE_KEY must be a raw 32-byte P-256 key in base64url (43 characters)")


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read, convert and check the settings; raise ``SettingsError`` naming the variable."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, object] = dict(_raw_values(env))
    data_dir = Path(str(values.get("data_dir", DEFAULT_DATA_DIR)))
    values.setdefault("database_url", _default_database_url(data_dir))
    if not values.get("secret_key"):
        if not str(values["database_url"]).startswith("sqlite"):
            raise SettingsError("WEFT_SECRET_KEY is required when WEFT_DATABASE_URL is not SQLite")
        values["secret_key"] = _embedded_secret_key(data_dir)
    try:
        settings = msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as exc:
        field = _field_of(exc)
        name = _env_name(field) if field else "a WEFT_ variable"
        raise SettingsError(f"{name} is invalid: {exc}") from None
    _check(settings)
    return settings
