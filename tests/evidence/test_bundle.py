"""The evidence bundle without a lab: a saved run with real input files, `fleetcheck evidence`
and `fleetcheck verify` in-process, every way of editing a bundle caught and named, the
inventory's secrets kept out, and the auditor's plain-OpenSSH check from docs/evidence.md
run as written."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from fleetcheck.evidence import bundle, signers
from fleetcheck.evidence.verify import verify_files
from fleetcheck.render import FORMATS, RenderOptions
from tests.conftest import REPO, run_cli
from tests.evidence.keys import allowed_line, fingerprint, keygen, keygen_sign, need
from tests.evidence.saved import SECRET, Saved, members, rezip, saved_run
from tests.render import builders

EXPECTED = ["README.txt", "run.json", "scope.txt", "report.html", "findings.csv",
            "register.csv", "results.oscal.json", "inputs/policy/baseline.yml",
            "inputs/policy/web.yml", "inputs/waiver/waivers.yml", "SHA256SUMS"]
DOC = (REPO / "docs" / "evidence.md").read_text("utf-8")


@pytest.fixture
def saved(tmp_path: Path) -> Saved:
    return saved_run(tmp_path / "site")


@pytest.fixture
def key(tmp_path: Path) -> Path:
    return keygen(tmp_path / "keys", "sre", comment="sre@example.net")


@pytest.fixture
def allowed(tmp_path: Path, key: Path) -> Path:
    path = tmp_path / "allowed_signers"
    path.write_text(allowed_line("sre@example.net", key, 'namespaces="fleetcheck"') + "\n")
    return path


def _bundle(saved: Saved, *args: str, name: str = "evidence.zip") -> tuple[Path, str]:
    res = run_cli(["evidence", "run.json", "-o", name, *args], cwd=saved.root)
    assert res.code == 0, res.err
    return saved.root / name, res.out


def _names(text: str) -> set[str]:
    """The files the problem lines of `verify`'s output name ('A or B: ...' names both)."""
    return {n for line in text.splitlines() if line.startswith("  ") and ": " in line
            for n in line[2:].split(": ", 1)[0].split(" or ")}


def _verify(path: Path, *args: str) -> tuple[int, str]:
    res = run_cli(["verify", str(path), *args], cwd=path.parent)
    assert res.err == "", res.err
    return res.code, res.out


def test_an_unsigned_bundle_holds_every_file_and_says_it_is_unsigned(saved: Saved) -> None:
    path, out = _bundle(saved)
    files = members(path)
    assert list(files) == EXPECTED
    digest = hashlib.sha256(files["SHA256SUMS"]).hexdigest()
    assert out == f"{digest}  SHA256SUMS\n"
    assert files["run.json"] == saved.json.read_bytes()  # the record, byte for byte
    for name, source in (("inputs/policy/web.yml", "policies/web.yml"),
                         ("inputs/waiver/waivers.yml", "waivers.yml")):
        assert files[name] == (saved.root / source).read_bytes()
    for name, fmt in bundle.REPORTS.items():
        if fmt != "html":
            assert files[name].decode() == FORMATS[fmt].render(saved.run, RenderOptions())
    assert "NOT signed" in files["README.txt"].decode()
    assert "inventory.json" not in files and SECRET.encode() not in b"".join(files.values())
    code, text = _verify(path)
    assert code == 3 and text.startswith("NOT PROVEN: ")
    assert "not signed (no SHA256SUMS.sig)" in text and digest in text


def test_the_same_run_always_makes_the_same_bundle(saved: Saved, key: Path) -> None:
    """Every entry's time and the HTML report's render time are the run's finish: a bundle
    made again from the run (here: signed, Ed25519 signatures are deterministic) is the same
    bytes, so its digest is the one the run's reports name."""
    first, _ = _bundle(saved, "--sign", str(key), name="one.zip")
    again, _ = _bundle(saved, "--sign", str(key), name="two.zip")
    page = members(first)["report.html"].decode()
    assert f'<span id="rendered-at">{saved.run.finished_at}</span>' in page
    assert first.read_bytes() == again.read_bytes()


