"""The bank rail: a batch file finance downloads and sends to the site's bank, then marks sent, paid or returned.

The file (``bank_file``), UTF-8 CSV, rows ending CRLF, the same bytes every time it is downloaded:

- a header row: ``payout_id,agent_name,agent_id,amount,currency,reference``;
- one row per payout of the run that is not held, by payout id: the payout's id, the agent's name as at the run
  (spreadsheet-safe: a name that could run as a formula starts with ``'``), the agent's user id, the amount in
  major units with two decimals (``1234.50``), the ISO currency and the reference ``WEFT-{run id}-{payout id}``
  the bank shows the agent;
- a trailer row: ``TRAILER,{count},{total},{currency},{sha256}``: how many payout rows, their total (two
  decimals) and the SHA-256 (hex) of the bytes of every line above it, header included, so the bank (or finance)
  can tell a file that was changed after download.

Only an approved (or sent) run of the bank rail has a file. What finance then records, each idempotent (a second
click changes nothing):

- **sent** (``mark_bank_sent``): the money left. Each ready payout posts its entry (kind ``payout``, key
  ``payout:{id}``: debit ``agent_payable`` what was owed, credit ``agent_receivable`` what was netted, credit
  ``cash`` the amount) and becomes ``sent``; the run is ``sent`` and the period paid.
- **paid** (``mark_bank_paid``), for one row or the whole file: the bank confirmed it arrived (``sent → paid``).
- **returned** (``bank_returned``) for one row, with the bank's reason: ``failed`` with ``failure_code``
  ``bank_return``; the reversing entry (kind ``reversal``, key ``return:{id}``) makes the agent owed again, so the
  next run carries it.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.core.csv_text import spreadsheet_text
from backend.core.errors import Conflict, DomainError
from backend.core.i18n import gettext as _
from backend.core.money import decimal_text
from backend.pay import ledger
from backend.pay.models import Account, EntryKind
from backend.payouts.models import FailureKind, Payout, PayoutRun, PayoutStatus, Rail, RunStatus
from backend.payouts.runs import BANK_RETURN, ensure_finance, payout_of_site, run_of_site, settle_run_if_done

HEADER = ("payout_id", "agent_name", "agent_id", "amount", "currency", "reference")
TRAILER = "TRAILER"
REASON_MAX_CHARS = 300


def reference(payout: Payout) -> str:
    return f"WEFT-{payout.run_id}-{payout.id}"


def _line(fields: tuple[object, ...] | list[object]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(fields)
    return out.getvalue().encode("utf-8")


def _require_bank(run: PayoutRun) -> None:
    if run.rail is not Rail.bank:
        raise Conflict(_("This run pays through Stripe: it has no bank file."))


def file_name(run: PayoutRun) -> str:
    return f"weft-payouts-run-{run.id}.csv"


async def bank_file(session: AsyncSession, *, run_id: int, by: User) -> bytes:
    """The run's bank batch file (see the module's layout); only once the run is approved."""
    ensure_finance(by)
    run = await run_of_site(session, site_id=by.site_id, run_id=run_id)
    _require_bank(run)
    if run.status not in (RunStatus.approved, RunStatus.sent):
        raise Conflict(_("The bank file is ready once the run is approved."))
    payouts = await session.scalars(
        select(Payout).where(Payout.run_id == run.id, Payout.status != PayoutStatus.held).order_by(Payout.id)
    )
    lines = [_line(HEADER)]
    count = total = 0
    for payout in payouts:
        lines.append(
            _line(
                [
                    payout.id,
                    spreadsheet_text(payout.display_name),
                    payout.user_id,
                    decimal_text(payout.amount_minor),
                    payout.currency,
                    reference(payout),
                ]
            )
        )
        count += 1
        total += payout.amount_minor
    body = b"".join(lines)
    checksum = hashlib.sha256(body).hexdigest()
    return body + _line([TRAILER, count, decimal_text(total), run.currency, checksum])


def _payout_entry(payout: Payout, *, credit: Account, by_id: int) -> ledger.EntryIn:
    postings: list[ledger.PostingIn] = [(Account.agent_payable, payout.user_id, payout.owed_minor)]
    if payout.receivable_minor:
        postings.append((Account.agent_receivable, payout.user_id, -payout.receivable_minor))
    postings.append((credit, payout.user_id, -payout.amount_minor))
    return ledger.EntryIn(
        site_id=payout.site_id,
        period_id=payout.period_id,
        kind=EntryKind.payout,
        key=f"payout:{payout.id}",
        memo=f"Payout {payout.id} of run {payout.run_id}, agent {payout.user_id}",
        postings=postings,
        currency=payout.currency,
        by_id=by_id,
    )


async def mark_bank_sent(session: AsyncSession, *, run_id: int, by: User, now: dt.datetime) -> PayoutRun:
    """The file went to the bank: post each ready payout's entry, mark them sent, the run sent, the period paid."""
    ensure_finance(by)
    run = await run_of_site(session, site_id=by.site_id, run_id=run_id)
    _require_bank(run)
    if run.status is RunStatus.sent:
        return run
    if run.status is not RunStatus.approved:
        raise Conflict(_("Approve the run before sending its bank file."))
    # Claim the ready payouts: a second click (or one at the same moment) finds none left to claim.
    claimed = list(
        await session.scalars(
            update(Payout)
            .where(Payout.run_id == run.id, Payout.status == PayoutStatus.pending)
            .values(status=PayoutStatus.sent, sent_at=now, updated_at=now)
            .returning(Payout.id)
        )
    )
    if claimed:
        payouts = await session.scalars(
            select(Payout).where(Payout.id.in_(claimed)).order_by(Payout.id).execution_options(populate_existing=True)
        )
        await ledger.post_entries(
            session, [_payout_entry(p, credit=Account.cash, by_id=by.id) for p in payouts], now=now
        )
    await session.execute(
        update(PayoutRun)
        .where(PayoutRun.id == run.id, PayoutRun.file_downloaded_at.is_(None))
        .values(file_downloaded_at=now)
        .execution_options(synchronize_session=False)
    )
    await settle_run_if_done(session, run_id=run.id, by_id=by.id, now=now)
    return await run_of_site(session, site_id=by.site_id, run_id=run.id)


