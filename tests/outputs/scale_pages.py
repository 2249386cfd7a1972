"""Writes the HTML reports of the synthetic 10,000- and 5,000-host runs (tests/ahead.py).

`python -m tests.outputs.scale_pages DIR` renders `synthetic_run(n)` for each n in SIZES
into DIR/fleet-n.html, as test_html_browser's pages render it in-process (the run is
deterministic for its size: the test builds the same one to know what the page shows).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fleetcheck.render import FORMATS, RenderOptions
from tests.render.synthetic import synthetic_run

SIZES = (10_000, 5_000)


def page(directory: Path, hosts: int) -> Path:
    """Where the page of the `hosts`-host run is written."""
    return directory / f"fleet-{hosts}.html"


def main() -> None:
    """Render every size into the directory named by argv[1] (each file whole or absent)."""
    directory = Path(sys.argv[1])
    for hosts in SIZES:
        html = FORMATS["html"].render(synthetic_run(hosts), RenderOptions(rendered_at="x"))
        partial = page(directory, hosts).with_suffix(".part")
        partial.write_text(html)
        partial.rename(page(directory, hosts))


if __name__ == "__main__":
    main()
