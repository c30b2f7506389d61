"""What comes in for requests: the draft an asker fills in (one template per kind), the actions' forms and the
settings' forms.

Every field carries its ``RefuseWith``, so a page reads a posted form with ``core.web.parse_fields(XForm, data)``
(``data`` the posted text as a mapping): a field that does not convert is a 422 naming it, a blank field takes
its default. The rules that need the database or the clock (a shift the agent holds, a date not in the future, a
root cause from the site's list) are the services' (``intake``, ``actions``, ``routing``), also naming the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from backend.accounts.schemas import Form
from backend.core.bounds import ID_BOUNDS, Bounded
from backend.core.web import RefuseWith
from backend.requests.models import Calendar, IdeaOutcome, Involvement, Priority, RequestKind
from backend.requests.targets import MAX_TARGET_MINUTES

TITLE_MAX = 160
DETAILS_MAX = 4000
EXPECTED_MAX = 1000
QUESTION_MAX = 200  # a quiz question's number
BODY_MAX = 4000  # an answer, a note, a reply
NOTE_MAX = 2000  # a hand-over note, a consultation's question and answer, a resolution
REASON_MAX = 1000
COMMENT_MAX = 1000
LINE_REF_MAX = 200


Csrf = Annotated[str, RefuseWith(lambda _: _("Reload the page and try again."))]
KindChoice = Annotated[RequestKind, RefuseWith(lambda _: _("Choose what your request is about."))]
Title = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=TITLE_MAX),
    RefuseWith(
        lambda _: _("Give a title of at most %(count)d characters.", count=TITLE_MAX),
        missing=lambda _: _("Give your request a title."),
    ),
]
Details = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=DETAILS_MAX),
    RefuseWith(
        lambda _: _("Keep what happened to at most %(count)d characters.", count=DETAILS_MAX),
        missing=lambda _: _("Say what happened."),
    ),
]
Expected = Annotated[
    str,
    msgspec.Meta(max_length=EXPECTED_MAX),
    RefuseWith(lambda _: _("Keep what you expect to at most %(count)d characters.", count=EXPECTED_MAX)),
]
Day = Annotated[dt.date, RefuseWith(lambda _: _("Give a date like 2030-01-31."))]
ShiftChoice = Annotated[int, ID_BOUNDS, RefuseWith(lambda _: _("Choose one of your shifts."))]
PeriodChoice = Annotated[int, ID_BOUNDS, RefuseWith(lambda _: _("Choose a pay period."))]
LineChoice = Annotated[int, ID_BOUNDS, RefuseWith(lambda _: _("Choose a line from your earnings."))]
LineRef = Annotated[
    str, msgspec.Meta(max_length=LINE_REF_MAX), RefuseWith(lambda _: _("Choose a line from your earnings."))
]
CourseChoice = Annotated[int, ID_BOUNDS, RefuseWith(lambda _: _("Choose a course."))]
QuestionNumber = Annotated[
    int,
    msgspec.Meta(ge=1, le=QUESTION_MAX),
    RefuseWith(lambda _: _("Give the question's number, from 1 to %(count)d.", count=QUESTION_MAX)),
]
Body = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=BODY_MAX),
    RefuseWith(
        lambda _: _("Keep it to at most %(count)d characters.", count=BODY_MAX),
        missing=lambda _: _("Write something first."),
    ),
]
Note = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=NOTE_MAX),
    RefuseWith(
        lambda _: _("Keep it to at most %(count)d characters.", count=NOTE_MAX),
        missing=lambda _: _("Write something first."),
    ),
]
OptionalNote = Annotated[
    str,
    msgspec.Meta(max_length=NOTE_MAX),
    RefuseWith(lambda _: _("Keep it to at most %(count)d characters.", count=NOTE_MAX)),
]
Reason = Annotated[
    str,
    msgspec.Meta(max_length=REASON_MAX),
    RefuseWith(lambda _: _("Keep the reason to at most %(count)d characters.", count=REASON_MAX)),
]
PauseReason = Annotated[
    str, msgspec.Meta(min_length=1, max_length=32), RefuseWith(lambda _: _("Choose why you ask the asker."))
]
TeamChoice = Annotated[int, ID_BOUNDS, RefuseWith(lambda _: _("Choose a team."))]
PersonChoice = Annotated[int, ID_BOUNDS, RefuseWith(lambda _: _("Choose a person."))]
ConsultationChoice = Annotated[int, ID_BOUNDS, RefuseWith(lambda _: _("Choose a consultation."))]
PriorityChoice = Annotated[Priority, RefuseWith(lambda _: _("Choose a priority."))]
RootCause = Annotated[str, msgspec.Meta(min_length=1, max_length=80), RefuseWith(lambda _: _("Choose a root cause."))]
Rating = Annotated[int, msgspec.Meta(ge=1, le=5), RefuseWith(lambda _: _("Give 1 to 5 stars."))]
Comment = Annotated[
    str,
    msgspec.Meta(max_length=COMMENT_MAX),
    RefuseWith(lambda _: _("Keep the comment to at most %(count)d characters.", count=COMMENT_MAX)),
]
OutcomeChoice = Annotated[IdeaOutcome, RefuseWith(lambda _: _("Choose what was done with the idea."))]
OnOff = Annotated[bool, RefuseWith(lambda _: _("Choose yes or no."))]


class RequestForm(Form, kw_only=True):
    """A requests form: the CSRF field (checked by the middleware) with its refusal, so ``parse_fields`` reads it."""

    csrf_token: Csrf = msgspec.field(default="", name="_csrf_token")


# The draft: one template per kind (``kinds.TEMPLATE`` says which link each takes) ---------------------------


class RequestDraft(RequestForm, Bounded, kw_only=True):
    """What an asker writes: the kind, a title, what happened and when, what they expect, and the link that fits
    the kind (a shift, a pay period and an earnings line, a course and a question). ``intake.raise_request``
    checks the link against the kind and the asker, and that ``happened_on`` is not in the future."""

    kind: KindChoice
    title: Title
    details: Details
    happened_on: Day | None = None
    expected: Expected = ""
    shift: ShiftChoice | None = None
    period: PeriodChoice | None = None
    line: LineChoice | None = None
    line_ref: LineRef = ""
    course: CourseChoice | None = None
    question: QuestionNumber | None = None


# The actions (``backend.requests.actions``) -----------------------------------------------------------------


class AnswerForm(RequestForm, kw_only=True):
    body: Body


class NoteForm(RequestForm, kw_only=True):
    body: Body


class HandOverForm(RequestForm, kw_only=True):
    """To another team (and perhaps one of its members), with the reason and what has been done."""

    team: TeamChoice
    user: PersonChoice | None = None
    note: Note


class AskAskerForm(RequestForm, kw_only=True):
    """A question to the asker; ``reason`` one of ``clock.PAUSE_REASONS`` (the clock pauses for it)."""

    body: Body
    reason: PauseReason


class ReplyForm(RequestForm, kw_only=True):
    body: Body


class ConsultForm(RequestForm, kw_only=True):
    user: PersonChoice
    question: Note


class ConsultAnswerForm(RequestForm, kw_only=True):
    consultation: ConsultationChoice | None = None
    answer: Note


class PriorityForm(RequestForm, kw_only=True):
    priority: PriorityChoice
    reason: Reason = ""


class ResolveForm(RequestForm, kw_only=True):
    root_cause: RootCause
    resolution: Note


class ReopenForm(RequestForm, kw_only=True):
    reason: Annotated[
        str,
        msgspec.Meta(min_length=1, max_length=REASON_MAX),
        RefuseWith(
            lambda _: _("Keep the reason to at most %(count)d characters.", count=REASON_MAX),
            missing=lambda _: _("Say why it is not solved."),
        ),
    ]


class RateForm(RequestForm, kw_only=True):
    rating: Rating
    comment: Comment = ""


class OutcomeForm(RequestForm, kw_only=True):
    """What was done with an idea; the note (where, or why not) is required for done and declined (the service's
    rule, naming ``note``)."""

    outcome: OutcomeChoice
    note: OptionalNote = ""


class MeTooForm(RequestForm, kw_only=True):
    on: OnOff = True


# Settings (``backend.requests.routing``) ---------------------------------------------------------------------

TeamName = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=80),
    RefuseWith(
        lambda _: _("Keep the name to at most %(count)d characters.", count=80),
        missing=lambda _: _("Give the team a name."),
    ),
]
TeamNameZh = Annotated[
    str,
    msgspec.Meta(max_length=80),
    RefuseWith(lambda _: _("Keep the name to at most %(count)d characters.", count=80)),
]
CalendarChoice = Annotated[Calendar, RefuseWith(lambda _: _("Choose business hours or calendar hours."))]
InvolvementChoice = Annotated[Involvement, RefuseWith(lambda _: _("Choose acts, consulted or informed."))]
SkillChoice = Annotated[int, ID_BOUNDS, RefuseWith(lambda _: _("Choose a skill."))]


class TeamForm(RequestForm, kw_only=True):
    name: TeamName
    name_zh: TeamNameZh = ""
    calendar: CalendarChoice = Calendar.business
    lead: PersonChoice | None = None


class MemberForm(RequestForm, kw_only=True):
    user: PersonChoice


class RuleForm(RequestForm, kw_only=True):
    """Send ``kind`` (only for ``skill``, or any skill) to ``team`` and perhaps its member ``owner``."""

    kind: KindChoice
    skill: SkillChoice | None = None
    team: TeamChoice
    owner: PersonChoice | None = None


class ResponsibilityForm(RequestForm, kw_only=True):
    """One cell of the responsibility matrix: exactly one of ``team`` and ``user``."""

    kind: KindChoice
    involvement: InvolvementChoice
    team: TeamChoice | None = None
    user: PersonChoice | None = None


Minutes = Annotated[
    int,
    msgspec.Meta(ge=1, le=MAX_TARGET_MINUTES),
    RefuseWith(lambda _: _("Give the minutes as a whole number, at least 1.")),
]


class TargetForm(RequestForm, kw_only=True):
    """A target of the site: minutes to the first response and to the resolution for a kind at a priority."""

    kind: Annotated[RequestKind, RefuseWith(lambda _: _("Choose a kind."))]
    priority: Annotated[Priority, RefuseWith(lambda _: _("Choose a priority."))]
    first_response_minutes: Minutes
    resolution_minutes: Minutes


class HoursForm(RequestForm, kw_only=True):
    """The site's working hours for business-hours clocks, and the loop's numbers (the days come as a list)."""

    hours_open: Annotated[
        str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$"), RefuseWith(lambda _: _("Give a time like 09:00."))
    ]
    hours_close: Annotated[
        str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$"), RefuseWith(lambda _: _("Give a time like 18:00."))
    ]
    warn_percent: Annotated[
        int, msgspec.Meta(ge=1, le=99), RefuseWith(lambda _: _("Give a share from 1 to 99 per cent."))
    ]
    bounce_limit: Annotated[
        int, msgspec.Meta(ge=1, le=20), RefuseWith(lambda _: _("Give a number of hand-overs from 1 to 20."))
    ]
    confirm_days: Annotated[
        int, msgspec.Meta(ge=1, le=30), RefuseWith(lambda _: _("Give a number of days from 1 to 30."))
    ]
    root_causes: Annotated[
        str, msgspec.Meta(min_length=1, max_length=3000), RefuseWith(lambda _: _("Give at least one root cause."))
    ]
