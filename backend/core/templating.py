"""Jinja templates: one environment over ``web/templates`` and every domain's ``templates``, translated."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar.connection import Request
from litestar.enums import MediaType
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from backend.core.errors import DomainError
from backend.core.i18n import (
    DEFAULT_LOCALE,
    LOCALES,
    ROOT,
    current_locale,
    enum_label,
    gettext,
    named_label,
    plural_form,
)
from backend.core.money import decimal_text, format_money
from backend.core.security import LOCALE_COOKIE, current_principal

WEB_TEMPLATES = ROOT / "web" / "templates"
STATIC_DIR = ROOT / "web" / "static"
STATIC_HASH_CHARS = 12
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


class StaticFiles:
    """The files under ``/static``, each named with a hash of its content (``/static/app.css?v=3f2a...``).

    The address changes whenever the bytes do, so a browser may keep a file a year (``immutable``) and a
    deploy is still seen at once. Hashes are computed once per process: a deploy restarts it.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.content_hash = cache(self._content_hash)

    def _content_hash(self, name: str) -> str:
        path = (self.directory / name).resolve()
        if not path.is_relative_to(self.directory.resolve()) or not path.is_file():
            raise FileNotFoundError(f"no static file {name!r} in {self.directory}")
        return hashlib.sha256(path.read_bytes()).hexdigest()[:STATIC_HASH_CHARS]

    def url(self, name: str) -> str:
        return f"/static/{name}?v={self.content_hash(name)}"

    def exists(self, name: str) -> bool:
        return (self.directory / name).is_file()


STATIC = StaticFiles(STATIC_DIR)


def static_url(name: str) -> str:
    """A static file's fingerprinted address, for templates (``{{ static_url('app.css') }}``)."""
    return STATIC.url(name)


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
    env.install_gettext_callables(gettext, plural_form, newstyle=True)  # type: ignore[attr-defined]
    env.globals["current_locale"] = current_locale
    env.globals["enum_label"] = enum_label  # a role, tier, status or kind in the reader's words
    env.globals["skill_label"] = named_label  # a skill by its name in the reader's language
    env.globals["money"] = format_money
    env.globals["amount"] = decimal_text  # a stored amount as a form shows it back ("12.50"), for parse_amount
    env.globals["html_lang"] = lambda: HTML_LANG[current_locale()]
    env.globals["static_url"] = static_url
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


REFUSAL_HEADER = "X-Weft-Refusal"


def refusal_headers(error: DomainError) -> dict[str, str]:
    """A refusal named in a header as well as on the page (``409 Week%202026-W50...``): the offline outbox
    replays queued writes as htmx, which answers refusals with 200, and must tell the agent which ones failed."""
    return {REFUSAL_HEADER: f"{error.status_code} {quote(error.message)}"}


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
    error = full_context.get("error")
    return Template(
        template_name=template_name,
        context=full_context,
        status_code=status_code,
        media_type=MediaType.HTML,
        headers=refusal_headers(error) if isinstance(error, DomainError) else None,
    )
