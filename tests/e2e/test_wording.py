"""A Chinese-speaking agent on a 360 px phone reads when to confirm their shifts in Chinese: the moment is a
Chinese phrase (明天 06:00, 12月9日周三 18:00), never an English weekday inside a Chinese sentence."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from backend.accounts.demo import demo_agents
from backend.core.db import utcnow
from backend.core.slots import slot_of
from tests.e2e.conftest import assert_clean_console
from tests.e2e.test_my_schedule import e2e_database_url, give_shifts
from tests.e2e.test_sign_in import assert_fits_phone_width, sign_in, zh

pytestmark = pytest.mark.browser

ENGLISH_DATE_WORD = re.compile(
    r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b|\b(Today|Tomorrow)\b"
)
HOURS_AHEAD = (40, 150)  # confirm opens 36 h before: in about 4 h (today or tomorrow), and in about 5 days


def test_a_chinese_agent_reads_when_to_confirm_in_chinese_at_360_px(
    phone: Any, live_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    del live_server  # started first, so its database exists
    agent = [person for person in demo_agents() if person["locale"] == "zh-Hans"][-1]
    now_slot = slot_of(utcnow())
    give_shifts(e2e_database_url(tmp_path_factory), str(agent["email"]), [now_slot + 2 * h for h in HOURS_AHEAD])

    sign_in(phone, str(agent["email"]))
    phone.goto("/app/shifts")
    expect(phone.get_by_role("heading", level=1)).to_have_text(zh("My schedule"))
    # "%(when)s 起可以确认。": the phrase stands where the placeholder was, the rest is the catalogue's Chinese.
    confirm_from = re.compile(r"^(今天|明天|\d{1,2}月\d{1,2}日周[一二三四五六日]) \d\d:\d\d 起可以确认。$")
    sentences = phone.locator(".attendance p.muted").filter(has_text="起可以确认")
    expect(sentences.nth(len(HOURS_AHEAD) - 1)).to_be_visible()  # ours, and any the demo roster gave them
    texts = [text.strip() for text in sentences.all_inner_texts()]
    for text in texts:
        assert confirm_from.match(text), text
        assert not ENGLISH_DATE_WORD.search(text), text
    assert any(re.match(r"\d{1,2}月\d{1,2}日周", text) for text in texts), "a later day is named by its date"
    assert not ENGLISH_DATE_WORD.search(phone.locator("main").inner_text())
    assert_fits_phone_width(phone)
    assert_clean_console(phone)
