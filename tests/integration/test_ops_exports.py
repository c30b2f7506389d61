"""The ops CSV downloads: one way to write them (``core.csv_out``), the spreadsheet-safe way the pay exports use, and
every table of the daily report downloadable with its header even when it is empty."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest

from backend.accounts.models import Role
from backend.core.csv_out import cell, csv_response, csv_text
from backend.ops.models import LogStatus
from backend.ops.report_routes import DAY_TABLES
from tests.conftest import login
from tests.factories import Factory


def test_a_file_starts_with_a_bom_and_a_header_and_ends_lines_with_crlf() -> None:
    text = csv_text(["agent", "minutes"], [["Ann", 4], ["Ben, Jr.", None]])
    assert text == '\ufeffagent,minutes\r\nAnn,4\r\n"Ben, Jr.",\r\n'


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ("  @SUM(A1)", "'  @SUM(A1)"),
        ("\uff1dcmd", "'\uff1dcmd"),  # a full-width = typed by a Chinese input method
        ("-shift", "'-shift"),
        ("李伟", "李伟"),
        (-12.5, "-12.5"),  # numbers stay numbers, never prefixed
        (-3, "-3"),
        (Decimal("7.25"), "7.25"),
        (33.33333333, "33.333333"),
        (None, ""),
        (True, "true"),
        (dt.date(2026, 12, 7), "2026-12-07"),
        (dt.datetime(2026, 12, 7, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai")), "2026-12-07T09:30:00+08:00"),
        (LogStatus.in_progress, "in_progress"),
    ],
)
def test_each_value_is_written_as_a_spreadsheet_reads_it_safely(value: object, written: str) -> None:
    assert cell(value) == written


def test_the_response_is_an_attachment_with_a_safe_name() -> None:
    response = csv_response('day "1"\r\n.csv', ["a"], [[1]])
    assert response.media_type == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="day--1---.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    assert isinstance(response.content, bytes)
    assert response.content.startswith("\ufeff".encode())


async def test_every_day_table_downloads_with_its_header_on_an_empty_day(
    client: httpx.AsyncClient, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    assert (await login(client, coordinator.email)).status_code == 303
    headers = {}
    for table in DAY_TABLES:
        response = await client.get(f"/admin/reports/day.csv?table={table}")
        assert response.status_code == 200
        assert f"-{table}.csv" in response.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        headers[table] = rows[0]
        assert rows[1:] == []
    assert all(header[0] == "date" for header in headers.values())
    assert headers["cover"][-2:] == ["bonus", "currency"]  # money: major units beside its currency
    assert headers["calls"][-2:] == ["bonus", "currency"]
