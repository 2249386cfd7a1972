"""What fleetcheck's Celery coordinator and workers share: the app's settings, the shard
task's name and message, and the keys through which results travel.

Delivery is at least once: tasks are acknowledged late (`task_acks_late`), a pool child
that dies mid-shard has its message put back (`task_reject_on_worker_lost`), and with
Redis a message whose worker vanished entirely becomes visible again after the broker's
`visibility_timeout` (kombu sweeps the unacked set every `unacked_restore_interval`, under a
lock that a worker killed mid-sweep holds for three intervals, not kombu's five minutes).
A shard task is idempotent: it only reads hosts, each run of it is an *attempt* with its
own chunk keys, and the coordinator keeps the first result of each host.

Results do not travel as the task's return value (one message for a whole shard) but as
bounded chunks under their own keys in the result backend (Redis):
`fleetcheck:<run>:<shard>:attempt` counts attempts; `fleetcheck:<run>:<shard>:<attempt>:<n>`
is the n-th chunk of an attempt; `fleetcheck:<run>:cancel` tells every shard of a run to
stop, `fleetcheck:<run>:<shard>:done` tells a shard's other attempts (a redelivery) that the
coordinator has all its hosts. `fleetcheck:<run>:alive`, set by the coordinator on the broker
and the result backend, vanishes only when Redis lost its data (restarted without
persistence, flushed): the coordinator then sends the shards not yet done again, as their
messages went with it. Every key expires after a day.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from celery import Celery
from kombu.utils.url import maybe_sanitize_url

from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen

TASK = "fleetcheck.shard"
DEFAULT_QUEUE = "fleetcheck"
KEY_TTL = 86400  # seconds every key of a run lives; also the task messages' expiry
PROTOCOL = 1  # the shard message's version: a worker refuses one it does not know
CHUNK_HOSTS = 100  # hosts in one result chunk at most
CHUNK_BYTES = 1 << 20  # bytes of host JSON in one chunk at most (a larger host goes alone)
REDIS_SCHEMES = ("redis://", "rediss://", "redis+socket://", "unix://")


@frozen
class BrokerSettings:
    """Where the broker and result backend are, and how long an unacknowledged task waits."""

    broker: str
    backend: str | None = None  # None: the broker's Redis
    visibility_timeout: float = 3600.0  # longer than any shard takes, or it runs twice
    connect_timeout: float = 5.0

    @property
    def backend_url(self) -> str:
        """The result backend's URL."""
        return self.backend or self.broker


def redacted(url: str) -> str:
    """`url` with any password masked, for messages and reports; never raises, even for a
    URL that does not parse (it is being quoted in the error that says so)."""
    try:
        return str(maybe_sanitize_url(url))
    except ValueError:
        scheme, sep, rest = url.partition("://")
        userinfo, at, host = rest.rpartition("@")
        if not sep or not at:
            return url
        user = userinfo.split(":", 1)[0]
        return f"{scheme}://{user}:**@{host}" if ":" in userinfo else url


def _check_url(option: str, url: str) -> None:
    """InputError in one line for a Redis URL that does not parse (host, port)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as exc:
        raise InputError(f"{option} {redacted(url)}: not a valid URL: {exc}") from None


def make_app(settings: BrokerSettings) -> Celery:
    """A Celery app for fleetcheck's shard tasks; InputError for a URL that is not Redis."""
    for option, url in (("--broker", settings.broker), ("--result-backend",
                                                        settings.backend_url)):
        if not url.startswith(REDIS_SCHEMES):
            raise InputError(f"{option} {redacted(url)}: fleetcheck's Celery engine uses "
                             "Redis (redis://HOST:PORT/DB, rediss://..., redis+socket://...)")
        _check_url(option, url)
    app = Celery("fleetcheck", broker=settings.broker, backend=settings.backend_url,
                 set_as_current=False)
    restore = max(1.0, min(10.0, settings.visibility_timeout / 3))
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a worker holds no shard it is not running
        worker_cancel_long_running_tasks_on_connection_loss=True,
        task_serializer="json", result_serializer="json", accept_content=["json"],
        task_ignore_result=True,  # results travel as chunks (see above)
        task_default_queue=DEFAULT_QUEUE,
        worker_hijack_root_logger=False,
        broker_connection_timeout=settings.connect_timeout,
        broker_connection_retry_on_startup=False,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout,
            "unacked_restore_interval": restore, "unacked_restore_throttle": 1,
            # A worker killed mid-sweep keeps the sweep lock until it expires (kombu: 5
            # minutes), and no one puts tasks back meanwhile. A sweep takes milliseconds, and
            # two at once cannot both restore a message (each is a WATCHed transaction).
            "unacked_mutex_expire": restore * 3,
            "socket_connect_timeout": settings.connect_timeout,
            "socket_timeout": max(30.0, settings.connect_timeout),
        },
        redis_socket_connect_timeout=settings.connect_timeout,
        redis_socket_timeout=max(30.0, settings.connect_timeout),
        result_backend_transport_options={"retry_policy": {"max_retries": 2}},
    )
    return app