def test_a_signed_bundle_verifies_and_names_its_signer(saved: Saved, key: Path,
                                                       allowed: Path) -> None:
    path, _ = _bundle(saved, "--sign", str(key))
    assert list(members(path))[-1] == "SHA256SUMS.sig"
    code, text = _verify(path, "--allowed-signers", str(allowed), "-I", "sre@example.net")
    assert code == 0, text
    assert text.startswith(f"VERIFIED: {path}: 10 files match SHA256SUMS, signed by "
                           f"ssh-ed25519 {fingerprint(key)} (sre@example.net in ")
    code, text = _verify(path)  # no allowed_signers: intact, signer not judged
    assert code == 3 and "no --allowed-signers was given" in text
    code, text = _verify(path, "--allowed-signers", str(allowed), "-I", "mallory@example.net")
    assert code == 1 and "do not include 'mallory@example.net'" in text


def test_editing_any_file_fails_naming_it(saved: Saved, key: Path, allowed: Path,
                                          tmp_path: Path) -> None:
    path, _ = _bundle(saved, "--sign", str(key))
    files = members(path)
    for name, data in files.items():
        for at in sorted({0, len(data) // 2, len(data) - 1}):
            edited = dict(files)
            edited[name] = data[:at] + bytes([data[at] ^ 0x20]) + data[at + 1:]
            code, text = _verify(rezip(edited, tmp_path / "edited.zip"),
                                 "--allowed-signers", str(allowed))
            assert code == 1, (name, at, text)
            assert text.startswith("FAILED: ") and name in _names(text), (name, at, text)


def test_every_byte_of_the_manifest_and_signature_is_covered(saved: Saved, key: Path,
                                                             allowed: Path) -> None:
    path, _ = _bundle(saved, "--sign", str(key))
    files = members(path)
    trusted = signers.load(allowed)
    assert verify_files(files, trusted).outcome == 0
    for name in ("SHA256SUMS", "SHA256SUMS.sig"):
        data = files[name]
        for at in range(len(data)):
            edited = {**files, name: data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]}
            result = verify_files(edited, trusted)
            assert result.outcome == 1, (name, at)
            named = _names("".join(f"  {p}\n" for p in result.problems))
            # an edited hash names the file it no longer matches, as sha256sum -c does
            assert name in named or any(": differs from SHA256SUMS" in p
                                        for p in result.problems), (name, at, named)


def test_added_missing_and_damaged_files_are_named(saved: Saved, key: Path, allowed: Path,
                                                   tmp_path: Path) -> None:
    path, _ = _bundle(saved, "--sign", str(key))
    files = members(path)
    added = rezip({**files, "notes.txt": b"trust me\n"}, tmp_path / "added.zip")
    code, text = _verify(added, "--allowed-signers", str(allowed))
    assert code == 1 and "notes.txt: in the bundle but not listed in SHA256SUMS" in text
    gone = rezip({k: v for k, v in files.items() if k != "register.csv"}, tmp_path / "gone.zip")
    code, text = _verify(gone, "--allowed-signers", str(allowed))
    assert code == 1 and "register.csv: listed in SHA256SUMS but missing" in text
    unsigned = rezip({k: v for k, v in files.items() if k != "SHA256SUMS.sig"},
                     tmp_path / "stripped.zip")
    assert _verify(unsigned, "--allowed-signers", str(allowed))[0] == 3
    raw = bytearray(path.read_bytes())  # the zip's own bytes: a damaged entry is named too
    at = raw.index(b"README.txt") + 40
    raw[at] ^= 0xFF
    (tmp_path / "damaged.zip").write_bytes(bytes(raw))
    code, text = _verify(tmp_path / "damaged.zip", "--allowed-signers", str(allowed))
    assert code == 1 and "README.txt: " in text


def test_resigned_with_a_key_not_allowed_fails_naming_the_key(saved: Saved, key: Path,
                                                              allowed: Path,
                                                              tmp_path: Path) -> None:
    need("ssh-keygen")
    path, _ = _bundle(saved, "--sign", str(key))
    files = members(path)
    mallory = keygen(tmp_path / "keys", "mallory")
    sums = tmp_path / "SHA256SUMS"
    sums.write_bytes(files["SHA256SUMS"])
    files["SHA256SUMS.sig"] = keygen_sign(mallory, sums).read_bytes()  # the real ssh-keygen
    code, text = _verify(rezip(files, tmp_path / "resigned.zip"),
                         "--allowed-signers", str(allowed))
    assert code == 1
    assert (f"SHA256SUMS.sig: signed by ssh-ed25519 {fingerprint(mallory)}, a key the allowed "
            "signers file does not list") in text


def test_a_key_allowed_for_other_namespaces_is_refused(saved: Saved, key: Path,
                                                       tmp_path: Path) -> None:
    path, _ = _bundle(saved, "--sign", str(key))
    git_only = tmp_path / "git_signers"
    git_only.write_text(allowed_line("sre@example.net", key, 'namespaces="git"') + "\n")
    code, text = _verify(path, "--allowed-signers", str(git_only))
    assert code == 1 and "line 1: its namespaces='git' exclude 'fleetcheck'" in text


def test_inputs_changed_since_the_run_are_refused(saved: Saved) -> None:
    (saved.root / "policies" / "web.yml").write_text("name: web\nallow: []\n")
    res = run_cli(["evidence", "run.json", "-o", "e.zip"], cwd=saved.root)
    assert res.code == 2 and not (saved.root / "e.zip").exists()
    assert res.err.startswith("fleetcheck: error: policies/web.yml: the run's policy file has "
                              "changed since the run (sha256 ")
    (saved.root / "policies" / "web.yml").write_bytes((builders.DATA / "web.yml").read_bytes())
    (saved.root / "waivers.yml").unlink()
    res = run_cli(["evidence", "run.json", "-o", "e.zip"], cwd=saved.root)
    assert res.code == 2 and "waivers.yml: the run's waiver file cannot be read" in res.err


def test_bad_input_is_exit_2_naming_it(saved: Saved, tmp_path: Path, key: Path) -> None:
    (tmp_path / "not.zip").write_text("hello")
    res = run_cli(["verify", "not.zip"], cwd=tmp_path)
    assert res.code == 2 and res.err.startswith("fleetcheck: error: not.zip: not a readable zip")
    path, _ = _bundle(saved)
    (tmp_path / "bad_signers").write_text("# ok\nsre@example.net ssh-ed25519\n")
    res = run_cli(["verify", str(path), "--allowed-signers", "bad_signers"], cwd=tmp_path)
    assert res.code == 2 and res.err.startswith("fleetcheck: error: bad_signers:2: ")
    for args, message in ((["--sign", "nokey"], "nokey: cannot read the signing key"),
                          (["--sign", f"{key}.pub"], "SSH_AUTH_SOCK is not set")):
        res = run_cli(["evidence", "run.json", "-o", "k.zip", *args], cwd=saved.root,
                      environ={})
        assert res.code == 2 and message in res.err, res.err
        assert not (saved.root / "k.zip").exists()


def test_include_inventory_keeps_variables_but_never_secrets(saved: Saved) -> None:
    path, _ = _bundle(saved, "--include-inventory")
    files = members(path)
    assert SECRET.encode() not in b"".join(files.values())
    assert b"$ANSIBLE_VAULT" not in files["inventory.json"]
    text = files["inventory.json"].decode()
    for kept in ('"rack": "r12"', '"owner": "dba-team"', '"bucket": "b1"'):
        assert kept in text
    for hidden in ('"ansible_password": "<redacted', '"db_api_token": "<redacted',
                   '"secret_key": "<redacted', '"ansible_become_pass": "<vault-encrypted'):
        assert hidden in text
    assert "inventory.json" in files["SHA256SUMS"].decode()


def _auditor_block() -> str:
    match = re.search(r"<!-- auditor-check[^>]*-->\n```sh\n(.*?)```", DOC, re.S)
    assert match, "docs/evidence.md lost its auditor-check block"
    return match.group(1)


def test_the_documented_openssh_check_passes_and_catches_an_edit(saved: Saved, key: Path,
                                                                 tmp_path: Path) -> None:
    """docs/evidence.md's commands, run by bash exactly as written: no fleetcheck involved."""
    need("ssh-keygen", "sha256sum", "unzip")
    path, digest_line = _bundle(saved, "--sign", str(key))
    work = tmp_path / "auditor"
    work.mkdir()
    (work / "evidence.zip").write_bytes(path.read_bytes())
    (work / "allowed_signers").write_text(allowed_line("sre@example.net", key) + "\n")
    script = _auditor_block()

    def check(where: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=where,
                              capture_output=True, text=True, timeout=60, check=False)

    done = check(work)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK\n") == 10
    assert 'Good "fleetcheck" signature for sre@example.net' in done.stdout + done.stderr
    assert "no file added or missing" in done.stdout
    assert done.stdout.rstrip().endswith(digest_line.strip())  # the digest fleetcheck printed
    edited = members(path)
    edited["findings.csv"] = edited["findings.csv"].replace(b"critical", b"low", 1)
    other = tmp_path / "auditor2"
    other.mkdir()
    rezip(edited, other / "evidence.zip")
    (other / "allowed_signers").write_text((work / "allowed_signers").read_text())
    failed = check(other)
    assert failed.returncode != 0 and "findings.csv: FAILED" in failed.stdout
