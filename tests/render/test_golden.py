"""Every format of a fixed run, byte for byte against its golden file."""

from __future__ import annotations

import pytest

from fleetcheck.model import RunResult
from fleetcheck.render import FORMATS, RenderOptions
from tests.render.golden import check_golden

RENDERED_AT = "2026-11-26T02:03:08Z"


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_composite_matches_golden(composite: RunResult, fmt: str) -> None:
    out = FORMATS[fmt].render(composite, RenderOptions(rendered_at=RENDERED_AT))
    check_golden(f"composite.{FORMATS[fmt].extension}", out)


@pytest.mark.parametrize("width", [72, 200])
def test_text_at_other_widths_matches_golden(composite: RunResult, width: int) -> None:
    check_golden(f"composite.w{width}.txt",
                 FORMATS["text"].render(composite, RenderOptions(width=width)))
