"""Small helpers the shifts pages share."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_skeleton

from backend.core.i18n import current_locale
from backend.core.i18n import gettext as _


def day_label(day: dt.date, today: dt.date) -> str:
    """A day heading a reader takes in at a glance: Today, Tomorrow, or a short weekday and date."""
    relative = {0: _("Today"), 1: _("Tomorrow"), -1: _("Yesterday")}
    if (label := relative.get((day - today).days)) is not None:
        return label
    return format_skeleton("MMMMEd", day, locale=current_locale().replace("-", "_"))
