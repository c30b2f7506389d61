"""Jinja templates: one environment over ``web/templates`` and every domain's ``templates``, translated."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar.connection import Request
from litestar.enums import MediaType
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from backend.core.errors import DomainError
from backend.core.i18n import DEFAULT_LOCALE, LOCALES, ROOT, current_locale, gettext, ngettext
from backend.core.money import decimal_text, format_money
from backend.core.security import LOCALE_COOKIE, current_principal

WEB_TEMPLATES = ROOT / "web" / "templates"
BACKEND = ROOT / "backend"
HTML_LANG = {"en": "en", "zh-Hans": "zh-Hans"}


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
    env.globals["money"] = format_money
    env.globals["amount"] = decimal_text  # a stored amount as a form shows it back ("12.50"), for parse_amount
    env.globals["html_lang"] = lambda: HTML_LANG[current_locale()]
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(create_environment()))


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


def refused_status(request: Request[Any, Any, Any], error: DomainError | None) -> int:
    """A refused form re-renders with the error: htmx swaps only 2xx answers in, so it gets 200; a plain post
    gets the error's own status."""
    return error.status_code if error is not None and not is_htmx(request) else 200


def retarget(request: Request[Any, Any, Any], response: Template, selector: str) -> Template:
    """Have htmx put the answer's ``selector`` in place of the page's, whatever the tap aimed at: a refusal (or a
    row that has left its list) re-renders the whole list, not the one row."""
    if is_htmx(request):
        response.headers["HX-Retarget"] = selector
        response.headers["HX-Reswap"] = "outerHTML"
        response.headers["HX-Reselect"] = selector
    return response


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
