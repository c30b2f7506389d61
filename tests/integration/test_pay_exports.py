"""Settlement exports of a locked period: what a finance user opens in a spreadsheet, and that it never changes.

The period is built row by row here (settlements, lines, the ledger entry) exactly as a lock stores
it, so the exports are checked against known figures; tests/integration/test_finance_pages.py locks
through ``periods.lock_period`` as well.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service
from backend.accounts.models import Role, Site, Tier, User
from backend.core.csv_text import spreadsheet_text
from backend.core.db import Database
from backend.core.migrate import migrate
from backend.pay import exports
from backend.pay.models import (
    Account,
    Cadence,
    EntryKind,
    JournalEntry,
    LineKind,
    PayPeriod,
    PeriodStatus,
    Posting,
    Settlement,
    SettlementLine,
)
from tests.conftest import TEST_PASSWORD, fresh_sqlite_database

LOCKED_AT = dt.datetime(2026, 11, 9, 16, 0, 5, tzinfo=dt.UTC)

# (name, tier, minutes, pieces, [(kind, quantity, rate, amount, note)], withholding, flags)
AGENTS: list[tuple[str, Tier, int, int, list[tuple[LineKind, int, int | None, int, str]], int, list[str]]] = [
    (
        "王小明",
        Tier.senior,
        450,
        40,
        [
            (LineKind.base, 450, 3000, 22500, "7.5 h x 30.00"),
            (LineKind.piece, 40, 55, 2200, "call"),
            (LineKind.quality_bonus, 1, None, 220, "CSAT ≥ 4.5: +10%"),
            (LineKind.adjustment, 1, None, -150, "=SUM(A1) typo fix"),
        ],
        4954,
        [],
    ),
    (
        "Ann Lee",
        Tier.junior,
        125,
        3,
        [(LineKind.base, 125, 2000, 4167, "2 h 5 min x 20.00"), (LineKind.piece, 3, 45, 135, "chat")],
        0,
        ["us_1099_nec"],
    ),
    ("Bo, Jr.", Tier.junior, 0, 0, [(LineKind.course_pass, 1, None, 5001, "Course passed")], 1000, []),
]


class _ClockType(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, dt.datetime)


class FakeClock(metaclass=_ClockType):
    """Stands in for ``datetime`` in XlsxWriter: "now" is years later; real datetimes still pass isinstance."""

    @staticmethod
    def now(tz: Any = None) -> dt.datetime:
        return dt.datetime(2031, 5, 17, 3, 4, 5, tzinfo=tz)


async def locked_period(db: AsyncSession, site: Site, *, ledger_gross_offset: int = 0, prefix: str = "") -> PayPeriod:
    """A locked weekly period with three agents (created in reverse id order on purpose), posted and checksummed.

    ``prefix`` starts every text the lock snapshots (name, tier, note, skill code): a hostile export.
    """
    users = []
    for index, (name, tier, *_rest) in enumerate(AGENTS):
        users.append(
            await service.create_user(
                db,
                site=site,
                email=f"export{index}-{site.id}@example.com",
                display_name=name,
                role=Role.agent,
                password=TEST_PASSWORD,
                tier=tier,
            )
        )
    period = PayPeriod(
        site_id=site.id,
        starts_on=dt.date(2026, 11, 2),
        ends_on=dt.date(2026, 11, 9),
        cadence=Cadence.weekly,
        currency="CNY",
        status=PeriodStatus.open,
    )
    db.add(period)
    await db.flush()
    postings: list[tuple[Account, int | None, int]] = []
    for user, (name, tier, minutes, pieces, lines, withholding, flags) in reversed(
        list(zip(users, AGENTS, strict=True))
    ):
        amounts = {kind: sum(a for k, _q, _r, a, _n in lines if k == kind) for kind in LineKind}
        bonus = amounts[LineKind.quality_bonus] + amounts[LineKind.urgent_bonus] + amounts[LineKind.course_pass]
        gross = sum(a for *_x, a, _n in lines)
        settlement = Settlement(
            period_id=period.id,
            user_id=user.id,
            display_name=prefix + name,
            tier=prefix + tier.value,
            worked_minutes=minutes,
            pieces=pieces,
            base_minor=amounts[LineKind.base],
            piece_minor=amounts[LineKind.piece],
            bonus_minor=bonus,
            adjustment_minor=amounts[LineKind.adjustment],
            gross_minor=gross,
            withholding_minor=withholding,
            net_minor=gross - withholding,
            withholding_policy="cn_labour",
            flags=flags,
        )
        db.add(settlement)
        await db.flush()
        all_lines = [*lines, *([(LineKind.withholding, 1, None, -withholding, "tax")] if withholding else [])]
        for position, (kind, quantity, rate, amount, note) in reversed(list(enumerate(all_lines))):
            db.add(
                SettlementLine(
                    settlement_id=settlement.id,
                    period_id=period.id,
                    user_id=user.id,
                    position=position,
                    kind=kind,
                    day=dt.date(2026, 11, 3) if kind in (LineKind.base, LineKind.piece) else None,
                    work_kind="call" if kind is LineKind.piece else None,
                    quantity=quantity,
                    rate_minor=rate,
                    amount_minor=amount,
                    skill_code=prefix + "billing" if prefix else None,
                    note=prefix + note,
                )
            )
        postings += [
            (Account.earnings_expense, None, gross),
            (Account.agent_payable, user.id, -(gross - withholding)),
            (Account.tax_payable, None, -withholding),
        ]
    await db.flush()
    checksum = await exports.settlement_checksum(db, period=period)  # before the status moves (the guard)
    period.status = PeriodStatus.locked
    period.locked_at = LOCKED_AT
    period.checksum = checksum
    entry = JournalEntry(
        site_id=site.id, period_id=period.id, kind=EntryKind.settlement, idempotency_key="lock", memo="settlement"
    )
    db.add(entry)
    await db.flush()
    if ledger_gross_offset:
        postings += [(Account.earnings_expense, None, ledger_gross_offset), (Account.cash, None, -ledger_gross_offset)]
    for account, user_id, amount in postings:
        db.add(Posting(entry_id=entry.id, account=account, user_id=user_id, amount_minor=amount, currency="CNY"))
    await db.commit()
    return period


async def collect(stream: Any) -> bytes:
    return b"".join([chunk async for chunk in stream])


async def export_bytes(db: AsyncSession, period: PayPeriod, ext: str) -> bytes:
    return await collect(exports.EXPORTERS[ext](db, period=period))


def csv_sections(data: bytes) -> dict[str, list[list[str]]]:
    """The CSV split at its ``section,...`` rows (and the final checksum row)."""
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark"
    text = data.decode("utf-8-sig")
    assert "\r\n" in text
    assert "\n" not in text.replace("\r\n", "")
    sections: dict[str, list[list[str]]] = {}
    current = ""
    for row in csv.reader(io.StringIO(text, newline="")):
        if row[:1] == ["section"]:
            current = row[1]
            sections[current] = []
        elif row[:1] == ["checksum"]:
            sections["checksum"] = [row]
        elif row:
            sections[current].append(row)
    return sections


@pytest.fixture
async def period(db: AsyncSession, site: Site) -> PayPeriod:
    return await locked_period(db, site)


async def test_csv_has_the_period_one_row_per_agent_by_id_totals_that_match_the_ledger(
    db: AsyncSession, period: PayPeriod
) -> None:
    data = await export_bytes(db, period, "csv")
    sections = csv_sections(data)

    assert sections["period"] == [
        ["period_id", "site_id", "starts_on", "last_day", "ends_before", "currency"],
        [str(period.id), str(period.site_id), "2026-11-02", "2026-11-08", "2026-11-09", "CNY"],
    ]
    header, *rows, totals = sections["settlements"]
    assert header == list(exports.SETTLEMENT_COLUMNS)
    assert [row[1] for row in rows] == ["王小明", "Ann Lee", "Bo, Jr."]  # by user id, though inserted in reverse
    assert [int(row[0]) for row in rows] == sorted(int(row[0]) for row in rows)
    first = dict(zip(header, rows[0], strict=True))
    assert first["tier"] == "senior"
    assert first["worked_minutes"] == "450"
    assert first["pieces"] == "40"
    assert (first["base"], first["piece"], first["bonus"], first["adjustment"]) == ("225.00", "22.00", "2.20", "-1.50")
    assert (first["gross"], first["withholding"], first["net"]) == ("247.70", "49.54", "198.16")
    assert dict(zip(header, rows[1], strict=True))["flags"] == "us_1099_nec"

    assert totals[0] == "TOTALS"
    for column in ("gross", "withholding", "net", "base", "piece", "bonus", "adjustment"):
        index = header.index(column)
        cents = sum(round(float(row[index]) * 100) for row in rows)
        assert totals[index] == f"{cents / 100:.2f}"
    ledger = await exports.ledger_totals(db, period_id=period.id)
    total = dict(zip(header, totals, strict=True))
    assert total["gross"] == "340.73" == f"{ledger['gross'] / 100:.2f}"
    assert total["net"] == f"{ledger['net'] / 100:.2f}"
    assert total["withholding"] == f"{ledger['withholding'] / 100:.2f}"

    line_header, *lines = sections["line items"]
    assert line_header == list(exports.LINE_COLUMNS)
    keys = [(int(line[0]), int(line[1])) for line in lines]
    assert keys == sorted(keys)
    assert len(lines) == 4 + 1 + 2 + 1 + 1
    base = dict(zip(line_header, lines[0], strict=True))
    assert (base["kind"], base["day"], base["quantity"], base["rate"], base["amount"]) == (
        "base",
        "2026-11-03",
        "450",
        "30.00",
        "225.00",
    )
    adjustment = dict(zip(line_header, lines[3], strict=True))
    assert adjustment["note"] == "'=SUM(A1) typo fix", "free text never runs as a spreadsheet formula"


async def test_the_checksum_is_the_hash_of_the_csv_before_its_last_line_and_is_the_stored_one(
    db: AsyncSession, period: PayPeriod
) -> None:
    data = await export_bytes(db, period, "csv")
    body, last_line = data[: data.rindex(b"checksum,")], data[data.rindex(b"checksum,") :]
    assert last_line == f"checksum,{period.checksum}\r\n".encode()
    assert hashlib.sha256(body).hexdigest() == period.checksum
    assert await exports.settlement_checksum(db, period=period) == period.checksum

    document = json.loads(await export_bytes(db, period, "json"))
    assert document["checksum"] == period.checksum
    assert document["period_id"] == str(period.id)


async def test_json_is_sorted_compact_without_floats_and_reconciles(db: AsyncSession, period: PayPeriod) -> None:
    raw = await export_bytes(db, period, "json")
    document = json.loads(raw, parse_float=lambda text: pytest.fail(f"a float in the export: {text}"))
    assert raw == (json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
    assert [s["name"] for s in document["settlements"]] == ["王小明", "Ann Lee", "Bo, Jr."]
    assert all(isinstance(s["user_id"], str) for s in document["settlements"])
    assert document["settlements"][0]["gross"] == "247.70"
    assert document["settlements"][0]["flags"] == []
    totals = document["totals"]
    assert totals["agents"] == 3
    assert totals["gross"] == "340.73"
    assert totals["net"] == f"{sum(int(s['net'].replace('.', '')) for s in document['settlements']) / 100:.2f}"
    assert document["locked_at"] == "2026-11-09T16:00:05Z"
    assert document["currency"] == "CNY"
    keys = [(int(line["user_id"]), line["position"]) for line in document["line_items"]]
    assert keys == sorted(keys)
    assert document["line_items"][0]["rate"] == "30.00"


async def test_xlsx_is_a_workbook_with_both_sheets_the_totals_and_the_lock_time(
    db: AsyncSession, period: PayPeriod
) -> None:
    data = await export_bytes(db, period, "xlsx")
    with zipfile.ZipFile(io.BytesIO(data)) as workbook:
        assert workbook.testzip() is None
        names = workbook.namelist()
        assert "xl/worksheets/sheet1.xml" in names
        assert "xl/worksheets/sheet2.xml" in names
        listing = workbook.read("xl/workbook.xml").decode()
        assert 'name="settlements"' in listing
        assert 'name="line items"' in listing
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
        strings = workbook.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in names else ""
        content = sheet + strings
        assert "TOTALS" in content
        assert period.checksum in content
        assert "王小明" in content
        assert "<v>340.73</v>" in sheet  # the gross total, a number (formatted 0.00)
        assert "2026-11-09T16:00:05Z" in workbook.read("docProps/core.xml").decode()
        assert "<v>-1.5</v>" in workbook.read("xl/worksheets/sheet2.xml").decode()  # the adjustment line


@pytest.mark.parametrize("ext", exports.FORMATS)
async def test_re_export_is_byte_identical_even_on_another_day(
    db: AsyncSession, period: PayPeriod, ext: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await export_bytes(db, period, ext)
    import xlsxwriter.core

    monkeypatch.setattr(xlsxwriter.core, "datetime", FakeClock)
    await asyncio.sleep(1.1)  # another second on the clock too (zip and file times)
    assert await export_bytes(db, period, ext) == first


async def test_an_open_period_is_not_exported(db: AsyncSession, site: Site) -> None:
    period = PayPeriod(
        site_id=site.id,
        starts_on=dt.date(2026, 11, 16),
        ends_on=dt.date(2026, 11, 23),
        cadence=Cadence.weekly,
        currency="CNY",
        status=PeriodStatus.open,
    )
    db.add(period)
    await db.flush()
    for ext in exports.FORMATS:
        with pytest.raises(exports.PeriodNotLocked) as refused:
            await export_bytes(db, period, ext)
        assert refused.value.status_code == 409
        assert "lock it first" in refused.value.message


async def test_totals_that_disagree_with_the_ledger_refuse_every_export(
    db: AsyncSession, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    period = await locked_period(db, site, ledger_gross_offset=1)
    for ext in exports.FORMATS:
        with pytest.raises(exports.LedgerMismatch):
            await export_bytes(db, period, ext)
    assert "differ from the ledger" in caplog.text


# ------------------------------------------------------------------ another process, another time zone, another day

CHILD = """
import asyncio, datetime as dt, hashlib, sys
import xlsxwriter.core
from backend.core.db import Database
from backend.pay import exports
from backend.pay.models import PayPeriod

