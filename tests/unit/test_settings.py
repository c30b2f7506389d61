"""Settings: a bad or missing value stops start-up with the variable's name."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from backend.core.settings import SettingsError, load_settings


def test_embedded_default_generates_a_secret_key_once_beside_the_database(tmp_path: Path) -> None:
    first = load_settings({"WEFT_DATA_DIR": str(tmp_path)})
    second = load_settings({"WEFT_DATA_DIR": str(tmp_path)})
    assert first.secret_key == second.secret_key
    assert len(first.secret_key) >= 32
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.database_url == f"sqlite+aiosqlite:///{tmp_path.as_posix()}/weft.db"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"WEFT_DATABASE_URL": "mysql://x/y", "WEFT_SECRET_KEY": "k" * 40}, "WEFT_DATABASE_URL"),
        ({"WEFT_DATABASE_URL": "not a url", "WEFT_SECRET_KEY": "k" * 40}, "WEFT_DATABASE_URL"),
        ({"WEFT_DATABASE_URL": "postgresql://db/weft"}, "WEFT_SECRET_KEY"),
        ({"WEFT_SECRET_KEY": "short"}, "WEFT_SECRET_KEY"),
        ({"WEFT_SESSION_MAX_AGE_HOURS": "soon"}, "WEFT_SESSION_MAX_AGE_HOURS"),
        ({"WEFT_SESSION_MAX_AGE_HOURS": "0"}, "WEFT_SESSION_MAX_AGE_HOURS"),
        ({"WEFT_SITE_TIMEZONE": "Asia/Atlantis"}, "WEFT_SITE_TIMEZONE"),
        ({"WEFT_DEFAULT_LOCALE": "fr"}, "WEFT_DEFAULT_LOCALE"),
        ({"WEFT_BASE_URL": "ftp://host"}, "WEFT_BASE_URL"),
        ({"WEFT_DATABSE_URL": "sqlite://"}, "WEFT_DATABSE_URL"),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings({"WEFT_DATA_DIR": str(tmp_path), **environ})


def test_values_are_converted_from_strings(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "WEFT_DATA_DIR": str(tmp_path),
            "WEFT_SESSION_MAX_AGE_HOURS": "8",
            "WEFT_BASE_URL": "https://weft.example.com",
            "WEFT_DATABASE_URL": "postgresql://db/weft",
            "WEFT_SECRET_KEY": "s" * 40,
        }
    )
    assert settings.session_max_age_hours == 8
    assert settings.is_https
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    ("base_url", "https"),
    [
        ("http://127.0.0.1:8000", False),
        ("http://localhost:8000", False),
        ("http://[::1]:8000", False),
        ("https://localhost", True),
        ("http://10.0.0.5:8000", False),
        ("http://127.0.0.1.evil.example", False),
        ("https://127.0.0.1.evil.example", True),
        ("HTTPS://weft.example.com", True),
    ],
)
def test_secure_cookies_and_hsts_follow_the_scheme_whatever_the_host(
    tmp_path: Path, base_url: str, https: bool
) -> None:
    settings = load_settings({"WEFT_DATA_DIR": str(tmp_path), "WEFT_BASE_URL": base_url})
    assert settings.is_https is https


def test_a_base_url_without_a_host_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="WEFT_BASE_URL"):
        load_settings({"WEFT_DATA_DIR": str(tmp_path), "WEFT_BASE_URL": "http://"})
