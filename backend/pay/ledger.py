"""The double-entry ledger: balanced journal entries that are written once and never changed.

- **Signs.** A posting's amount is positive for a debit and negative for a
  credit; an entry's postings sum to zero, per currency (``post_entry``
  refuses anything else).
- **Accounts.** ``earnings_expense`` (debit: what the site spends on agents'
  work), ``agent_payable`` (credit: what the site owes each agent, one
  sub-ledger per agent through ``Posting.user_id``), ``tax_payable`` (credit:
  withholding owed to the tax authority) and ``cash`` (credit: money paid out).
- **A lock** posts one ``settlement`` entry per agent: debit
  ``earnings_expense`` the gross, credit ``agent_payable`` the net and
  ``tax_payable`` the withholding. **Paying** posts one ``payout`` entry per
  agent: debit ``agent_payable`` the net, credit ``cash``. So an agent's
  payable balance, read as what the site owes them (``payable_balance``), is
  ``net settled - paid``: the negated sum of their ``agent_payable`` postings.
- **Idempotent.** An entry carries a key unique per (period, kind): posting
  the same thing twice is refused by the database.
- **Final.** Nothing posted is ever updated or deleted: a listener on every
  session refuses, at flush time, any change to or deletion of a journal
  entry, a posting, a settlement or a settlement line (settlements exist only
  for locked periods), and any ORM ``UPDATE`` or ``DELETE`` statement on their
  tables. A mistake is corrected by a reversing entry or an adjustment in the
  next open period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from backend.accounts.models import User
from backend.core.db import utcnow
from backend.core.errors import Conflict, DomainError
from backend.core.i18n import gettext as _
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

FINAL_MODELS = (JournalEntry, Posting, Settlement, SettlementLine)
FINAL_TABLES = frozenset(model.__tablename__ for model in FINAL_MODELS)
# Once locked, a period may still move on to paid (and record who paid it), and nothing else.
PAYING_FIELDS = frozenset({"status", "paid_at", "paid_by_id"})

PostingIn = tuple[Account, int | None, int]


class PostedIsFinal(Conflict):
    """Something posted (an entry, a posting, a settlement or its lines) was about to change: refused."""


@dataclass(frozen=True)
class EntryIn:
    """One journal entry to post (``post_entries`` writes many at once)."""

    site_id: int
    period_id: int | None
    kind: EntryKind
    key: str
    memo: str
    postings: Sequence[PostingIn]
    currency: str
    by_id: int | None


def check_balanced(postings: Iterable[PostingIn]) -> None:
    """Refuse an entry whose postings do not sum to zero, or that has none."""
    postings = list(postings)
    if not postings:
        raise DomainError(_("A journal entry needs at least one posting."), field="postings")
    if sum(amount for _account, _user, amount in postings) != 0:
        raise DomainError(_("A journal entry must balance: its debits and credits must sum to zero."), field="postings")


async def post_entries(session: AsyncSession, entries: Sequence[EntryIn], *, now: Any = None) -> list[int]:
    """Post many balanced entries in bulk (two INSERT statements, no ORM objects); their ids, in order."""
    if not entries:
        return []
    for entry in entries:
        check_balanced(entry.postings)
    posted_at = now or utcnow()
    ids = list(
        await session.scalars(
            insert(JournalEntry).returning(JournalEntry.id, sort_by_parameter_order=True),
            [
                {
                    "site_id": entry.site_id,
                    "period_id": entry.period_id,
                    "kind": entry.kind,
                    "idempotency_key": entry.key,
                    "memo": entry.memo,
                    "posted_at": posted_at,
                    "posted_by_id": entry.by_id,
                }
                for entry in entries
            ],
        )
    )
    rows = [
        {
            "entry_id": entry_id,
            "account": account,
            "user_id": user_id,
            "amount_minor": amount,
            "currency": entry.currency,
        }
        for entry_id, entry in zip(ids, entries, strict=True)
        for account, user_id, amount in entry.postings
    ]
    await session.execute(insert(Posting.__table__), rows)
    return ids


async def post_entry(
    session: AsyncSession,
    *,
    site_id: int,
    period_id: int | None,
    kind: EntryKind,
    key: str,
    memo: str,
    postings: list[PostingIn],
    currency: str,
    by: User | None,
) -> JournalEntry:
    """Post one balanced entry: ``postings`` are (account, user id or None, signed amount: debit +, credit -)."""
    entry_in = EntryIn(site_id, period_id, kind, key, memo, postings, currency, by.id if by else None)
    (entry_id,) = await post_entries(session, [entry_in])
    entry = await session.get(JournalEntry, entry_id)
    assert entry is not None
    return entry


async def balance(session: AsyncSession, *, account: Account, user_id: int | None = None) -> int:
    """The sum of an account's postings (debits +, credits -); of one agent's sub-ledger when ``user_id`` is given."""
    query = select(func.coalesce(func.sum(Posting.amount_minor), 0)).where(Posting.account == account)
    if user_id is not None:
        query = query.where(Posting.user_id == user_id)
    return int(await session.scalar(query) or 0)


async def payable_balance(session: AsyncSession, *, user_id: int) -> int:
    """What the site owes the agent now: net settled minus paid (positive when owed)."""
    return -await balance(session, account=Account.agent_payable, user_id=user_id)


async def entry_sums(session: AsyncSession, *, period_id: int) -> dict[int, int]:
    """Each entry of a period with the sum of its postings (all zero in a sound ledger): for checks and tests."""
    rows = await session.execute(
        select(JournalEntry.id, func.coalesce(func.sum(Posting.amount_minor), 0))
        .outerjoin(Posting, Posting.entry_id == JournalEntry.id)
        .where(JournalEntry.period_id == period_id)
        .group_by(JournalEntry.id)
    )
    return {int(entry_id): int(total) for entry_id, total in rows}


async def user_balances(session: AsyncSession, *, account: Account) -> dict[int, int]:
    """An account's balance per agent sub-ledger."""
    rows = await session.execute(
        select(Posting.user_id, func.sum(Posting.amount_minor))
        .where(Posting.account == account, Posting.user_id.is_not(None))
        .group_by(Posting.user_id)
    )
    sums: dict[int, int] = defaultdict(int)
    for user_id, total in rows:
        sums[int(user_id)] += int(total)
    return dict(sums)


# The guard: nothing posted changes -------------------------------------------------------------------------


def _refuse() -> PostedIsFinal:
    return PostedIsFinal(_("Posted pay records are final: correct them with an adjustment in the next open period."))


def _period_change_allowed(session: Session, period: PayPeriod) -> bool:
    """A locked period may only be marked paid; a paid one never changes."""
    state = inspect(period)
    changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
    if not changed:
        return True
    status_history = state.attrs.status.history
    before = status_history.deleted[0] if status_history.deleted else period.status
    if before == PeriodStatus.open:
        return True
    return before == PeriodStatus.locked and changed <= PAYING_FIELDS and period.status == PeriodStatus.paid


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_posted(session: Session, _context: Any, _instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, FINAL_MODELS):
            raise _refuse()
    for obj in session.dirty:
        if isinstance(obj, FINAL_MODELS) and session.is_modified(obj, include_collections=False):
            raise _refuse()
        if isinstance(obj, PayPeriod) and not _period_change_allowed(session, obj):
            raise _refuse()


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes_to_posted(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if table is not None and getattr(table, "name", None) in FINAL_TABLES:
        raise _refuse()
