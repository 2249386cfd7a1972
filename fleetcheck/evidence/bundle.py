"""The evidence bundle: one zip an auditor can check with fleetcheck or with plain tools.

It holds the run record (`run.json`), the reports rendered from it (HTML, findings CSV,
ports register, OSCAL), the scope statement, the policy and waiver files as the run read
them (byte for byte: their SHA-256 must still be the one the run recorded), a README, and
`SHA256SUMS` over every one of those files (`sha256sum -c` reads it). With a key,
`SHA256SUMS.sig` is an OpenSSH signature of the manifest in the `fleetcheck` namespace, the
file `ssh-keygen -Y sign -n fleetcheck SHA256SUMS` would write. The bundle's digest is the
SHA-256 of `SHA256SUMS`. Inventories are named by path and hash only, unless asked for:
then the in-scope hosts' variables, secrets and vault values left out, never the files.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fleetcheck.errors import InputError
from fleetcheck.evidence import scope, sshsig
from fleetcheck.frozen import frozen
from fleetcheck.inventory import Inventory
from fleetcheck.inventory.listing import to_json_value
from fleetcheck.inventory.values import VaultValue
from fleetcheck.model import InputFile, RunResult
from fleetcheck.render import FORMATS, RenderOptions, view
from fleetcheck.render.write import write_atomic

MANIFEST = "SHA256SUMS"
SIGNATURE = "SHA256SUMS.sig"
INVENTORY = "inventory.json"
# The rendered files: bundle name -> format.
REPORTS = {"report.html": "html", "findings.csv": "csv", "register.csv": "register",
           "results.oscal.json": "oscal"}
INPUT_KINDS = ("policy", "waiver")  # copied into inputs/<kind>/; inventories never
_SAFE = re.compile(r"[^A-Za-z0-9._-]")
_SECRET = re.compile(r"pass|secret|token|credential|api_?key|private_key(?!_file)", re.I)
REDACTED = "<redacted: looks secret>"
VAULTED = "<vault-encrypted: not included>"


@frozen
class Bundle:
    """The files of a bundle (manifest and signature last) and what identifies it."""

    files: tuple[tuple[str, bytes], ...]
    digest: str  # SHA-256 of SHA256SUMS
    signed_by: str | None  # 'ssh-ed25519 SHA256:…', None when unsigned

    def reference(self, name: str) -> dict[str, Any]:
        """What a run's reports record about this bundle (meta.evidence)."""
        return {"bundle": name, "sha256": self.digest, "signed_by": self.signed_by}


def manifest(files: Sequence[tuple[str, bytes]]) -> bytes:
    """`sha256sum` output for `files`, sorted by name (two spaces: text mode, as GNU writes)."""
    lines = [f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in files]
    return "".join(sorted(lines, key=lambda line: line[66:])).encode("ascii")


def input_path(f: InputFile, base: Path) -> Path:
    """Where a recorded input file is: as recorded, or under `base` when relative."""
    return Path(f.path) if os.path.isabs(f.path) else base / f.path


def read_inputs(run: RunResult, base: Path, kinds: Sequence[str] = INPUT_KINDS,
                ) -> list[tuple[InputFile, bytes]]:
    """The run's input files of `kinds`, read now: InputError when one is gone or no longer
    has the SHA-256 the run recorded (the bundle holds only what the run used)."""
    out = []
    for f in run.inputs:
        if f.kind not in kinds:
            continue
        path = input_path(f, base)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"the run's {f.kind} file cannot be read: {exc.strerror} (build "
                             "the bundle where the run's input files are)", f.path) from None
        digest = hashlib.sha256(data).hexdigest()
        if digest != f.sha256:
            raise InputError(f"the run's {f.kind} file has changed since the run (sha256 "
                             f"{digest}, the run read {f.sha256})", f.path)
        out.append((f, data))
    return out


def _named_inputs(inputs: Sequence[tuple[InputFile, bytes]]) -> list[tuple[str, bytes]]:
    """Each input under a bundle name: inputs/<kind>/<file name>, numbered on a clash."""
    taken: set[str] = set()
    out = []
    for f, data in inputs:
        stem = _SAFE.sub("_", Path(f.path).name) or "file"
        name, n = f"inputs/{f.kind}/{stem}", 1
        while name in taken:
            n += 1
            name = f"inputs/{f.kind}/{n}-{stem}"
        taken.add(name)
        out.append((name, data))
    return out


def _redact(value: Any, key: str = "") -> Any:
    if isinstance(value, VaultValue):
        return VAULTED
    if key and _SECRET.search(key):
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): _redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    if isinstance(value, str) and "-----BEGIN" in value:
        return REDACTED
    return to_json_value(value)


