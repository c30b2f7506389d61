"""Settlement exports of a locked pay period: CSV, XLSX and JSON, streamed, byte-identical on every run.

What every format carries
    The period (id, site id, first day, last day, the exclusive end, currency), its checksum, then
    section 1 ``settlements`` (one row per agent, ordered by user id, then a ``TOTALS`` row) and
    section 2 ``line items`` (every settlement line, ordered by user id then position).
    Ids are text. Amounts come from integer minor units: fixed two-decimal strings in CSV and JSON
    (``core.money.decimal_text``), numbers with the ``0.00`` format in XLSX. Worked time is
    ``worked_minutes``, a whole number of minutes (exact; hours would need rounding).
    Flags are sorted and joined with ``;``. Nothing time-dependent is written except the lock time
    (the XLSX ``created`` property and the JSON ``locked_at``), which never changes once locked;
    the period's status is not written (it moves on to ``paid``; the bytes must not).

The CSV and the checksum
    UTF-8 with a byte-order mark (Excel then opens Chinese names correctly), RFC 4180: ``\\r\\n`` line
    ends, fields quoted only when needed. Every text cell, in CSV and XLSX alike, goes through
    ``core.csv_text.spreadsheet_text`` (``'`` before anything a spreadsheet would run as a formula,
    their full-width forms included); amounts and counts are numbers and are never prefixed.
    The LAST line is ``checksum,<sha256 hex>``. The checksum is the SHA-256 of every byte of the
    file before that line (BOM included). So a reader can check a file on its own: drop the last
    line, hash the rest. ``settlement_checksum`` computes exactly this, and ``lock_period`` stores it;
    XLSX and JSON carry the stored value. The agent's name is the one snapshotted on the settlement
    at the lock (``Settlement.display_name``): renaming an agent later changes no export.

Totals reconcile with the ledger
    Before anything is sent, the TOTALS are summed from the settlements in SQL and compared with the
    period's settlement journal entries: gross = earnings_expense debits, net = agent_payable
    credits, withholding = tax_payable credits. Any difference refuses the export
    (``LedgerMismatch``, a 500 with a log line): an export never silently disagrees with the books.

Streaming
    Rows are read in keyset pages (``PAGE`` rows, by user id / (user id, position)), on SQLite and
    PostgreSQL alike, and yielded in chunks, so memory does not grow with the period. XLSX uses
    XlsxWriter's ``constant_memory`` mode into a temporary file, which is then streamed and deleted.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import anyio
import xlsxwriter
from sqlalchemy import Row, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.csv_text import spreadsheet_text
from backend.core.errors import Conflict
from backend.core.i18n import gettext as _
from backend.core.money import decimal_text
from backend.pay.models import (
    Account,
    EntryKind,
    JournalEntry,
    PayPeriod,
    PeriodStatus,
    Posting,
    Settlement,
    SettlementLine,
)

log = logging.getLogger("weft.pay.exports")

PAGE = 2000  # rows per database read
CHUNK = 64 * 1024  # bytes per streamed chunk
BOM = "\ufeff"
FORMATS = ("csv", "xlsx", "json")
MEDIA_TYPES = {
    "csv": "text/csv",  # Litestar adds "; charset=utf-8" to text/ types
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}

SETTLEMENT_COLUMNS = (
    "user_id",
    "name",
    "tier",
    "worked_minutes",
    "pieces",
    "base",
    "piece",
    "bonus",
    "adjustment",
    "gross",
    "withholding",
    "net",
    "flags",
)
AMOUNT_FIELDS = ("base", "piece", "bonus", "adjustment", "gross", "withholding", "net")
COUNT_FIELDS = ("worked_minutes", "pieces")
LINE_COLUMNS = (
    "user_id",
    "position",
    "kind",
    "day",
    "shift_id",
    "work_kind",
    "skill_code",
    "quantity",
    "rate",
    "amount",
    "note",
)


class PeriodNotLocked(Conflict):
    """Only a locked period is exported: an open one still changes."""


class LedgerMismatch(Exception):
    """The settlements' totals differ from the ledger: never export (a 500, logged)."""


@dataclass(frozen=True)
class Totals:
    agents: int
    worked_minutes: int
    pieces: int
    base: int
    piece: int
    bonus: int
    adjustment: int
    gross: int
    withholding: int
    net: int

    def amounts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in AMOUNT_FIELDS}


# ---------------------------------------------------------------------------------------------- reads


