"""Random nights of a small fleet, played through the real `fleetcheck scan` command.

A scenario is a fleet of 3 to 8 hosts over 4 to 12 nights: listeners appear, vanish, come back,
restart under another PID, change process name or bind address, move into a container
(or are recreated in it with a new id); hosts are unreachable some nights; some nights
scan a `--limit` subset, change the policy or the waivers, keep run details for fewer
days, prune, gate with `--fail-on-new`, compare with a `--baseline` run file; the clock
jumps forward, steps back, runs ahead (next years) or starts two runs in one second.

`play` runs `fleetcheck scan` in-process for every night, exactly as a user would, with
two things supplied: the run's start (the night's date, read where scan reads the clock)
and each host's collection (the night's listeners, in place of the probe's output; an
unreachable host fails to connect). Everything else is the real code: inventory,
--limit, policy and waiver files, judging, history, retention and the JSON report.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import yaml

from fleetcheck.cli import scan_cmd
from fleetcheck.clock import Start
from fleetcheck.collect import Collection, CollectOptions
from fleetcheck.engine import check
from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.model import CommandRecord, Container, Listener
from fleetcheck.plan import PlannedHost
from fleetcheck.transport.base import Transport
from tests.conftest import run_cli, run_files
from tests.render.builders import ss_output

PORTS = (22, 1923, 5432, 8080, 9000, 7000, 443, 631)
ADDRESSES = ("0.0.0.0", "10.0.0.5", "127.0.0.1", "::", "192.0.2.7")
PROCESSES = ("appd", "webd", "java", "sshd", "dropbear", "postgres", "nc")
IMAGES = ("nginx:1.25", "redis:7", "registry.example.net/team/api:3.1")
TOGGLES = ("allow8080", "forbid9000", "rename", "info", "require443", "judge", "require22")
FIRST = dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Sock:
    """One listener of a host on one night."""

    proto: str
    address: str
    port: int
    process: str | None
    pid: int
    container: tuple[str, str, str] | None = None  # (id, name, image)
    exposure: str = "host"  # host | published | container-only

    def listener(self) -> Listener:
        """The listener as a collection reports it."""
        family = 6 if ":" in self.address else 4
        if self.container is None:
            return Listener(self.proto, family, self.address, self.port, self.process,
                            self.pid, "root")
        cid, name, image = self.container
        return Listener(self.proto, family, self.address, self.port, self.process, self.pid,
                        "root", netns=4026532000 + sum(map(ord, name)),
                        container=Container(cid, name, image, "docker"),
                        exposure=self.exposure,
                        published_port=self.port + 10000 if self.exposure == "published"
                        else None)


@dataclass(frozen=True)
class Waiver:
    """One waiver of a night's waiver file."""

    id: str
    hosts: str
    expires: str
    port: int | None = None
    kind: str | None = None
    container: str | None = None


@dataclass(frozen=True)
class Night:
    """One night: when, which hosts, what they listen on, and how the scan is run."""

    when: str
    socks: dict[str, tuple[Sock, ...]]  # every host of the fleet
    down: frozenset[str] = frozenset()
    limit: tuple[str, ...] | None = None
    toggles: frozenset[str] = frozenset()
    waivers: tuple[Waiver, ...] = ()
    keep_days: int | None = None  # --history-keep-days (None: the default)
    fail_on_new: bool = False
    baseline: int | None = None  # index of an earlier night whose run file is the baseline
    prune: int | None = None  # `history prune --keep-days N` just before this night
    fail_on: str | None = None  # --fail-on


@dataclass(frozen=True)
class Scenario:
    """A fleet's nights."""

    seed: int
    hosts: tuple[str, ...]
    nights: tuple[Night, ...]


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _mutate(rng: random.Random, s: Sock) -> Sock:
    """One change of a listener that stays (PID, name, address, container)."""
    what = rng.choice(("pid", "pid", "process", "address", "container", "recreate"))
    if what == "pid":
        return dataclasses.replace(s, pid=rng.randrange(100, 60000))
    if what == "process":
        return dataclasses.replace(s, process=rng.choice((*PROCESSES, None)))
    if what == "address":
        return dataclasses.replace(s, address=rng.choice(ADDRESSES))
    if what == "container":
        if s.container is not None:
            return dataclasses.replace(s, container=None, exposure="host")
        return dataclasses.replace(s, container=(f"{rng.getrandbits(64):016x}",
                                                 rng.choice(("web", "cache", "api")),
                                                 rng.choice(IMAGES)),
                                   exposure=rng.choice(("published", "container-only")))
    if s.container is not None:  # recreated: a new id, the same name and image
        return dataclasses.replace(s, container=(f"{rng.getrandbits(64):016x}",
                                                 *s.container[1:]))
    return dataclasses.replace(s, pid=s.pid + 1)


