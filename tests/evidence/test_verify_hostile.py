"""`fleetcheck verify` against hostile bundles, judged by the auditor's plain tools: each zip
is a real file an attacker could make (a directory entry, a second copy, a second name, a zip
before the zip, an encrypted or unreadable entry, a bomb), each manifest a real one signed
again by `ssh-keygen`; fleetcheck's verdict must be what docs/evidence.md's unzip, sha256sum
and ssh-keygen check concludes, and a bundle that fails is never reported as verified."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import struct
import subprocess
import time
import tracemalloc
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fleetcheck.errors import InputError
from fleetcheck.evidence import signers, sshsig, zipread
from fleetcheck.evidence.verify import verify_files, verify_zip
from tests.conftest import run_cli
from tests.evidence.hostile import (
    Entry,
    auditor_check,
    build,
    entries,
    overlap_bomb,
    patch_headers,
    unicode_path,
)
from tests.evidence.keys import allowed_line, keygen, keygen_sign, need
from tests.evidence.saved import members, saved_run
from tests.evidence.test_bundle import _auditor_block

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer


@dataclass(frozen=True)
class Signed:
    """A signed bundle's files, its key and an allowed_signers file for it."""

    files: dict[str, bytes]
    key: Path
    allowed: Path
    work: Path


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signed]:
    need("ssh-keygen", "sha256sum", "unzip")
    root = tmp_path_factory.mktemp("hostile")
    saved = saved_run(root / "site")
    key = keygen(root / "keys", "sre", comment="sre@example.net")
    res = run_cli(["evidence", "run.json", "-o", "e.zip", "--sign", str(key)], cwd=saved.root)
    assert res.code == 0, res.err
    allowed = root / "allowed_signers"
    allowed.write_text(allowed_line("sre@example.net", key) + "\n")
    yield Signed(members(saved.root / "e.zip"), key, allowed, root)


_N = iter(range(10**6))


def _judge(s: Signed, zip_bytes: bytes) -> tuple[int, str, int]:
    """fleetcheck verify's exit status and output, and the auditor check's exit status."""
    where = s.work / f"case{next(_N)}"
    auditor = auditor_check(_auditor_block(), zip_bytes, s.allowed, where)
    path = where / "bundle.zip"
    path.write_bytes(zip_bytes)
    res = run_cli(["verify", str(path), "--allowed-signers", str(s.allowed),
                   "-I", "sre@example.net"], cwd=where)
    return res.code, res.out + res.err, auditor


def _resign(s: Signed, sums: bytes) -> dict[str, bytes]:
    path = s.work / f"SHA256SUMS{next(_N)}"
    path.write_bytes(sums)
    return {**s.files, "SHA256SUMS": sums, "SHA256SUMS.sig": keygen_sign(s.key, path).read_bytes()}


