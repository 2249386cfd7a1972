"""Issue 15's "done when", on the real SSH lab: run -> bundle -> `fleetcheck verify`; any byte of
any file edited, or the manifest re-signed by a key allowed_signers does not list, fails
naming the file or the key; the plain-OpenSSH check of docs/evidence.md passes; the register
lists every rule and waiver with its use in the run and the overdue review; OSCAL loads in
compliance-trestle; the HTML's evidence sections in Chromium (screenshots in docs/)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from trestle.oscal.assessment_results import AssessmentResults

from tests.conftest import run_cli
from tests.evidence import review_scenario, scenario
from tests.evidence.keys import fingerprint, keygen, keygen_sign
from tests.evidence.review_scenario import CHECKED, REGISTER, ReviewRun
from tests.evidence.saved import members, rezip
from tests.evidence.scenario import LabRun
from tests.evidence.screens import shot
from tests.evidence.test_bundle import _auditor_block, _names
from tests.render.cdp import Browser
from tests.render.test_browser import clean, opened
from tests.runschema import assert_valid_run

pytestmark = pytest.mark.lab
AMBER_BG = "rgb(255, 243, 214)"  # --amber-bg: a removal candidate's row


def _process(argv: list[str], run: ReviewRun) -> subprocess.CompletedProcess[str]:
    return scenario.fleetcheck(argv, run.workdir, scenario._env(run.workdir))


def test_the_scan_writes_every_format_and_a_signed_bundle(review_run: ReviewRun) -> None:
    assert review_run.code == 1, review_run.err
    assert sorted(review_run.files) == ["csv", "groups.csv", "html", "json", "oscal.json",
                                        "register.csv", "txt", "xml"]
    run = review_run.run()
    assert_valid_run(run, "the review run's JSON")
    files = members(review_run.bundle)
    digest = hashlib.sha256(files["SHA256SUMS"]).hexdigest()
    assert run["meta"]["evidence"] == {"bundle": "evidence.zip", "sha256": digest,
                                       "signed_by": f"ssh-ed25519 {fingerprint(review_run.key)}"}
    assert (f"evidence: evidence.zip ({len(files)} files, signed with ssh-ed25519 "
            f"{fingerprint(review_run.key)})") in review_run.err
    bundled = json.loads(files["run.json"])  # the run as it finished, without the reference
    assert "evidence" not in bundled["meta"]
    assert {k: v for k, v in run["meta"].items() if k != "evidence"} == bundled["meta"]
    assert bundled["hosts"] == run["hosts"]


def test_overdue_review_is_a_finding_on_every_checked_host(review_run: ReviewRun) -> None:
    run = review_run.run()
    overdue = {h["name"]: [(f["rule"], f["severity"], f["proto"], f["port"])
                           for f in h["findings"] if f["kind"] == "overdue_review"]
               for h in run["hosts"]}
    assert overdue == {name: [("pci/webapp", "low", "tcp", 8081)] if name in CHECKED else []
                       for name in overdue}
    assert run["summary"]["by_kind"]["overdue_review"] == len(CHECKED)
    message = next(f["message"] for h in run["hosts"] for f in h["findings"]
                   if f["kind"] == "overdue_review")
    assert message.startswith(f"the review of allow rule pci/webapp is overdue: last approved "
                              f"on {review_scenario.LONG_AGO}, due on ")


def test_the_register_lists_every_rule_and_waiver_with_its_use(review_run: ReviewRun) -> None:
    text = review_run.files["register.csv"].read_bytes().decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    got = [(r["type"], r["id"], r["allowed_in_run"], r["requirement_met_on"],
            r["removal_candidate"], r["review_overdue"]) for r in rows]
    assert got == REGISTER
    by_id = {r["id"]: r for r in rows}
    assert by_id["pci/ssh"]["hosts"] == "7" and by_id["pci/ssh"]["hosts_checked"] == "6"
    assert by_id["pci/webapp"]["approved_on"] == review_scenario.LONG_AGO
    assert by_id["W-JAVA"]["host_names"] == "waived1" and by_id["W-JAVA"]["status"] == "active"
    # every allow use is a listener the run credited to that rule, host by host
    credited = Counter(li["rule"] for h in review_run.run()["hosts"] for li in h["listeners"]
                       if li["verdict"] == "allowed")
    for row in rows:
        if row["type"] == "allow":
            assert int(row["allowed_in_run"]) == credited[row["id"]], row["id"]
    assert members(review_run.bundle)["register.csv"].decode() == text


def test_oscal_of_both_runs_loads_in_trestle(review_run: ReviewRun, lab_run: LabRun,
                                             tmp_path: Path) -> None:
    again = scenario.rerender(lab_run, tmp_path / "first")  # the first run, as `report` does
    assert again.returncode == 0, again.stderr
    proc = scenario.fleetcheck(["report", str(lab_run.files["json"]), "--format", "oscal"],
                               lab_run.workdir, scenario._env(lab_run.workdir))
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "first.oscal.json").write_text(proc.stdout)
    for path, hosts in ((review_run.files["oscal.json"], 7), (tmp_path / "first.oscal.json", 7)):
        loaded: Any = AssessmentResults.oscal_read(path)
        assert isinstance(loaded, AssessmentResults)
        result: Any = loaded.results[0]
        assert len(loaded.results) == 1
        assert len(result.local_definitions.inventory_items) == hosts
        titles = {f.title for f in result.findings}
        assert "down1 could not be checked" in titles
    first = json.loads(proc.stdout)["assessment-results"]["results"][0]
    assert "forbidden tcp/1923 on spice1" in {f["title"] for f in first["findings"]}
    risks = {r["title"]: r["status"] for r in first["risks"]}
    assert risks == {"Waiver W-JAVA": "deviation-approved", "Waiver W-MDNS": "open",
                     "Waiver W-IDLE": "deviation-approved"}


def test_run_bundle_verify_as_processes(review_run: ReviewRun, lab_run: LabRun,
                                        tmp_path: Path) -> None:
    done = _process(["verify", str(review_run.bundle), "--allowed-signers",
                     str(review_run.allowed), "-I", review_scenario.SIGNER], review_run)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"VERIFIED: {review_run.bundle}: ")
    # the first run, bundled afterwards from its saved JSON and its input files
    made = _process(["evidence", str(lab_run.files["json"]), "-o", str(tmp_path / "first.zip"),
                     "--sign", str(review_run.key)], review_run)
    assert made.returncode == 0, made.stderr
    files = members(tmp_path / "first.zip")
    assert made.stdout == f"{hashlib.sha256(files['SHA256SUMS']).hexdigest()}  SHA256SUMS\n"
    assert files["run.json"] == lab_run.files["json"].read_bytes()
    assert files["inputs/waiver/waivers.yml"] == (lab_run.workdir / "waivers.yml").read_bytes()
    assert "inputs/policy/baseline.yml" in files  # no -p: the built-in baseline, as read
    scope = files["scope.txt"].decode()
    assert "Not checked: 1\n  down1: unreachable, connection_refused: " in scope
    assert str(lab_run.workdir / "inventory.yml") in scope
    checked = _process(["verify", str(tmp_path / "first.zip"), "--allowed-signers",
                        str(review_run.allowed)], review_run)
    assert checked.returncode == 0, checked.stdout


def test_any_edited_byte_of_any_file_fails_naming_it(review_run: ReviewRun,
                                                     tmp_path: Path) -> None:
    files = members(review_run.bundle)
    allowed = str(review_run.allowed)
    for name, data in files.items():
        for at in sorted({0, len(data) // 3, len(data) // 2, len(data) - 1}):
            edited = dict(files)
            edited[name] = data[:at] + bytes([data[at] ^ 0x04]) + data[at + 1:]
            path = rezip(edited, tmp_path / "edited.zip")
            res = run_cli(["verify", str(path), "--allowed-signers", allowed], cwd=tmp_path)
            assert res.code == 1 and name in _names(res.out), (name, at, res.out)
    edited = {**files, "report.html": files["report.html"].replace(b"NONCOMPLIANT",
                                                                   b"COMPLIANT", 1)}
    done = _process(["verify", str(rezip(edited, tmp_path / "forged.zip")),
                     "--allowed-signers", allowed], review_run)
    assert done.returncode == 1
    assert "  report.html: differs from SHA256SUMS" in done.stdout


def test_resigned_by_a_key_not_allowed_fails_naming_the_key(review_run: ReviewRun,
                                                            tmp_path: Path) -> None:
    files = members(review_run.bundle)
    files["findings.csv"] = files["findings.csv"].replace(b"critical", b"low")
    sums = tmp_path / "SHA256SUMS"  # a forger fixes the manifest and signs with their key
    sums.write_bytes(b"".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n".encode()
        for name, data in sorted(files.items()) if not name.startswith("SHA256SUMS")))
    mallory = keygen(tmp_path / "keys", "mallory")
    files["SHA256SUMS"] = sums.read_bytes()
    files["SHA256SUMS.sig"] = keygen_sign(mallory, sums).read_bytes()
    done = _process(["verify", str(rezip(files, tmp_path / "resigned.zip")),
                     "--allowed-signers", str(review_run.allowed)], review_run)
    assert done.returncode == 1
    assert (f"  SHA256SUMS.sig: signed by ssh-ed25519 {fingerprint(mallory)}, a key the "
            "allowed signers file does not list") in done.stdout


def test_the_documented_openssh_check_passes_on_the_lab_bundle(review_run: ReviewRun,
                                                               tmp_path: Path) -> None:
    work = tmp_path / "auditor"
    work.mkdir()
    (work / "evidence.zip").write_bytes(review_run.bundle.read_bytes())
    (work / "allowed_signers").write_text(review_run.allowed.read_text())
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", _auditor_block()], cwd=work,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f'Good "fleetcheck" signature for {review_scenario.SIGNER}' in done.stderr + \
        done.stdout
    assert review_run.run()["meta"]["evidence"]["sha256"] in done.stdout


def test_the_html_evidence_sections(browser: Browser, review_run: ReviewRun,
                                    tmp_path: Path) -> None:
    page = opened(browser, review_run.files["html"])
    try:
        clean(page, review_run.files["html"].as_uri())
        rows = page.js("""Array.from(document.querySelectorAll('#register-table tbody tr'))
            .map(r => [r.cells[0].innerText.split('\\n')[0], r.className,
                       getComputedStyle(r).backgroundColor, r.cells[5].innerText])""")
        assert [r[0] for r in rows] == [r[1] for r in REGISTER]
        for (ident, cls, bg, used), expected in zip(rows, REGISTER, strict=True):
            unneeded = expected[4] == "yes"
            assert ("unneeded" in cls.split()) is unneeded and (bg == AMBER_BG) is unneeded, \
                ident
            assert ("removal candidate" in used) is unneeded
        webapp = page.js("document.getElementById('register-pci_2f_webapp').innerText")
        assert "review overdue: never reviewed" not in webapp and "review overdue since" in webapp
        page.js("document.getElementById('register').scrollIntoView()")
        picture = shot(page, "evidence-register", tmp_path)
        assert picture.share["amber"] > 0.01, picture
        scope = page.js("document.getElementById('scope').innerText")
        assert "down1 (connection_refused)" in scope and "Hosts in scope\n7" in scope
        run_digest = hashlib.sha256(members(review_run.bundle)["run.json"]).hexdigest()
        assert f"sha256 {run_digest}" in scope
        page.js("document.getElementById('scope').scrollIntoView()")
        shot(page, "evidence-scope", tmp_path)
        digest = review_run.run()["meta"]["evidence"]["sha256"]
        signoff = page.js("document.getElementById('bundle-digest').innerText")
        assert signoff == (f"evidence.zip · SHA256SUMS sha256 {digest} · signed with "
                           f"ssh-ed25519 {fingerprint(review_run.key)}")
        page.send("Emulation.setEmulatedMedia", {"media": "print"})
        assert page.js("getComputedStyle(document.getElementById('signoff')).breakBefore") \
            == "page"
        page.js("document.getElementById('signoff').scrollIntoView()")
        shot(page, "evidence-signoff-print", tmp_path)
        page.send("Emulation.setEmulatedMedia", {"media": ""})
        pdf = page.pdf()
        assert pdf.startswith(b"%PDF")
        assert page.dialogs() == [] and page.console_errors() == []
    finally:
        page.close()