class ClockType(type):
    def __instancecheck__(cls, instance):
        return isinstance(instance, dt.datetime)

class Later(metaclass=ClockType):
    @staticmethod
    def now(tz=None):
        return dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=tz)

xlsxwriter.core.datetime = Later

async def main(url, period_id):
    database = Database.from_url(url)
    async with database.session() as session:
        period = await session.get(PayPeriod, period_id)
        for ext in exports.FORMATS:
            data = b"".join([c async for c in exports.EXPORTERS[ext](session, period=period)])
            print(ext, hashlib.sha256(data).hexdigest())
    await database.dispose()

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def test_another_process_in_another_time_zone_writes_the_same_bytes(tmp_path: Path) -> None:
    url = fresh_sqlite_database(tmp_path)
    migrate(url, "head")

    async def build() -> tuple[int, dict[str, str]]:
        database = Database.from_url(url)
        async with database.session(write=True) as session:
            site = await service.ensure_site(session, name="Export Centre", timezone="Asia/Shanghai", country="CN")
            period = await locked_period(session, site)
            digests = {
                ext: hashlib.sha256(await export_bytes(session, period, ext)).hexdigest() for ext in exports.FORMATS
            }
        await database.dispose()
        return period.id, digests

    period_id, here = asyncio.run(build())
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "TZ": "America/Los_Angeles", "PYTHONPATH": str(root)}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(period_id)],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        check=True,
    )
    there = dict(line.split() for line in result.stdout.strip().splitlines())
    assert there == here


