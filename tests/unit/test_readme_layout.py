"""The README's layout section matches the tree: every domain package is listed, and nothing listed is missing."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def layout_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Layout", 1)[1]
    return section.split("```", 2)[1]


def test_every_backend_package_is_in_the_readme_layout() -> None:
    backend_part = layout_block().split("backend/", 1)[1].split("\nweb/", 1)[0]
    listed = set(re.findall(r"^  (\w+)/", backend_part, re.MULTILINE))
    packages = {p.name for p in (ROOT / "backend").iterdir() if (p / "__init__.py").exists()}
    assert packages == listed


def test_every_top_level_folder_in_the_layout_exists() -> None:
    for folder in re.findall(r"^(\w+)/", layout_block(), re.MULTILINE):
        assert (ROOT / folder).is_dir(), folder
