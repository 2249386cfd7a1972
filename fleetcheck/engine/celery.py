"""The celery engine: shards of the planned hosts run on Celery workers near their hosts.

Hosts are grouped by queue (one per site, from `--queue-by`; one queue by default) and
each queue's hosts cut into shards of at most `shard_size`. Each shard is one task
message (host names, the shard, input hashes, the run's settings: no secret) routed to
its queue. Results come back in bounded chunks (see `celery_app`) and are reported as
hosts finish; the first result of each host is kept, so a shard delivered twice is
harmless. A queue with no live worker for `queue_wait` seconds has its hosts marked
`not_run`, naming the queue. An interrupt (or `stop()`) cancels the run: the workers'
shards stop, tasks still queued are revoked and never start.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from celery import Celery

from fleetcheck import __version__
from fleetcheck.engine.base import Done, Outcome, Stop
from fleetcheck.engine.celery_app import (
    CHUNK_BYTES,
    CHUNK_HOSTS,
    DEFAULT_QUEUE,
    KEY_TTL,
    PROTOCOL,
    TASK,
    BrokerSettings,
    Keys,
    RunMarker,
    decode_chunk,
    make_app,
    preflight,
    redacted,
)
from fleetcheck.engine.check import Job, unchecked_host
from fleetcheck.errors import ErrorKind, InputError
from fleetcheck.frozen import frozen
from fleetcheck.model import HostError, HostResult
from fleetcheck.plan import PlannedHost
from fleetcheck.words import plural

log = logging.getLogger("fleetcheck.engine.celery")
CANCEL_GRACE = 2.0  # seconds an interrupted run waits for the chunks shards send as they stop


@frozen
class CelerySettings:
    """The broker, and how the run is cut into shards and waits for workers."""

    broker: BrokerSettings
    queue_wait: float = 60.0  # seconds a queue may have no live worker before giving up
    shard_size: int = 250
    poll: float = 0.2  # seconds between reads of the result backend
    probe_every: float = 2.0  # seconds between asking which queues have live workers
    chunk_hosts: int = CHUNK_HOSTS
    chunk_bytes: int = CHUNK_BYTES


@dataclass
class _Shard:
    """One shard sent to the broker: its hosts' positions and its task."""

    index: int
    queue: str
    positions: list[int]
    task_id: str
    by_name: dict[str, int]
    message: dict[str, Any] = field(default_factory=dict)  # what was sent (sent again if lost)
    task_ids: list[str] = field(default_factory=list)  # every task sent for it
    read: dict[int, int] = field(default_factory=dict)  # attempt -> next chunk to read
    workers: set[str] = field(default_factory=set)
    modes: set[str] = field(default_factory=set)  # host-key checking the workers used
    status: str = "queued"
    error: str | None = None

    def record(self, count: int) -> dict[str, Any]:
        """What the run says of this shard."""
        return {"index": self.index, "count": count, "queue": self.queue,
                "hosts": len(self.positions), "status": self.status,
                "attempts": max(self.read, default=0), "workers": sorted(self.workers),
                **({"error": self.error} if self.error else {}),
                **({"host_key_checking": sorted(self.modes)} if self.modes else {})}


