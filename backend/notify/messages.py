"""Every notification's words, in one registry: a notification is stored as a message name and its values,
and worded when it is read, in the reader's current language, time zone and day.

So an agent who switches to Chinese reads last week's notifications in Chinese too, and "tomorrow at
16:30" is still right the day after it was sent (it then reads "today at 16:30"). Values are plain JSON
and say nothing in any language: moments as ISO 8601 in UTC, a skill by both its names, money already
written as "CNY 12.50" (the same in every language), and free text someone typed (a dispute's answer)
as typed. Each message's title and body are msgids here, so the catalogue sees them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from backend.accounts.models import Skill, localized_skill_name
from backend.core.i18n import date_text, localized_name, moment_label, moment_phrase, ngettext
from backend.core.i18n import gettext as _

Values = Mapping[str, Any]


class Reader(msgspec.Struct, frozen=True, kw_only=True):
    """Who reads a notification, for wording it: their zone and their today (in that zone)."""

    zone: ZoneInfo
    today: dt.date

    @classmethod
    def at(cls, zone: ZoneInfo, now: dt.datetime) -> Reader:
        return cls(zone=zone, today=now.astimezone(zone).date())


class Words(msgspec.Struct, frozen=True):
    title: str
    body: str = ""


Wording = Callable[[Values, Reader], Words]
MESSAGES: dict[str, Wording] = {}


def message(name: str) -> Callable[[Wording], Wording]:
    def register(wording: Wording) -> Wording:
        MESSAGES[name] = wording
        return wording

    return register


def words_of(name: str, values: Values, reader: Reader) -> Words:
    """The notification's title and body in the current language; an unknown name is a programming error."""
    return MESSAGES[name](values, reader)


# Values in, values out ---------------------------------------------------------------------------


