"""Pay periods: ``open → locked → paid``, the lock that settles everyone once, and adjustments.

The rules, shown on the finance pages and the agent's Earnings page:

- **Periods.** A site's periods are one week (``pay_cadence`` weekly) or two
  (biweekly) of site-local days, ``[starts_on, ends_on)``, starting on the
  weekday ``pay_week_starts_on``; two-week periods keep to alternate weeks
  counted from Monday 2001-01-01. Periods follow each other with no gap: a
  new one starts where the last ended (with the cadence in force then), so
  every day from the first period on belongs to exactly one period. The
  current period is made when first needed; a past one only when asked for
  (``period_for``).
- **Locking** (finance or an admin) settles every agent with anything in the
  period, once: one conditional ``UPDATE ... WHERE status = 'open'`` claims
  the lock, so two finance users locking at once produce one settlement per
  agent, and locking a locked (or paid) period again changes nothing. A
  period can be locked only after it has ended (its last local midnight) and
  every shift that started in it has ended, and only once every earlier
  period of the site is locked (withholding counts the month's earlier pay).
  The lock writes each agent's settlement and lines (``settlement``), the
  withholding line, one ``settlement`` journal entry per agent (``ledger``),
  stores the export checksum, and makes the next period exist.
- **Late work.** A work record is stored whenever it arrives. The lock notes
  the site's newest record (``records_through_id``), holding the work intake
  closed while it settles (``work.service.hold_intake``); a record dated in
  the period that arrives later is paid by the next open period as a late
  line with the day it was worked and this period named (``gather``), so a
  locked period and its exports never change and no work goes unpaid.
- **Withholding** is the site's ``withholding_policy`` (``pay.withholding``),
  applied to each settlement's gross. For ``cn_labour`` the month is the
  calendar month of the period's last day: the pay and withholding of the
  site's earlier locked periods whose last day falls in that month count
  with this one as one payment. For ``us_backup`` an agent without a
  taxpayer id on file (``TaxProfile``) has 24 % withheld. On a US site (or
  with ``us_backup``), a settlement is flagged ``us_1099_nec`` once the
  agent's gross in locked periods whose last day falls in the calendar year,
  this one included, reaches that year's 1099-NEC threshold.
- **Paying** (finance or an admin) moves a locked period to paid, once, and
  posts one ``payout`` entry per agent with a non-zero net: debit
  ``agent_payable``, credit ``cash``.
- **Adjustments** (a coordinator, finance or an admin) correct an agent's pay:
  a non-zero amount with a reason, filed into the site's current open period
  and settled with it; a locked period never changes. An amount above
  ``CONFIRM_ABOVE_MINOR`` either way is read back to its author ("Book CNY
  1,200.00 to Ann?") and filed only once they confirm it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import FINANCE_ROLES, PAY_ADJUSTERS, Role, Site, User
from backend.accounts.site_settings import SiteSettings, site_settings
from backend.accounts.zones import site_zone
from backend.core.db import utcnow
from backend.core.errors import Conflict, DomainError, Forbidden, NotFound
from backend.core.i18n import gettext as _
from backend.core.money import format_money
from backend.core.slots import local_midnight, utc_start
from backend.pay import exports, gather, ledger
from backend.pay.models import (
    Account,
    Adjustment,
    Cadence,
    EntryKind,
    PayPeriod,
    PeriodStatus,
    Settlement,
    SettlementLine,
    TaxProfile,
)
from backend.pay.settlement import AgentWork, Line, settle_lines, totals, withholding_line
from backend.pay.withholding import us_1099_threshold_minor, withhold
from backend.shifts.models import Shift
from backend.work.models import WorkRecord
from backend.work.service import hold_intake

BIWEEKLY_ANCHOR = dt.date(2001, 1, 1)  # a Monday: two-week periods keep to alternate weeks counted from it
MAX_NEW_PERIODS = 600  # periods made in one go to close a gap (over ten years of weeks)
LOCK_CHUNK = 500  # agents settled per round of inserts
PAY_CHUNK = 2000
REASON_MAX_CHARS = 300
AMOUNT_LIMIT = 100_000_000
# A constant, not a site setting: it guards against a slip of the keyboard (an extra zero, a misread separator),
# which is the same on every site. 500.00 is more than most of a part-time week's pay in the currencies Weft pays
# in, so routine corrections go straight through and anything the size of a week's pay or more is read back first.
CONFIRM_ABOVE_MINOR = 50_000
US_1099_FLAG = "us_1099_nec"


# Periods ---------------------------------------------------------------------------------------------------


def period_days(cadence: Cadence | str) -> int:
    return 14 if Cadence(cadence) is Cadence.biweekly else 7


def aligned_start(day: dt.date, settings: SiteSettings) -> dt.date:
    """The first day of the period that would contain ``day`` on a site with no periods yet."""
    start = day - dt.timedelta(days=(day.weekday() - settings.pay_week_starts_on) % 7)
    if settings.pay_cadence == Cadence.biweekly:
        anchor = BIWEEKLY_ANCHOR + dt.timedelta(days=settings.pay_week_starts_on)
        if ((start - anchor).days // 7) % 2:
            start -= dt.timedelta(days=7)
    return start


def site_today(site: Site, now: dt.datetime | None = None) -> dt.date:
    """The date it is at the site now (or at ``now``): periods, rate cards and earnings are in site days."""
    return (now or utcnow()).astimezone(site_zone(site)).date()


async def _create(session: AsyncSession, *, site: Site, starts_on: dt.date, ends_on: dt.date) -> PayPeriod:
    """One new open period; if another request made it meanwhile, that one."""
    settings = site_settings(site)
    period = PayPeriod(
        site_id=site.id,
        starts_on=starts_on,
        ends_on=ends_on,
        cadence=Cadence(settings.pay_cadence),
        currency=settings.currency,
        status=PeriodStatus.open,
    )
    try:
        async with session.begin_nested():
            session.add(period)
            await session.flush()
    except IntegrityError:
        existing = await session.scalar(
            select(PayPeriod).where(PayPeriod.site_id == site.id, PayPeriod.starts_on == starts_on)
        )
        if existing is None:
            raise
        return existing
    return period


async def period_for(session: AsyncSession, *, site: Site, day: dt.date) -> PayPeriod:
    """The site's period containing ``day``, made (with any between it and the existing ones) if missing."""
    found = await session.scalar(
        select(PayPeriod).where(PayPeriod.site_id == site.id, PayPeriod.starts_on <= day, PayPeriod.ends_on > day)
    )
    if found is not None:
        return found
    length = dt.timedelta(days=period_days(site_settings(site).pay_cadence))
    before = await session.scalar(
        select(PayPeriod)
        .where(PayPeriod.site_id == site.id, PayPeriod.ends_on <= day)
        .order_by(PayPeriod.ends_on.desc())
        .limit(1)
    )
    after = await session.scalar(
        select(PayPeriod)
        .where(PayPeriod.site_id == site.id, PayPeriod.starts_on > day)
        .order_by(PayPeriod.starts_on)
        .limit(1)
    )
    made = 0
    if before is None and after is None:
        start = aligned_start(day, site_settings(site))
        return await _create(session, site=site, starts_on=start, ends_on=start + length)
    if before is not None:  # forward from the last period before the day, stopping short of any after it
        start = before.ends_on
        while True:
            end = start + length
            if after is not None:
                end = min(end, after.starts_on)
            period = await _create(session, site=site, starts_on=start, ends_on=end)
            if period.ends_on > day:
                return period
            start, made = period.ends_on, made + 1
            if made > MAX_NEW_PERIODS:
                raise DomainError(_("That day is too far from the site's pay periods."), field="day")
    assert after is not None  # backward from the first period after the day
    end = after.starts_on
    while True:
        period = await _create(session, site=site, starts_on=end - length, ends_on=end)
        if period.starts_on <= day:
            return period
        end, made = period.starts_on, made + 1
        if made > MAX_NEW_PERIODS:
            raise DomainError(_("That day is too far from the site's pay periods."), field="day")