class _Pipe(io.RawIOBase):
    """A stream zipfile cannot seek in, as a pipe: it writes sizes after each entry."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: ReadableBuffer) -> int:
        self.data += bytes(b)
        return len(bytes(b))


def test_the_bundle_as_made_and_as_rezipped_passes_both(signed: Signed) -> None:
    code, out, auditor = _judge(signed, build(entries(signed.files)))
    assert (code, auditor) == (0, 0), out
    pipe = _Pipe()  # re-zipped through a pipe: data descriptors, zip64 for each entry
    with zipfile.ZipFile(pipe, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in signed.files.items():
            with z.open(zipfile.ZipInfo(name), "w", force_zip64=True) as member:
                member.write(data)  # its sizes in 8-byte fields after it
    assert {i.flag_bits & 8 for i in zipfile.ZipFile(io.BytesIO(pipe.data)).infolist()} == {8}
    code, out, auditor = _judge(signed, bytes(pipe.data))
    assert (code, auditor) == (0, 0), out


def _hostile_zips(files: dict[str, bytes]) -> dict[str, tuple[bytes, str]]:
    """Zips that must fail, and the entry (or text) the failure must name."""
    plain = build(entries(files))
    evil = build(entries({**files, "run.json": b"{}\n"}))
    one = [Entry(n, d) for n, d in files.items()]
    first_name = next(iter(files))
    # the last central record's name length made to run into the end record: Python cuts
    # the name at the directory's end, unzip reads it whole
    long_name = bytearray(plain)
    at = long_name.rindex(b"PK\x01\x02")
    struct.pack_into("<H", long_name, at + 28, struct.unpack_from("<H", long_name, at + 28)[0] + 4)
    split = bytearray(plain)  # the end record's disk number: unzip reads a split archive
    struct.pack_into("<H", split, split.rindex(b"PK\x05\x06") + 4, 1)
    return {
        # were verified: unzip extracts what fleetcheck skipped or never saw
        "one part of a split archive": (bytes(split), "one part of a split archive"),
        "directory entry": (build([*one, Entry("inputs/", b"", 0o40755)]), "inputs/"),
        "directory over a file": (build([*one, Entry("run.json/", b"", 0o40755)]), "run.json/"),
        "sig as a directory": (build([e if e.name != "SHA256SUMS.sig" else
                                      Entry("SHA256SUMS.sig/", b"", 0o40755) for e in one]),
                               "SHA256SUMS.sig/"),
        "second name": (build([Entry(e.name, e.data, extra=unicode_path(e.name, "run.json"))
                               if e.name == "README.txt" else e for e in one]), "README.txt"),
        "evil zip before the bundle": (evil + plain, "bytes before"),
        "name running past its record": (bytes(long_name), "do not add up"),
        "lzma (unzip cannot read it)": (build([Entry(e.name, e.data, method=zipfile.ZIP_LZMA)
                                              for e in one]), "method 14"),
        # were bad input (2): a second copy is a changed bundle (1), named
        "manifest twice, evil first": (build([Entry("SHA256SUMS", b"0" * 64 + b"  x\n"), *one]),
                                       "SHA256SUMS: in the zip 2 times"),
        # were internal errors (70)
        "deflate64 method": (patch_headers(build([Entry(e.name, e.data, method=0)
                                                  for e in one]), first_name, 8, 10, 9),
                             "method 9"),
        "encrypted entry": (patch_headers(plain, "run.json", 6, 8, 1), "run.json: encrypted"),
    }


# unzip ignores this flag and extracts the entry, Python's zipfile cannot read it: fleetcheck
# cannot hash what it cannot read, so it fails, naming the entry (it was an internal error)
PYTHON_ONLY = {"patched-data flag": (0x20, "run.json: patched data in the zip")}


def test_hostile_zips_fail_naming_the_entry_as_the_auditor_check_does(signed: Signed) -> None:
    for label, (zip_bytes, named) in _hostile_zips(signed.files).items():
        code, out, auditor = _judge(signed, zip_bytes)
        assert code == 1 and out.startswith("FAILED: "), (label, out)
        assert named in out, (label, out)
        assert auditor != 0, label  # the documented plain-tools check refuses it too
    plain = build(entries(signed.files))
    for label, (flag, named) in PYTHON_ONLY.items():
        code, out, _ = _judge(signed, patch_headers(plain, "run.json", 6, 8, flag))
        assert code == 1 and named in out, (label, out)


def test_links_and_special_files_fail_naming_them(signed: Signed) -> None:
    for mode in (0o120777, 0o010644, 0o040755):
        zip_bytes = build([Entry(n, b"/etc/hostname" if n == "scope.txt" else d,
                                 mode if n == "scope.txt" else 0o100644)
                           for n, d in signed.files.items()])
        code, out, _ = _judge(signed, zip_bytes)
        assert code == 1 and f"scope.txt: not a regular file in the zip (mode {mode:o}" in out
        assert "scope.txt: listed in SHA256SUMS but missing" not in out  # named once


def test_manifest_lines_mean_what_sha256sum_and_cut_read(signed: Signed) -> None:
    """Each manifest signed again by ssh-keygen: only its form differs."""
    sums = signed.files["SHA256SUMS"]
    lines = sums.decode().splitlines(keepends=True)
    verified = {
        "binary markers": sums.replace(b"  ", b" *"),
        "uppercase hex": b"".join(ln[:64].upper().encode() + ln[64:].encode() for ln in lines),
        "tab then space": sums.replace(b"  ", b"\t "),
        "no final newline": sums.rstrip(b"\n"),
    }
    failed = {
        "CRLF": (sums.replace(b"\n", b"\r\n"), "line 1 is not"),
        "empty line": (sums.replace(b"\n", b"\n\n", 1), "line 2 is not"),
        "BOM": (b"\xef\xbb\xbf" + sums, "line 1 is not"),
        "one space": (sums.replace(b"  ", b" "), "line 1 is not"),
        "leading blank": (b" " + sums, "line 1 is not"),
        "listed twice": (sums + lines[1].encode(), f"line 11 lists {lines[1][66:-1]!r} again"),
        "./ names": (sums.replace(b"  run.json", b"  ./run.json"), "'./run.json', not a plain"),
        "listed, missing": (sums + b"0" * 64 + b"  ghost.txt\n", "ghost.txt: listed in"),
        "present, unlisted": (b"".join(ln.encode() for ln in lines if "README" not in ln),
                              "README.txt: in the bundle but not listed"),
    }
    for label, text in verified.items():
        code, out, auditor = _judge(signed, build(entries(_resign(signed, text))))
        assert (code, auditor) == (0, 0), (label, out)
    for label, (text, named) in failed.items():
        code, out, auditor = _judge(signed, build(entries(_resign(signed, text))))
        assert code == 1 and named in out, (label, out)
        assert auditor != 0, label


def test_memory_stays_small_and_bombs_are_bad_input(signed: Signed, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    big = b"\0" * (48 << 20)  # 48 MiB of zeros: 48 KiB deflated
    path = tmp_path / "big.zip"
    path.write_bytes(build([*entries(signed.files), Entry("zeros.bin", big)]))
    del big
    allowed = signers.load(signed.allowed)
    tracemalloc.start()
    try:
        result = verify_zip(path, allowed)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.outcome == 1 and "zeros.bin: in the bundle but not listed" in result.problems[0]
    assert peak < 8 << 20, peak  # hashed as it inflates, never held
    monkeypatch.setattr(zipread, "MAX_ENTRY", 1 << 20)
    res = run_cli(["verify", str(path)], cwd=tmp_path)
    assert res.code == 2 and "'zeros.bin' inflates past 1 GiB (a zip bomb?)" in res.err
    monkeypatch.setattr(zipread, "MAX_ENTRY", 1 << 30)
    monkeypatch.setattr(zipread, "MAX_TOTAL", 1 << 20)
    res = run_cli(["verify", str(path)], cwd=tmp_path)
    assert res.code == 2 and "inflates past 2 GiB in all (a zip bomb?)" in res.err


def test_an_unpacked_directory_is_bad_input(tmp_path: Path) -> None:
    res = run_cli(["verify", str(tmp_path)], cwd=tmp_path)
    assert res.code == 2 and "not a readable zip: Is a directory" in res.err


def test_valid_before_includes_its_second_as_openssh_does(tmp_path: Path) -> None:
    need("ssh-keygen")
    key = keygen(tmp_path, "k")
    data = tmp_path / "SHA256SUMS"
    data.write_bytes(b"x\n")
    sig = keygen_sign(key, data)
    allowed = tmp_path / "allowed"
    allowed.write_text(allowed_line("sre", key, 'valid-before="20300101000000Z"') + "\n")
    (line,) = signers.load(allowed)
    end = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    for when, good in ((end, True), (end + dt.timedelta(microseconds=999_999), True),
                       (end + dt.timedelta(seconds=1), False)):
        openssh = subprocess.run(
            ["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "sre", "-n", "fleetcheck",
             "-s", str(sig), f"-Overify-time={when.strftime('%Y%m%d%H%M%SZ')}"],
            input=b"x\n", capture_output=True, check=False)
        assert (openssh.returncode == 0) is good, (when, openssh.stderr)
        assert (line.refusal("fleetcheck", when, "sre") is None) is good, when


def test_allowed_signers_options_are_read_as_openssh_reads_them(tmp_path: Path) -> None:
    """Each line judged by ssh-keygen -Y verify too: a line OpenSSH refuses (and skips) is
    bad input to fleetcheck, never a key it lets sign."""
    need("ssh-keygen")
    key = keygen(tmp_path, "k")
    data = tmp_path / "SHA256SUMS"
    sums = f"{hashlib.sha256(b'').hexdigest()}  empty.txt\n".encode()
    data.write_bytes(sums)
    sig = keygen_sign(key, data)
    files = {"empty.txt": b"", "SHA256SUMS": sums, "SHA256SUMS.sig": sig.read_bytes()}
    kind_blob = allowed_line("", key)
    lines = {  # options -> OpenSSH lets the key sign for fleetcheck
        'namespaces="fleetcheck"': True, 'NameSpaces="git,fleet*"': True,
        'cert-authority,namespaces="fleetcheck"': False, 'namespaces="git"': False,
        'namespaces=""': False, 'valid-after="19700102",valid-before="29990101"': True,
        # refused by OpenSSH as bad options: were read as if quoted, or the last one won
        "namespaces=fleetcheck": None, "valid-before=29990101": None,
        'namespaces="git",namespaces="fleetcheck"': None, 'namespaces="fleetcheck"x': None,
        'cert-authority="yes"': None, 'namespaces="fleetcheck': None, "foo": None,
    }
    allowed = tmp_path / "allowed"
    for options, good in lines.items():
        allowed.write_text(f"sre {options} {kind_blob}\n")
        openssh = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "sre",
                                  "-n", "fleetcheck", "-s", str(sig)], input=sums,
                                 capture_output=True, check=False)
        assert (openssh.returncode == 0) is bool(good), (options, openssh.stderr)
        if good is None:
            assert re.search(rb":1: (bad|invalid) options", openssh.stderr), options
            with pytest.raises(InputError) as err:
                signers.load(allowed)
            assert err.value.line == 1, options
        else:
            result = verify_files(files, signers.load(allowed), identity="sre")
            assert (result.outcome == 0) is good, (options, result.problems)


def test_certificate_signatures_are_judged_as_ssh_keygen_judges_them(tmp_path: Path) -> None:
    """A CA (cert-authority line) vouching for a user key by a real OpenSSH certificate."""
    need("ssh-keygen")
    ca, user = keygen(tmp_path, "ca"), keygen(tmp_path, "user", "ecdsa")
    data = tmp_path / "SHA256SUMS"
    sums = f"{hashlib.sha256(b'').hexdigest()}  empty.txt\n".encode()
    data.write_bytes(sums)
    ca_line = allowed_line("*@example.net", ca, "cert-authority")
    certs = {  # certificate options, allowed_signers text, -I: ssh-keygen's verdict
        "valid": (["-n", "sre@example.net,ops@example.net"], ca_line, "sre@example.net"),
        "no -I": (["-n", "sre@example.net"], ca_line, None),
        "other principal": (["-n", "ops@example.net"], ca_line, "sre@example.net"),
        "no principals": ([], ca_line, "sre@example.net"),
        "no principals, no -I": ([], ca_line, None),
        "expired": (["-n", "sre@example.net", "-V", "20200101:20200201"], ca_line, None),
        "not yet valid": (["-n", "sre@example.net", "-V", "29990101:29990201"], ca_line, None),
        "host certificate": (["-h", "-n", "sre@example.net"], ca_line, "sre@example.net"),
        "CA line for git only": (["-n", "sre@example.net"],
                                 allowed_line("*@example.net", ca,
                                              'cert-authority,namespaces="git"'), None),
        "CA not a cert-authority line": (["-n", "sre@example.net"],
                                         allowed_line("*@example.net", ca), None),
        "the user key, not the CA": (["-n", "sre@example.net"],
                                     allowed_line("sre@example.net", user), "sre@example.net"),
        "line principals exclude it": (["-n", "sre@example.net"],
                                       allowed_line("ops@example.net", ca, "cert-authority"),
                                       None),
    }
    allowed = tmp_path / "allowed"
    for label, (options, line, identity) in certs.items():
        Path(f"{user}-cert.pub").unlink(missing_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-s", str(ca), "-I", f"id-{label}", *options,
                        f"{user}.pub"], check=True, capture_output=True)
        sig = data.with_suffix(".sig")
        sig.unlink(missing_ok=True)
        subprocess.run(["ssh-keygen", "-Y", "sign", "-f", f"{user}-cert.pub", "-n",
                        "fleetcheck", str(data)], check=True, capture_output=True)
        allowed.write_text(line + "\n")
        who = identity
        if who is None:  # as an auditor without -I: ask OpenSSH who signed
            found = subprocess.run(["ssh-keygen", "-Y", "find-principals", "-f", str(allowed),
                                    "-s", str(sig)], capture_output=True, text=True,
                                   check=False)
            who = found.stdout.split("\n")[0] if found.returncode == 0 else "nobody"
        openssh = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", who,
                                  "-n", "fleetcheck", "-s", str(sig)], input=sums,
                                 capture_output=True, check=False).returncode == 0
        files = {"empty.txt": b"", "SHA256SUMS": sums, "SHA256SUMS.sig": sig.read_bytes()}
        result = verify_files(files, signers.load(allowed), identity=identity)
        assert (result.outcome == 0) is openssh, (label, result.problems)
        if openssh:
            assert result.signed_by and f"certificate 'id-{label}'" in result.signed_by
            assert result.principals == ("sre@example.net" if identity is None
                                         else line.split()[0])
        else:
            assert result.problems[0].startswith("SHA256SUMS.sig: signed by "), label
    # the certificate inside the signature edited (a principal): the CA's signature no
    # longer covers it, while the certified key's signature of the manifest still holds
    blob = bytearray(sshsig.dearmor(files["SHA256SUMS.sig"]))
    at = blob.index(b"sre@example.net")
    blob[at:at + 3] = b"ops"
    files["SHA256SUMS.sig"] = sshsig.armor(bytes(blob)).encode()
    sig.write_bytes(files["SHA256SUMS.sig"])
    assert subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I",
                           "ops@example.net", "-n", "fleetcheck", "-s", str(sig)],
                          input=sums, capture_output=True, check=False).returncode != 0
    result = verify_files(files, signers.load(allowed), identity="ops@example.net")
    assert result.outcome == 1 and "the CA's signature does not cover (forged?)" in \
        result.problems[0]


def test_an_overlapping_entries_bomb_is_refused_before_inflating(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    path.write_bytes(overlap_bomb(400, 8 << 20))  # 3.2 GB to a reader trusting the records
    started = time.monotonic()
    res = run_cli(["verify", str(path)], cwd=tmp_path)
    assert time.monotonic() - started < 5
    assert res.code == 1 and "f0001: starts " in res.out and "overlapping entries" in res.out
