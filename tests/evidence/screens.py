"""Screenshots of the evidence report: saved, measured (decoded by the browser, pixel by pixel),
and copied to docs/screenshots/ only when FLEETCHECK_SCREENSHOTS=1 asks for it."""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.render.cdp import Browser, Page
from tests.render.test_browser import SCREENSHOTS

UPDATE_ENV = "FLEETCHECK_SCREENSHOTS"
COLOURS = {"red": (176, 0, 32), "amber": (255, 243, 214), "white": (255, 255, 255)}

# Decode a PNG in a blank tab through <img> and a canvas: the size, how many distinct colours,
# the share of the commonest one, and the share of each named colour (within a small tolerance).
_MEASURE = """(async () => {
  const img = new Image(); img.src = 'data:image/png;base64,' + %s; await img.decode();
  const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
  const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data, step = 3;
  const n = Math.ceil(d.length / 4 / step);  // every third pixel: the same shares, faster
  const named = %s, hits = Object.fromEntries(Object.keys(named).map(k => [k, 0]));
  const counts = new Map();
  for (let i = 0; i < d.length; i += 4 * step) {
    const key = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
    counts.set(key, (counts.get(key) || 0) + 1);
    for (const [k, [r, g, b]] of Object.entries(named)) {
      if (Math.abs(d[i] - r) + Math.abs(d[i + 1] - g) + Math.abs(d[i + 2] - b) <= 12) hits[k]++;
    }
  }
  let top = 0; for (const v of counts.values()) top = Math.max(top, v);
  const share = Object.fromEntries(Object.entries(hits).map(([k, v]) => [k, v / n]));
  return {width: c.width, height: c.height, colours: counts.size, dominant: top / n, share};
})()"""


def updating() -> bool:
    """True when the screenshots in docs/ are to be refreshed."""
    return os.environ.get(UPDATE_ENV, "") not in ("", "0")


@dataclass(frozen=True)
class Picture:
    """What a screenshot shows, in numbers."""

    width: int
    height: int
    colours: int  # distinct colours
    dominant: float  # share of the commonest colour
    share: dict[str, float]  # share of each named colour


def measure(browser: Browser, png: bytes,
            colours: Mapping[str, tuple[int, int, int]] = COLOURS) -> Picture:
    """Measure a PNG by decoding it in a fresh tab."""
    page = browser.new_page(200, 200)
    try:
        script = _MEASURE % (json.dumps(base64.b64encode(png).decode()),
                             json.dumps({k: list(v) for k, v in colours.items()}))
        return Picture(**page.js(script))
    finally:
        page.close()


def shot(page: Page, name: str, tmp_path: Path) -> Picture:
    """Screenshot the viewport into tmp_path, fail if it is blank, copy it to docs/ when
    asked; what it shows."""
    path = page.screenshot(tmp_path / f"{name}.png")
    picture = measure(page.browser, path.read_bytes())
    assert picture.colours > 50, f"{name}: a handful of colours, blank? {picture}"
    assert picture.dominant < 0.97, f"{name}: one colour covers the picture: {picture}"
    if updating():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / path.name)
    return picture
