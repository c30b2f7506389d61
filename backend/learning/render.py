"""Lesson Markdown to HTML that is safe to put on an agent's page.

Authors write Markdown; raw HTML in it is shown as text, never run. What
markdown-it makes is then cleaned by nh3 down to a short list of tags and
attributes: images only from ``https://`` or our own ``/static/``, links only
to ``https://``, ``http://``, ``mailto:`` or a path of ours, and every link
opens with ``rel="noopener noreferrer nofollow"``. Course texts are few and
never change once published, so each rendering is cached by its text.
"""

from __future__ import annotations

import functools

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote",
        "ul", "ol", "li", "h2", "h3", "h4", "h5", "h6", "a", "img",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
IMAGE_SOURCES = ("https://", "/static/")
LINK_SCHEMES = {"https", "http", "mailto"}
LINK_REL = "noopener noreferrer nofollow"
# A text's top heading sits right under the page's h1, whatever level its author started at: a skipped
# level (h1 then h4) loses a screen reader's user, and axe and Lighthouse count it against the page.
TOP_HEADING_LEVEL = 2
CACHED_TEXTS = 512

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def _keep_attribute(tag: str, name: str, value: str) -> str | None:
    """Images load from ``https://`` or ``/static/`` only: anything else (data:, http:, other paths) is dropped."""
    if tag == "img" and name == "src":
        return value if value.startswith(IMAGE_SOURCES) else None
    return value


@functools.lru_cache(maxsize=CACHED_TEXTS)
def _render(text: str) -> str:
    env: dict[str, object] = {}
    tokens = _markdown.parse(text, env)
    headings = [token for token in tokens if token.type in ("heading_open", "heading_close")]
    shift = TOP_HEADING_LEVEL - min((int(token.tag[1]) for token in headings), default=TOP_HEADING_LEVEL)
    for token in headings:
        token.tag = f"h{min(int(token.tag[1]) + shift, 6)}"
    html = _markdown.renderer.render(tokens, _markdown.options, env)
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_keep_attribute,
        url_schemes=set(LINK_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def markdown_html(text: str | None) -> Markup:
    """``text`` (Markdown) as sanitized HTML, marked safe for Jinja; empty for no text."""
    if not text:
        return Markup("")
    return Markup(_render(text))  # cleaned by nh3 above
