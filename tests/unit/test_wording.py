"""How Weft words things in both languages: one register in Chinese, plural forms through ngettext, moments
through Babel (never an English weekday inside a Chinese sentence), and notifications worded when read."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from backend.core.i18n import LOCALE_DIR, moment_label, moment_phrase, ngettext, speaking
from backend.core.templating import create_environment
from backend.notify.messages import MESSAGES, Reader, moment_value, words_of
from backend.shifts.eligibility import Refusal, Rule

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2026, 12, 7)  # a Monday; every moment below is built from it, never from the real clock
ENGLISH_DAY_OR_MONTH = re.compile(
    r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b|\b(Today|Tomorrow)\b"
)


def at(day: dt.date, clock: str) -> dt.datetime:
    hour, minute = map(int, clock.split(":"))
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def catalogue() -> list[tuple[str, tuple[str, ...]]]:
    with (LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "messages.po").open("rb") as file:
        messages = read_po(file, locale="zh_Hans")
    return [
        (m.id if isinstance(m.id, str) else m.id[0], m.string if isinstance(m.string, tuple) else (m.string,))
        for m in messages
        if m.id
    ]


# The catalogue ---------------------------------------------------------------------------------------


def test_the_chinese_catalogue_speaks_to_the_agent_as_ni_never_nin() -> None:
    formal = [msgid for msgid, strings in catalogue() if any("您" in text for text in strings)]
    assert formal == [], "one register: 你"


def test_no_chinese_translation_carries_an_english_weekday_or_month() -> None:
    english = [
        msgid
        for msgid, strings in catalogue()
        for text in strings
        if re.search(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun)(day)?\b|\b(January|February|December)\b", text)
    ]
    assert english == []


def test_answered_right_is_a_verdict_and_the_share_is_a_rate() -> None:
    with speaking("zh-Hans"):
        environment = create_environment()
        verdict = environment.from_string('{{ _("Right") }}').render()
        share = environment.from_string('{{ _("Share answered right") }}').render()
    assert verdict == "答对了"
    assert share == "答对率"


# Plural forms ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "value", "english", "chinese"),
    [
        (Rule.daily_limit, 1, "More than 1 shift in a day.", "一天内超过 1 个班次。"),
        (Rule.daily_limit, 2, "More than 2 shifts in a day.", "一天内超过 2 个班次。"),
        (Rule.weekly_cap, 2, "Over the weekly cap of 1 hour.", "超过每周上限 1 小时。"),
        (Rule.weekly_cap, 3, "Over the weekly cap of 1.5 hours.", "超过每周上限 1.5 小时。"),
    ],
)
def test_refusals_use_the_plural_form_that_fits_the_count(rule: Rule, value: int, english: str, chinese: str) -> None:
    refusal = Refusal(rule, value=value)
    assert refusal.message() == english
    with speaking("zh-Hans"):
        assert refusal.message() == chinese


@pytest.mark.parametrize(("count", "english", "chinese"), [(1, "1 agent", "1 名坐席"), (3, "3 agents", "3 名坐席")])
def test_templates_choose_the_plural_form_and_fill_their_own_values(count: int, english: str, chinese: str) -> None:
    source = '{{ ngettext("%(num)s agent", "%(num)s agents", n) }}'
    assert create_environment().from_string(source).render(n=count) == english
    with speaking("zh-Hans"):
        assert create_environment().from_string(source).render(n=count) == chinese


def test_a_template_plural_with_more_values_than_the_count_is_filled_once() -> None:
    source = '{{ ngettext("%(taken)s of %(num)s seat taken", "%(taken)s of %(num)s seats taken", n, taken=t) }}'
    assert create_environment().from_string(source).render(n=1, t=0) == "0 of 1 seat taken"
    assert create_environment().from_string(source).render(n=5, t=2) == "2 of 5 seats taken"


def test_service_plurals_fill_num() -> None:
    assert ngettext("%(num)d shift", "%(num)d shifts", 1) == "1 shift"
    assert ngettext("%(num)d shift", "%(num)d shifts", 4) == "4 shifts"


# Moments ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "english", "chinese"),
    [
        (at(TODAY, "16:30"), "Today 16:30", "今天 16:30"),
        (at(TODAY + dt.timedelta(days=1), "09:00"), "Tomorrow 09:00", "明天 09:00"),
        (at(TODAY - dt.timedelta(days=1), "23:00"), "Yesterday 23:00", "昨天 23:00"),
        (at(TODAY + dt.timedelta(days=7), "16:30"), "Mon 14 Dec 16:30", "12月14日周一 16:30"),
    ],
)
def test_a_moment_label_reads_naturally_in_both_languages(moment: dt.datetime, english: str, chinese: str) -> None:
    assert moment_label(moment, SHANGHAI, TODAY) == english
    with speaking("zh-Hans"):
        assert moment_label(moment, SHANGHAI, TODAY) == chinese


@pytest.mark.parametrize(
    ("moment", "english", "chinese"),
    [
        (at(TODAY, "16:15"), "Started today at 16:15.", "今天 16:15 开始。"),
        (at(TODAY - dt.timedelta(days=3), "16:15"), "Started on Fri 4 Dec at 16:15.", "12月4日周五 16:15 开始。"),
    ],
)
def test_a_sentence_embeds_a_moment_as_a_phrase_not_as_a_caption(
    moment: dt.datetime, english: str, chinese: str
) -> None:
    source = '{{ _("Started %(when)s.", when=phrase(m)) }}'

    def phrase(moment: dt.datetime) -> str:
        return moment_phrase(moment, SHANGHAI, TODAY)

    assert create_environment().from_string(source).render(m=moment, phrase=phrase) == english
    with speaking("zh-Hans"):
        assert create_environment().from_string(source).render(m=moment, phrase=phrase) == chinese


def test_a_moment_is_shown_in_the_readers_zone() -> None:
    moment = dt.datetime(2026, 12, 7, 23, 30, tzinfo=dt.UTC)  # already Tuesday 07:30 in Shanghai
    assert moment_phrase(moment, SHANGHAI, TODAY) == "tomorrow at 07:30"
    assert moment_phrase(moment, ZoneInfo("Europe/London"), TODAY) == "today at 23:30"


# Notifications ---------------------------------------------------------------------------------------


def test_a_notification_is_worded_again_for_each_reading() -> None:
    values = {"start": moment_value(at(TODAY + dt.timedelta(days=1), "16:30"))}
    the_day_before = Reader(zone=SHANGHAI, today=TODAY)
    on_the_day = Reader(zone=SHANGHAI, today=TODAY + dt.timedelta(days=1))

    assert words_of("shift_reminder", values, the_day_before).title == (
        "Confirm your shift tomorrow at 16:30: one tap on My schedule."
    )
    assert words_of("shift_reminder", values, on_the_day).title == (
        "Confirm your shift today at 16:30: one tap on My schedule."
    )
    with speaking("zh-Hans"):
        chinese = words_of("shift_reminder", values, the_day_before).title
    assert chinese == "请确认你 明天 16:30 的班次：在“我的班表”中点一下即可。"  # noqa: RUF001


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_every_registered_message_has_chinese_words_without_an_english_weekday(name: str) -> None:
    start = moment_value(at(TODAY + dt.timedelta(days=3), "18:00"))
    values = {
        "start": start,
        "end": moment_value(at(TODAY + dt.timedelta(days=3), "22:00")),
        "until": moment_value(at(TODAY, "20:00")),
        "expires": start,
        "skill": "Billing",
        "skill_zh": "账单",
        "name": "Ana",
        "week": "2026-W51",
        "shifts": 1,
        "added": 1,
        "changed": 0,
        "removed": 0,
        "count": 1,
        "lines": [{"start": start, "end": start, "skill": "Billing", "skill_zh": "账单"}],
        "amount": "CNY 12.50",
        "bonus": "CNY 30.00",
        "reason": "sent twice",
        "resolution": "",
        "code": "balance_insufficient",
        "stripe_says": "",
        "refusal": "",
        "day": (TODAY + dt.timedelta(days=1)).isoformat(),
        "first": TODAY.isoformat(),
        "last": (TODAY + dt.timedelta(days=6)).isoformat(),
        "names": ["Ana", "Bo"],
        "id": 7,
        "title": "The app logs me out",
        "text": "",
        "team": "Scheduling",
        "team_zh": "排班",
        "days": 5,
        "outcome": "done",
        "target": "response",
        "due": start,
        "level": 1,
    }
    reader = Reader(zone=SHANGHAI, today=TODAY)
    english = words_of(name, values, reader)
    with speaking("zh-Hans"):
        chinese = words_of(name, values, reader)
    assert chinese.title != english.title, "the Chinese catalogue has it"
    assert not ENGLISH_DAY_OR_MONTH.search(chinese.title + chinese.body), chinese
