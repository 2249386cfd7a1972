"""Applying and reporting waivers grows linearly when each host has waivers of its own.

Found: every host asked every waiver whether it selected that host, and every waiver's
record asked every host: a fleet with a waiver per host was quadratic (8,000 of each: 13 s
in `scan`, and again in `merge`). Waivers are now found by host; `Waiver.selects` (the
contract) still says which waivers select which host, in load order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

from fleetcheck.model import HostResult
from fleetcheck.policy.waiver_load import waivers_from_text
from fleetcheck.policy.waivers import Waiver, WaiverBook
from tests.growth import FACTOR, LIMIT, growth
from tests.history.nights import checked, down, stray

TODAY = dt.date(2030, 6, 1)


def _waiver(wid: str, hosts: str | None, port: int, expires: str = "2030-12-31") -> Waiver:
    text = (f"waivers:\n  - id: {wid}\n    hosts: {hosts or 'all'}\n    port: {port}\n"
            f"    reason: r\n    owner: o\n    approved_by: a\n    created: 2030-01-01\n"
            f"    expires: {expires}\n")
    (loaded,) = waivers_from_text(text, "w.yml")
    return replace(loaded, hosts=hosts)


def test_each_host_gets_the_waivers_that_select_it_in_load_order() -> None:
    """Bound to one host, to a shared set (the same frozenset, or an equal one), to every
    host (unbound, no pattern), to none (a pattern that selected nothing); expired ones."""
    fleet = frozenset({"h1", "h2", "h3"})
    waivers = (
        replace(_waiver("own-h2", "h2", 8080), host_names=frozenset({"h2"})),
        _waiver("everyone", None, 8081),
        replace(_waiver("fleet-a", "web", 8080), host_names=fleet),
        replace(_waiver("nobody", "nomatch", 8080), host_names=None),
        replace(_waiver("h1-h3", "h1:h3", 8082), host_names=frozenset({"h3", "h1"})),
        replace(_waiver("fleet-b", "all", 8080, "2030-05-31"), host_names=frozenset(fleet)),
        replace(_waiver("own-h1", "h1", 8080), host_names=frozenset({"h1"})),
    )
    book = WaiverBook(waivers, TODAY)
    hosts = [checked(h, stray(8080), stray(8081), stray(8082)) for h in ("h1", "h2", "h3")]
    hosts.append(down("h4"))
    for host in hosts:
        assert book.selecting(host.name) == tuple(w.id for w in waivers
                                                  if w.selects(host.name)), host.name
    assert book.selecting("h1") == ("everyone", "fleet-a", "h1-h3", "fleet-b", "own-h1")
    assert [(f.port, f.waiver) for f in book.apply("h2", hosts[1].findings)] == [
        (8080, "own-h2"), (8081, "everyone"), (8082, None)]  # fleet-b expired: no matter
    records, warnings = book.records(hosts)
    assert [(r.id, r.status, r.matched) for r in records] == [
        ("own-h2", "active", 1), ("everyone", "active", 3), ("fleet-a", "active", 3),
        ("nobody", "unused", 0), ("h1-h3", "active", 2), ("fleet-b", "expired", 3),
        ("own-h1", "active", 1)]
    assert [w.split(":")[0] for w in warnings] == [
        "waiver nobody (owner o) matched no finding",
        "waiver fleet-b (owner o) expired on 2030-05-31 and no longer waives anything"]


def _fleet(n: int) -> Callable[[], None]:
    """n hosts, each with a stray and a waiver of its own for it, and one waiver for all."""
    hosts: list[HostResult] = [checked(f"h{i:05d}", stray(9000 + i % 7)) for i in range(n)]
    waivers = [replace(_waiver(f"W{i}", f"h{i:05d}", 9000 + i % 7),
                       host_names=frozenset({f"h{i:05d}"})) for i in range(n)]
    waivers.append(replace(_waiver("fleet", "all", 22),
                           host_names=frozenset(h.name for h in hosts)))

    def apply_and_record() -> None:
        book = WaiverBook(tuple(waivers), TODAY)
        for i, h in enumerate(hosts):
            assert [f.waiver for f in book.apply(h.name, h.findings)] == [f"W{i}"]
            assert book.selecting(h.name) == (f"W{i}", "fleet")
        records, _ = book.records(hosts)
        assert all(r.matched == 1 for r in records[:-1])
    return apply_and_record


def test_a_waiver_per_host_costs_linear_time() -> None:
    assert growth(_fleet(150), _fleet(150 * FACTOR)) < LIMIT