async def test_renaming_an_agent_after_the_lock_changes_no_export(db: AsyncSession, period: PayPeriod) -> None:
    before = {ext: await export_bytes(db, period, ext) for ext in exports.FORMATS}
    user_id = (await db.scalars(select(Settlement.user_id).where(Settlement.period_id == period.id))).first()
    user = await db.get(User, user_id)
    assert user is not None
    user.display_name = "Someone Else"
    await db.commit()
    for ext in exports.FORMATS:
        assert await export_bytes(db, period, ext) == before[ext]
    assert await exports.settlement_checksum(db, period=period) == period.checksum


XLSX_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
FULL_WIDTH = ["\uff1d", "\uff0b", "\uff0d", "\uff20"]  # = + - @ as a Chinese input method types them
FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r", *FULL_WIDTH, " =", "\u3000\uff1d"]


def xlsx_cells(data: bytes, sheet: int) -> tuple[list[str], list[str]]:
    """The sheet's text cells and its number cells, as written (XlsxWriter's constant-memory inline strings)."""
    with zipfile.ZipFile(io.BytesIO(data)) as workbook:
        root = ElementTree.fromstring(workbook.read(f"xl/worksheets/sheet{sheet}.xml"))
    texts, numbers = [], []
    for cell in root.iter(f"{XLSX_MAIN}c"):
        if cell.get("t") == "inlineStr":
            texts.append("".join(part.text or "" for part in cell.iter(f"{XLSX_MAIN}t")))
        elif (value := cell.find(f"{XLSX_MAIN}v")) is not None:
            numbers.append(value.text or "")
    return texts, numbers


