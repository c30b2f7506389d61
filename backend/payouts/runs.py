"""Payout runs: what each agent is owed through a locked period, held or ready, checked by a second person.

The rules, shown on the finance pages:

- **Owed.** An agent is owed their ``agent_payable`` balance counting the entries of the site's periods that
  start on or before the run's period (so unpaid pay of earlier periods is carried in, later periods are not),
  minus their ``agent_receivable`` balance over the same entries (a payout Stripe could not take back is netted).
  Money already in another live run (prepared or approved, not yet posted) is not counted twice.
- **One run per period**, prepared by finance once the period is locked (a period marked paid by hand has no
  run). Two finance users preparing at once get the same run (the period is unique among runs). A run is
  refused for a period earlier than one that already has a run: that run already carried this period's pay.
- **Held.** Each agent with money owed gets a payout, ready (``pending``) or ``held`` with its reason: on the
  Stripe rail the account must be ready (``readiness.hold_reason_for``); below the site's
  ``payout_minimum_minor`` the amount waits (carried); nothing left after a receivable is netted is
  ``not_positive``. Held money stays owed and the next run carries it.
- **Rail.** The site's ``payout_rail``, or by country: Stripe Connect where Stripe serves the country (the US,
  Canada, Switzerland, the UK and the EEA), a bank file elsewhere (``rail_of``).
- **Warnings** finance acknowledges (a click, never a block): pieces recorded at a time the agent worked no
  shift, a payout far above the agent's usual (more than ``FAR_ABOVE_FACTOR`` times the median of their last
  ``USUAL_SETTLEMENTS`` settlements, with at least ``USUAL_MIN_SETTLEMENTS``), a payout destination changed since
  their last payout, and a negative net.
- **Four eyes.** A run whose total is above the site's ``payout_second_approval_above_minor`` needs a second
  finance user: its preparer cannot approve it. Every warning must be acknowledged first. One conditional
  ``UPDATE ... WHERE status = 'prepared'`` approves, so two approvals at once make one. Approval queues the
  Stripe rail's payouts for the sender (``next_try_at = now``); bank payouts wait for the file to be sent.
- **Paid.** When every payout of an approved run has left (sent, or held and carried), the run is ``sent`` and
  the period is recorded paid (``pay.periods.record_paid_by_run``, which posts nothing: each payout posted its
  own entry). The pay page's "mark paid" is refused for a period with a run (``pay.periods.guard_mark_paid``).
"""

from __future__ import annotations

import bisect
import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import FINANCE_ROLES, Site, User
from backend.accounts.site_settings import SiteSettings, site_settings, update_site_settings
from backend.core.errors import Conflict, DomainError, Forbidden, NotFound
from backend.core.i18n import gettext as _
from backend.core.money import format_money, parse_amount
from backend.core.slots import slot_of
from backend.pay import gather, periods
from backend.pay.models import Account, JournalEntry, PayPeriod, PeriodStatus, Posting, Settlement
from backend.payouts.gateway import PayoutsOff
from backend.payouts.models import (
    HoldReason,
    Payout,
    PayoutAccount,
    PayoutRun,
    PayoutStatus,
    PayoutWarning,
    Rail,
    RunStatus,
    WarningKind,
)
from backend.payouts.readiness import hold_reason_for
from backend.shifts.models import Attendance, Shift, ShiftSeat
from backend.work.models import WorkRecord

# Where Stripe Connect pays out: the EEA (the EU, Iceland, Liechtenstein, Norway), the UK, Switzerland, the US, Canada.
EEA = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "IS",
        "LI",
        "NO",
    ]
)
STRIPE_COUNTRIES = EEA | {"GB", "CH", "US", "CA"}
FAR_ABOVE_FACTOR = 3
USUAL_SETTLEMENTS = 6
USUAL_MIN_SETTLEMENTS = 3
SHIFT_LOOKBACK_SLOTS = 48  # a shift that started the day before the period may cover its first hours
# A payout whose money has not left yet (nothing posted): counted as spoken for when another run is prepared.
UNPOSTED = (PayoutStatus.pending, PayoutStatus.queued, PayoutStatus.sending, PayoutStatus.failed)
LIVE_RUNS = (RunStatus.prepared, RunStatus.approved)
BANK_RETURN = "bank_return"


