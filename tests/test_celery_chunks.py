"""Results travel in bounded chunks through a real Redis: a 5,000-host shard is many small
messages, and a shard delivered twice still gives each host once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fleetcheck.plan import PlannedHost
from tests.lab.redis import RedisServer, running_redis
from tests.render.synthetic import synthetic_run

SHARD_HOSTS = 5000
MAX_HOSTS, MAX_BYTES = 100, 256 * 1024


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    """A redis-server on this machine's loopback for the module."""
    with running_redis() as server:
        yield server


def _app(redis: RedisServer) -> Any:
    from fleetcheck.engine.celery_app import BrokerSettings, make_app

    return make_app(BrokerSettings(redis.url))


def test_a_5000_host_shard_travels_in_bounded_chunks(redis: RedisServer) -> None:
    from fleetcheck.engine.celery import _Collector, _Shard
    from fleetcheck.engine.celery_app import Keys, decode_chunk
    from fleetcheck.engine.celery_worker import ChunkWriter

    app = _app(redis)
    client = app.backend.client
    results = synthetic_run(SHARD_HOSTS).hosts
    keys = Keys("chunks5000")
    client.set(keys.attempt(1), 1)
    writer = ChunkWriter(client, keys, 1, 1, "w1", max_hosts=MAX_HOSTS, max_bytes=MAX_BYTES)
    for i, result in enumerate(results):
        writer.add(i, result)
    writer.close(complete=True)
    chunks = [client.get(keys.chunk(1, 1, seq)) for seq in range(writer.seq)]
    assert writer.seq >= SHARD_HOSTS // MAX_HOSTS
    head = 512  # the chunk's own fields around the hosts
    assert all(len(c) <= MAX_BYTES + head for c in chunks)
    assert all(len(decode_chunk(c)["hosts"]) <= MAX_HOSTS for c in chunks)
    assert sum(len(decode_chunk(c)["hosts"]) for c in chunks) == SHARD_HOSTS
    assert [decode_chunk(c)["final"] for c in chunks] == [False] * (writer.seq - 1) + [True]

    hosts = [PlannedHost(r.name, r.address, r.groups, ()) for r in results]
    shard = _Shard(1, "q", list(range(len(hosts))), "t", {h.name: i for i, h in enumerate(hosts)})
    got: list[int] = []
    collector = _Collector(app, keys, [shard], hosts, {}, lambda i, _r: got.append(i))
    collector.read()
    assert sorted(got) == list(range(SHARD_HOSTS))
    assert collector.by_index[17].to_dict() == results[17].to_dict()
    assert shard.status == "done" and not collector.pending
    assert client.get(keys.chunk(1, 1, 0)) is None  # read chunks are removed


def test_a_second_attempt_adds_no_host_twice(redis: RedisServer) -> None:
    from fleetcheck.engine.celery import _Collector, _Shard
    from fleetcheck.engine.celery_app import Keys
    from fleetcheck.engine.celery_worker import ChunkWriter

    app = _app(redis)
    client = app.backend.client
    results = synthetic_run(300).hosts
    keys = Keys("twice")
    client.set(keys.attempt(1), 2)
    first = ChunkWriter(client, keys, 1, 1, "killed", max_hosts=50)
    for i, r in enumerate(results[:120]):  # the first worker died after 120 hosts
        first.add(i, r)
    first._closed.set()  # it never sent a last chunk
    second = ChunkWriter(client, keys, 1, 2, "again", max_hosts=50)
    for i, r in enumerate(results):
        second.add(i, r)
    second.close(complete=True)
    hosts = [PlannedHost(r.name, r.address, r.groups, ()) for r in results]
    shard = _Shard(1, "q", list(range(len(hosts))), "t", {h.name: i for i, h in enumerate(hosts)})
    got: list[int] = []
    collector = _Collector(app, keys, [shard], hosts, {}, lambda i, _r: got.append(i))
    collector.read()
    assert sorted(got) == list(range(300))
    assert shard.workers == {"killed", "again"}
