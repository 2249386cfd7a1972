"""Rendering at fleet scale: each report format for 500, 5,000 and 10,000 hosts, and the HTML
in Chromium (first paint, load, and the time the host filter takes to find one host).

Run from the repository root: `PYTHONPATH=. python benchmarks/render.py [HOSTS ...]`.
Prints wall and CPU seconds, output size and the cost per host; the ratio column compares
each size with the smallest one measured in the same run (10x the hosts should cost ~10x).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import Measurement, measure, print_table
from fleetcheck.model import RunResult
from fleetcheck.render import FORMATS, Renderer, RenderOptions
from tests.render.cdp import HOST_FILTER_JS, Browser, chromium_path
from tests.render.synthetic import synthetic_run

_FIRST_SCREEN = """(() => { const n = performance.getEntriesByType('navigation')[0];
    const p = performance.getEntriesByName('first-contentful-paint')[0];
    return [p ? p.startTime : n.domContentLoadedEventEnd, n.loadEventEnd]; })()"""
def _browser_load(html: str, binary: str, workdir: Path, host: str
                  ) -> tuple[float, float, float, float, int]:
    """Seconds until Chromium fires `load`, its first contentful paint and load event as the
    page measured them, the host filter's time for `host`, and the host sections."""
    path = workdir / "report.html"
    path.write_text(html)
    browser = Browser(workdir / "profile", workdir / "chromium.log").launch(binary)
    try:
        page = browser.new_page()
        took = measure(lambda: page.open(path.as_uri(), timeout=600))
        paint, load = page.js(_FIRST_SCREEN)
        filtered = page.js(HOST_FILTER_JS.replace("NAME", repr(host)))
        hosts = int(page.js("document.querySelectorAll('details.host').length"))
    finally:
        browser.close()
    return took.wall, paint / 1000, load / 1000, filtered / 1000, hosts


def _render(render: Renderer, run: RunResult, options: RenderOptions,
            ) -> tuple[str, Measurement]:
    """One rendering, measured."""
    out: list[str] = []
    took = measure(lambda: out.append(render(run, options)))
    return out[0], took


def timed(fn: Callable[[], object]) -> Measurement:
    """`measure`, for a call whose result is not needed."""
    return measure(fn)


def main() -> None:
    """Measure every format at each size and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("hosts", nargs="*", type=int, default=[500, 5000, 10000])
    args = parser.parse_args()
    sizes = sorted(args.hosts)
    runs: dict[int, RunResult] = {}
    gen_rows = []
    for n in sizes:
        took = timed(lambda n=n: runs.__setitem__(n, synthetic_run(n)))  # type: ignore[misc]
        gen_rows.append([n, took.wall, sum(len(h.listeners) for h in runs[n].hosts),
                         sum(len(h.findings) for h in runs[n].hosts)])
    print_table("Synthetic fleets (judged by the real evaluate)",
                ["hosts", "build s", "listeners", "findings"], gen_rows)
    rows = []
    options = RenderOptions(rendered_at="2026-01-01T00:00:00Z")
    html_by_size: dict[int, str] = {}
    for name, fmt in FORMATS.items():
        base: float | None = None
        for n in sizes:
            text, took = _render(fmt.render, runs[n], options)
            base = base if base is not None else took.wall
            if name == "html":
                html_by_size[n] = text
            rows.append([name, n, took.wall, took.cpu, len(text.encode()) / 2**20,
                         took.wall / n * 1e6, took.wall / base])
    print_table("Rendering one run", ["format", "hosts", "wall s", "cpu s", "MiB", "us/host",
                                      "x smallest"], rows)
    binary = chromium_path()
    if binary is None:
        print("\nChromium not installed: HTML load time not measured")
        return
    load_rows = []
    base_load: float | None = None
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            host = next(h.name for h in runs[n].hosts if h.findings)
            seconds, paint, load, filtered, hosts = _browser_load(html_by_size[n], binary,
                                                                  Path(tmp), host)
        base_load = base_load if base_load is not None else seconds
        load_rows.append([n, hosts, len(html_by_size[n].encode()) / 2**20, paint, load,
                          filtered, seconds, seconds / base_load])
    print_table("HTML report in headless Chromium (first paint and load as the page measured "
                "them; filter: one host's name typed into the host filter until it alone shows)",
                ["hosts", "host sections", "MiB", "first paint s", "load s", "filter s",
                 "navigation s", "x smallest"], load_rows)


if __name__ == "__main__":
    main()