def moment_value(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def skill_values(skill: Skill | None) -> dict[str, str]:
    return {"skill": skill.name if skill else "", "skill_zh": skill.name_zh if skill else ""}


def _moment(values: Values, key: str) -> dt.datetime:
    return dt.datetime.fromisoformat(values[key])


def _phrase(values: Values, key: str, reader: Reader) -> str:
    return moment_phrase(_moment(values, key), reader.zone, reader.today)


def _label(values: Values, key: str, reader: Reader) -> str:
    return moment_label(_moment(values, key), reader.zone, reader.today)


def _clock(values: Values, key: str, reader: Reader) -> str:
    return f"{_moment(values, key).astimezone(reader.zone):%H:%M}"


def _skill(values: Values) -> str:
    return localized_skill_name(values.get("skill", ""), values.get("skill_zh", ""))


# Roster ------------------------------------------------------------------------------------------


@message("roster_out")
def _roster_out(values: Values, reader: Reader) -> Words:
    return Words(
        ngettext(
            "Your roster for %(week)s is out: %(num)d shift.",
            "Your roster for %(week)s is out: %(num)d shifts.",
            values["shifts"],
            week=values["week"],
        )
    )


@message("roster_changed")
def _roster_changed(values: Values, reader: Reader) -> Words:
    return Words(
        _(
            "Your roster for %(week)s changed: %(added)s added, %(changed)s changed, %(removed)s removed.",
            week=values["week"],
            added=values["added"],
            changed=values["changed"],
            removed=values["removed"],
        )
    )


# Shifts ------------------------------------------------------------------------------------------


@message("shift_reminder")
def _shift_reminder(values: Values, reader: Reader) -> Words:
    return Words(_("Confirm your shift %(when)s: one tap on My schedule.", when=_phrase(values, "start", reader)))


@message("draw_won")
def _draw_won(values: Values, reader: Reader) -> Words:
    return Words(
        _("You won a seat in the draw: your shift %(when)s is on your schedule.", when=_phrase(values, "start", reader))
    )


@message("draw_lost")
def _draw_lost(values: Values, reader: Reader) -> Words:
    return Words(_("Not drawn this time for the shift %(when)s.", when=_phrase(values, "start", reader)))


@message("waitlist_offer")
def _waitlist_offer(values: Values, reader: Reader) -> Words:
    return Words(
        _(
            "A seat on your waitlisted shift %(when)s is yours to claim until %(until)s.",
            when=_phrase(values, "start", reader),
            until=_clock(values, "until", reader),
        )
    )


@message("open_shifts_digest")
def _open_shifts_digest(values: Values, reader: Reader) -> Words:
    lines = [
        f"{_label(line, 'start', reader)}-{_clock(line, 'end', reader)} · {_skill(line)}" for line in values["lines"]
    ]
    title = ngettext(
        "%(num)d new open shift fits your week.", "%(num)d new open shifts fit your week.", values["count"]
    )
    return Words(title, "\n".join(lines))


@message("cover_request")
def _cover_request(values: Values, reader: Reader) -> Words:
    when, end, skill = _label(values, "start", reader), _clock(values, "end", reader), _skill(values)
    if values.get("bonus"):
        return Words(
            _(
                "Urgent cover: %(start)s-%(end)s, %(skill)s, bonus %(bonus)s. Can you take it?",
                start=when,
                end=end,
                skill=skill,
                bonus=values["bonus"],
            )
        )
    return Words(_("Urgent cover: %(start)s-%(end)s, %(skill)s. Can you take it?", start=when, end=end, skill=skill))


# Intraday offers (shifts.intraday) ----------------------------------------------------------------


@message("intraday_vto")
def _intraday_vto(values: Values, reader: Reader) -> Words:
    start, end, until = _clock(values, "start", reader), _clock(values, "end", reader), _clock(values, "until", reader)
    if values.get("standby_percent"):
        title = _(
            "Time off today from %(start)s to %(end)s on paid standby (%(percent)s%% of your base)? Answer by "
            "%(until)s.",
            start=start,
            end=end,
            percent=values["standby_percent"],
            until=until,
        )
    else:
        title = _(
            "Time off today from %(start)s to %(end)s, unpaid, no penalty? Answer by %(until)s.",
            start=start,
            end=end,
            until=until,
        )
    return Words(title, _("First to accept, first granted."))


@message("intraday_extension")
def _intraday_extension(values: Values, reader: Reader) -> Words:
    return Words(
        _(
            "Can you stay until %(end)s today (%(skill)s)? Answer by %(until)s.",
            end=_clock(values, "end", reader),
            skill=_skill(values),
            until=_clock(values, "until", reader),
        )
    )


def _swap(values: Values, reader: Reader) -> dict[str, str]:
    """A swap message names someone and the shift's start."""
    return {"name": values.get("name", ""), "when": _phrase(values, "start", reader)}


@message("swap_offered")
def _swap_offered(values: Values, reader: Reader) -> Words:
    return Words(_("%(name)s offers you their shift %(when)s. Tap to answer.", **_swap(values, reader)))


@message("swap_accepted")
def _swap_accepted(values: Values, reader: Reader) -> Words:
    return Words(
        _("%(name)s accepted your shift %(when)s. It waits for a coordinator's approval.", **_swap(values, reader))
    )


@message("swap_taken")
def _swap_taken(values: Values, reader: Reader) -> Words:
    return Words(_("%(name)s took your shift %(when)s. It is off your schedule.", **_swap(values, reader)))


@message("swap_withdrawn")
def _swap_withdrawn(values: Values, reader: Reader) -> Words:
    return Words(_("%(name)s withdrew the swap of their shift %(when)s.", **_swap(values, reader)))


@message("swap_declined")
def _swap_declined(values: Values, reader: Reader) -> Words:
    return Words(_("%(name)s declined your shift %(when)s.", **_swap(values, reader)))


@message("swap_approved")
def _swap_approved(values: Values, reader: Reader) -> Words:
    return Words(_("A coordinator approved the swap of the shift %(when)s.", **_swap(values, reader)))


@message("swap_refused")
def _swap_refused(values: Values, reader: Reader) -> Words:
    return Words(_("A coordinator declined the swap of the shift %(when)s.", **_swap(values, reader)))


# Learning ----------------------------------------------------------------------------------------


@message("certification_expiring")
def _certification_expiring(values: Values, reader: Reader) -> Words:
    expires = _moment(values, "expires").astimezone(reader.zone).date()
    return Words(
        _(
            "Your %(skill)s certification expires on %(date)s: retake the course on Learn to keep it.",
            skill=_skill(values),
            date=date_text(expires),
        )
    )


# Pay and payouts ---------------------------------------------------------------------------------


@message("dispute_adjusted")
def _dispute_adjusted(values: Values, reader: Reader) -> Words:
    return Words(_("Your pay question was answered: an adjustment was added"), values.get("resolution", ""))


@message("dispute_no_change")
def _dispute_no_change(values: Values, reader: Reader) -> Words:
    return Words(_("Your pay question was answered: no change"), values.get("resolution", ""))


@message("payout_sent")
def _payout_sent(values: Values, reader: Reader) -> Words:
    return Words(
        _("Your money is on its way: %(amount)s", amount=values["amount"]),
        _("Stripe is sending it to your account; it usually arrives in your bank within a few days."),
    )


@message("payout_arrived")
def _payout_arrived(values: Values, reader: Reader) -> Words:
    return Words(_("Your payout arrived: %(amount)s", amount=values["amount"]))


@message("payout_details_needed")
def _payout_details_needed(values: Values, reader: Reader) -> Words:
    return Words(
        _("We could not send your money: your payout details need attention"),
        _(
            "Open Payouts and finish setting up your Stripe details (bank account, identity). "
            "We send the money again once Stripe accepts them."
        ),
    )


@message("payout_bank_refused")
def _payout_bank_refused(values: Values, reader: Reader) -> Words:
    return Words(
        _("Your bank did not accept the payout"),
        _("Open Payouts, check your bank details in the Stripe dashboard, and Stripe will try again."),
    )


@message("payout_owed_back")
def _payout_owed_back(values: Values, reader: Reader) -> Words:
    return Words(
        _("A payout of %(amount)s was made in error: you owe it back", amount=values["amount"]),
        _("Reason: %(reason)s. It will be taken from your next payout.", reason=values["reason"]),
    )


@message("payout_taken_back")
def _payout_taken_back(values: Values, reader: Reader) -> Words:
    return Words(
        _("A payout of %(amount)s was taken back", amount=values["amount"]),
        _("Reason: %(reason)s", reason=values["reason"]),
    )


@message("payout_platform_refused")
def _payout_platform_refused(values: Values, reader: Reader) -> Words:
    return Words(
        _("A payout to %(name)s failed: %(code)s", name=values["name"], code=values["code"]),
        _(
            "%(stripe_says)s Fix it on the Stripe side (for example, top up the balance), then retry the payout.",
            stripe_says=values["stripe_says"],
        ),
    )


@message("payout_reversal_refused")
def _payout_reversal_refused(values: Values, reader: Reader) -> Words:
    return Words(
        _("Stripe refused to take back the payout to %(name)s", name=values["name"]),
        _(
            "%(refusal)s The agent owes %(amount)s; it is netted from their next payout.",
            refusal=values["refusal"],
            amount=values["amount"],
        ),
    )


@message("shift_cancelled")
def _shift_cancelled(values: Values, reader: Reader) -> Words:
    return Words(
        _("Your shift %(when)s was cancelled. It is off your schedule.", when=_phrase(values, "start", reader)),
        _("Reason: %(reason)s", reason=values["reason"]),
    )


@message("no_show_marked")
def _no_show_marked(values: Values, reader: Reader) -> Words:
    return Words(
        _("You were marked a no-show for your shift %(when)s.", when=_phrase(values, "start", reader)),
        _(
            "If something outside your control kept you away, appeal it on your Reliability page: "
            "a coordinator can waive it."
        ),
    )


# Staff alerts ------------------------------------------------------------------------------------


@message("staff_dispute")
def _staff_dispute(values: Values, reader: Reader) -> Words:
    first, last = dt.date.fromisoformat(values["first"]), dt.date.fromisoformat(values["last"])
    return Words(
        _(
            "%(name)s asked a pay question about %(first)s-%(last)s.",
            name=values["name"],
            first=date_text(first),
            last=date_text(last),
        ),
        values.get("text", ""),
    )


@message("staff_cover_unfilled")
def _staff_cover_unfilled(values: Values, reader: Reader) -> Words:
    return Words(
        _(
            "Cover found nobody: %(start)s-%(end)s, %(skill)s. Every wave was asked.",
            start=_label(values, "start", reader),
            end=_clock(values, "end", reader),
            skill=_skill(values),
        )
    )


@message("staff_unconfirmed")
def _staff_unconfirmed(values: Values, reader: Reader) -> Words:
    day = dt.date.fromisoformat(values["day"])
    title = ngettext(
        "%(num)d shift on %(date)s is not confirmed yet.",
        "%(num)d shifts on %(date)s are not confirmed yet.",
        values["count"],
        date=date_text(day),
    )
    return Words(title, ", ".join(values.get("names", [])))


@message("staff_late")
def _staff_late(values: Values, reader: Reader) -> Words:
    title = ngettext(
        "%(num)d agent has not started their %(start)s shift.",
        "%(num)d agents have not started their %(start)s shift.",
        values["count"],
        start=_clock(values, "start", reader),
    )
    return Words(title, ", ".join(values.get("names", [])))


@message("staff_handover")
def _staff_handover(values: Values, reader: Reader) -> Words:
    return Words(
        _(
            "%(name)s's duty ended %(when)s without a handover.",
            name=values["name"],
            when=_phrase(values, "end", reader),
        )
    )


# Requests (backend.requests.notices: values carry the request's id and title, a team by both its names) ---------


def _request_team(values: Values) -> str:
    """The team a request went to, in the reader's language; no team: the site's queue."""
    if not values.get("team"):
        return _("the site's queue")
    return localized_name(values["team"], values.get("team_zh", ""))


def _request_target(values: Values) -> str:
    """Which of a request's two clocks: the first response or the resolution."""
    return _("first response") if values.get("target") == "response" else _("resolution")


def _idea_outcome(values: Values) -> str:
    outcome = values.get("outcome")
    if outcome == "done":
        return _("done")
    if outcome == "declined":
        return _("declined")
    return _("planned")


@message("request_answered")
def _request_answered(values: Values, reader: Reader) -> Words:
    return Words(_("Your request “%(title)s” has an answer.", title=values["title"]), values.get("text", ""))


@message("request_handed_over")
def _request_handed_over(values: Values, reader: Reader) -> Words:
    return Words(_("Your request “%(title)s” is now with %(team)s.", title=values["title"], team=_request_team(values)))


@message("request_waiting_for_you")
def _request_waiting_for_you(values: Values, reader: Reader) -> Words:
    return Words(
        _("Your request “%(title)s” needs your answer: the clock waits for you.", title=values["title"]),
        values.get("text", ""),
    )


@message("request_resolved")
def _request_resolved(values: Values, reader: Reader) -> Words:
    return Words(
        ngettext(
            "Your request “%(title)s” is resolved. Confirm it, or reopen it within %(num)d day.",
            "Your request “%(title)s” is resolved. Confirm it, or reopen it within %(num)d days.",
            values["days"],
            title=values["title"],
        ),
        values.get("text", ""),
    )


@message("request_reopened")
def _request_reopened(values: Values, reader: Reader) -> Words:
    return Words(
        _("%(name)s reopened “%(title)s”: it is not solved.", name=values["name"], title=values["title"]),
        values.get("text", ""),
    )


@message("request_closed")
def _request_closed(values: Values, reader: Reader) -> Words:
    return Words(_("Your request “%(title)s” is closed.", title=values["title"]))


@message("request_idea_outcome")
def _request_idea_outcome(values: Values, reader: Reader) -> Words:
    return Words(
        _("The idea “%(title)s”: %(outcome)s.", title=values["title"], outcome=_idea_outcome(values)),
        values.get("text", ""),
    )


@message("request_new")
def _request_new(values: Values, reader: Reader) -> Words:
    return Words(
        _("New request for %(team)s: “%(title)s”.", team=_request_team(values), title=values["title"]),
        values.get("text", ""),
    )


@message("request_consulted")
def _request_consulted(values: Values, reader: Reader) -> Words:
    return Words(
        _("%(name)s asks for your view on “%(title)s”.", name=values["name"], title=values["title"]),
        values.get("text", ""),
    )


@message("request_consult_answered")
def _request_consult_answered(values: Values, reader: Reader) -> Words:
    return Words(
        _("%(name)s answered your question on “%(title)s”.", name=values["name"], title=values["title"]),
        values.get("text", ""),
    )


@message("request_informed")
def _request_informed(values: Values, reader: Reader) -> Words:
    return Words(
        _("For your information: %(name)s asked “%(title)s”.", name=values["name"], title=values["title"]),
        values.get("text", ""),
    )


@message("request_warned")
def _request_warned(values: Values, reader: Reader) -> Words:
    return Words(
        _(
            "“%(title)s” is close to its %(target)s target: due %(when)s.",
            title=values["title"],
            target=_request_target(values),
            when=_phrase(values, "due", reader),
        )
    )


@message("request_breached")
def _request_breached(values: Values, reader: Reader) -> Words:
    return Words(_("“%(title)s” missed its %(target)s target.", title=values["title"], target=_request_target(values)))


@message("request_escalated")
def _request_escalated(values: Values, reader: Reader) -> Words:
    return Words(
        _(
            "“%(title)s” missed its %(target)s target and is escalated to you (level %(level)s).",
            title=values["title"],
            target=_request_target(values),
            level=values["level"],
        )
    )


@message("request_bounced")
def _request_bounced(values: Values, reader: Reader) -> Words:
    return Words(
        ngettext(
            "“%(title)s” was handed back to a team that had it before %(num)d time: it bounces between teams.",
            "“%(title)s” was handed back to a team that had it before %(num)d times: it bounces between teams.",
            values["count"],
            title=values["title"],
        )
    )


@message("request_replied")
def _request_replied(values: Values, reader: Reader) -> Words:
    return Words(
        _("%(name)s replied on “%(title)s”.", name=values["name"], title=values["title"]), values.get("text", "")
    )
