"""Secrets in paths and queries never reach uvicorn's access log (tests/integration/test_server_log.py serves
real requests and reads the whole log)."""

from __future__ import annotations

import logging

import pytest

from backend.app import configure_logging, create_app
from backend.core.settings import load_settings
from backend.core.web import SECRET_PATHS, redact_path


@pytest.fixture(scope="module", autouse=True)
def secret_paths_learnt(tmp_path_factory: pytest.TempPathFactory) -> None:
    """What serving the app does first: learn which of its routes carry a secret."""
    app = create_app(load_settings({"WEFT_DATA_DIR": str(tmp_path_factory.mktemp("access-log"))}))
    SECRET_PATHS.learn(route.path for route in app.routes)


def access_line(caplog: pytest.LogCaptureFixture, path: str) -> str:
    configure_logging()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        # uvicorn's own call: client, method, full path, HTTP version, status
        logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "10.0.0.1:5000", "GET", path, "1.1", 200)
    return caplog.records[-1].getMessage()


def test_a_calendar_feed_secret_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    line = access_line(caplog, "/calendar/s3cr3t-token-abc.ics?x=1")
    assert "s3cr3t-token-abc" not in line
    assert "/calendar/[redacted]?x=1" in line


def test_an_invitation_secret_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    line = access_line(caplog, "/invite/Zm9vYmFyYmF6cXV4")
    assert "Zm9vYmFyYmF6cXV4" not in line
    assert "/invite/[redacted]" in line


@pytest.mark.parametrize("name", ["token", "access_token", "key", "api_key", "code", "secret", "password", "sig"])
def test_a_query_secret_is_redacted_and_its_neighbours_kept(name: str) -> None:
    assert redact_path(f"/login?next=/app&{name}=hunter2&week=2026-W49") == (
        f"/login?next=/app&{name}=[redacted]&week=2026-W49"
    )


def test_other_paths_are_logged_as_they_are(caplog: pytest.LogCaptureFixture) -> None:
    assert "/app/shifts?week=2026-W49" in access_line(caplog, "/app/shifts?week=2026-W49")
    assert "/app/learn/skills/billing" in access_line(caplog, "/app/learn/skills/billing")