def _sock(rng: random.Random) -> Sock:
    return Sock(rng.choice(("tcp", "tcp", "tcp", "udp")), rng.choice(ADDRESSES),
                rng.choice(PORTS), rng.choice(PROCESSES), rng.randrange(100, 60000))


def _when(rng: random.Random, last: dt.datetime, ordinary: dt.datetime) -> tuple[str, dt.datetime]:
    """The next night's start and the clock's ordinary time after it."""
    roll = rng.random()
    if roll < 0.05:  # the clock runs ahead (a year or thousands), then is right again
        ahead = rng.choice((dt.datetime(2031, 3, 1, 2, tzinfo=dt.UTC),
                            dt.datetime(9999, 6, 1, 2, tzinfo=dt.UTC)))
        return _iso(ahead), ordinary
    if roll < 0.09:  # a second run in the same second
        return _iso(last), ordinary
    if roll < 0.16:  # stepped back one to three days
        back = ordinary - dt.timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 5))
        return _iso(back), ordinary
    step = dt.timedelta(days=rng.randint(3, 20)) if roll < 0.26 else dt.timedelta(days=1)
    nxt = ordinary + step + dt.timedelta(minutes=rng.randint(-300, 300))
    return _iso(nxt), nxt


def generate(seed: int) -> Scenario:
    """The scenario of `seed`."""
    rng = random.Random(seed)  # noqa: S311 - a replayable draw, no secret
    hosts = tuple(f"h{i}" for i in range(1, rng.randint(3, 8) + 1))
    slots: dict[str, list[tuple[bool, Sock]]] = {
        h: [(True, Sock("tcp", "0.0.0.0", 22, "sshd", 800))] +
           [(rng.random() < 0.7, _sock(rng)) for _ in range(rng.randint(0, 4))]
        for h in hosts}
    ordinary = FIRST + dt.timedelta(minutes=rng.randint(0, 600))
    last, nights = ordinary, []
    waiver_pool = [Waiver("W-1", "all", "2026-03-01", port=8080),
                   Waiver("W-2", rng.choice(hosts), "2027-12-31", port=9000, kind="stray"),
                   Waiver("W-3", "all", rng.choice(("2026-01-20", "2030-01-01")),
                          container="web"),
                   Waiver("W-4", "all", "2030-01-01", port=1923)]
    forever = rng.random() < 0.3  # no retention at all: every interval stays listed
    for n in range(rng.randint(4, 12)):
        if n:
            when, ordinary = _when(rng, last, ordinary)
        else:
            when = _iso(ordinary)
        last = dt.datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        for h in hosts:
            row = slots[h]
            for i, (was_on, was) in enumerate(row):
                on = not was_on if rng.random() < 0.25 else was_on
                row[i] = (on, _mutate(rng, was) if rng.random() < 0.3 else was)
            if rng.random() < 0.15:
                row.append((True, _sock(rng)))
        limit = None
        if n and rng.random() < 0.15:
            limit = tuple(sorted(rng.sample(hosts, rng.randint(1, len(hosts)))))
        earlier = n and rng.random() < 0.25
        nights.append(Night(
            when=when,
            socks={h: tuple(s for on, s in slots[h] if on) for h in hosts},
            down=frozenset(h for h in hosts if rng.random() < 0.12),
            limit=limit,
            toggles=frozenset(t for t in TOGGLES if rng.random() < 0.25),
            waivers=tuple(w for w in waiver_pool if rng.random() < 0.4),
            keep_days=0 if forever else rng.choice((None, None, None, 0, 2, 7, 30)),
            fail_on_new=rng.random() < 0.3,
            baseline=rng.randrange(n) if earlier else None,
            prune=rng.choice((0, 5, 60)) if n and not forever and rng.random() < 0.08
            else None,
            fail_on=rng.choice((None, None, None, "high", "critical"))))
    return Scenario(seed, hosts, tuple(nights))


def policy(toggles: frozenset[str]) -> dict[str, Any]:
    """The night's policy file: the fleet's rules, with the night's toggles."""
    doc: dict[str, Any] = {
        "name": "fleet", "hosts": "all", "default": "deny",
        "stray_severity": "info" if "info" in toggles else "high",
        "containers": "judge" if "judge" in toggles else "list",
        "allow": [{"id": "ssh", "proto": "tcp", "port": 22, "process": "sshd"},
                  {"id": "loopback", "address": "loopback"},
                  {"id": "postgres", "proto": "tcp", "port": 5432, "address": "loopback",
                   "process": "postgres", "severity": "critical"}],
        "forbid": [{"id": "spice-2" if "rename" in toggles else "spice", "proto": "tcp",
                    "port": 1923, "severity": "critical"}],
        "require": [{"id": "ssh-up", "proto": "tcp", "port": 22}],
    }
    if "allow8080" in toggles:
        doc["allow"].append({"id": "web", "proto": "tcp", "port": 8080})
    if "forbid9000" in toggles:
        doc["forbid"].append({"id": "nine", "proto": "tcp", "port": 9000,
                              "severity": "medium"})
    if "require22" in toggles:  # a second requirement of the same port: one identity
        doc["require"].append({"id": "ssh-up-again", "proto": "tcp", "port": 22})
    if "require443" in toggles:
        doc["require"].append({"id": "https-up", "proto": "tcp", "port": 443,
                               "severity": "low"})
    return doc