async def settlement_totals(session: AsyncSession, *, period_id: int) -> Totals:
    """The period's totals, summed in SQL from its settlements."""
    row = (
        await session.execute(
            select(
                func.count(Settlement.id),
                func.coalesce(func.sum(Settlement.worked_minutes), 0),
                func.coalesce(func.sum(Settlement.pieces), 0),
                func.coalesce(func.sum(Settlement.base_minor), 0),
                func.coalesce(func.sum(Settlement.piece_minor), 0),
                func.coalesce(func.sum(Settlement.bonus_minor), 0),
                func.coalesce(func.sum(Settlement.adjustment_minor), 0),
                func.coalesce(func.sum(Settlement.gross_minor), 0),
                func.coalesce(func.sum(Settlement.withholding_minor), 0),
                func.coalesce(func.sum(Settlement.net_minor), 0),
            ).where(Settlement.period_id == period_id)
        )
    ).one()
    return Totals(*(int(value) for value in row))


async def totals_by_period(session: AsyncSession, *, period_ids: list[int]) -> dict[int, Totals]:
    """Settlement totals of several periods at once (the finance list), summed in SQL."""
    if not period_ids:
        return {}
    rows = await session.execute(
        select(
            Settlement.period_id,
            func.count(Settlement.id),
            func.sum(Settlement.worked_minutes),
            func.sum(Settlement.pieces),
            func.sum(Settlement.base_minor),
            func.sum(Settlement.piece_minor),
            func.sum(Settlement.bonus_minor),
            func.sum(Settlement.adjustment_minor),
            func.sum(Settlement.gross_minor),
            func.sum(Settlement.withholding_minor),
            func.sum(Settlement.net_minor),
        )
        .where(Settlement.period_id.in_(period_ids))
        .group_by(Settlement.period_id)
    )
    return {row[0]: Totals(*(int(value or 0) for value in row[1:])) for row in rows}


async def ledger_totals(session: AsyncSession, *, period_id: int) -> dict[str, int]:
    """From the period's settlement entries: gross (expense debits), net and withholding (credits)."""
    rows = await session.execute(
        select(Posting.account, func.coalesce(func.sum(Posting.amount_minor), 0))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.period_id == period_id, JournalEntry.kind == EntryKind.settlement)
        .group_by(Posting.account)
    )
    sums = {Account(account): int(total) for account, total in rows}
    return {
        "gross": sums.get(Account.earnings_expense, 0),
        "net": -sums.get(Account.agent_payable, 0),
        "withholding": -sums.get(Account.tax_payable, 0),
    }


async def reconciled_totals(session: AsyncSession, *, period: PayPeriod) -> Totals:
    """The totals, after checking them against the ledger; ``LedgerMismatch`` if they differ."""
    totals = await settlement_totals(session, period_id=period.id)
    ledger = await ledger_totals(session, period_id=period.id)
    ours = {"gross": totals.gross, "net": totals.net, "withholding": totals.withholding}
    if ours != ledger:
        log.error("settlement export refused: period %s totals %s differ from the ledger %s", period.id, ours, ledger)
        raise LedgerMismatch(f"period {period.id}: settlements {ours} != ledger {ledger}")
    return totals


SETTLEMENT_READ = (
    Settlement.user_id,
    Settlement.display_name,
    Settlement.tier,
    Settlement.worked_minutes,
    Settlement.pieces,
    Settlement.base_minor,
    Settlement.piece_minor,
    Settlement.bonus_minor,
    Settlement.adjustment_minor,
    Settlement.gross_minor,
    Settlement.withholding_minor,
    Settlement.net_minor,
    Settlement.flags,
)
LINE_READ = (
    SettlementLine.user_id,
    SettlementLine.position,
    SettlementLine.kind,
    SettlementLine.day,
    SettlementLine.shift_id,
    SettlementLine.work_kind,
    SettlementLine.skill_code,
    SettlementLine.quantity,
    SettlementLine.rate_minor,
    SettlementLine.amount_minor,
    SettlementLine.note,
)


async def settlement_rows(session: AsyncSession, *, period_id: int) -> AsyncIterator[Row[Any]]:
    """Every settlement of the period (with the agent's name as at the lock), by user id, a page at a time.

    Plain rows, not ORM objects: nothing accumulates in the session (``lock_period`` passes its own).
    """
    after = -1
    while True:
        page = (
            await session.execute(
                select(*SETTLEMENT_READ)
                .where(Settlement.period_id == period_id, Settlement.user_id > after)
                .order_by(Settlement.user_id)
                .limit(PAGE)
            )
        ).all()
        for row in page:
            yield row
        if len(page) < PAGE:
            return
        after = page[-1].user_id


