"""The judge hunt through the command line, on real sockets in a lab namespace.

`scan` (JSON report, exit code) and `explain` (live and `--run`) over the local
connection, judged by the reference oracle (`tests/policy/clidiff.py`); one inventory
host is an SSH endpoint on a closed port, so exit 3 is weighed too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.lab.netns import Sock, in_netns
from tests.policy.clidiff import check_cli_seed
from tests.policy.lab import lab_namespace, plant
from tests.policy.polgen import gen_case

pytestmark = pytest.mark.lab


@pytest.mark.parametrize("seed", [2, 11, 40])
def test_scan_and_explain_agree_with_the_documented_judge(seed: int, tmp_path: Path) -> None:
    assert check_cli_seed(gen_case(seed), tmp_path) == []


def test_explain_a_host_no_policy_applies_to(tmp_path: Path) -> None:
    """Seed 2: such a host's listeners are stray; explain said the run recorded no policy
    definitions ("made by an older fleetcheck") and exited 2, live and with --run."""
    (tmp_path / "inv.yml").write_text("all:\n  hosts:\n    h1: {ansible_connection: local}\n"
                                      "  children:\n    web:\n      hosts:\n        h9:\n")
    (tmp_path / "web.yml").write_text("name: web\nhosts: web\nallow: [{id: ssh, port: 22}]\n")
    with lab_namespace() as (ns, holders):
        plant(ns, holders, [Sock("tcp", "0.0.0.0", 4444, process="nc")])
        with in_netns(ns.name):
            live = run_cli(["explain", "-i", "inv.yml", "-p", "web.yml", "h1", "4444/tcp"],
                           cwd=tmp_path)
            scan = run_cli(["scan", "-i", "inv.yml", "-p", "web.yml", "--format", "json",
                            "-o", "out", "-q"], cwd=tmp_path)
    assert live.code == 0, live.err
    assert "verdict: STRAY" in live.out and "no policy applies to this host" in live.out
    (run,) = [p for p in (tmp_path / "out").glob("fleetcheck-*.json")
              if "latest" not in p.name]
    assert json.loads(run.read_text())["hosts"][0]["policies"] == []
    saved = run_cli(["explain", "--run", str(run), "h1", "4444/tcp"], cwd=tmp_path)
    assert (saved.code, scan.code) == (0, 1), saved.err
    assert "verdict: STRAY" in saved.out
