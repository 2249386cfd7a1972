"""Every non-Linux output of the shared corpus parses to its sidecar's listeners."""

from __future__ import annotations

import pytest
import yaml

from fleetcheck.parsers import PARSERS
from tests.conftest import CORPUS
from tests.lab.prereq import require_corpus
from tests.parsers_os.cases import CORPUS_TOOLS, corpus_path, read


def test_the_corpus_has_every_non_linux_output() -> None:
    require_corpus(CORPUS)
    found = {f"{p.parent.name}/{p.stem}" for p in CORPUS.glob("*/*.out")
             if p.parent.name != "linux"}
    assert found == set(CORPUS_TOOLS)


@pytest.mark.parametrize("name", sorted(CORPUS_TOOLS))
def test_corpus_output_parses_to_its_sidecar(name: str) -> None:
    require_corpus(CORPUS)
    tool = CORPUS_TOOLS[name]
    path = corpus_path(name)
    meta = yaml.safe_load(path.with_suffix(".meta.yaml").read_text())
    got = [li.to_dict() for li in PARSERS[tool](read(path))]
    # Same listeners, same order, every key equal (optional keys only where the sidecar has them).
    assert got == meta["listeners"]
