"""A Celery worker's side of a shard: check the named hosts with this worker's own inputs.

A shard message carries host names, the shard, the sha256 of the coordinator's input
files and the run's settings that shape a verdict (--fail-on, the waiver date, -b, -u,
timeouts); no secret. The worker judges with the inventory, policies, waivers, vault
password, keys and known_hosts of its own checkout, and refuses a shard whose hashes or
fleetcheck version differ (a per-shard error naming the difference). Results go out as
bounded chunks while hosts finish; the coordinator's cancel key stops the shard.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import field
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from fleetcheck import __version__
from fleetcheck.engine.celery_app import (
    CHUNK_BYTES,
    CHUNK_HOSTS,
    KEY_TTL,
    PROTOCOL,
    TASK,
    Keys,
    encode_chunk,
)
from fleetcheck.engine.check import Job
from fleetcheck.engine.interrupts import die_with_parent
from fleetcheck.engine.options import ScanOptions
from fleetcheck.engine.threads import ThreadEngine
from fleetcheck.errors import ErrorKind, InputError
from fleetcheck.frozen import frozen
from fleetcheck.inventory import Inventory
from fleetcheck.inventory.extravars import ExtraVars
from fleetcheck.model import HostResult, InputFile, Severity
from fleetcheck.plan import Applies, PlannedHost, defaults_from_record, plan_host
from fleetcheck.policy import Policy
from fleetcheck.policy.review import dated
from fleetcheck.policy.waivers import Waiver, WaiverBook
from fleetcheck.transport.inflight import INFLIGHT
from fleetcheck.transport.ssh.options import SshOptions

log = logging.getLogger("fleetcheck.worker")
FLUSH_INTERVAL = 0.5  # seconds a finished host waits at most before it is sent
RETRY_SECONDS = 10.0  # how long a shard waits for a result backend that went away
# Set by SIGTERM in a pool process: the running shard stops (its commands too), then the
# process exits; the message, unacknowledged, is delivered again.
TERMINATING = threading.Event()


def fingerprint(files: Sequence[InputFile]) -> dict[str, list[str]]:
    """The sha256 of the input files by kind, sorted: what must match between machines."""
    out: dict[str, list[str]] = {}
    for f in files:
        out.setdefault(f.kind, []).append(f.sha256)
    return {kind: sorted(hashes) for kind, hashes in sorted(out.items())}


@frozen(slots=False)
class WorkerInputs:
    """What this worker read at start: inputs, connection settings, width, secrets' hook."""

    inventory: Inventory
    policies: tuple[Policy, ...]
    waivers: tuple[Waiver, ...] | None  # None: no waiver file given
    files: tuple[InputFile, ...]
    ssh: SshOptions
    forks: int = 10
    log_level: int | None = None
    # Applied to planned hosts (-K's become password); never sent anywhere.
    prepare: Callable[[list[PlannedHost]], list[PlannedHost]] = field(
        default=lambda hosts: hosts, repr=False)
    # Reads the files again (a checkout updated under a running worker); InputError if bad.
    reload: Callable[[], WorkerInputs] | None = field(default=None, repr=False)


