"""Calendar feed addresses are secrets: uvicorn's access log must never hold one."""

from __future__ import annotations

import logging

import pytest

from backend.app import configure_logging


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


def test_other_paths_are_logged_as_they_are(caplog: pytest.LogCaptureFixture) -> None:
    assert "/app/shifts?week=2026-W49" in access_line(caplog, "/app/shifts?week=2026-W49")