def rail_of(site: Site) -> Rail:
    """How the site's money leaves: its ``payout_rail`` setting, else Stripe where Stripe serves its country."""
    chosen = site_settings(site).payout_rail
    if chosen:
        return Rail(chosen)
    return Rail.stripe if site.country.upper() in STRIPE_COUNTRIES else Rail.bank


def ensure_finance(user: User) -> None:
    if user.role not in FINANCE_ROLES:
        raise Forbidden(_("Only finance prepares, approves and sends payouts."))


RAIL_CHOICES = ("", Rail.stripe.value, Rail.bank.value)


async def save_payout_settings(
    session: AsyncSession, *, by: User, rail: str, minimum: str, second_above: str
) -> SiteSettings:
    """Finance's payout settings for its site: the rail ("" = by country), the smallest payout and the run total
    above which a second finance user must approve; amounts as typed, in the site's currency."""
    ensure_finance(by)
    if rail not in RAIL_CHOICES:
        message = _("Choose how this site pays: through Stripe, by bank file, or by its country.")
        raise DomainError(message, field="rail")
    minimum_minor = parse_amount(minimum or "0", field="minimum")
    second_minor = parse_amount(second_above or "0", field="second_above")
    site = await session.get(Site, by.site_id)
    assert site is not None
    try:
        return await update_site_settings(
            session,
            site,
            payout_rail=rail,
            payout_minimum_minor=minimum_minor,
            payout_second_approval_above_minor=second_minor,
        )
    except DomainError as error:  # the setting's own bound, said beside the form's field
        field = "minimum" if error.field == "payout_minimum_minor" else "second_above"
        raise DomainError(_("That amount is too large."), field=field) from None


async def run_of_site(session: AsyncSession, *, site_id: int, run_id: int) -> PayoutRun:
    """A run of the site; any other id is 404 so ids cannot be probed."""
    run = await session.scalar(
        select(PayoutRun)
        .where(PayoutRun.id == run_id, PayoutRun.site_id == site_id)
        .execution_options(populate_existing=True)
    )
    if run is None:
        raise NotFound("payout run")
    return run


async def payout_of_site(session: AsyncSession, *, site_id: int, payout_id: int) -> Payout:
    """A payout of the site; any other id is 404."""
    payout = await session.scalar(
        select(Payout)
        .where(Payout.id == payout_id, Payout.site_id == site_id)
        .execution_options(populate_existing=True)
    )
    if payout is None:
        raise NotFound("payout")
    return payout


# What each agent is owed ----------------------------------------------------------------------------------


def _through(period: PayPeriod) -> object:
    """Entries of the period's site dated in it or an earlier period."""
    earlier = select(PayPeriod.id).where(PayPeriod.site_id == period.site_id, PayPeriod.starts_on <= period.starts_on)
    return and_(JournalEntry.site_id == period.site_id, JournalEntry.period_id.in_(earlier))


async def _balances_through(
    session: AsyncSession, *, period: PayPeriod, user_ids: Iterable[int] | None = None
) -> dict[int, tuple[int, int]]:
    """Per agent: (payable owed to them, receivable owed by them) counting entries through the period."""
    query = (
        select(Posting.user_id, Posting.account, func.sum(Posting.amount_minor))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(_through(period), Posting.currency == period.currency, Posting.user_id.is_not(None))
        .where(Posting.account.in_([Account.agent_payable, Account.agent_receivable]))
        .group_by(Posting.user_id, Posting.account)
    )
    if user_ids is not None:
        query = query.where(Posting.user_id.in_(list(user_ids)))
    found: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for user_id, account, total in await session.execute(query):
        if Account(account) is Account.agent_payable:
            found[int(user_id)][0] = -int(total)
        else:
            found[int(user_id)][1] = int(total)
    return {user_id: (payable, receivable) for user_id, (payable, receivable) in found.items()}