def waiver_file(waivers: tuple[Waiver, ...]) -> dict[str, Any]:
    """The night's waiver file."""
    out = []
    for w in waivers:
        d: dict[str, Any] = {"id": w.id, "hosts": w.hosts, "reason": "hunt",
                             "owner": "alice", "approved_by": "bob",
                             "created": "2020-01-01", "expires": w.expires}
        for key in ("port", "kind", "container"):
            if getattr(w, key) is not None:
                d[key] = getattr(w, key)
        out.append(d)
    return {"waivers": out}


@dataclass
class Played:
    """What the nights left: each night's run file (None: the scan wrote none), its JSON,
    exit code and stderr, in the order they ran; and the database the scans kept."""

    scenario: Scenario
    root: Path
    files: list[Path | None] = field(default_factory=list)
    runs: list[dict[str, Any] | None] = field(default_factory=list)
    codes: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    real_now: str = ""

    @property
    def database(self) -> Path:
        """The database the scans recorded into."""
        return self.root / "scans.sqlite3"


class _Tonight:
    """The collection the patched probe returns: the night's listeners per host."""

    def __init__(self) -> None:
        self.socks: dict[str, tuple[Sock, ...]] = {}
        self.down: frozenset[str] = frozenset()

    def collect(self, host: PlannedHost, transport: Transport,
                options: CollectOptions) -> Collection:
        if host.name in self.down:
            raise HostFailure(ErrorKind.CONNECT_TIMEOUT, f"no answer from {host.name}")
        listeners = tuple(s.listener() for s in self.socks[host.name])
        record = CommandRecord("ss -tulnpe", 0, ss_output(listeners), "", 0.01)
        return Collection("Linux 6.1.0", "ss", listeners, (record,), True)


@contextlib.contextmanager
def _supplied(tonight: _Tonight, when: list[str]) -> Iterator[None]:
    """scan with the night's clock and collections (the rest is the real code)."""
    def start() -> Start:
        return Start(wall=dt.datetime.strptime(when[0], "%Y-%m-%dT%H:%M:%SZ")
                     .replace(tzinfo=dt.UTC))

    with mock.patch.object(check, "collect", tonight.collect), \
            mock.patch.object(scan_cmd, "Start", start):
        yield


def play(scenario: Scenario, root: Path) -> Played:
    """Scan every night of `scenario` under `root`; one database, one report dir a night."""
    from fleetcheck.clock import now_iso

    played = Played(scenario, root, real_now=now_iso())
    inventory = root / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {
        h: {"ansible_connection": "local"} for h in scenario.hosts}}}))
    tonight, when = _Tonight(), [""]
    with _supplied(tonight, when):
        for n, night in enumerate(scenario.nights):
            tonight.socks, tonight.down, when[0] = night.socks, night.down, night.when
            pol, wai = root / f"policy-{n}.yml", root / f"waivers-{n}.yml"
            pol.write_text(yaml.safe_dump(policy(night.toggles)))
            wai.write_text(yaml.safe_dump(waiver_file(night.waivers)))
            if night.prune is not None:
                res = run_cli(["history", "prune", "--keep-days", str(night.prune),
                               "--history-db", str(played.database)], cwd=root)
                assert res.code == 0, res.err
            out = root / f"night-{n}"
            argv = ["scan", "-i", str(inventory), "-p", str(pol), "-w", str(wai), "-o",
                    str(out), "--format", "json", "--engine", "threads", "-f", "4",
                    "--history-db", str(played.database)]
            if night.limit is not None:
                argv += ["--limit", ":".join(night.limit)]
            if night.keep_days is not None:
                argv += ["--history-keep-days", str(night.keep_days)]
            if night.fail_on is not None:
                argv += ["--fail-on", night.fail_on]
            if night.fail_on_new:
                argv.append("--fail-on-new")
            if night.baseline is not None and played.files[night.baseline] is not None:
                argv += ["--baseline", str(played.files[night.baseline])]
            res = run_cli(argv, cwd=root)
            found = run_files(out) if out.is_dir() else []
            path = found[0] if len(found) == 1 else None
            played.files.append(path)
            played.runs.append(json.loads(path.read_text()) if path else None)
            played.codes.append(res.code)
            played.errors.append(res.err)
    return played