class CeleryEngine:
    """Checks hosts on Celery workers, a shard per task, one queue per site."""

    name = "celery"

    def __init__(self, settings: CelerySettings, *, inputs: Mapping[str, list[str]],
                 queues: Mapping[str, str] | None = None, become: bool = False,
                 user: str | None = None, planning: Mapping[str, Any] | None = None) -> None:
        self.settings = settings
        self.inputs = dict(inputs)  # the coordinator's input sha256 by kind
        self.queues = dict(queues or {})  # host name -> queue; others go to DEFAULT_QUEUE
        self.become, self.user = become, user
        # what else planned the hosts: defaults from configuration, -e (JSON, no secret)
        self.planning = dict(planning or {})
        self.app: Celery | None = None
        self.shards: list[dict[str, Any]] = []  # after `run`: what became of each shard
        self.problems: list[str] = []  # after `run`: one line per queue or shard given up

    def connect(self) -> Celery:
        """The app, once the broker and result backend answered; InputError otherwise."""
        if self.app is None:
            app = make_app(self.settings.broker)
            preflight(app, self.settings.broker)
            self.app = app
        return self.app

    def run(self, hosts: Sequence[PlannedHost], job: Job, *, on_done: Done | None = None,
            stop: Stop | None = None) -> Outcome:
        """Dispatch the shards, collect their hosts as they finish, and whether all did."""
        if job.connect is not None:
            raise InputError("the celery engine checks hosts on its workers: a connector "
                             "of this process cannot travel there")
        app = self.connect()
        keys = Keys(secrets.token_hex(8))
        shards = self._plan(hosts)
        by_index: dict[int, HostResult] = {}
        collect = _Collector(app, keys, shards, hosts, by_index, on_done)
        complete = False
        try:
            self._dispatch(app, keys, shards, job)
            complete = self._wait(app, collect, stop, RunMarker(self.settings.broker, app, keys))
        except KeyboardInterrupt:
            collect.settle(CANCEL_GRACE, cancel=True)
        finally:
            collect.finish()
            self.shards = [s.record(len(shards)) for s in shards]
        return Outcome(by_index, complete and len(by_index) == len(hosts))

    def _plan(self, hosts: Sequence[PlannedHost]) -> list[_Shard]:
        by_queue: dict[str, list[int]] = {}
        for i, h in enumerate(hosts):
            by_queue.setdefault(self.queues.get(h.name, DEFAULT_QUEUE), []).append(i)
        shards: list[_Shard] = []
        for queue in sorted(by_queue):
            positions = by_queue[queue]
            parts = math.ceil(len(positions) / max(1, self.settings.shard_size))
            for p in range(parts):  # contiguous, nearly equal parts in plan order
                part = positions[p * len(positions) // parts:(p + 1) * len(positions) // parts]
                index = len(shards) + 1
                shards.append(_Shard(index, queue, part, "", {hosts[i].name: i for i in part}))
        return shards

    def _dispatch(self, app: Celery, keys: Keys, shards: list[_Shard], job: Job) -> None:
        options = job.options
        settings = {"fail_on": options.fail_on.label, "command_timeout": options.command_timeout,
                    "deadline": options.deadline, "max_output": options.max_output,
                    "become": self.become, "user": self.user, "planning": self.planning,
                    "waivers": job.waivers is not None,
                    "today": job.waivers.today.isoformat() if job.waivers else None}
        for s in shards:
            s.task_id = f"fleetcheck-{keys.run}-{s.index}"
            s.message = {"v": PROTOCOL, "run": keys.run, "index": s.index, "count": len(shards),
                         "queue": s.queue, "hosts": list(s.by_name), "inputs": self.inputs,
                         "version": __version__, "settings": settings,
                         "chunk_hosts": self.settings.chunk_hosts,
                         "chunk_bytes": self.settings.chunk_bytes}
            try:
                _send(app, s, s.task_id)
            except Exception as exc:  # the broker went away since preflight
                raise InputError(f"cannot reach the broker at "
                                 f"{redacted(self.settings.broker.broker)}: {exc}") from None
        log.info("run %s: %d shards dispatched to %s", keys.run, len(shards),
                 ", ".join(sorted({s.queue for s in shards})))

    def _wait(self, app: Celery, collect: _Collector, stop: Stop | None,
              marker: RunMarker) -> bool:
        """Read chunks until every shard is done or given up; True if none was given up."""
        wait = self.settings.queue_wait
        try:
            marker.set()
        except Exception:  # not set: read as lost below, the shards sent again (harmless)
            log.debug("could not set the run's alive key", exc_info=True)
        no_worker: dict[str, float] = {}
        backend_down: float | None = None
        last_probe = -math.inf
        complete = True
        while collect.pending:
            if stop is not None and stop():
                collect.settle(CANCEL_GRACE, cancel=True)
                return False
            now = time.monotonic()
            try:
                collect.read()
                backend_down = None
                if not marker.present():  # Redis restarted empty: the queued shards are gone
                    resent = collect.resend(marker)
                    log.warning("the broker or result backend lost this run's data (restarted "
                                "or flushed): %d shards sent again", resent)
            except Exception as exc:  # the result backend is unreachable: wait, then give up
                backend_down = backend_down or now
                if now - backend_down >= wait:
                    why = f"lost the result backend for {wait:g}s: {exc}"
                    self.problems.append(why)
                    collect.give_up(list(collect.pending), why)
                    return False
            if now - last_probe >= self.settings.probe_every:
                last_probe = now
                live = _live_queues(app)
                for queue in sorted({s.queue for s in collect.waiting()}):
                    if live is None or queue in live:
                        no_worker.pop(queue, None)
                        continue
                    since = no_worker.setdefault(queue, now)
                    if now - since >= wait:
                        shards = [s.index for s in collect.waiting() if s.queue == queue]
                        why = f"no live worker served queue {queue!r} for {wait:g}s " \
                              "(--queue-wait)"
                        n = collect.give_up(shards, why, status="no_worker")
                        self.problems.append(f"queue {queue!r}: no live worker for {wait:g}s:"
                                             f" {plural(n, 'host')} marked not_run")
                        complete = False
            if collect.pending:
                time.sleep(self.settings.poll)
        return complete


def _send(app: Celery, s: _Shard, task_id: str) -> None:
    """Send shard `s`'s message as task `task_id`."""
    app.send_task(TASK, args=[s.message], queue=s.queue, task_id=task_id, expires=KEY_TTL,
                  retry=False)
    s.task_ids.append(task_id)


def _first_line(exc: BaseException) -> str:
    """An exception as one line (its text's first line, or its class)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def _live_queues(app: Celery) -> set[str] | None:
    """Queues some live worker consumes now (None when the question could not be asked)."""
    try:
        replies = app.control.inspect(timeout=0.5).active_queues() or {}
    except Exception:
        return None
    return {q["name"] for queues in replies.values() for q in queues or ()}


class _Collector:
    """Reads result chunks from the backend and turns them into host results, in order."""

    def __init__(self, app: Celery, keys: Keys, shards: list[_Shard],
                 hosts: Sequence[PlannedHost], by_index: dict[int, HostResult],
                 on_done: Done | None) -> None:
        self.app, self.keys, self.shards, self.hosts = app, keys, shards, hosts
        self.by_index, self.on_done = by_index, on_done
        self.pending = {s.index for s in shards}
        self.final: set[tuple[int, int]] = set()  # (shard, attempt) that sent its last chunk

    def waiting(self) -> list[_Shard]:
        """Shards not yet done."""
        return [s for s in self.shards if s.index in self.pending]

    def read(self) -> None:
        """Take every chunk written since the last read."""
        client = self.app.backend.client
        waiting = self.waiting()
        pipe = client.pipeline(transaction=False)
        for s in waiting:
            pipe.get(self.keys.attempt(s.index))
        for s, count in zip(waiting, pipe.execute(), strict=True):
            for attempt in range(1, int(count or 0) + 1):
                s.read.setdefault(attempt, 0)
        while True:
            wanted = [(s, a, seq) for s in self.waiting() for a, seq in s.read.items()
                      if (s.index, a) not in self.final]
            if not wanted:
                return
            pipe = client.pipeline(transaction=False)
            for s, a, seq in wanted:
                pipe.get(self.keys.chunk(s.index, a, seq))
            found = [(w, data) for w, data in zip(wanted, pipe.execute(), strict=True) if data]
            if not found:
                return
            pipe = client.pipeline(transaction=False)
            for (s, a, seq), data in found:
                s.read[a] = seq + 1
                pipe.delete(self.keys.chunk(s.index, a, seq))
                self._take(s, a, decode_chunk(data))
            pipe.execute()

    def _take(self, s: _Shard, attempt: int, chunk: dict[str, Any]) -> None:
        s.workers.add(str(chunk.get("worker")))
        if chunk.get("host_key_checking"):
            s.modes.add(str(chunk["host_key_checking"]))
        s.status = "running" if s.status == "queued" else s.status
        for data in chunk.get("hosts", ()):
            result = HostResult.from_dict(data)
            self._record(s, s.by_name.get(result.name), result)
        if chunk.get("final"):
            self.final.add((s.index, attempt))
        error = chunk.get("error")
        if error:
            s.error = str(error.get("message"))
            self._fill(s, HostError(str(error.get("kind")), s.error), "refused")
        elif all(i in self.by_index for i in s.positions):
            s.status = "done"
            self.pending.discard(s.index)
            try:  # a redelivered copy of the shard (still running, or queued) stops now
                self.app.backend.client.set(self.keys.done(s.index), b"1", ex=KEY_TTL)
            except Exception:
                log.debug("could not mark shard %d done", s.index, exc_info=True)

    def _record(self, s: _Shard, i: int | None, result: HostResult) -> None:
        if i is None or i in self.by_index or i not in s.by_name.values():
            return  # not a host of this shard, or one already reported (a second attempt)
        self.by_index[i] = result
        if self.on_done is not None:
            self.on_done(i, result)

    def _fill(self, s: _Shard, error: HostError, status: str) -> int:
        """Every host of `s` without a result gets `error`; the shard is over."""
        n = 0
        for i in s.positions:
            if i not in self.by_index:
                self._record(s, i, unchecked_host(self.hosts[i], error))
                n += 1
        s.status = status
        self.pending.discard(s.index)
        return n

    def resend(self, marker: RunMarker) -> int:
        """Send the shards not done again, their messages lost with Redis's data; new
        attempts count on from the highest seen, so no chunk key is reused. How many."""
        client = self.app.backend.client
        waiting = self.waiting()
        for s in waiting:
            seen = max(s.read, default=0)
            current = int(client.get(self.keys.attempt(s.index)) or 0)
            client.set(self.keys.attempt(s.index), max(seen, current), ex=KEY_TTL)
        marker.set()
        for s in waiting:
            _send(self.app, s, f"{s.task_id}-{len(s.task_ids) + 1}")
        return len(waiting)

    def give_up(self, indexes: list[int], why: str, status: str = "not_run") -> int:
        """Mark the hosts of these shards not_run, saying why; how many there were."""
        error = HostError(ErrorKind.NOT_RUN.value, why)
        return sum(self._fill(s, error, status) for s in self.shards if s.index in indexes)

    def settle(self, grace: float, *, cancel: bool) -> None:
        """Cancel the run, then keep reading for `grace` seconds what shards send as they stop."""
        if cancel:
            self.cancel()
        end = time.monotonic() + grace
        try:
            while self.pending and time.monotonic() < end:
                running = [s for s in self.waiting() if s.read]
                if all(any((s.index, a) in self.final for a in s.read) for s in running):
                    break
                self.read()
                time.sleep(0.1)
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: report what came in
        except Exception:
            log.debug("reading the last chunks failed", exc_info=True)
        for s in self.waiting():
            s.status = "cancelled"

    def cancel(self) -> None:
        """Tell every shard of the run to stop, and queued ones never to start."""
        try:
            self.app.backend.client.set(self.keys.cancel, b"1", ex=KEY_TTL)
        except Exception as exc:  # one line: the run's own message says what was lost
            log.warning("could not set the run's cancel key: %s", _first_line(exc))
            log.debug("setting the cancel key", exc_info=True)
        ids = [i for s in self.shards if s.status != "done" for i in s.task_ids]
        if ids:
            try:
                self.app.control.revoke(ids)
            except Exception as exc:
                log.warning("could not revoke the run's queued tasks: %s", _first_line(exc))
                log.debug("revoking", exc_info=True)

    def finish(self) -> None:
        """The run is over: nothing of it may start or go on; its counters are removed."""
        self.cancel()
        try:
            self.app.backend.client.delete(self.keys.alive,
                                           *[self.keys.attempt(s.index) for s in self.shards])
        except Exception:
            log.debug("could not remove the run's keys", exc_info=True)
