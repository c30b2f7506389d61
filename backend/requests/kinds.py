"""What each kind of request asks for (its template) and every label a page shows, in the reader's language."""

from __future__ import annotations

from typing import Literal

import msgspec

from backend.accounts.site_defaults import REQUEST_ROOT_CAUSES
from backend.core.i18n import gettext as _
from backend.requests.models import EventKind, IdeaOutcome, Priority, RequestKind, RequestStatus

KIND_ORDER = (
    RequestKind.schedule,
    RequestKind.pay,
    RequestKind.system,
    RequestKind.learning,
    RequestKind.idea,
    RequestKind.other,
)
"""The kinds in the order the picker shows them."""

LinkName = Literal["shift", "pay_line", "period", "course"]


class KindTemplate(msgspec.Struct, frozen=True, kw_only=True):
    """Which link a kind takes (``pay_line``: a period and a line of the asker's earnings, or a period alone;
    ``course``: a course and perhaps one of its quiz questions), whether it must be given, whether a file may come
    with it, and the priority it starts at."""

    link: LinkName | None
    link_required: bool
    attachment: bool
    default_priority: Priority


TEMPLATE: dict[RequestKind, KindTemplate] = {
    RequestKind.schedule: KindTemplate(
        link="shift", link_required=True, attachment=False, default_priority=Priority.normal
    ),
    RequestKind.pay: KindTemplate(
        link="pay_line", link_required=True, attachment=False, default_priority=Priority.normal
    ),
    RequestKind.system: KindTemplate(link=None, link_required=False, attachment=True, default_priority=Priority.normal),
    RequestKind.learning: KindTemplate(
        link="course", link_required=True, attachment=False, default_priority=Priority.low
    ),
    RequestKind.idea: KindTemplate(link=None, link_required=False, attachment=False, default_priority=Priority.low),
    RequestKind.other: KindTemplate(link=None, link_required=False, attachment=False, default_priority=Priority.normal),
}


def kind_label(kind: RequestKind | str) -> str:
    labels = {
        RequestKind.schedule: _("Schedule problem"),
        RequestKind.pay: _("Pay question or dispute"),
        RequestKind.system: _("System problem"),
        RequestKind.learning: _("Learning question"),
        RequestKind.idea: _("Improvement idea"),
        RequestKind.other: _("Something else"),
    }
    return labels.get(RequestKind(kind), str(kind))


def kind_hint(kind: RequestKind | str) -> str:
    """What to write for a kind, shown above its form."""
    hints = {
        RequestKind.schedule: _("Choose the shift, say what went wrong and what you would like to happen."),
        RequestKind.pay: _("Choose the pay period and the line you question, and say what you expected to be paid."),
        RequestKind.system: _("Say what you did, what you saw and when. A screenshot helps."),
        RequestKind.learning: _("Choose the course (and the quiz question, if it is about one) and ask."),
        RequestKind.idea: _("Say what could work better and how. Your colleagues can say \u201cme too\u201d."),
        RequestKind.other: _("Say what happened and what you expect."),
    }
    return hints.get(RequestKind(kind), "")


def root_cause_label(key: str) -> str:
    """A root cause from the site's list: the default ones translated, one the site added shown as typed."""
    labels = {
        "rules_unclear": _("Rules were unclear"),
        "schedule_error": _("Schedule error"),
        "pay_error": _("Pay error"),
        "system_fault": _("System fault"),
        "training_gap": _("Training gap"),
        "communication": _("Communication"),
        "no_fault": _("No fault found"),
        "other": _("Other"),
    }
    assert set(labels) >= set(REQUEST_ROOT_CAUSES)
    return labels.get(key, key)


def status_label(status: RequestStatus | str) -> str:
    labels = {
        RequestStatus.queued: _("Waiting to be taken"),
        RequestStatus.in_progress: _("Being handled"),
        RequestStatus.waiting: _("Waiting for the asker"),
        RequestStatus.resolved: _("Resolved"),
        RequestStatus.closed: _("Closed"),
    }
    return labels.get(RequestStatus(status), str(status))


def priority_label(priority: Priority | str) -> str:
    labels = {
        Priority.low: _("Low"),
        Priority.normal: _("Normal"),
        Priority.high: _("High"),
        Priority.urgent: _("Urgent"),
    }
    return labels.get(Priority(priority), str(priority))


def outcome_label(outcome: IdeaOutcome | str) -> str:
    labels = {IdeaOutcome.planned: _("Planned"), IdeaOutcome.done: _("Done"), IdeaOutcome.declined: _("Declined")}
    return labels.get(IdeaOutcome(outcome), str(outcome))


def event_label(event_kind: EventKind | str) -> str:
    labels = {
        EventKind.raised: _("Raised"),
        EventKind.routed: _("Routed"),
        EventKind.taken: _("Taken"),
        EventKind.answered: _("Answered"),
        EventKind.noted: _("Internal note"),
        EventKind.asked_asker: _("Asked the asker"),
        EventKind.asker_replied: _("The asker replied"),
        EventKind.handed_over: _("Handed over"),
        EventKind.bounce_flagged: _("Flagged: handed back and forth"),
        EventKind.consulted: _("Consulted"),
        EventKind.consult_answered: _("Consultation answered"),
        EventKind.informed: _("Informed"),
        EventKind.priority_raised: _("Priority raised"),
        EventKind.priority_lowered: _("Priority lowered"),
        EventKind.warned: _("Warned before the deadline"),
        EventKind.breached: _("Deadline missed"),
        EventKind.escalated: _("Escalated"),
        EventKind.resolved: _("Resolved"),
        EventKind.reopened: _("Reopened"),
        EventKind.confirmed: _("Confirmed by the asker"),
        EventKind.auto_closed: _("Closed by itself"),
        EventKind.rated: _("Rated"),
        EventKind.idea_outcome: _("Outcome of the idea"),
        EventKind.attached: _("File attached"),
    }
    return labels.get(EventKind(event_kind), str(event_kind))


def involvement_label(involvement: str) -> str:
    labels = {"acts": _("Acts"), "consulted": _("Consulted"), "informed": _("Informed")}
    return labels.get(str(involvement), str(involvement))


def calendar_label(calendar: str) -> str:
    labels = {"business": _("Business hours"), "calendar": _("Calendar hours")}
    return labels.get(str(calendar), str(calendar))
