"""Screenshots the browser tests take: in each test's tmp dir, and in docs/screenshots/ when
FLEETCHECK_SCREENSHOTS=1 (to refresh the ones the docs show)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.conftest import REPO
from tests.render.cdp import Page

SCREENSHOTS = REPO / "docs" / "screenshots"


def shot(page: Page, name: str, tmp_path: Path, full: bool = False) -> Path:
    """Save a screenshot of `page` as NAME.png (not a blank page: over 5 kB)."""
    path = page.screenshot(tmp_path / f"{name}.png", full_page=full)
    assert path.stat().st_size > 5000
    if os.environ.get("FLEETCHECK_SCREENSHOTS", "") not in ("", "0"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / path.name)
    return path
