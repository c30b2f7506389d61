"""What the quality tests share: the npm tools under tests/quality and a signed-in agent's pages.

Lighthouse and axe-core come from npm (``tests/quality/package.json``, pinned, installed by ``make test``
with ``npm ci``). Without node or those packages the quality tests skip, unless
``WEFT_REQUIRE_BROWSER=1`` (as in CI), when they fail.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import browser_required

QUALITY_DIR = Path(__file__).resolve().parents[1] / "quality"
NODE_MODULES = QUALITY_DIR / "node_modules"
AXE_SCRIPT = NODE_MODULES / "axe-core" / "axe.min.js"
LIGHTHOUSE_RUNNER = QUALITY_DIR / "lighthouse.mjs"


def require_npm_tool(path: Path) -> str:
    """The path of ``node``, once ``path`` (a file an npm package installs) is there; skip or fail otherwise."""
    node = shutil.which("node")
    missing = []
    if node is None:
        missing.append("node")
    if not path.exists():
        missing.append(f"{path.relative_to(QUALITY_DIR.parent.parent)} (run `npm ci --prefix tests/quality`)")
    if missing:
        message = "missing: " + ", ".join(missing)
        if browser_required():
            pytest.fail(f"{message} (WEFT_REQUIRE_BROWSER=1)")
        pytest.skip(f"{message} (set WEFT_REQUIRE_BROWSER=1 to fail instead)")
    assert node is not None
    return node


def first_course_url(page: Any) -> str:
    """The Learn tab's first course, as the agent reaches it."""
    page.goto("/app/learn")
    href = page.locator("a[href^='/app/learn/courses/']").first.get_attribute("href")
    assert href, "the Learn tab lists no course"
    return str(href)
