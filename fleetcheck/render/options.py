"""How a report is rendered: colour, width and render time; the run itself never varies."""

from __future__ import annotations

from fleetcheck.frozen import frozen

# Text reports written to files (and to a non-terminal stdout) use this width, so a saved
# run re-rendered later gives the same bytes whatever terminal `report` runs in.
FILE_WIDTH = 120
MIN_WIDTH = 60


@frozen
class RenderOptions:
    """Presentation settings; none of them changes a fact in the report."""

    color: bool = False  # ANSI colour (text only; a terminal that wants it)
    width: int = FILE_WIDTH  # columns the text report must fit in
    rendered_at: str | None = None  # ISO time shown in the HTML footer; None: now
    lazy_hosts_from: int | None = None  # HTML: embed host details as data from this many hosts

    def fitted_width(self) -> int:
        """The width to lay text out in, never narrower than a table can be read."""
        return max(self.width, MIN_WIDTH)