class ShardRunner:
    """Runs shard messages against this worker's inputs, posting result chunks."""

    def __init__(self, inputs: WorkerInputs, app: Celery, *, name: str) -> None:
        self.inputs, self.app, self.name = inputs, app, name
        self.own = fingerprint(inputs.files)
        self._selected: dict[str, frozenset[str]] | None = None
        self._applies: Applies | None = None  # built with _selected

    def run(self, message: dict[str, Any]) -> dict[str, Any]:
        """Check the shard's hosts (a new attempt); a small summary for the task's log."""
        keys = Keys(str(message["run"]))
        index = int(message["index"])
        client = self.app.backend.client
        attempt = int(_retrying(lambda: client.incr(keys.attempt(index))))
        _retrying(lambda: client.expire(keys.attempt(index), KEY_TTL))
        writer = ChunkWriter(client, keys, index, attempt, self.name,
                             max_hosts=int(message.get("chunk_hosts", CHUNK_HOSTS)),
                             max_bytes=int(message.get("chunk_bytes", CHUNK_BYTES)),
                             extra={"host_key_checking": self.inputs.ssh.host_key_checking})
        if _retrying(lambda: client.exists(keys.cancel, keys.done(index))):
            writer.close(complete=False, error=None, cancelled=True)  # over, or done elsewhere
            return {"attempt": attempt, "cancelled": True}
        refusal = self.refusal(message)
        if refusal is None:
            try:
                hosts = self.plan(message)
            except InputError as exc:
                refusal = {"kind": ErrorKind.INVENTORY.value, "message": f"on worker "
                           f"{self.name}: {exc}"}
        if refusal is not None:
            log.warning("shard %s/%s refused: %s", index, message.get("count"),
                        refusal["message"])
            writer.close(complete=False, error=refusal)
            return {"attempt": attempt, "refused": refusal["message"]}
        start = time.monotonic()
        log.info("shard %s/%s of run %s: %d hosts (attempt %d)", index, message["count"],
                 keys.run, len(hosts), attempt)
        INFLIGHT.reset()  # a pool process runs shard after shard: an old stop must not last
        complete = False
        try:
            with _sigterm_stops_the_shard():
                outcome = ThreadEngine().run(hosts, self.job(message), on_done=writer.add,
                                             stop=writer.stopped)
            complete = outcome.complete
        finally:
            writer.close(complete=complete)
        log.info("shard %s/%s of run %s: %s in %.1fs", index, message["count"], keys.run,
                 "done" if complete else "stopped", time.monotonic() - start)
        if TERMINATING.is_set():
            os._exit(0)  # stopped by SIGTERM: leave the message unacknowledged
        return {"attempt": attempt, "hosts": len(hosts), "complete": complete}

    def refusal(self, message: dict[str, Any]) -> dict[str, str] | None:
        """Why this worker must not run the shard (protocol, version, input hashes), or None."""
        def refuse(why: str) -> dict[str, str]:
            return {"kind": ErrorKind.INPUT_MISMATCH.value,
                    "message": f"worker {self.name} refused the shard: {why}"}

        if message.get("v") != PROTOCOL:
            return refuse(f"shard message version {message.get('v')!r}, this worker reads "
                          f"{PROTOCOL}")
        if message.get("version") != __version__:
            return refuse(f"fleetcheck {__version__} here, {message.get('version')} on the "
                          "coordinator")
        theirs: dict[str, list[str]] = message.get("inputs") or {}
        why = self._differs(theirs)
        if why is not None and self.inputs.reload is not None:
            # The checkout may have been updated (a git pull) since this worker started:
            # read it again rather than refuse every shard until a restart.
            try:
                fresh = self.inputs.reload()
            except InputError as exc:
                return refuse(f"{why}; reading them again failed: {exc}")
            if fingerprint(fresh.files) != self.own:
                log.info("input files changed since they were read: using the new ones")
                self.inputs, self.own, self._selected = fresh, fingerprint(fresh.files), None
                why = self._differs(theirs)
        if why is not None:
            return refuse(why)
        if bool(message["settings"].get("waivers")) != (self.inputs.waivers is not None):
            return refuse("waivers were given on one side only")
        return None

    def _differs(self, theirs: dict[str, list[str]]) -> str | None:
        """How this worker's input files differ from the coordinator's, or None."""
        for kind in sorted(set(theirs) | set(self.own)):
            mine, other = self.own.get(kind, []), sorted(theirs.get(kind, []))
            if mine != other:
                return (f"its {kind} files differ from the coordinator's (sha256 here: "
                        f"{_short(mine)}; coordinator: {_short(other)})")
        return None

    def plan(self, message: dict[str, Any]) -> list[PlannedHost]:
        """The named hosts planned from this worker's inventory, as the coordinator's -b, -u,
        -e and configuration say."""
        settings = message["settings"]
        inventory = self.inputs.inventory
        if self._selected is None:  # which hosts each policy selects: once per worker
            self._selected = {p.name: frozenset(h.name for h in _select(inventory, p.hosts))
                              for p in self.inputs.policies if p.hosts is not None}
            self._applies = Applies(self.inputs.policies, self._selected)
        planning = settings.get("planning") or {}
        defaults = defaults_from_record(planning.get("defaults") or {})
        extra = ExtraVars(planning.get("extra_vars") or {}, planning.get("extra_origins") or {})
        hosts = []
        policies = on_day(self.inputs.policies, settings.get("today"))
        for name in message["hosts"]:
            record = inventory.host(name)
            if record is None:
                raise InputError(f"host {name!r} is not in this worker's inventory")
            hosts.append(plan_host(record, policies, become=bool(settings["become"]),
                                   user=settings.get("user"), selected=self._selected,
                                   defaults=defaults, extra_vars=extra,
                                   merge=inventory.hash_merge, applies=self._applies))
        return self.inputs.prepare(hosts)

    def job(self, message: dict[str, Any]) -> Job:
        """The run's settings from the message, with this worker's connection settings."""
        settings = message["settings"]
        options = ScanOptions(
            forks=self.inputs.forks, fail_on=Severity.parse(settings["fail_on"]),
            command_timeout=float(settings["command_timeout"]),
            deadline=float(settings["deadline"]), max_output=int(settings["max_output"]),
            workers=1, ssh=self.inputs.ssh, log_level=self.inputs.log_level, engine="threads")
        book = None
        if self.inputs.waivers is not None and settings.get("today"):
            book = WaiverBook(self.inputs.waivers, dt.date.fromisoformat(settings["today"]))
        return Job(options, book)


def on_day(policies: tuple[Policy, ...], today: str | None) -> tuple[Policy, ...]:
    """The policies with their reviews judged on the run's date (`today`, the coordinator's
    --today or start date), not on the day this worker started."""
    if not today:
        return policies
    day = dt.date.fromisoformat(today)
    return tuple(dated(p, day) for p in policies)