@pytest.mark.parametrize("start", FORMULA_STARTS, ids=repr)
async def test_no_text_cell_of_any_spreadsheet_export_can_run_as_a_formula(
    db: AsyncSession, site: Site, start: str
) -> None:
    """Every text a user or a rule wrote (name, tier, note, skill) is guarded in CSV and XLSX; amounts stay numbers."""
    period = await locked_period(db, site, prefix=start)

    sections = csv_sections(await export_bytes(db, period, "csv"))
    header, *rows, _totals = sections["settlements"]
    line_header, *lines = sections["line items"]
    assert [row[header.index("name")] for row in rows] == ["'" + start + agent[0] for agent in AGENTS]
    assert {row[header.index("tier")][: len(start) + 1] for row in rows} == {"'" + start}
    assert {line[line_header.index("note")][: len(start) + 1] for line in lines} == {"'" + start}
    assert {line[line_header.index("skill_code")] for line in lines} == {"'" + start + "billing"}
    cells = [cell for row in [*rows, *lines] for cell in row]
    assert all(spreadsheet_text(cell) == cell or is_number(cell) for cell in cells)
    assert "-1.50" in [line[line_header.index("amount")] for line in lines]  # a negative amount is still a number

    workbook = await export_bytes(db, period, "xlsx")
    for sheet, guarded in ((1, 3 + 3), (2, 9 + 9)):  # names and tiers; notes and skill codes
        texts, _numbers = xlsx_cells(workbook, sheet)
        assert all(spreadsheet_text(text) == text for text in texts)
        assert len([text for text in texts if text.startswith("'")]) == guarded
    assert "-1.5" in xlsx_cells(workbook, 2)[1]


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