async def owed_through(session: AsyncSession, *, period: PayPeriod, user_ids: Iterable[int]) -> dict[int, int]:
    """Each agent's payable through ``period`` (carried pay of earlier periods included, later ones not), minus
    what they owe back (their receivable); agents with nothing posted are 0."""
    ids = list(user_ids)
    balances = await _balances_through(session, period=period, user_ids=ids)
    return {user_id: balances.get(user_id, (0, 0))[0] - balances.get(user_id, (0, 0))[1] for user_id in ids}


async def _unposted(session: AsyncSession, *, site_id: int, except_run_id: int) -> dict[int, tuple[int, int]]:
    """Per agent: (owed, receivable) already in another live run whose money has not left (nothing posted yet)."""
    rows = await session.execute(
        select(Payout.user_id, func.sum(Payout.owed_minor), func.sum(Payout.receivable_minor))
        .join(PayoutRun, PayoutRun.id == Payout.run_id)
        .where(PayoutRun.site_id == site_id, PayoutRun.id != except_run_id, PayoutRun.status.in_(LIVE_RUNS))
        .where(Payout.status.in_(UNPOSTED))
        .where(or_(Payout.failure_code.is_(None), Payout.failure_code != BANK_RETURN))
        .group_by(Payout.user_id)
    )
    return {int(user_id): (int(owed), int(receivable)) for user_id, owed, receivable in rows}


# Preparing a run -------------------------------------------------------------------------------------------


async def _refuse_mark_paid_with_run(session: AsyncSession, period: PayPeriod) -> None:
    """Pay's "mark paid" must not pay a period that a payout run pays or carried (it would pay the agents twice):
    one with a run, or earlier than a period with a run."""
    run_id = await session.scalar(
        select(PayoutRun.id)
        .join(PayPeriod, PayPeriod.id == PayoutRun.period_id)
        .where(PayoutRun.site_id == period.site_id, PayoutRun.status != RunStatus.cancelled)
        .where(PayPeriod.starts_on >= period.starts_on)
        .limit(1)
    )
    if run_id is not None:
        raise Conflict(
            _("A payout run pays this period, or carried its pay into a later period's run: see the Payouts page.")
        )


periods.guard_mark_paid(_refuse_mark_paid_with_run)


async def _check_preparable(session: AsyncSession, *, period: PayPeriod) -> None:
    if period.status is PeriodStatus.open:
        raise Conflict(_("Lock this period before preparing its payouts."))
    if period.status is PeriodStatus.paid:
        raise Conflict(_("This period was marked paid outside Weft: it has no payouts to prepare."))
    later = await session.scalar(
        select(func.count())
        .select_from(PayoutRun)
        .join(PayPeriod, PayPeriod.id == PayoutRun.period_id)
        .where(PayoutRun.site_id == period.site_id, PayoutRun.status != RunStatus.cancelled)
        .where(PayPeriod.starts_on > period.starts_on)
    )
    if later:
        raise Conflict(_("A later period already has a payout run: it carried this period's unpaid pay."))


async def _claim_run(
    session: AsyncSession, *, period: PayPeriod, site: Site, by: User, now: dt.datetime
) -> tuple[PayoutRun, bool]:
    """The period's run, made empty now if none exists (True) or the one another request made (False)."""
    run = PayoutRun(
        site_id=period.site_id,
        period_id=period.id,
        rail=rail_of(site),
        status=RunStatus.prepared,
        currency=period.currency,
        total_minor=0,
        held_minor=0,
        payout_count=0,
        held_count=0,
        transfer_group=f"weft-period-{period.id}",
        prepared_at=now,
        prepared_by_id=by.id,
        needs_second_approver=True,
    )
    try:
        async with session.begin_nested():
            session.add(run)
            await session.flush()
    except IntegrityError:
        existing = await session.scalar(select(PayoutRun).where(PayoutRun.period_id == period.id))
        if existing is None:
            raise
        return existing, False
    run.transfer_group = f"weft-run-{run.id}"
    await session.flush()
    return run, True


async def _candidates(session: AsyncSession, *, period: PayPeriod) -> list[int]:
    """Agents settled in the period and agents with anything posted to them through it."""
    settled = select(Settlement.user_id).where(Settlement.period_id == period.id)
    posted = (
        select(Posting.user_id)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(_through(period), Posting.user_id.is_not(None))
        .where(Posting.account.in_([Account.agent_payable, Account.agent_receivable]))
        .distinct()
    )
    ids = set(await session.scalars(settled)) | set(await session.scalars(posted))
    return sorted(int(user_id) for user_id in ids)