def preflight(app: Celery, settings: BrokerSettings) -> None:
    """InputError in one line when the broker or the result backend cannot be reached."""
    for what, url in (("broker", settings.broker), ("result backend", settings.backend_url)):
        try:
            if what == "broker":
                with app.connection_for_write() as conn:
                    conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0,
                                           timeout=settings.connect_timeout)
            else:
                app.backend.client.ping()
        except Exception as exc:  # kombu, redis and socket errors alike: name it, stop
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else \
                exc.__class__.__name__
            raise InputError(f"cannot reach the {what} at {redacted(url)}: {reason}") from None


def redis_client(url: str) -> Any:
    """A plain Redis client for a broker URL (kombu's redis+socket:// is redis-py's unix://)."""
    import redis

    if url.startswith("redis+socket://"):
        url = "unix://" + url.removeprefix("redis+socket://")
    return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30)


class Keys:
    """The result backend keys of one run."""

    def __init__(self, run: str) -> None:
        self.run = run

    def attempt(self, shard: int) -> str:
        """The counter of attempts at `shard`."""
        return f"fleetcheck:{self.run}:{shard}:attempt"

    def chunk(self, shard: int, attempt: int, seq: int) -> str:
        """Chunk `seq` of attempt `attempt` at `shard`."""
        return f"fleetcheck:{self.run}:{shard}:{attempt}:{seq}"

    def done(self, shard: int) -> str:
        """Set once the coordinator has every host of `shard`: its other attempts stop."""
        return f"fleetcheck:{self.run}:{shard}:done"

    @property
    def alive(self) -> str:
        """Set while the run goes on; its absence means Redis lost the run's messages."""
        return f"fleetcheck:{self.run}:alive"

    @property
    def cancel(self) -> str:
        """Set when the coordinator is gone or done: shards stop, queued ones never start."""
        return f"fleetcheck:{self.run}:cancel"


class RunMarker:
    """The run's `alive` key on the broker and the result backend (one Redis or two)."""

    def __init__(self, broker: BrokerSettings, app: Celery, keys: Keys) -> None:
        self.key = keys.alive
        self.clients = [app.backend.client]
        if broker.broker != broker.backend_url:
            self.clients.append(redis_client(broker.broker))

    def set(self) -> None:
        """Mark the run alive (on every Redis it uses)."""
        for client in self.clients:
            client.set(self.key, b"1", ex=KEY_TTL)

    def present(self) -> bool:
        """False when some Redis of the run lost the key (and the run's data with it)."""
        return all(client.exists(self.key) for client in self.clients)


def encode_chunk(hosts: Sequence[str], *, seq: int, worker: str, final: bool = False,
                 complete: bool = False, error: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None) -> bytes:
    """One chunk: host results already encoded as JSON objects, and what the attempt says."""
    head = json.dumps({"v": PROTOCOL, "seq": seq, "worker": worker, "final": final,
                       "complete": complete, "error": error, **(extra or {})})
    return (head[:-1] + ', "hosts": [' + ",".join(hosts) + "]}").encode("utf-8")


def decode_chunk(data: bytes) -> dict[str, Any]:
    """Inverse of `encode_chunk`."""
    chunk: dict[str, Any] = json.loads(data)
    return chunk
