"""The site's day: which local date it is, its half-hour slots and its UTC bounds, and its ISO week.

Services take ``now`` (routes read ``backend.core.db.utcnow()``); "today" is the local date in the site's zone at
``now``. A local day is 46, 48 or 50 slots (daylight saving), so nothing here assumes 48.
"""

from __future__ import annotations

import datetime as dt

from backend.accounts.models import Site
from backend.accounts.zones import site_zone
from backend.core.slots import IsoWeek, local_day_slots, utc_start


def site_today(site: Site, now: dt.datetime) -> dt.date:
    """The site's local date at ``now``."""
    return now.astimezone(site_zone(site)).date()


def day_slots(site: Site, day: dt.date) -> range:
    """The half-hour slots of the site's local ``day``: local midnight up to the next local midnight."""
    return local_day_slots(day, site_zone(site))


def day_bounds(site: Site, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants the site's local ``day`` starts and ends (the end excluded)."""
    slots = day_slots(site, day)
    return utc_start(slots.start), utc_start(slots.stop)


def week_of(site: Site, day: dt.date) -> IsoWeek:
    """The ISO week (Monday to Sunday) holding the site's local ``day``."""
    del site  # a local date's week does not depend on the zone; kept so callers say whose day it is
    return IsoWeek.of(day)
