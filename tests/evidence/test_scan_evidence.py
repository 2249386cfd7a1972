"""`scan --evidence`: a key that cannot sign is bad input before any host is contacted; a local
scan in a fresh namespace writes a bundle that verifies, and reports that name it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import run_cli, run_files
from tests.evidence.keys import allowed_line, fingerprint, keygen
from tests.evidence.saved import members
from tests.lab.netns import Namespace, Sock, SocketHolders, in_netns

OPEN_POLICY = "name: open\ndefault: allow\nforbid:\n  - id: spice\n    service: spice\n"


def test_signing_problems_stop_the_scan_before_any_host(tmp_path: Path) -> None:
    # an inventory host no one could reach: the scan must stop long before trying
    (tmp_path / "inv.yml").write_text("all:\n  hosts:\n    nowhere: {ansible_host: 10.77.9.9}\n")
    for args, message in (
            (["--evidence", "e.zip", "--sign", "no-such-key"],
             "no-such-key: cannot read the signing key"),
            (["--sign", "k"], "--sign and --include-inventory go with --evidence"),
            (["--include-inventory"], "--sign and --include-inventory go with --evidence")):
        res = run_cli(["scan", "-i", "inv.yml", "-o", "out", *args], cwd=tmp_path, environ={})
        assert res.code == 2 and message in res.err, res.err
        assert not (tmp_path / "e.zip").exists()
        out = tmp_path / "out"
        assert not out.exists() or not any(out.iterdir())  # no report either


@pytest.mark.lab
def test_a_local_scan_writes_a_bundle_its_reports_name(netns: Namespace,
                                                       holders: SocketHolders,
                                                       tmp_path: Path) -> None:
    holders.hold([Sock("tcp", "0.0.0.0", 1923, process="spiced")])
    (tmp_path / "open.yml").write_text(OPEN_POLICY)
    key = keygen(tmp_path / "keys", "ops")
    with in_netns(netns.name):
        res = run_cli(["scan", "-p", "open.yml", "-o", "out", "--format", "json,html",
                       "--evidence", "e.zip", "--sign", str(key)], cwd=tmp_path)
    assert res.code == 1, res.err  # the forbidden 1923
    (report,) = run_files(tmp_path / "out")
    run = json.loads(report.read_text())
    files = members(tmp_path / "e.zip")
    digest = hashlib.sha256(files["SHA256SUMS"]).hexdigest()
    assert run["meta"]["evidence"] == {"bundle": "e.zip", "sha256": digest,
                                       "signed_by": f"ssh-ed25519 {fingerprint(key)}"}
    assert json.loads(files["run.json"])["hosts"] == run["hosts"]
    assert files["inputs/policy/open.yml"] == OPEN_POLICY.encode()
    (html,) = (tmp_path / "out").glob("fleetcheck-2*.html")
    assert f"SHA256SUMS sha256 {digest}" in html.read_text()
    (tmp_path / "allowed").write_text(allowed_line("ops", key) + "\n")
    res = run_cli(["verify", "e.zip", "--allowed-signers", "allowed"], cwd=tmp_path)
    assert res.code == 0, res.out
