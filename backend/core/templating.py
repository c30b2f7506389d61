"""Jinja templates with gettext translations (English and Simplified Chinese).

Catalogues are compiled from the ``.po`` files in ``web/locale`` when the
process starts, so no binary ``.mo`` file lives in the repository. The
locale of the current request is held in a context variable: each request
runs in its own task, so concurrent requests never see each other's.
"""

from __future__ import annotations

import contextvars
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar.connection import Request
from litestar.enums import MediaType
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from backend.core.security import LOCALE_COOKIE, current_principal

ROOT = Path(__file__).resolve().parents[2]
WEB_TEMPLATES = ROOT / "web" / "templates"
LOCALE_DIR = ROOT / "web" / "locale"
BACKEND = ROOT / "backend"
LOCALES = ("en", "zh-Hans")
DEFAULT_LOCALE = "en"
HTML_LANG = {"en": "en", "zh-Hans": "zh-Hans"}

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


def gettext(message: str, **variables: Any) -> str:
    text = TRANSLATIONS.get(current_locale(), TRANSLATIONS[DEFAULT_LOCALE]).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    text = TRANSLATIONS.get(current_locale(), TRANSLATIONS[DEFAULT_LOCALE]).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


_ = gettext


def negotiate_locale(request: Request[Any, Any, Any]) -> str:
    """The signed-in user's language, else the language cookie, else the browser's preference."""
    principal = current_principal(request)
    if principal is not None and principal.locale in LOCALES:
        return principal.locale
    cookie = request.cookies.get(LOCALE_COOKIE)
    if cookie in LOCALES:
        return cookie
    accept = request.headers.get("accept-language", "").lower()
    return "zh-Hans" if accept.startswith("zh") else DEFAULT_LOCALE


def template_directories() -> list[Path]:
    """``web/templates`` plus each domain's ``templates`` folder."""
    domain_dirs = sorted(p for p in BACKEND.glob("*/templates") if p.is_dir())
    return [WEB_TEMPLATES, *domain_dirs]


def create_environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(d)) for d in template_directories()]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["current_locale"] = current_locale
    env.globals["html_lang"] = lambda: HTML_LANG[current_locale()]
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(create_environment()))


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


def page(
    request: Request[Any, Any, Any],
    template_name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> Template:
    """Render a full page, or only its content when htmx asks for a fragment, from the same template."""
    layout = "_fragment.html" if is_htmx(request) else "base.html"
    full_context = {"layout": layout, "principal": current_principal(request), **(context or {})}
    return Template(
        template_name=template_name, context=full_context, status_code=status_code, media_type=MediaType.HTML
    )