async def line_rows(session: AsyncSession, *, period_id: int) -> AsyncIterator[Row[Any]]:
    """Every settlement line of the period, by (user id, position), read a page at a time."""
    after_user, after_position = -1, -1
    while True:
        page = (
            await session.execute(
                select(*LINE_READ)
                .where(
                    SettlementLine.period_id == period_id,
                    SettlementLine.user_id >= after_user,  # the index range; then past the last line read
                    or_(SettlementLine.user_id > after_user, SettlementLine.position > after_position),
                )
                .order_by(SettlementLine.user_id, SettlementLine.position)
                .limit(PAGE)
            )
        ).all()
        for row in page:
            yield row
        if len(page) < PAGE:
            return
        after_user, after_position = page[-1].user_id, page[-1].position


# ---------------------------------------------------------------------------------------------- values


def last_day(period: PayPeriod) -> dt.date:
    return period.ends_on - dt.timedelta(days=1)


def period_fields(period: PayPeriod) -> dict[str, str]:
    return {
        "period_id": str(period.id),
        "site_id": str(period.site_id),
        "starts_on": period.starts_on.isoformat(),
        "last_day": last_day(period).isoformat(),
        "ends_before": period.ends_on.isoformat(),
        "currency": period.currency,
    }


def settlement_values(settlement: Row[Any]) -> dict[str, Any]:
    """One agent's row: text ids, integer counts, amounts in minor units (formatted per format)."""
    return {
        "user_id": str(settlement.user_id),
        "name": settlement.display_name,
        "tier": settlement.tier,
        "worked_minutes": settlement.worked_minutes,
        "pieces": settlement.pieces,
        "base": settlement.base_minor,
        "piece": settlement.piece_minor,
        "bonus": settlement.bonus_minor,
        "adjustment": settlement.adjustment_minor,
        "gross": settlement.gross_minor,
        "withholding": settlement.withholding_minor,
        "net": settlement.net_minor,
        "flags": ";".join(sorted(settlement.flags or [])),
    }


def totals_values(totals: Totals) -> dict[str, Any]:
    return {
        "user_id": "TOTALS",
        "name": "",
        "tier": "",
        "worked_minutes": totals.worked_minutes,
        "pieces": totals.pieces,
        **totals.amounts(),
        "flags": "",
    }


def line_values(line: Row[Any]) -> dict[str, Any]:
    """One settlement line (unpacked, not looked up by name: the bench has hundreds of thousands)."""
    user_id, position, kind, day, shift_id, work_kind, skill_code, quantity, rate, amount, note = line
    return {
        "user_id": str(user_id),
        "position": position,
        "kind": getattr(kind, "value", kind),
        "day": day.isoformat() if day else "",
        "shift_id": "" if shift_id is None else str(shift_id),
        "work_kind": work_kind or "",
        "skill_code": skill_code or "",
        "quantity": quantity,
        "rate": rate,
        "amount": amount,
        "note": note or "",
    }


def line_text(line: Row[Any]) -> list[str]:
    """A line as CSV fields, in ``LINE_COLUMNS`` order (the same text ``as_text(line_values(...))`` gives)."""
    user_id, position, kind, day, shift_id, work_kind, skill_code, quantity, rate, amount, note = line
    return [
        str(user_id),
        str(position),
        spreadsheet_text(getattr(kind, "value", kind)),
        day.isoformat() if day else "",
        "" if shift_id is None else str(shift_id),
        spreadsheet_text(work_kind or ""),
        spreadsheet_text(skill_code or ""),
        str(quantity),
        "" if rate is None else decimal_text(rate),
        decimal_text(amount),
        spreadsheet_text(note or ""),
    ]


