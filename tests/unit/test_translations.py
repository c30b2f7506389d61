"""Every message in the sources has a Simplified Chinese translation with the same placeholders."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from backend.core.i18n import LOCALE_DIR, ROOT, TRANSLATIONS, set_locale
from backend.core.i18n import gettext as _

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def extracted_messages(tmp_path: Path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", str(LOCALE_DIR / "babel.cfg"),
         "-k", "_", "-k", "gettext", "-k", "ngettext:1,2", "--omit-header", "-o", str(pot), "."],
        cwd=ROOT, check=True,
    )  # fmt: skip
    with pot.open("rb") as file:
        return {message.id if isinstance(message.id, str) else message.id[0] for message in read_po(file) if message.id}


def chinese_catalogue() -> dict[str, str | tuple[str, ...]]:
    with (LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "messages.po").open("rb") as file:
        catalog = read_po(file, locale="zh_Hans")
    return {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in catalog if m.id and not m.fuzzy}


def test_every_source_message_is_translated(tmp_path: Path) -> None:
    catalogue = chinese_catalogue()
    missing = sorted(msgid for msgid in extracted_messages(tmp_path) if not catalogue.get(msgid))
    assert missing == [], "run web/locale/update.sh and translate these"


def test_translations_keep_their_placeholders() -> None:
    for msgid, translated in chinese_catalogue().items():
        text = translated if isinstance(translated, str) else translated[0]
        assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(text)), msgid


def test_service_messages_follow_the_request_locale() -> None:
    assert "zh-Hans" in TRANSLATIONS
    set_locale("zh-Hans")
    try:
        assert _("Use at least %(count)d characters.", count=10) == "至少使用 10 个字符。"
    finally:
        set_locale("en")
    assert _("Use at least %(count)d characters.", count=10) == "Use at least 10 characters."