async def prepare_run(session: AsyncSession, *, period_id: int, by: User, now: dt.datetime) -> PayoutRun:
    """Prepare the period's payout run in one transaction (see the module's rules); the existing run if there is
    one already."""
    ensure_finance(by)
    period = await periods.period_of_site(session, site_id=by.site_id, period_id=period_id)
    existing = await session.scalar(select(PayoutRun).where(PayoutRun.period_id == period.id))
    if existing is not None:
        return existing
    await _check_preparable(session, period=period)
    site = await session.get(Site, period.site_id)
    assert site is not None
    run, made = await _claim_run(session, period=period, site=site, by=by, now=now)
    if not made:
        return run
    settings = site_settings(site)
    user_ids = await _candidates(session, period=period)
    balances = await _balances_through(session, period=period, user_ids=user_ids)
    unposted = await _unposted(session, site_id=site.id, except_run_id=run.id)
    names = dict((await session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids)))).all())
    accounts = {
        account.user_id: account
        for account in await session.scalars(select(PayoutAccount).where(PayoutAccount.user_id.in_(user_ids)))
    }
    payouts: list[dict[str, Any]] = []  # rows, written in one bulk INSERT (10,000 agents: one statement's work)
    for user_id in user_ids:
        payable, receivable = balances.get(user_id, (0, 0))
        owed_before, receivable_before = unposted.get(user_id, (0, 0))
        owed, receivable = payable - owed_before, receivable - receivable_before
        amount = owed - receivable
        if amount == 0:
            continue
        account = accounts.get(user_id)
        reason: HoldReason | None = None
        if amount <= 0:
            reason = HoldReason.not_positive
        elif run.rail is Rail.stripe and (found := hold_reason_for(account, now)) is not None:
            reason = found
        elif amount < settings.payout_minimum_minor:
            reason = HoldReason.below_minimum
        stripe_rail = run.rail is Rail.stripe and account is not None
        payouts.append(
            {
                "run_id": run.id,
                "site_id": site.id,
                "period_id": period.id,
                "user_id": user_id,
                "display_name": str(names.get(user_id, f"#{user_id}"))[:120],
                "amount_minor": amount,
                "owed_minor": owed,
                "receivable_minor": receivable,
                "currency": period.currency,
                "status": PayoutStatus.held if reason else PayoutStatus.pending,
                "hold_reason": reason,
                "destination": account.stripe_account_id if stripe_rail and account else None,
                "outbound_destination": account.destination if stripe_rail and account else None,
            }
        )
    if payouts:
        await session.execute(insert(Payout), payouts)
    ready = [p["amount_minor"] for p in payouts if p["status"] is PayoutStatus.pending]
    held = [p["amount_minor"] for p in payouts if p["status"] is PayoutStatus.held]
    run.total_minor = sum(ready)
    run.held_minor = sum(held)
    run.payout_count = len(ready)
    run.held_count = len(held)
    run.needs_second_approver = run.total_minor > settings.payout_second_approval_above_minor
    amounts = {p["user_id"]: p["amount_minor"] for p in payouts}
    warnings = await _warnings(session, run=run, period=period, site=site, amounts=amounts, accounts=accounts)
    if warnings:
        await session.execute(insert(PayoutWarning), warnings)
    await session.flush()
    return run


# Warnings ---------------------------------------------------------------------------------------------------


