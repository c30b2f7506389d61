"""The worker's payouts round: send the due Stripe payouts, and reconcile sent runs about once a day.

Runs only when this server has a Stripe key (``gateway_of``); a failing round is logged and tried again at the
next tick, without holding back the pushes the worker also sends.
"""

from __future__ import annotations

import datetime as dt
import logging

from backend.core.db import Database, WriteRefusals, utcnow
from backend.core.settings import Settings
from backend.payouts import reconcile, sender
from backend.payouts.gateway import gateway_of

log = logging.getLogger("weft.payouts")

BATCH_SIZE = 500  # payouts claimed a round: five seconds of calls at 100 a second
RECONCILE_SCAN_EVERY = dt.timedelta(minutes=1)  # which sent runs are due a daily reconciliation


class PayoutRounds:
    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self._next_scan: dt.datetime | None = None
        self._refusals = WriteRefusals(log, meanwhile="payouts wait until it accepts them again")

    async def run_round(self, now: dt.datetime | None = None) -> sender.SendReport:
        report = sender.SendReport()
        gateway = gateway_of(self.settings)
        if gateway is None:
            return report
        now = now or utcnow()
        try:
            report = await sender.send_due(self.database, gateway=gateway, now=now, limit=BATCH_SIZE)
            if self._next_scan is None or now >= self._next_scan:
                self._next_scan = now + RECONCILE_SCAN_EVERY
                await reconcile.reconcile_due(self.database, gateway, now=now)
        except Exception as error:
            if not self._refusals.noted(error):
                log.exception("payouts round failed; trying again at the next tick")
            return report
        if report.total:
            log.info(
                "payouts: %s sent, %s adopted, %s to retry, %s failed",
                report.sent,
                report.adopted,
                report.retried,
                report.failed,
            )
        return report
