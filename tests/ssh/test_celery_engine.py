"""The celery engine on real processes: a redis-server, `fleetcheck worker`s serving one queue
per site, real sshd lab hosts. The merged run equals the local run of the same hosts; a
worker killed mid-shard, a queue nobody serves, mismatched inputs and an interrupted
coordinator each end as the issue says."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.lab.celeryworker import WorkerProcess
from tests.lab.redis import RedisServer, running_redis
from tests.lab.sshlab import SshLab
from tests.runcompare import differences
from tests.ssh.conftest import Fleet, cli_process
from tests.ssh.scaleout import SITES, TODAY, cli, local_args, write_inputs
from tests.ssh.test_interrupts import _gone, _remote_sleepers

pytestmark = pytest.mark.lab


# The workers' inventory: the scenario's sites, plus a slow host, a host at a site no worker
# serves and one at a site whose worker reads other waivers. Each test picks hosts with -l.
EXTRA = {"a": ("hang",), "c": ("lonely",), "x": ("odd",)}
SCENARIO = "web1,web2,db1,nosshd,web3,web4,p2222,notools,garbled"


@dataclass
class Sites:
    """Redis and one worker per queue, all in the lab's controller namespace."""

    lab: SshLab
    tmp: Path
    redis: RedisServer
    inv: Path
    waivers: Path
    workers: dict[str, WorkerProcess] = field(default_factory=dict)

    def worker(self, queue: str, name: str, *extra: str) -> WorkerProcess:
        """Start a worker for `queue` reading the scenario's inventory (and `extra`)."""
        argv = ["--broker", self.redis.url, "-Q", queue, "-n", f"{name}@%h", "-i", str(self.inv),
                "--known-hosts", str(self.lab.known_hosts), "--connect-timeout", "3",
                "-f", "4", "--visibility-timeout", "2", *extra]
        proc = WorkerProcess(argv, cwd=self.tmp, log=self.tmp / f"{name}.log",
                             wrap=self.lab.controller.exec_argv,
                             environ={"HOME": str(self.tmp / "home"), "CI": "true"})
        self.workers[name] = proc
        return proc

    def scan(self, limit: str, *more: str) -> list[str]:
        """`scan --engine celery` of the `limit` hosts, with the scenario's inputs."""
        return ["scan", "-i", str(self.inv), "-l", limit, "-w", str(self.waivers), "--today",
                TODAY, "--engine", "celery", "--broker", self.redis.url, "--queue-by", "site",
                *more]


@pytest.fixture(scope="module")
def sites(lab: SshLab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    """Workers `wa` (queue a) and `wb` (queue b) reading the scenario's inputs."""
    tmp = tmp_path_factory.mktemp("celery")
    fleet = Fleet(lab, tmp)
    inv, waivers = write_inputs(fleet, {**{k: (*v, *EXTRA.get(k, ())) for k, v in SITES.items()},
                                        "c": EXTRA["c"], "x": EXTRA["x"]},
                                aliases={"lonely": "web4", "odd": "web3"})
    with running_redis(lab.controller.exec_argv) as redis:
        the_sites = Sites(lab, tmp, redis, inv, waivers)
        try:
            started = [the_sites.worker(q, f"w{q}", "-w", str(waivers)) for q in "ab"]
            for w in started:
                w.ready()
            yield the_sites
        finally:
            for w in the_sites.workers.values():
                w.stop()


def _report(directory: Path) -> dict[str, Any]:
    return dict(json.loads(next(directory.glob("*.json")).read_text()))


def test_the_celery_run_equals_the_local_run(sites: Sites, fleet: Fleet) -> None:
    base = ["scan", "-i", str(sites.inv), "-l", SCENARIO, "-w", str(sites.waivers), "--today",
            TODAY]
    code, err, local = cli(fleet, [*base, *local_args(fleet)])
    assert code == 1, err
    code, err, celery = cli(fleet, sites.scan(SCENARIO, "--shard-size", "2"))
    assert code == 1, err
    assert differences(local, celery) == []
    shards = celery["shards"]
    assert [(s["queue"], s["hosts"], s["status"]) for s in shards] == [
        ("a", 2, "done"), ("a", 2, "done"), ("b", 1, "done"), ("b", 2, "done"), ("b", 2, "done")]
    node = os.uname().nodename
    assert {w for s in shards if s["queue"] == "a" for w in s["workers"]} == {f"wa@{node}"}
    assert {w for s in shards if s["queue"] == "b" for w in s["workers"]} == {f"wb@{node}"}
    assert celery["meta"]["engine"] == "celery"
    assert celery["meta"]["host_key_checking"] == "strict"


def test_a_worker_killed_mid_shard_is_redelivered(sites: Sites, fleet: Fleet) -> None:
    out = fleet.tmp / "o"
    proc = cli_process(sites.lab, sites.tmp, [
        *sites.scan("web1,hang,web3,web4", "-T", "3", "--queue-wait", "30"),
        "-o", str(out), "--format", "json"])
    try:
        _wait_for_key(sites.redis, "fleetcheck:*:1:attempt")
        sites.workers.pop("wa").kill9()  # mid-shard: `hang` holds it for -T 3 seconds
        sites.worker("a", "wa2", "-w", str(sites.waivers)).ready()  # as systemd restarts it
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    run = _report(out)
    assert run["complete"] is True
    by_name = {h["name"]: h for h in run["hosts"]}
    assert by_name["hang"]["error"]["kind"] == "command_timeout"
    assert by_name["web1"]["status"] == "noncompliant"
    assert by_name["web3"]["status"] == by_name["web4"]["status"] == "compliant"
    shard_a = next(s for s in run["shards"] if s["queue"] == "a")
    assert shard_a["attempts"] >= 2 and shard_a["status"] == "done"
    assert f"wa2@{os.uname().nodename}" in shard_a["workers"]
    assert _gone(lambda: _remote_sleepers(sites.lab)) == []


def _wait_for_key(redis: RedisServer, pattern: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not redis.cli("--scan", "--pattern", pattern).strip():
        assert time.monotonic() < end, f"no key {pattern} appeared"
        time.sleep(0.02)