async def _warnings(
    session: AsyncSession,
    *,
    run: PayoutRun,
    period: PayPeriod,
    site: Site,
    amounts: dict[int, int],
    accounts: dict[int, PayoutAccount],
) -> list[dict[str, Any]]:
    """The run's warnings as rows for one bulk INSERT; ``amounts`` is each agent's payout in the run."""
    found: list[dict[str, Any]] = []
    user_ids = sorted(amounts)
    if not user_ids:
        return found

    def warn(user_id: int, kind: WarningKind, **detail: object) -> None:
        found.append({"run_id": run.id, "user_id": user_id, "kind": kind, "detail": detail})

    for user_id, pieces in (await _pieces_without_shift(session, period=period, site=site, user_ids=user_ids)).items():
        warn(user_id, WarningKind.pieces_without_shift, pieces=pieces[0], records=pieces[1], first_at=pieces[2])

    nets = await session.execute(
        select(Settlement.user_id, Settlement.net_minor)
        .join(PayPeriod, PayPeriod.id == Settlement.period_id)
        .where(Settlement.user_id.in_(user_ids), PayPeriod.site_id == site.id, PayPeriod.starts_on < period.starts_on)
        .order_by(Settlement.user_id, PayPeriod.starts_on.desc())
    )
    history: dict[int, list[int]] = defaultdict(list)
    for user_id, net in nets:
        if len(history[user_id]) < USUAL_SETTLEMENTS:
            history[user_id].append(int(net))
    for user_id, earlier in history.items():
        if len(earlier) < USUAL_MIN_SETTLEMENTS:
            continue
        usual = int(statistics.median(earlier))
        amount = amounts[user_id]
        if usual > 0 and amount > FAR_ABOVE_FACTOR * usual:
            warn(user_id, WarningKind.far_above_usual, amount_minor=amount, usual_minor=usual, settlements=len(earlier))

    if run.rail is Rail.stripe:
        last = (
            select(Payout.user_id, func.max(Payout.id).label("payout_id"))
            .where(Payout.user_id.in_(user_ids), Payout.run_id != run.id, Payout.destination.is_not(None))
            .group_by(Payout.user_id)
            .subquery()
        )
        rows = await session.execute(
            select(Payout.user_id, Payout.destination, Payout.outbound_destination).join(
                last, last.c.payout_id == Payout.id
            )
        )
        for user_id, destination, outbound in rows:
            account = accounts.get(int(user_id))
            if account is None:
                continue
            now_pair = (account.stripe_account_id, account.destination)
            if now_pair != (destination, outbound):
                warn(
                    int(user_id),
                    WarningKind.destination_changed,
                    before=outbound or destination,
                    now=account.destination or account.stripe_account_id,
                )

    period_nets = dict(
        (
            await session.execute(
                select(Settlement.user_id, Settlement.net_minor).where(
                    Settlement.period_id == period.id, Settlement.user_id.in_(user_ids)
                )
            )
        ).all()
    )
    for user_id in user_ids:
        net = period_nets.get(user_id)
        amount = amounts[user_id]
        if amount < 0 or (net is not None and net < 0):
            warn(user_id, WarningKind.negative_net, net_minor=net if net is not None else amount, amount_minor=amount)
    return found


async def _pieces_without_shift(
    session: AsyncSession, *, period: PayPeriod, site: Site, user_ids: list[int]
) -> dict[int, tuple[int, int, str]]:
    """Per agent: (pieces, records, first time) of the period's work records at a time they worked no shift."""
    window = gather.Window.of(period, site.timezone)
    conditions = [
        WorkRecord.site_id == period.site_id,
        WorkRecord.occurred_at >= window.bounds[0],
        WorkRecord.occurred_at < window.bounds[-1],
        WorkRecord.user_id.in_(user_ids),
    ]
    if period.records_through_id is not None:
        conditions.append(WorkRecord.id <= period.records_through_id)
    shifts = await session.execute(
        select(ShiftSeat.user_id, Shift.start_slot, Shift.end_slot)
        .join(Shift, Shift.id == ShiftSeat.shift_id)
        .outerjoin(Attendance, Attendance.seat_id == ShiftSeat.id)
        .where(Shift.site_id == period.site_id, Shift.cancelled_at.is_(None), ShiftSeat.released_at.is_(None))
        .where(Attendance.no_show_at.is_(None), ShiftSeat.user_id.in_(user_ids))
        .where(Shift.start_slot >= window.slots.start - SHIFT_LOOKBACK_SLOTS, Shift.start_slot < window.slots.stop)
        .order_by(ShiftSeat.user_id, Shift.start_slot)
    )
    worked: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for user_id, start, end in shifts:
        worked[int(user_id)].append((int(start), int(end)))
    found: dict[int, tuple[int, int, str]] = {}
    records = await session.stream(
        select(WorkRecord.user_id, WorkRecord.occurred_at, WorkRecord.count)
        .where(*conditions)
        .order_by(WorkRecord.user_id, WorkRecord.occurred_at)
    )
    async for user_id, occurred_at, count in records:
        spans = worked.get(int(user_id), [])
        slot = slot_of(occurred_at)
        index = bisect.bisect_right(spans, (slot, float("inf"))) - 1
        covered = any(start <= slot < end for start, end in spans[max(0, index - 8) : index + 1])
        if covered:
            continue
        pieces, count_records, first = found.get(int(user_id), (0, 0, occurred_at.isoformat()))
        found[int(user_id)] = (pieces + int(count), count_records + 1, first)
    return found


