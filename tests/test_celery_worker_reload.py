"""A worker whose checkout was updated while it ran (a `git pull` at its site) reads its files
again when a shard's hashes differ, instead of refusing every shard until it is restarted;
files that still differ, or no longer load, are refused as before. The worker's inputs are
loaded from real files by the CLI's own loader, with the worker's own arguments."""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

from fleetcheck import __version__
from fleetcheck.cli.common import load_inputs
from fleetcheck.cli.env import Env
from fleetcheck.cli.main import build_parser
from fleetcheck.engine.celery_app import PROTOCOL
from fleetcheck.engine.celery_worker import ShardRunner, WorkerInputs, fingerprint
from fleetcheck.transport.ssh.options import SshOptions

POLICY = "name: p\ndefault: deny\nallow:\n  - id: ssh\n    port: 22\n"


def _loader(tmp: Path) -> tuple[WorkerInputs, Any]:
    """The worker's inputs from tmp's inventory and policy, and a function reading them."""
    args: argparse.Namespace = build_parser().parse_args(
        ["worker", "-i", str(tmp / "hosts.ini"), "-p", str(tmp / "p.yml")])
    args.limit = args.today = None
    env = Env(stdout=io.StringIO(), stderr=io.StringIO(), stdin=io.StringIO(), environ={},
              cwd=tmp)

    def read() -> WorkerInputs:
        inputs = load_inputs(args, env)
        return WorkerInputs(inputs.inventory, tuple(inputs.policies), None, inputs.files,
                            SshOptions(), reload=read)
    return read(), read


def _message(inputs: WorkerInputs) -> dict[str, Any]:
    return {"v": PROTOCOL, "version": __version__, "inputs": fingerprint(inputs.files),
            "settings": {}}


def test_a_worker_reads_its_updated_files_again(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text("web1 ansible_host=127.0.0.1\n", encoding="utf-8")
    (tmp_path / "p.yml").write_text(POLICY, encoding="utf-8")
    started, read = _loader(tmp_path)
    runner = ShardRunner(started, app=None, name="w@test")  # refusal never reaches the app
    # The checkout is updated, and the coordinator plans with the new files.
    (tmp_path / "hosts.ini").write_text("web1 ansible_host=127.0.0.1\nweb2\n", encoding="utf-8")
    (tmp_path / "p.yml").write_text(POLICY.replace("port: 22", "port: 2222"),
                                    encoding="utf-8")
    updated = _message(read())
    assert runner.refusal(updated) is None
    assert sorted(h.name for h in runner.inputs.inventory.hosts) == ["web1", "web2"]
    # A coordinator still on the old files is refused, naming what differs.
    stale = runner.refusal(_message(started))
    assert stale is not None and stale["kind"] == "input_mismatch"
    assert "its inventory files differ from the coordinator's" in stale["message"]
    # Files that no longer load are refused, saying why.
    (tmp_path / "p.yml").write_text("name: [\n", encoding="utf-8")
    broken = runner.refusal(_message(started))
    assert broken is not None and "reading them again failed" in broken["message"]
    assert "p.yml" in broken["message"]
