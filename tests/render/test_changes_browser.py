"""The change sections and the trend chart in headless Chromium: drawn under the page's
strict Content-Security-Policy (no error, nothing loaded), the chart visible near the top."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetcheck.render import FORMATS, RenderOptions
from tests.render.cdp import Browser, running_browser
from tests.render.shots import shot
from tests.render.test_browser import opened
from tests.render.test_changes import _recorded

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """One headless Chromium for the module."""
    with running_browser(tmp_path_factory.mktemp("chromium")) as b:
        yield b


def test_changes_and_trend_render_under_the_csp(browser: Browser, tmp_path: Path) -> None:
    path = tmp_path / "history.html"
    path.write_text(FORMATS["html"].render(_recorded(tmp_path / "db"), RenderOptions()))
    page = opened(browser, path)  # no console error (a CSP violation is one), no request
    box = page.js("(() => { const r = document.querySelector('svg.trend-chart')"
                  ".getBoundingClientRect(); return [r.width, r.height]; })()")
    assert box[0] > 300 and box[1] > 100
    stroke = page.js("getComputedStyle(document.querySelector('polyline.s-bad')).stroke")
    assert stroke == "rgb(176, 0, 32)"  # styled by the page's own (hashed) stylesheet
    assert page.js("getComputedStyle(document.querySelector('polyline.s-bad')).fill") == "none"
    headings = page.js("[...document.querySelectorAll('#changes h3')].map(h => h.textContent)")
    assert headings == ["New since last run (1)", "Reopened (1)", "Fixed (1)",
                        "Not verified tonight (1)"]
    top = page.js("document.querySelector('#changes').getBoundingClientRect().top")
    findings = page.js("document.querySelector('#findings').getBoundingClientRect().top")
    assert top < findings
    page.js("document.querySelector('#changes').scrollIntoView()")
    shot(page, "history-changes", tmp_path, full=False)
    page.js("document.querySelector('#trend').scrollIntoView()")
    shot(page, "history-trend", tmp_path)