async def acknowledge_warnings(session: AsyncSession, *, run_id: int, by: User, now: dt.datetime) -> int:
    """Acknowledge every open warning of a prepared run (one click); how many were acknowledged."""
    ensure_finance(by)
    run = await run_of_site(session, site_id=by.site_id, run_id=run_id)
    if run.status is not RunStatus.prepared:
        raise Conflict(_("Only a run waiting for approval has warnings to acknowledge."))
    done = await session.execute(
        update(PayoutWarning)
        .where(PayoutWarning.run_id == run.id, PayoutWarning.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by_id=by.id)
        .execution_options(synchronize_session=False)
    )
    return int(done.rowcount or 0)  # type: ignore[attr-defined]


async def open_warnings(session: AsyncSession, *, run_id: int) -> list[PayoutWarning]:
    query = select(PayoutWarning).where(PayoutWarning.run_id == run_id, PayoutWarning.acknowledged_at.is_(None))
    return list(await session.scalars(query.order_by(PayoutWarning.id)))


# Approving and cancelling -----------------------------------------------------------------------------------


async def approve_run(
    session: AsyncSession, *, run_id: int, by: User, now: dt.datetime, sending_on: bool = True
) -> PayoutRun:
    """Approve a prepared run (four eyes, warnings acknowledged); an approved run is returned as it is.

    ``sending_on`` is False when this server has no Stripe key: a Stripe-rail run then cannot be approved.
    """
    ensure_finance(by)
    run = await run_of_site(session, site_id=by.site_id, run_id=run_id)
    if run.status in (RunStatus.approved, RunStatus.sent):
        return run
    if run.status is not RunStatus.prepared:
        raise Conflict(_("This run was cancelled: its money stays owed and goes in a later run."))
    if run.needs_second_approver and run.prepared_by_id == by.id:
        raise Forbidden(
            _(
                "You prepared this run and it is above %(limit)s: another finance user must approve it.",
                limit=format_money(await _threshold(session, run), run.currency),
            )
        )
    if run.rail is Rail.stripe and not sending_on:
        raise PayoutsOff()
    waiting = await open_warnings(session, run_id=run.id)
    if waiting:
        names = dict(
            (await session.execute(select(Payout.user_id, Payout.display_name).where(Payout.run_id == run.id))).all()
        )
        listed = "; ".join(f"{names.get(w.user_id, w.user_id)}: {warning_text(w.kind)}" for w in waiting)
        raise Conflict(_("Acknowledge the warnings before approving: %(warnings)s", warnings=listed))
    claimed = await session.execute(
        update(PayoutRun)
        .where(PayoutRun.id == run.id, PayoutRun.status == RunStatus.prepared)
        .values(status=RunStatus.approved, approved_at=now, approved_by_id=by.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount == 0:  # type: ignore[attr-defined]  # approved (or cancelled) by someone else meanwhile
        return await run_of_site(session, site_id=by.site_id, run_id=run.id)
    if run.rail is Rail.stripe:
        await session.execute(
            update(Payout)
            .where(Payout.run_id == run.id, Payout.status == PayoutStatus.pending)
            .values(status=PayoutStatus.queued, next_try_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        await settle_run_if_done(session, run_id=run.id, by_id=by.id, now=now)
    return await run_of_site(session, site_id=by.site_id, run_id=run.id)


async def _threshold(session: AsyncSession, run: PayoutRun) -> int:
    site = await session.get(Site, run.site_id)
    assert site is not None
    return site_settings(site).payout_second_approval_above_minor


async def cancel_run(session: AsyncSession, *, run_id: int, by: User, now: dt.datetime) -> PayoutRun:
    """Drop a prepared run: nothing moved, the money stays owed and a later period's run carries it."""
    ensure_finance(by)
    run = await run_of_site(session, site_id=by.site_id, run_id=run_id)
    if run.status is RunStatus.cancelled:
        return run
    claimed = await session.execute(
        update(PayoutRun)
        .where(PayoutRun.id == run.id, PayoutRun.status == RunStatus.prepared)
        .values(status=RunStatus.cancelled)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount == 0:  # type: ignore[attr-defined]
        raise Conflict(_("Only a run waiting for approval can be cancelled: this one was approved."))
    return await run_of_site(session, site_id=by.site_id, run_id=run.id)


async def settle_run_if_done(session: AsyncSession, *, run_id: int, by_id: int | None, now: dt.datetime) -> bool:
    """Once every payout of an approved run has left (or is held, carried), mark the run sent and its period paid.

    The sender calls it after each payout it sends; the bank file's "sent" calls it too. True when this call did it.
    """
    waiting = await session.scalar(
        select(func.count())
        .select_from(Payout)
        .where(Payout.run_id == run_id, Payout.status.in_(UNPOSTED))
        .where(or_(Payout.failure_code.is_(None), Payout.failure_code != BANK_RETURN))
    )
    if waiting:
        return False
    moved = await session.execute(
        update(PayoutRun)
        .where(PayoutRun.id == run_id, PayoutRun.status == RunStatus.approved)
        .values(status=RunStatus.sent, sent_at=now, sent_by_id=by_id)
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        return False
    period_id = await session.scalar(select(PayoutRun.period_id).where(PayoutRun.id == run_id))
    assert period_id is not None
    await periods.record_paid_by_run(session, period_id=period_id, by_id=by_id, now=now)
    return True


# Words for people -------------------------------------------------------------------------------------------


def hold_text(reason: HoldReason | str | None) -> str:
    """Why a payout waits, and what to do, in plain words."""
    texts = {
        HoldReason.no_account: _("The agent has not set up payouts yet: ask them to open Payouts in the app."),
        HoldReason.transfers_inactive: _("Stripe cannot send to the agent's account yet: they finish setting it up."),
        HoldReason.requirements_past_due: _(
            "Stripe needs details from the agent, past their deadline: they update them in the app."
        ),
        HoldReason.below_minimum: _("Below the site's minimum payout: carried to the next run."),
        HoldReason.not_positive: _("Nothing to pay once what the agent owes back is netted: carried."),
    }
    return texts.get(HoldReason(reason), "") if reason else ""


def warning_text(kind: WarningKind | str) -> str:
    texts = {
        WarningKind.pieces_without_shift: _("pieces recorded at times the agent worked no shift"),
        WarningKind.far_above_usual: _("far above the agent's usual pay"),
        WarningKind.destination_changed: _("the payout destination changed since the last payout"),
        WarningKind.negative_net: _("a negative net: the agent owes more than they earned"),
    }
    return texts[WarningKind(kind)]


def failure_text(payout: Payout) -> str:
    """A failed payout in plain words, with what to do."""
    if payout.status is not PayoutStatus.failed:
        return ""
    if payout.failure_code == BANK_RETURN:
        return _(
            "The bank returned it (%(reason)s): the agent is owed it again and the next run carries it; check "
            "their bank details.",
            reason=payout.failure_message or "",
        )
    kind = payout.failure_kind.value if payout.failure_kind else ""
    if kind == "agent":
        advice = _("The agent must fix their payout details; then retry.")
    elif kind == "platform":
        advice = _("The platform's Stripe balance or limits refused it: top up the balance, then retry.")
    else:
        advice = _("A temporary error: it is retried automatically, or retry now.")
    return f"{payout.failure_message or payout.failure_code or ''} {advice}".strip()
