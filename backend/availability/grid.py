"""The availability grid as the page shows it: one day of half-hours at a time, plus its view state.

The page keeps no state in the browser: the week, the day, the mode (tap or
paint a range), the brush and the first tap of a range (the anchor) travel in
the URL and in hidden form fields, so every edit works as a plain form post
and as an htmx swap alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, User
from backend.accounts.site_settings import site_settings
from backend.accounts.zones import user_zone
from backend.availability import edits, service
from backend.availability.models import Preference
from backend.availability.schemas import GridForm
from backend.core.errors import DomainError
from backend.core.i18n import date_span_text
from backend.core.i18n import gettext as _
from backend.core.slots import IsoWeek, hours, local_day_slots, local_start

MODES = ("tap", "paint")
BRUSHES = ("preferred", "if_needed", "off")


@dataclass(frozen=True)
class GridState:
    """Where the agent is on the grid: which week and day, and how a tap on a half-hour acts."""

    week: IsoWeek
    day: int
    mode: str = "tap"
    brush: str = "preferred"
    anchor: int | None = None

    def query(self, **changes: Any) -> str:
        state = replace(self, **changes)
        params = {"week": str(state.week), "day": state.day, "mode": state.mode, "brush": state.brush}
        if state.anchor is not None:
            params["anchor"] = state.anchor
        return "?" + urlencode(params)


def weekday_names() -> list[str]:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def preset_choices() -> list[tuple[str, str]]:
    return [
        ("evening", _("Evening 18:00-22:00")),
        ("school", _("School hours 09:00-15:00")),
        ("morning", _("Morning 08:00-12:00")),
        ("clear", _("Clear day")),
    ]


def week_title(week: IsoWeek, current: IsoWeek) -> str:
    """The week as the agent would say it: "This week", "Next week", else its dates (never "This week" for another)."""
    if week == current:
        return _("This week")
    if week == current.shifted(1):
        return _("Next week")
    return date_span_text(week.monday, week.days()[-1])


def state_labels() -> dict[str, str]:
    return {"off": _("off"), "preferred": _("preferred"), "if_needed": _("if needed")}


def read_state(
    user: User,
    site: Site,
    now: dt.datetime,
    *,
    week: str = "",
    day: int | None = None,
    mode: str = "tap",
    brush: str = "preferred",
    anchor: str = "",
) -> GridState:
    """The view state from a query string or form, with sensible defaults for anything missing or odd."""
    chosen = service.parse_week(week) if week else service.default_week(user, site, now)
    if day is None or not 0 <= day <= 6:
        today = now.astimezone(user_zone(user)).date()
        day = today.weekday() if today in chosen.days() else 0
    return GridState(
        week=chosen,
        day=day,
        mode=mode if mode in MODES else "tap",
        brush=brush if brush in BRUSHES else "preferred",
        anchor=int(anchor) if anchor.isdigit() else None,
    )


def parse_max_hours(text: str) -> float | None:
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise DomainError(_("Enter the weekly cap in hours, such as 12."), field="max_hours") from None


async def apply_edit(
    session: AsyncSession,
    *,
    user: User,
    site: Site,
    form: GridForm,
    now: dt.datetime,
    editor: edits.Editor,
) -> GridState:
    """Carry out one grid edit; return the view state to show next (a range's first tap sets the anchor)."""
    state = read_state(
        user, site, now, week=form.week, day=form.day, mode=form.mode, brush=form.brush, anchor=form.anchor
    )
    if form.action != "template-save":  # keeping the pattern as a template changes nothing in the week
        # A closed week answers with its deadline first: that refusal stands whatever the page showed.
        service.ensure_writable(
            service.week_rules(user=user, site=site, week=state.week, now=now, editor_role=editor.role)
        )
        await service.ensure_unchanged_since(
            session, user=user, week=state.week, version=form.version, editor_id=editor.id, now=now
        )
    where = {"session": session, "user": user, "site": site, "week": state.week, "now": now, "editor": editor}
    if form.action in {"tap", "paint"} and form.slot is None:
        raise DomainError(_("Choose a half-hour."), field="slot")
    if form.action == "tap" and form.slot is not None:
        await edits.tap_slot(slot=form.slot, **where)
    elif form.action == "paint" and form.slot is not None:
        if state.anchor is None:
            return replace(state, anchor=form.slot)
        brush = None if state.brush == "off" else Preference(state.brush)
        await edits.paint_range(first=state.anchor, last=form.slot, brush=brush, **where)
        return replace(state, anchor=None)
    elif form.action == "preset":
        await edits.apply_preset(day=state.week.days()[state.day], preset=form.preset, **where)
    elif form.action == "copy":
        await edits.copy_last_week(**where)
    elif form.action == "template-save":
        await edits.save_template(session, user=user, week=state.week)
    elif form.action == "template-apply":
        await edits.apply_template(**where)
    elif form.action == "cap":
        await edits.set_weekly_cap(max_hours=parse_max_hours(form.max_hours), **where)
    return state


async def grid_context(
    session: AsyncSession,
    *,
    user: User,
    site: Site,
    now: dt.datetime,
    editor: edits.Editor,
    state: GridState,
    base: str,
    **extra: Any,
) -> dict[str, Any]:
    """Everything the grid template shows for one agent, one week and one day."""
    rules = service.week_rules(user=user, site=site, week=state.week, now=now, editor_role=editor.role)
    answer = await service.read_week(session, user=user, week=state.week)
    template = await edits.get_template(session, user_id=user.id)
    days = state.week.days()
    names = weekday_names()
    day_slots = local_day_slots(days[state.day], rules.zone)
    labels = state_labels()
    weeks = service.open_weeks(user, site, now)
    slots = []
    for slot in day_slots:
        chosen = answer.offers.get(slot)
        value = chosen.value if chosen else "off"
        slots.append(
            {
                "slot": slot,
                "time": local_start(slot, rules.zone).strftime("%H:%M"),
                "state": value,
                "label": labels[value],
                "open": rules.is_open(slot),
                "anchor": slot == state.anchor,
            }
        )
    return {
        "agent": user,
        "state": state,
        "base": base,
        "rules": rules,
        "answer": answer,
        "preferred_hours": hours(sum(1 for p in answer.offers.values() if p is Preference.preferred)),
        "if_needed_hours": hours(sum(1 for p in answer.offers.values() if p is Preference.if_needed)),
        "weeks": weeks,
        "week_title": week_title(state.week, weeks[0]),
        "week_titles": {week: week_title(week, weeks[0]) for week in weeks},
        "days": [
            {
                "index": index,
                "name": names[index],
                "date": day,
                "hours": hours(sum(1 for slot in answer.offers if slot in local_day_slots(day, rules.zone))),
            }
            for index, day in enumerate(days)
        ],
        "slots": slots,
        "deadline_passed": now >= rules.deadline,
        "day_open": any(item["open"] for item in slots),
        "presets": preset_choices(),
        "brushes": [(name, labels[name] if name != "off" else _("erase")) for name in BRUSHES],
        "has_template": template is not None and bool(template.blocks),
        "cap_ceiling": site_settings(site).max_weekly_hours,
        "week_version": answer.version,
        "error": None,
        "saved": False,
        **extra,
    }