def _select(inventory: Inventory, pattern: str | None) -> list[Any]:
    try:
        return inventory.select(pattern, quiet=True)
    except InputError:
        return []


def _short(hashes: Sequence[str]) -> str:
    return ", ".join(h[:12] for h in hashes) or "none"


class ChunkWriter:
    """Sends finished hosts in bounded chunks, at least every FLUSH_INTERVAL; watches for
    the run's cancel key (and this process's parent going away) to stop the shard."""

    def __init__(self, client: Any, keys: Keys, shard: int, attempt: int, worker: str, *,
                 max_hosts: int = CHUNK_HOSTS, max_bytes: int = CHUNK_BYTES,
                 extra: dict[str, Any] | None = None) -> None:
        self.client, self.keys, self.shard, self.attempt = client, keys, shard, attempt
        self.worker, self.max_hosts, self.max_bytes = worker, max_hosts, max_bytes
        self.extra = extra or {}
        self.pending: list[str] = []
        self.size = 0
        self.seq = 0
        self.cancel = threading.Event()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._parent = os.getppid()
        self._thread = threading.Thread(target=self._tick, name="fleetcheck-chunks",
                                        daemon=True)
        self._thread.start()

    def add(self, _index: int, result: HostResult) -> None:
        """Queue one finished host; send the chunk first if it would grow past its bounds."""
        encoded = json.dumps(result.to_dict())
        with self._lock:
            if self.pending and self.size + len(encoded) > self.max_bytes:
                self._send()
            self.pending.append(encoded)
            self.size += len(encoded)
            if len(self.pending) >= self.max_hosts or self.size >= self.max_bytes:
                self._send()

    def stopped(self) -> bool:
        """True once the shard must stop (cancelled, terminating, or orphaned)."""
        return self.cancel.is_set() or TERMINATING.is_set()

    def close(self, *, complete: bool, error: dict[str, str] | None = None,
              cancelled: bool = False) -> None:
        """Send what is left as the attempt's final chunk (waiting a while for a backend
        that is away; then the results are lost, said in one line, and the coordinator's
        other means take over: another attempt, or its hosts not_run)."""
        self._closed.set()
        with self._lock:
            try:
                _retrying(lambda: self._send(final=True, complete=complete, error=error,
                                             cancelled=cancelled or self.cancel.is_set()))
            except Exception as exc:
                log.warning("shard %d: could not send the last %d results to the result "
                            "backend: %s", self.shard, len(self.pending), exc)

    def _send(self, *, final: bool = False, complete: bool = False,
              error: dict[str, str] | None = None, cancelled: bool = False) -> None:
        data = encode_chunk(self.pending, seq=self.seq, worker=self.worker, final=final,
                            complete=complete, error=error,
                            extra={**self.extra, "cancelled": cancelled})
        self.client.set(self.keys.chunk(self.shard, self.attempt, self.seq), data, ex=KEY_TTL)
        self.seq += 1
        self.pending, self.size = [], 0

    def _tick(self) -> None:
        while not self._closed.wait(FLUSH_INTERVAL):
            try:
                if self.client.exists(self.keys.cancel, self.keys.done(self.shard)):
                    self.cancel.set()  # the run is over, or another attempt did the shard
                with self._lock:
                    if self.pending and not self._closed.is_set():
                        self._send()
            except Exception as exc:  # the backend is down: keep the results, try again later
                log.warning("cannot reach the result backend: %s", exc)
            if os.getppid() != self._parent:  # the worker died under this pool process
                self.cancel.set()


def _retrying(call: Callable[[], Any], seconds: float = RETRY_SECONDS) -> Any:
    """`call()`, tried again for `seconds` while the result backend is away (a Redis restart)."""
    end = time.monotonic() + seconds
    while True:
        try:
            return call()
        except Exception:
            if time.monotonic() >= end:
                raise
            time.sleep(0.5)


def _on_sigterm(signum: int, frame: Any) -> None:
    del signum, frame
    TERMINATING.set()


def _pool_process_init(**_: Any) -> None:
    """In each pool process: the worker's death (even by SIGKILL) is a SIGTERM."""
    # Celery has Linux SIGKILL a pool process whose worker died: its commands would go on
    # on the hosts (sshd leaves a command without a terminal running when its connection
    # drops). A SIGTERM stops them first, and the message is delivered again all the same.
    die_with_parent()


@contextlib.contextmanager
def _sigterm_stops_the_shard() -> Iterator[None]:
    """Within this block (a shard running) SIGTERM stops the shard and its commands first.

    Set here, not at the pool process's start: billiard puts its own handler (exit at
    once) in place after Celery's process initialiser has run."""
    if threading.current_thread() is not threading.main_thread():
        yield  # a pool without processes: the worker's own handling stands
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def register(app: Celery, runner: ShardRunner) -> None:
    """Make `app` run shard messages with `runner` (acknowledged late, idempotent)."""
    def shard(message: dict[str, Any]) -> dict[str, Any]:
        return runner.run(message)

    app.task(name=TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)(shard)
    worker_process_init.connect(_pool_process_init, weak=False)
