"""Translations: English and Simplified Chinese through gettext catalogues.

Catalogues are compiled from the ``.po`` files in ``web/locale`` when the
process starts, so no binary ``.mo`` file lives in the repository. The
locale of the current request is held in a context variable: each request
runs in its own task, so concurrent requests never see each other's. Services
translate the messages they raise with ``_`` too, so a refusal reaches the
agent in their language.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

ROOT = Path(__file__).resolve().parents[2]
LOCALE_DIR = ROOT / "web" / "locale"
LOCALES = ("en", "zh-Hans")
DEFAULT_LOCALE = "en"

_current_locale: contextvars.ContextVar[str] = contextvars.ContextVar("weft_locale", default=DEFAULT_LOCALE)


def _catalogue_dir(locale: str) -> str:
    return locale.replace("-", "_")


def load_translations() -> dict[str, NullTranslations]:
    """Compile each ``messages.po`` in memory."""
    catalogues: dict[str, NullTranslations] = {DEFAULT_LOCALE: NullTranslations()}
    for locale in LOCALES:
        po_path = LOCALE_DIR / _catalogue_dir(locale) / "LC_MESSAGES" / "messages.po"
        if not po_path.exists():
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=_catalogue_dir(locale))
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        catalogues[locale] = Translations(fp=buffer)
    return catalogues


TRANSLATIONS = load_translations()


def set_locale(locale: str) -> None:
    _current_locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def current_locale() -> str:
    return _current_locale.get()


@contextlib.contextmanager
def speaking(locale: str) -> Iterator[None]:
    """Translate in ``locale`` for a while: a message written now for someone else (a notification) is in theirs."""
    token = _current_locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current_locale.reset(token)


def gettext(message: str, **variables: Any) -> str:
    text = TRANSLATIONS.get(current_locale(), TRANSLATIONS[DEFAULT_LOCALE]).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    text = TRANSLATIONS.get(current_locale(), TRANSLATIONS[DEFAULT_LOCALE]).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


_ = gettext


def _babel_locale() -> str:
    return current_locale().replace("-", "_")


def day_label(day: dt.date, today: dt.date) -> str:
    """A day heading a reader takes in at a glance: Today, Tomorrow, or a short weekday and date."""
    relative = {0: gettext("Today"), 1: gettext("Tomorrow"), -1: gettext("Yesterday")}
    if (label := relative.get((day - today).days)) is not None:
        return label
    return format_skeleton("MMMMEd", day, locale=_babel_locale())


def moment_labeller(zone: ZoneInfo, today: dt.date) -> Callable[[dt.datetime], str]:
    """Labels moments as a reader takes them in (Today 17:45, Tomorrow 06:00, or a short date); pages use it per row."""

    def when(moment: dt.datetime) -> str:
        local = moment.astimezone(zone)
        return f"{day_label(local.date(), today)} {local.strftime('%H:%M')}"

    return when


def week_label(monday: dt.date, *, short: bool = False) -> str:
    """A week named by its Monday: "Week of 30 Nov", or "11/30" where a table column is narrow."""
    if short:
        return format_skeleton("Md", monday, locale=_babel_locale())
    return gettext("Week of %(day)s", day=format_skeleton("MMMd", monday, locale=_babel_locale()))