def as_text(values: dict[str, Any], amounts: Iterable[str]) -> dict[str, str]:
    """Every value as text: amounts two-decimal, counts as integers, any other text formula-safe."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            out[key] = ""
        elif key in amounts:
            out[key] = decimal_text(value)
        elif isinstance(value, int):
            out[key] = str(value)
        else:
            out[key] = spreadsheet_text(value)
    return out


LINE_AMOUNTS = ("rate", "amount")


# ---------------------------------------------------------------------------------------------- CSV


class _CsvBuffer:
    def __init__(self) -> None:
        self.text = io.StringIO()
        self.writer = csv.writer(self.text, lineterminator="\r\n")

    def row(self, fields: Iterable[str]) -> None:
        self.writer.writerow(list(fields))

    def full(self) -> bool:
        return self.text.tell() >= CHUNK

    def take(self) -> bytes:
        data = self.text.getvalue().encode()
        self.text.seek(0)
        self.text.truncate()
        return data


async def _csv_body(session: AsyncSession, *, period: PayPeriod, totals: Totals) -> AsyncIterator[bytes]:
    """Every byte of the CSV before its checksum line."""
    out = _CsvBuffer()
    out.text.write(BOM)
    fields = period_fields(period)
    out.row(["section", "period"])
    out.row(fields.keys())
    out.row(fields.values())
    out.row([])
    out.row(["section", "settlements"])
    out.row(SETTLEMENT_COLUMNS)
    async for settlement in settlement_rows(session, period_id=period.id):
        out.row(as_text(settlement_values(settlement), AMOUNT_FIELDS).values())
        if out.full():
            yield out.take()
    out.row(as_text(totals_values(totals), AMOUNT_FIELDS).values())
    out.row([])
    out.row(["section", "line items"])
    out.row(LINE_COLUMNS)
    async for line in line_rows(session, period_id=period.id):
        out.row(line_text(line))
        if out.full():
            yield out.take()
    out.row([])
    yield out.take()


def checksum_line(checksum: str) -> bytes:
    return f"checksum,{checksum}\r\n".encode()


async def settlement_checksum(session: AsyncSession, *, period: PayPeriod) -> str:
    """SHA-256 (hex) of the CSV export's bytes before its final ``checksum,...`` line.

    Reads the period's settlements and lines through ``session`` (so it sees what a lock has
    flushed but not yet committed); the period need not be locked yet, and the ledger is not read.
    """
    digest = hashlib.sha256()
    totals = await settlement_totals(session, period_id=period.id)
    async for chunk in _csv_body(session, period=period, totals=totals):
        digest.update(chunk)
    return digest.hexdigest()


def require_locked(period: PayPeriod) -> None:
    if period.status == PeriodStatus.open or not period.locked_at:
        raise PeriodNotLocked(_("This period is still open: lock it first, then export it."))


async def export_csv(session: AsyncSession, *, period: PayPeriod) -> AsyncIterator[bytes]:
    """The CSV, streamed. The last line carries the stored checksum; a recomputation that differs is logged."""
    require_locked(period)
    totals = await reconciled_totals(session, period=period)
    digest = hashlib.sha256()
    async for chunk in _csv_body(session, period=period, totals=totals):
        digest.update(chunk)
        yield chunk
    stored = period.checksum or digest.hexdigest()
    if digest.hexdigest() != stored:
        log.error("period %s: CSV checksum %s differs from the stored %s", period.id, digest.hexdigest(), stored)
    yield checksum_line(stored)


# ---------------------------------------------------------------------------------------------- JSON


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _json_amounts(values: dict[str, Any], amounts: Iterable[str]) -> dict[str, Any]:
    """JSON values: amounts as two-decimal strings, ids as text, counts as integers, no floats."""
    out = dict(values)
    for key in amounts:
        out[key] = decimal_text(values[key]) if values[key] is not None else None
    for key in ("day", "shift_id", "work_kind", "skill_code"):
        if key in out and out[key] == "":
            out[key] = None
    return out


async def export_json(session: AsyncSession, *, period: PayPeriod) -> AsyncIterator[bytes]:
    """The JSON document, streamed with its keys in sorted order (compact separators, UTF-8)."""
    require_locked(period)
    totals = await reconciled_totals(session, period=period)
    fields = period_fields(period)
    head = {
        "checksum": period.checksum,
        "currency": fields["currency"],
        "ends_before": fields["ends_before"],
        "last_day": fields["last_day"],
    }
    buffer = io.StringIO()
    buffer.write("{" + _json(head)[1:-1] + ',"line_items":[')
    first = True
    async for line in line_rows(session, period_id=period.id):
        buffer.write(("" if first else ",") + _json(_json_amounts(line_values(line), LINE_AMOUNTS)))
        first = False
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    locked_at = period.locked_at.replace(tzinfo=None).isoformat() + "Z" if period.locked_at else None
    middle = {"locked_at": locked_at, "period_id": fields["period_id"]}
    buffer.write("]," + _json(middle)[1:-1] + ',"settlements":[')
    first = True
    async for settlement in settlement_rows(session, period_id=period.id):
        row = _json_amounts(settlement_values(settlement), AMOUNT_FIELDS)
        row["flags"] = sorted(settlement.flags or [])
        buffer.write(("" if first else ",") + _json(row))
        first = False
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    tail = {
        "site_id": fields["site_id"],
        "starts_on": fields["starts_on"],
        "totals": {
            "agents": totals.agents,
            "pieces": totals.pieces,
            "worked_minutes": totals.worked_minutes,
            **{key: decimal_text(value) for key, value in totals.amounts().items()},
        },
    }
    buffer.write("]," + _json(tail)[1:-1] + "}\n")
    yield buffer.getvalue().encode()


# ---------------------------------------------------------------------------------------------- XLSX


def _xlsx_created(period: PayPeriod) -> dt.datetime:
    assert period.locked_at is not None
    locked = period.locked_at
    if locked.tzinfo is not None:
        locked = locked.astimezone(dt.UTC).replace(tzinfo=None)
    return locked.replace(microsecond=0)


async def _write_xlsx(session: AsyncSession, *, period: PayPeriod, totals: Totals, path: str) -> None:
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "tmpdir": os.path.dirname(path)})
    workbook.set_properties({"created": _xlsx_created(period), "title": f"Settlement {period.id}"})
    amount = workbook.add_format({"num_format": "0.00"})
    bold = workbook.add_format({"bold": True})
    bold_amount = workbook.add_format({"bold": True, "num_format": "0.00"})

    sheet = workbook.add_worksheet("settlements")
    fields = period_fields(period)
    row = 0
    for key, value in [*fields.items(), ("checksum", period.checksum or "")]:
        sheet.write_string(row, 0, key, bold)
        sheet.write_string(row, 1, value)
        row += 1
    row += 1
    for col, name in enumerate(SETTLEMENT_COLUMNS):
        sheet.write_string(row, col, name, bold)
    row += 1

    def write_row(values: dict[str, Any], *, strong: bool = False) -> None:
        nonlocal row
        for col, name in enumerate(SETTLEMENT_COLUMNS):
            value = values[name]
            if name in AMOUNT_FIELDS:
                sheet.write_number(row, col, value / 100, bold_amount if strong else amount)
            elif name in COUNT_FIELDS:
                sheet.write_number(row, col, value, bold if strong else None)
            else:
                sheet.write_string(row, col, spreadsheet_text(value), bold if strong else None)
        row += 1

    async for settlement in settlement_rows(session, period_id=period.id):
        write_row(settlement_values(settlement))
    write_row(totals_values(totals), strong=True)

    lines = workbook.add_worksheet("line items")
    for col, name in enumerate(LINE_COLUMNS):
        lines.write_string(0, col, name, bold)
    line_row = 1
    async for line in line_rows(session, period_id=period.id):
        values = line_values(line)
        for col, name in enumerate(LINE_COLUMNS):
            value = values[name]
            if name in LINE_AMOUNTS:
                if value is not None:
                    lines.write_number(line_row, col, value / 100, amount)
            elif name in ("position", "quantity"):
                lines.write_number(line_row, col, value)
            elif value:
                lines.write_string(line_row, col, spreadsheet_text(value))
        line_row += 1
    await anyio.to_thread.run_sync(workbook.close)


async def export_xlsx(session: AsyncSession, *, period: PayPeriod) -> AsyncIterator[bytes]:
    """The workbook, written in constant-memory mode to a temporary file, then streamed from it."""
    require_locked(period)
    totals = await reconciled_totals(session, period=period)
    with tempfile.TemporaryDirectory(prefix="weft-xlsx-") as folder:
        path = os.path.join(folder, f"settlement-{period.id}.xlsx")
        await _write_xlsx(session, period=period, totals=totals, path=path)
        with open(path, "rb") as handle:  # noqa: ASYNC230 - a local temporary file, read in chunks
            while chunk := handle.read(CHUNK):
                yield chunk


EXPORTERS = {"csv": export_csv, "xlsx": export_xlsx, "json": export_json}


def filename(period: PayPeriod, ext: str) -> str:
    return f"settlement-{period.id}.{ext}"