async def period_on(session: AsyncSession, *, site: Site, day: dt.date) -> PayPeriod:
    """The site's period holding ``day`` as it stands: the stored one, else the one ``period_for`` would make,
    unsaved (no id). Read only: a page that shows pay must not write periods (a GET never writes)."""
    found = await session.scalar(
        select(PayPeriod).where(PayPeriod.site_id == site.id, PayPeriod.starts_on <= day, PayPeriod.ends_on > day)
    )
    if found is not None:
        return found
    settings = site_settings(site)
    length = period_days(settings.pay_cadence)
    in_site = PayPeriod.site_id == site.id
    before = await session.scalar(select(func.max(PayPeriod.ends_on)).where(in_site, PayPeriod.ends_on <= day))
    after = await session.scalar(select(func.min(PayPeriod.starts_on)).where(in_site, PayPeriod.starts_on > day))
    if before is not None:  # periods run on from the last one in whole lengths
        start = before + dt.timedelta(days=(day - before).days // length * length)
    elif after is not None:  # and back from the first one
        start = after - dt.timedelta(days=-(-(after - day).days // length) * length)
    else:
        start = aligned_start(day, settings)
    end = start + dt.timedelta(days=length)
    if after is not None:
        end = min(end, after)
    return PayPeriod(
        site_id=site.id,
        starts_on=start,
        ends_on=end,
        cadence=Cadence(settings.pay_cadence),
        currency=settings.currency,
        status=PeriodStatus.open,
    )


async def ensure_periods(session: AsyncSession, *, site: Site, today: dt.date) -> list[PayPeriod]:
    """Make sure the period containing ``today`` and the one before it exist; every period, the latest first.

    The one before still waits for its lock: without it, a shift worked late on the last day of a week in
    which nobody opened Earnings or the finance pages vanished from the agent's tab the next morning.
    """
    current = await period_for(session, site=site, day=today)
    await period_for(session, site=site, day=current.starts_on - dt.timedelta(days=1))
    query = select(PayPeriod).where(PayPeriod.site_id == site.id).order_by(PayPeriod.starts_on.desc())
    return list(await session.scalars(query))


async def current_period(session: AsyncSession, *, site: Site, now: dt.datetime) -> PayPeriod:
    """The site's period containing today (site-local), made if missing."""
    return await period_for(session, site=site, day=site_today(site, now))


async def period_of_site(session: AsyncSession, *, site_id: int, period_id: int) -> PayPeriod:
    """A period of the site; anything else is 404 so ids cannot be probed."""
    period = await session.scalar(select(PayPeriod).where(PayPeriod.id == period_id, PayPeriod.site_id == site_id))
    if period is None:
        raise NotFound("period")
    return period


async def _reload(session: AsyncSession, period_id: int) -> PayPeriod:
    period = await session.scalar(
        select(PayPeriod).where(PayPeriod.id == period_id).execution_options(populate_existing=True)
    )
    assert period is not None
    return period


def _ensure_finance(user: User) -> None:
    if user.role not in FINANCE_ROLES:
        raise Forbidden(_("Only finance locks and pays pay periods."))


# Locking ---------------------------------------------------------------------------------------------------


def last_day(period: PayPeriod) -> dt.date:
    return period.ends_on - dt.timedelta(days=1)


async def _check_lockable(session: AsyncSession, *, period: PayPeriod, site: Site, now: dt.datetime) -> None:
    zone = site_zone(site)
    ends = local_midnight(period.ends_on, zone)
    if now < ends:
        message = _("This period runs until the end of %(day)s: lock it after that.", day=last_day(period).isoformat())
        raise DomainError(message, field="period")
    window = gather.Window.of(period, site.timezone)
    last_end = await session.scalar(
        select(func.max(Shift.end_slot)).where(
            Shift.site_id == period.site_id,
            Shift.cancelled_at.is_(None),
            Shift.start_slot >= window.slots.start,
            Shift.start_slot < window.slots.stop,
        )
    )
    if last_end is not None and utc_start(last_end) > now:
        when = utc_start(last_end).astimezone(zone).strftime("%Y-%m-%d %H:%M")
        raise DomainError(
            _("A shift of this period is still under way: lock it after %(time)s.", time=when), field="period"
        )
    earlier_open = await session.scalar(
        select(func.count()).where(
            PayPeriod.site_id == period.site_id,
            PayPeriod.starts_on < period.starts_on,
            PayPeriod.status == PeriodStatus.open,
        )
    )
    if earlier_open:
        raise DomainError(_("Lock the earlier open periods of this site first."), field="period")


async def _month_before(session: AsyncSession, *, period: PayPeriod) -> dict[int, tuple[int, int]]:
    """Per agent: (gross, withholding) of the site's earlier locked periods whose last day is in this one's month."""
    month_start = last_day(period).replace(day=1)
    earlier = select(PayPeriod.id).where(
        PayPeriod.site_id == period.site_id,
        PayPeriod.id != period.id,
        PayPeriod.status != PeriodStatus.open,
        PayPeriod.ends_on > month_start,
        PayPeriod.ends_on <= period.starts_on,
    )
    rows = await session.execute(
        select(Settlement.user_id, func.sum(Settlement.gross_minor), func.sum(Settlement.withholding_minor))
        .where(Settlement.period_id.in_(earlier))
        .group_by(Settlement.user_id)
    )
    return {int(user_id): (int(gross), int(withheld)) for user_id, gross, withheld in rows}


async def _year_before(session: AsyncSession, *, period: PayPeriod) -> dict[int, int]:
    """Per agent: gross of the site's other locked periods whose last day is in this one's calendar year."""
    year = last_day(period).year
    earlier = select(PayPeriod.id).where(
        PayPeriod.site_id == period.site_id,
        PayPeriod.id != period.id,
        PayPeriod.status != PeriodStatus.open,
        PayPeriod.ends_on > dt.date(year, 1, 1),
        PayPeriod.ends_on <= dt.date(year + 1, 1, 1),
    )
    rows = await session.execute(
        select(Settlement.user_id, func.sum(Settlement.gross_minor))
        .where(Settlement.period_id.in_(earlier))
        .group_by(Settlement.user_id)
    )
    return {int(user_id): int(gross) for user_id, gross in rows}


async def _taxpayer_ids(session: AsyncSession, *, site_id: int) -> set[int]:
    rows = await session.scalars(
        select(TaxProfile.user_id)
        .join(User, User.id == TaxProfile.user_id)
        .where(User.site_id == site_id, TaxProfile.taxpayer_id_on_file.is_(True))
    )
    return set(rows)


class _Settler:
    """Everything a lock needs to turn one agent's work into a settlement (policy, month and year so far)."""

    def __init__(
        self,
        *,
        policy: str,
        rates: Any,
        month: dict[int, tuple[int, int]],
        year: dict[int, int] | None,
        year_number: int,
        taxpayers: set[int],
    ) -> None:
        self.policy = policy
        self.rates = rates
        self.month = month
        self.year = year
        self.threshold = us_1099_threshold_minor(year_number)
        self.taxpayers = taxpayers

    def settle(self, work: AgentWork) -> tuple[list[Line], dict[str, int], list[str]]:
        lines = settle_lines(work, self.rates)
        gross = totals(lines)["gross_minor"]
        month_gross, month_withheld = self.month.get(work.user_id, (0, 0))
        withheld = withhold(
            self.policy,
            gross_minor=gross,
            month_gross_before_minor=month_gross,
            month_withheld_before_minor=month_withheld,
            taxpayer_id_on_file=work.user_id in self.taxpayers,
        )
        if withheld:
            lines.append(withholding_line(withheld))
        flags: list[str] = []
        if self.year is not None and self.year.get(work.user_id, 0) + gross >= self.threshold:
            flags.append(US_1099_FLAG)
        return lines, totals(lines), flags


def _line_row(line: Line, *, settlement_id: int, period_id: int, user_id: int, position: int) -> dict[str, Any]:
    return {
        "settlement_id": settlement_id,
        "period_id": period_id,
        "user_id": user_id,
        "position": position,
        "kind": line.kind,
        "day": line.day,
        "shift_id": line.shift_id,
        "work_kind": line.work_kind,
        "skill_code": line.skill_code,
        "quantity": line.quantity,
        "rate_minor": line.rate_minor,
        "amount_minor": line.amount_minor,
        "note": line.note[:300],
    }


async def _write_settlements(
    session: AsyncSession,
    *,
    period: PayPeriod,
    settler: _Settler,
    batch: Sequence[AgentWork],
    by: User,
    now: dt.datetime,
) -> None:
    """Settle a batch of agents: settlements, lines and journal entries in a few bulk INSERTs."""
    settled = [(work, *settler.settle(work)) for work in batch]
    ids = list(
        await session.scalars(
            insert(Settlement).returning(Settlement.id, sort_by_parameter_order=True),
            [
                {
                    "period_id": period.id,
                    "user_id": work.user_id,
                    "display_name": work.display_name[:120],
                    "tier": work.tier,
                    "worked_minutes": sums["worked_minutes"],
                    "pieces": sums["pieces"],
                    "base_minor": sums["base_minor"],
                    "piece_minor": sums["piece_minor"],
                    "bonus_minor": sums["bonus_minor"],
                    "adjustment_minor": sums["adjustment_minor"],
                    "gross_minor": sums["gross_minor"],
                    "withholding_minor": sums["withholding_minor"],
                    "net_minor": sums["net_minor"],
                    "withholding_policy": settler.policy,
                    "flags": flags,
                }
                for work, _lines, sums, flags in settled
            ],
        )
    )
    rows = [
        _line_row(line, settlement_id=settlement_id, period_id=period.id, user_id=work.user_id, position=position)
        for settlement_id, (work, lines, _sums, _flags) in zip(ids, settled, strict=True)
        for position, line in enumerate(lines, start=1)
    ]
    if rows:
        await session.execute(insert(SettlementLine.__table__), rows)  # Core: no ORM bookkeeping per row
    entries = []
    for work, _lines, sums, _flags in settled:
        postings = [
            (Account.earnings_expense, work.user_id, sums["gross_minor"]),
            (Account.agent_payable, work.user_id, -sums["net_minor"]),
            (Account.tax_payable, work.user_id, -sums["withholding_minor"]),
        ]
        postings = [posting for posting in postings if posting[2]]
        if postings:
            entries.append(
                ledger.EntryIn(
                    site_id=period.site_id,
                    period_id=period.id,
                    kind=EntryKind.settlement,
                    key=f"lock:{period.id}:{work.user_id}",
                    memo=f"Settlement: period {period.starts_on}..{last_day(period)}, agent {work.user_id}",
                    postings=postings,
                    currency=period.currency,
                    by_id=by.id,
                )
            )
    await ledger.post_entries(session, entries, now=now)


async def _close_records(session: AsyncSession, *, period: PayPeriod) -> None:
    """Note the site's newest work record as the last one this lock settles; later ones are late work."""
    await hold_intake(session, site_id=period.site_id, exclusive=True)
    newest = select(func.coalesce(func.max(WorkRecord.id), 0)).where(WorkRecord.site_id == period.site_id)
    await session.execute(
        update(PayPeriod)
        .where(PayPeriod.id == period.id)
        .values(records_through_id=newest.scalar_subquery())
        .execution_options(synchronize_session=False)
    )


async def lock_period(session: AsyncSession, *, period_id: int, by: User, now: dt.datetime) -> PayPeriod:
    """Lock a period and settle every agent in it, atomically and once (see the module's rules)."""
    _ensure_finance(by)
    period = await period_of_site(session, site_id=by.site_id, period_id=period_id)
    if period.status is not PeriodStatus.open:
        return period
    site = await session.get(Site, period.site_id)
    assert site is not None
    await _check_lockable(session, period=period, site=site, now=now)
    claimed = await session.execute(
        update(PayPeriod)
        .where(PayPeriod.id == period.id, PayPeriod.status == PeriodStatus.open)
        .values(status=PeriodStatus.locked, locked_at=now, locked_by_id=by.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount == 0:  # type: ignore[attr-defined]  # someone else locked it meanwhile
        return await _reload(session, period.id)
    await _close_records(session, period=period)
    period = await _reload(session, period.id)

    policy = site_settings(site).withholding_policy
    us = policy == "us_backup" or site.country == "US"
    settler = _Settler(
        policy=policy,
        rates=await gather.period_rates(session, period=period, site=site),
        month=await _month_before(session, period=period) if policy == "cn_labour" else {},
        year=await _year_before(session, period=period) if us else None,
        year_number=last_day(period).year,
        taxpayers=await _taxpayer_ids(session, site_id=site.id) if policy == "us_backup" else set(),
    )
    batch: list[AgentWork] = []
    async for work in gather.period_work(session, period=period, now=now):
        batch.append(work)
        if len(batch) >= LOCK_CHUNK:
            await _write_settlements(session, period=period, settler=settler, batch=batch, by=by, now=now)
            batch = []
    if batch:
        await _write_settlements(session, period=period, settler=settler, batch=batch, by=by, now=now)

    checksum = await exports.settlement_checksum(session, period=period)
    await session.execute(
        update(PayPeriod)
        .where(PayPeriod.id == period_id)
        .values(checksum=checksum)
        .execution_options(synchronize_session=False)
    )
    site = await session.get(Site, period.site_id)
    assert site is not None
    await period_for(session, site=site, day=period.ends_on)  # the next period exists
    return await _reload(session, period_id)


# Paying ----------------------------------------------------------------------------------------------------

# Checks a higher layer adds to "mark paid" without pay importing it: each may raise to refuse (payouts refuses a
# period that has a payout run, whose payouts post their own entries). Registered once, at import.
MarkPaidGuard = Callable[[AsyncSession, PayPeriod], Awaitable[None]]
MARK_PAID_GUARDS: list[MarkPaidGuard] = []


def guard_mark_paid(check: MarkPaidGuard) -> MarkPaidGuard:
    """Add a check that ``mark_paid`` runs before it pays anything (idempotent: a check is added once)."""
    if check not in MARK_PAID_GUARDS:
        MARK_PAID_GUARDS.append(check)
    return check


async def record_paid_by_run(session: AsyncSession, *, period_id: int, by_id: int | None, now: dt.datetime) -> bool:
    """Move a locked period to paid because a payout run paid it, posting nothing (each payout posted its own
    entry as its money left). True when this call moved it; a period already paid (or still open) is left."""
    moved = await session.execute(
        update(PayPeriod)
        .where(PayPeriod.id == period_id, PayPeriod.status == PeriodStatus.locked)
        .values(status=PeriodStatus.paid, paid_at=now, paid_by_id=by_id)
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount)  # type: ignore[attr-defined]


async def mark_paid(session: AsyncSession, *, period_id: int, by: User, now: dt.datetime) -> PayPeriod:
    """Mark a locked period paid and post each agent's payout, once; a paid period is returned unchanged."""
    _ensure_finance(by)
    period = await period_of_site(session, site_id=by.site_id, period_id=period_id)
    if period.status is PeriodStatus.paid:
        return period
    if period.status is PeriodStatus.open:
        raise DomainError(_("Lock this period before marking it paid."), field="period")
    for check in MARK_PAID_GUARDS:
        await check(session, period)
    claimed = await session.execute(
        update(PayPeriod)
        .where(PayPeriod.id == period.id, PayPeriod.status == PeriodStatus.locked)
        .values(status=PeriodStatus.paid, paid_at=now, paid_by_id=by.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount == 0:  # type: ignore[attr-defined]
        return await _reload(session, period.id)
    after = -1
    while True:
        page = (
            await session.execute(
                select(Settlement.user_id, Settlement.net_minor)
                .where(Settlement.period_id == period.id, Settlement.user_id > after)
                .order_by(Settlement.user_id)
                .limit(PAY_CHUNK)
            )
        ).all()
        entries = [
            ledger.EntryIn(
                site_id=period.site_id,
                period_id=period.id,
                kind=EntryKind.payout,
                key=f"pay:{period.id}:{user_id}",
                memo=f"Payout: period {period.starts_on}..{last_day(period)}, agent {user_id}",
                postings=[(Account.agent_payable, user_id, net), (Account.cash, user_id, -net)],
                currency=period.currency,
                by_id=by.id,
            )
            for user_id, net in page
            if net
        ]
        await ledger.post_entries(session, entries, now=now)
        if len(page) < PAY_CHUNK:
            break
        after = page[-1][0]
    return await _reload(session, period.id)


# Adjustments -----------------------------------------------------------------------------------------------


class NeedsConfirmation(Conflict):
    """A large adjustment not yet confirmed by its author: nothing was filed. Pages show it back as a question."""

    def __init__(self, *, amount_minor: int, currency: str, agent_name: str) -> None:
        amount = format_money(amount_minor, currency)
        super().__init__(_("Book %(amount)s to %(agent)s?", amount=amount, agent=agent_name), field="amount")
        self.amount_minor = amount_minor
        self.currency = currency
        self.agent_name = agent_name


def needs_confirmation(amount_minor: int) -> bool:
    return abs(amount_minor) > CONFIRM_ABOVE_MINOR


async def add_adjustment(
    session: AsyncSession,
    *,
    site: Site,
    user_id: int,
    amount_minor: int,
    reason: str,
    author: User,
    now: dt.datetime,
    confirmed: bool = False,
) -> Adjustment:
    """File a correction for an agent into the site's current open period, with its reason and author.

    Above ``CONFIRM_ABOVE_MINOR`` it raises ``NeedsConfirmation`` (writing nothing) unless ``confirmed``.
    """
    if author.role not in PAY_ADJUSTERS or author.site_id != site.id:
        raise Forbidden(_("Only coordinators and finance adjust pay."))
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX_CHARS:
        message = _("Give the reason for the adjustment, in up to %(count)s characters.", count=REASON_MAX_CHARS)
        raise DomainError(message, field="reason")
    if not isinstance(amount_minor, int) or amount_minor == 0 or abs(amount_minor) > AMOUNT_LIMIT:
        raise DomainError(_("Enter an amount other than zero."), field="amount")
    agent = await session.get(User, user_id)
    if agent is None or agent.site_id != site.id or agent.role is not Role.agent:
        raise NotFound("user")
    if needs_confirmation(amount_minor) and not confirmed:
        currency = site_settings(site).currency
        raise NeedsConfirmation(amount_minor=amount_minor, currency=currency, agent_name=agent.display_name)
    day = site_today(site, now)
    for _attempt in range(MAX_NEW_PERIODS):
        period = await period_for(session, site=site, day=day)
        # Hold the period row: a lock starting now waits for this adjustment, or has already moved it on.
        status = await session.scalar(
            select(PayPeriod.status)
            .where(PayPeriod.id == period.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if status == PeriodStatus.open:
            break
        day = period.ends_on
    else:  # pragma: no cover - a site cannot have this many locked periods ahead of today
        raise DomainError(_("No open pay period to file this adjustment into."), field="period")
    adjustment = Adjustment(
        site_id=site.id,
        period_id=period.id,
        user_id=user_id,
        amount_minor=amount_minor,
        reason=reason,
        author_id=author.id,
        created_at=now,
    )
    session.add(adjustment)
    await session.flush()
    return adjustment
