"""A saved run on disk with real input files beside it (for the bundle tests without a lab)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from fleetcheck.cli.common import baseline_path
from fleetcheck.model import InputFile, RunResult
from fleetcheck.render import FORMATS
from tests.render import builders

SECRET = "hunter2-do-not-ship"  # noqa: S105  # an inventory password that must never reach a bundle
VAULT = ("$ANSIBLE_VAULT;1.1;AES256\n6134376433623761383532363365343239396636333636346135"
         "\n3162\n")


@dataclass(frozen=True)
class Saved:
    """The run, its JSON file, and the directory holding both and its inputs."""

    run: RunResult
    json: Path
    root: Path


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def saved_run(root: Path) -> Saved:
    """The render tests' composite run, its inputs written under `root` with their real
    SHA-256 (an inventory with a password, a vault value and plain variables; the policies;
    a waiver file), saved as run.json."""
    root.mkdir(parents=True, exist_ok=True)
    inventory = {"all": {"children": {
        "web": {"hosts": {"web1": {"ansible_host": "web1.example.net", "rack": "r12",
                                   "ansible_password": SECRET}}},
        "db": {"hosts": {"db1": {"db_api_token": SECRET, "owner": "dba-team",
                                 "backup": {"bucket": "b1", "secret_key": SECRET}}}},
        "app": {"hosts": {"app1": {"ansible_become_pass": "!vault-placeholder"}}},
        "legacy": {"hosts": {"legacy1": {}, "win1": {"ansible_connection": "ssh"}}}}}}
    block = "".join(f"\n            {line}" for line in VAULT.splitlines())
    text = yaml.safe_dump(inventory, sort_keys=False).replace("'!vault-placeholder'",
                                                              "!vault |" + block)
    files = {"inventory/prod.yml": text.encode(),
             "policies/baseline.yml": baseline_path().read_bytes(),
             "policies/web.yml": (builders.DATA / "web.yml").read_bytes(),
             "waivers.yml": b"# the composite run's waivers (recorded in the run)\nwaivers: []\n"}
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    kinds = {"inventory/prod.yml": "inventory", "waivers.yml": "waiver"}
    run = dataclasses.replace(builders.composite_run(), inputs=tuple(
        InputFile(kinds.get(name, "policy"), name, _sha(data)) for name, data in files.items()))
    path = root / "run.json"
    path.write_text(FORMATS["json"].render(run))
    return Saved(run, path, root)


def members(zip_path: Path) -> dict[str, bytes]:
    """A zip's files by name."""
    with zipfile.ZipFile(zip_path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def rezip(files: dict[str, bytes], path: Path) -> Path:
    """Write `files` as a zip at `path` (what someone editing a bundle would do)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    path.write_bytes(buf.getvalue())
    return path
