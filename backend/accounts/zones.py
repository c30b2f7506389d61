"""Whose clock a time is shown in: a site's zone and a person's zone, each defined once."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from backend.accounts.models import Site, User
from backend.core.slots import time_zone


def site_zone(site: Site) -> ZoneInfo:
    """The site's zone: rosters, demand, pay periods and deadlines run on it."""
    return time_zone(site.timezone)


def user_zone(user: User) -> ZoneInfo:
    """The person's own zone (set from their site's when they join); their pages and messages show times in it."""
    return time_zone(user.timezone)