async def mark_bank_paid(
    session: AsyncSession, *, run_id: int | None = None, payout_id: int | None = None, by: User, now: dt.datetime
) -> int:
    """The bank confirmed the money arrived: one row (``payout_id``) or every sent row of the run; how many moved."""
    ensure_finance(by)
    if payout_id is not None:
        payout = await payout_of_site(session, site_id=by.site_id, payout_id=payout_id)
        run = await run_of_site(session, site_id=by.site_id, run_id=payout.run_id)
        _require_bank(run)
        if payout.status not in (PayoutStatus.sent, PayoutStatus.paid):
            raise Conflict(_("Only a payout the bank was sent can be marked paid."))
        where = [Payout.id == payout.id]
    else:
        assert run_id is not None
        run = await run_of_site(session, site_id=by.site_id, run_id=run_id)
        _require_bank(run)
        if run.status is not RunStatus.sent:
            raise Conflict(_("Mark the bank file sent before marking it paid."))
        where = [Payout.run_id == run.id]
    moved = await session.execute(
        update(Payout)
        .where(*where, Payout.status == PayoutStatus.sent)
        .values(status=PayoutStatus.paid, paid_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(moved.rowcount or 0)  # type: ignore[attr-defined]


async def bank_returned(session: AsyncSession, *, payout_id: int, reason: str, by: User, now: dt.datetime) -> Payout:
    """The bank returned a row: the payout failed with the bank's reason and the agent is owed it again."""
    ensure_finance(by)
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX_CHARS:
        message = _("Give the bank's reason for the return, in up to %(count)s characters.", count=REASON_MAX_CHARS)
        raise DomainError(message, field="reason")
    payout = await payout_of_site(session, site_id=by.site_id, payout_id=payout_id)
    run = await run_of_site(session, site_id=by.site_id, run_id=payout.run_id)
    _require_bank(run)
    if payout.status is PayoutStatus.failed and payout.failure_code == BANK_RETURN:
        return payout
    moved = await session.execute(
        update(Payout)
        .where(Payout.id == payout.id, Payout.status.in_([PayoutStatus.sent, PayoutStatus.paid]))
        .values(
            status=PayoutStatus.failed,
            failure_kind=FailureKind.agent,
            failure_code=BANK_RETURN,
            failure_message=reason,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        raise Conflict(_("Only a payout the bank was sent can be returned."))
    postings: list[ledger.PostingIn] = [(Account.agent_payable, payout.user_id, -payout.owed_minor)]
    if payout.receivable_minor:
        postings.append((Account.agent_receivable, payout.user_id, payout.receivable_minor))
    postings.append((Account.cash, payout.user_id, payout.amount_minor))
    await ledger.post_entries(
        session,
        [
            ledger.EntryIn(
                site_id=payout.site_id,
                period_id=payout.period_id,
                kind=EntryKind.reversal,
                key=f"return:{payout.id}",
                memo=f"Bank return of payout {payout.id}: {reason}"[:300],
                postings=postings,
                currency=payout.currency,
                by_id=by.id,
            )
        ],
        now=now,
    )
    return await payout_of_site(session, site_id=by.site_id, payout_id=payout.id)
