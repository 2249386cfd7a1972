"""The celery engine on real processes: a redis-server, `fleetcheck worker`s serving one queue
per site, real sshd lab hosts. The merged run equals the local run of the same hosts; a
worker killed mid-shard, a queue nobody serves, mismatched inputs and an interrupted
coordinator each end as the issue says."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fleetcheck.engine.celery_app import BrokerSettings, make_app
from tests.conftest import run_cli, run_files
from tests.lab.celeryworker import WorkerProcess, stop_all
from tests.lab.netns import in_netns
from tests.lab.redis import RedisServer, running_redis
from tests.lab.sshlab import SshLab
from tests.runcompare import differences
from tests.runschema import commands_written_out
from tests.ssh.conftest import Fleet, cli_process
from tests.ssh.scaleout import SITES, TODAY, cli, local_args, write_inputs
from tests.ssh.test_interrupts import _gone, _remote_sleepers
from tests.ssh.test_limits import _wait_for_lines

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

    def worker(self, queue: str, name: str, *extra: str, broker: str | None = None
               ) -> WorkerProcess:
        """Start a worker for `queue` reading the scenario's inventory (and `extra`)."""
        argv = ["--broker", broker or self.redis.url, "-Q", queue, "-n", f"{name}@%h",
                "-i", str(self.inv), "--known-hosts", str(self.lab.known_hosts),
                "--connect-timeout", "3",
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
            stop_all(the_sites.workers.values())


def _report(directory: Path) -> dict[str, Any]:
    return commands_written_out(json.loads(run_files(directory)[0].read_text()))


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
    options = make_app(BrokerSettings(sites.redis.url, visibility_timeout=2)).conf[
        "broker_transport_options"]
    before = set(_remote_sleepers(sites.lab))
    proc = cli_process(sites.lab, sites.tmp, [
        *sites.scan("web1,hang,web3,web4", "--command-timeout", "3", "--queue-wait", "30"),
        "-o", str(out), "--format", "json"])
    try:
        # The worst moment: mid-command (`hang`'s probe runs on its host for --command-timeout
        # 3 s: a pool process killed with its worker left it running there), and while the
        # worker held the broker's sweep lock (kombu's `unacked_mutex`, taken every second to
        # put back unacknowledged tasks), which then lives as long as the worker's settings
        # let it.
        assert _gone(lambda: [] if _remote_sleepers(sites.lab, before) else ["not yet"],
                     30) == []
        sites.redis.cli("SET", "unacked_mutex", "held-by-the-killed-worker", "PX",
                        str(int(options["unacked_mutex_expire"] * 1000)))
        killed = sites.workers.pop("wa")
        killed.kill9()
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
    assert _gone(lambda: _remote_sleepers(sites.lab, before)) == []
    # the killed worker's pool process stopped its shard (and so the probe on the host)
    assert _gone(lambda: [] if ": stopped in " in killed.text() else [killed.text()]) == []


def test_a_redis_restarted_empty_mid_run_gets_the_lost_shards_again(sites: Sites,
                                                                    fleet: Fleet) -> None:
    """Redis restarts without persistence while shard 1 runs and shards 2 and 3 wait in
    its queue: their messages are gone. The coordinator sees the run's `alive` key gone and
    sends the unfinished shards again; the run completes as if nothing had happened. Shard
    1 outlasts the worker's visibility timeout (3 s > 2 s): its redelivered copies stop
    once the coordinator has its host, and never starve the shards behind them."""
    redis = RedisServer(sites.lab.controller.exec_argv).start()
    out = fleet.tmp / "restarted"
    before = set(_remote_sleepers(sites.lab))
    try:
        worker = sites.worker("fleetcheck", "wr", "-w", str(sites.waivers), broker=redis.url)
        worker.ready()
        proc = cli_process(sites.lab, sites.tmp, [
            "scan", "-i", str(sites.inv), "-l", "hang,web3,web4", "-w", str(sites.waivers),
            "--today", TODAY, "--engine", "celery", "--broker", redis.url, "--shard-size", "1",
            "--command-timeout", "3", "-o", str(out), "--format", "json"])
        try:
            worker.wait_for("shard 1/3 of run")
            redis.stop()
            redis = RedisServer(sites.lab.controller.exec_argv, port=redis.port).start()
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    finally:
        if "wr" in sites.workers:
            sites.workers.pop("wr").stop()
        redis.stop()
    assert proc.returncode == 3, err  # hang: command_timeout; no violation
    assert "lost this run's data (restarted or flushed): 3 shards sent again" in err
    # the redelivered copies of hang's shard stopped their probes too (the worker's stop)
    assert _gone(lambda: _remote_sleepers(sites.lab, before)) == []
    run = _report(out)
    assert run["complete"] is True
    by_name = {h["name"]: h for h in run["hosts"]}
    assert by_name["hang"]["error"]["kind"] == "command_timeout"
    assert by_name["web3"]["status"] == by_name["web4"]["status"] == "compliant"
    assert [s["status"] for s in run["shards"]] == ["done"] * 3


def test_a_queue_without_a_live_worker_is_not_run_naming_it(sites: Sites, fleet: Fleet) -> None:
    code, err, run = cli(fleet, sites.scan("web3,lonely", "--queue-wait", "1"))
    assert code == 3, err
    assert "queue 'c': no live worker for 1s: 1 host marked not_run" in err
    assert run["complete"] is False
    lonely = next(h for h in run["hosts"] if h["name"] == "lonely")
    assert lonely["error"]["kind"] == "not_run"
    assert "queue 'c'" in lonely["error"]["message"]
    assert next(h for h in run["hosts"] if h["name"] == "web3")["status"] == "compliant"
    assert [s["status"] for s in run["shards"]] == ["done", "no_worker"]
    # A worker for `c` that comes later finds the task, and leaves it alone: nobody waits.
    late = sites.worker("c", "wc", "-w", str(sites.waivers)).ready()
    late.wait_for("'cancelled': True")
    assert "shard 2/2 of run" not in late.text()


def test_a_worker_with_other_inputs_refuses_its_shard(sites: Sites, fleet: Fleet) -> None:
    other = sites.tmp / "other-waivers.yml"
    other.write_text(sites.waivers.read_text().replace("VDI pilot", "VDI rollout"))
    sites.worker("x", "wx", "-w", str(other)).ready()
    code, err, run = cli(fleet, sites.scan("web3,odd", "--queue-wait", "10"))
    assert code == 3, err
    odd = next(h for h in run["hosts"] if h["name"] == "odd")
    assert odd["error"]["kind"] == "input_mismatch"
    assert odd["error"]["message"].startswith(f"worker wx@{os.uname().nodename} refused the "
                                              "shard: its waiver files differ")
    assert next(h for h in run["hosts"] if h["name"] == "web3")["status"] == "compliant"
    assert [s["status"] for s in run["shards"]] == ["done", "refused"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_coordinator_leaves_no_shard_running(sites: Sites, fleet: Fleet,
                                                           sig: signal.Signals) -> None:
    out = fleet.tmp / f"o{sig.name}"
    before = set(_remote_sleepers(sites.lab))
    proc = cli_process(sites.lab, sites.tmp, [
        *sites.scan("web3,hang,web4", "--command-timeout", "120", "--deadline", "300"), "-v",
        "-o", str(out), "--format", "json"])
    try:
        _wait_for_lines(proc, ["web3 (", "web4 ("], timeout=60)
        assert _gone(lambda: [] if _remote_sleepers(sites.lab, before) else ["not yet"],
                     10) == []
        sent = time.monotonic()
        os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert time.monotonic() - sent < 10
    assert proc.returncode == 3, err
    assert f"interrupted by {sig.name}" in err
    run = _report(out)
    assert run["complete"] is False and run["meta"]["interrupted_by"] == sig.name
    by_name = {h["name"]: h for h in run["hosts"]}
    assert by_name["hang"]["error"]["kind"] == "not_run"
    assert by_name["web3"]["status"] == by_name["web4"]["status"] == "compliant"
    assert _gone(lambda: _remote_sleepers(sites.lab, before)) == []  # the worker stopped it
    worker = sites.workers["wa2"] if "wa2" in sites.workers else sites.workers["wa"]
    worker.wait_for(": stopped in ")  # the shard ended, its task acknowledged


def test_an_unreachable_broker_is_one_line_before_anything_is_sent(sites: Sites,
                                                                  fleet: Fleet) -> None:
    gone = RedisServer(sites.lab.controller.exec_argv).start()
    gone.stop()  # a broker that was there and is not any more
    argv = [a if a != sites.redis.url else gone.url for a in sites.scan("web3")]
    with in_netns(sites.lab.controller.name):
        res = run_cli([*argv, "-o", str(fleet.tmp / "never")], cwd=fleet.tmp)
        worker = run_cli(["worker", "--broker", gone.url, "-i", str(sites.inv)], cwd=fleet.tmp)
    for result in (res, worker):
        assert result.code == 2, result.err
        errors = [line for line in result.err.splitlines() if "error" in line]
        assert len(errors) == 1, result.err  # (the waiver file's warnings may come first)
        assert errors[0].startswith(f"fleetcheck: error: cannot reach the broker at {gone.url}: ")
    assert not (fleet.tmp / "never").exists()


def test_extra_vars_and_become_settings_travel_with_the_shards(sites: Sites, fleet: Fleet,
                                                               plan_file: Path) -> None:
    """The workers plan hosts as the coordinator's -e, -b and --become-user say: web3 as a
    user that does not exist (auth fails, naming it); web4 through sudo as fcpw (checked,
    not root). An -e holding a secret never travels: bad input, nothing sent."""
    code, err, run = cli(fleet, sites.scan("web3,web4", "-b", "--become-user", "fcpw",
                                           "-e", '{"site_user": "nosuchuser"}',
                                           "-e", f"@{plan_file}"))
    assert code == 3, err  # web3 could not be checked
    hosts = {h["name"]: h for h in run["hosts"]}
    assert hosts["web3"]["error"]["kind"] == "auth_failed", err
    assert "nosuchuser" in hosts["web3"]["error"]["message"]
    assert hosts["web4"]["error"] is None, hosts["web4"]["error"]
    assert hosts["web4"]["privileged"] is False
    assert hosts["web4"]["commands"][0]["command"].startswith("sudo -n -u fcpw -- ")
    with in_netns(sites.lab.controller.name):
        res = run_cli([*sites.scan("web3", "-e", "ansible_become_password=Secr3t-x"), "-o",
                       str(fleet.tmp / "never")], cwd=fleet.tmp)
    assert res.code == 2
    assert res.err.endswith("fleetcheck: error: -e ansible_become_password cannot travel to "
                            "celery workers (a secret, part of a host's password, or a vault or "
                            "unsafe value): put it in the workers' inventory\n")
    assert "Secr3t-x" not in res.err and not (fleet.tmp / "never").exists()


@pytest.fixture
def plan_file(fleet: Fleet) -> Path:
    """-e @plan.yml: web3's user from a variable the first -e sets, as a template."""
    path = fleet.tmp / "plan.yml"
    path.write_text(
        "ansible_user: \"{{ site_user if inventory_hostname == 'web3' else 'fcops' }}\"\n")
    return path