def inventory_document(inventory: Inventory, hosts: Sequence[str]) -> str:
    """The in-scope hosts' groups and variables, secrets and vault values left out."""
    wanted = set(hosts)
    doc = {h.name: {"groups": list(h.groups), "vars": _redact(dict(h.vars))}
           for h in inventory.hosts if h.name in wanted}
    return json.dumps({"hosts": doc, "note": "Variables whose names look secret, private "
                       "keys and vault values are left out."}, indent=2, sort_keys=True,
                      ensure_ascii=False) + "\n"


def readme(run: RunResult, names: Sequence[str], signed: bool) -> str:
    """What the bundle holds and how to check it without fleetcheck."""
    listed = "\n".join(f"  {n}" for n in names)
    sig = ("SHA256SUMS.sig is an OpenSSH signature of SHA256SUMS (namespace fleetcheck).\n"
           "  ssh-keygen -Y verify -f allowed_signers -I SIGNER -n fleetcheck \\\n"
           "      -s SHA256SUMS.sig < SHA256SUMS\n" if signed else
           "This bundle is NOT signed: SHA256SUMS shows it is intact, not who made it.\n")
    return (f"fleetcheck evidence bundle for the run of {run.started_at} "
            f"({view.headline(run).line()})\n\n"
            f"Files (each listed with its SHA-256 in SHA256SUMS):\n{listed}\n\n"
            "Check every file against the manifest:\n  sha256sum -c SHA256SUMS\n"
            f"{sig}\nOr, with fleetcheck: fleetcheck verify BUNDLE.zip --allowed-signers FILE\n"
            "The reports are rendered from run.json; scope.txt says which hosts were and were "
            "not checked.\n")


def contents(run: RunResult, inputs: Sequence[tuple[InputFile, bytes]], *,
             inventory: str | None = None, rendered_at: str | None = None,
             signed: bool = False) -> list[tuple[str, bytes]]:
    """Every file of the bundle but the manifest and signature, in bundle order."""
    bundled = scope.as_bundled(run)
    # The report's render time is the run's finish (as is every entry's zip time), so the
    # same run always makes the same bundle, and the same digest, whenever it is made.
    opts = RenderOptions(rendered_at=rendered_at or run.finished_at)
    files: list[tuple[str, str | bytes]] = [("run.json", scope.run_record(run)),
                                            ("scope.txt", scope.text(run))]
    files += [(name, FORMATS[fmt].render(bundled, opts)) for name, fmt in REPORTS.items()]
    files += _named_inputs(inputs)
    if inventory is not None:
        files.append((INVENTORY, inventory))
    names = [n for n, _ in files] + [MANIFEST] + ([SIGNATURE] if signed else [])
    files.insert(0, ("README.txt", readme(run, ["README.txt", *names], signed)))
    return [(n, d.encode("utf-8") if isinstance(d, str) else d) for n, d in files]


def build(run: RunResult, inputs: Sequence[tuple[InputFile, bytes]], *,
          key: sshsig.SigningKey | None = None, inventory: str | None = None,
          rendered_at: str | None = None) -> Bundle:
    """The bundle of `run`: its files, the manifest over them and, with a key, its signature."""
    files = contents(run, inputs, inventory=inventory, rendered_at=rendered_at,
                     signed=key is not None)
    sums = manifest(files)
    files.append((MANIFEST, sums))
    signed_by = None
    if key is not None:
        files.append((SIGNATURE, sshsig.sign(sums, key.key).encode("ascii")))
        signed_by = sshsig.describe(key.key.asbytes())
    return Bundle(tuple(files), hashlib.sha256(sums).hexdigest(), signed_by)


def zip_bytes(bundle: Bundle, when: tuple[int, int, int, int, int, int]) -> bytes:
    """The zip of a bundle: entries in bundle order, one fixed time, regular files 0644."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in bundle.files:
            info = zipfile.ZipInfo(name, date_time=when)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def zip_time(run: RunResult) -> tuple[int, int, int, int, int, int]:
    """The run's finish time as a zip timestamp, within what a zip can hold (1980 to 2107:
    a clock far off must not cost the run its bundle)."""
    when = view.parse_time(run.finished_at)
    if when is None or when.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    if when.year > 2107:
        return (2107, 12, 31, 23, 59, 58)  # zip keeps seconds in twos
    return (when.year, when.month, when.day, when.hour, when.minute, when.second)


def write(bundle: Bundle, run: RunResult, path: Path) -> None:
    """Write the zip atomically (a reader never sees half a bundle)."""
    write_atomic(path, zip_bytes(bundle, zip_time(run)))
