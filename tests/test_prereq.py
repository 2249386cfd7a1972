"""The shared corpus is optional, but a corpus that is there must be whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lab.prereq import require_corpus


def test_an_absent_corpus_skips_even_in_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           ) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.skip.Exception, match="not present"):
        require_corpus(tmp_path / "missing")


def test_a_corpus_cut_short_fails_rather_than_skips(tmp_path: Path) -> None:
    (tmp_path / "linux").mkdir()
    (tmp_path / "linux" / "ss.out").write_text("Netid State\n")
    require_corpus(tmp_path, minimum=1)  # whole: no skip, no failure
    with pytest.raises(pytest.fail.Exception, match="holds 1 outputs, fewer than the 2"):
        require_corpus(tmp_path, minimum=2)
    (tmp_path / "empty").mkdir()
    with pytest.raises(pytest.fail.Exception, match="holds 0 outputs"):
        require_corpus(tmp_path / "empty")
