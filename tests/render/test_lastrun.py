"""The views kept for the run last rendered: shared by the formats of one run object, never
by another run, never changed by a caller; and the work done once per template instead of
once per host gives exactly what doing it per host gives."""

from __future__ import annotations

import dataclasses
import json

from fleetcheck.model import CommandRecord, RunResult
from fleetcheck.render import FORMATS, RenderOptions, hostview, lastrun, view
from fleetcheck.render.overview import run_overview, waived_groups
from fleetcheck.render.shared import shared_commands
from tests.render import builders
from tests.render.synthetic import synthetic_run

OPTS = RenderOptions(rendered_at="2026-01-01T00:00:00Z", lazy_hosts_from=0)
SHOWN = ("text", "html", "markdown", "csv", "csv-groups")


def _renders(run: RunResult, order: tuple[str, ...]) -> dict[str, str]:
    return {name: FORMATS[name].render(run, OPTS) for name in order}


def test_every_format_reads_the_same_whatever_was_rendered_before() -> None:
    """A scan renders each format from one run object, in any order; a report of another run
    in between changes nothing: each text is what a fresh render of a copy gives."""
    run, other = builders.composite_run(), synthetic_run(40)
    forward = _renders(run, SHOWN)
    _renders(other, SHOWN)
    backward = _renders(run, tuple(reversed(SHOWN)))
    fresh = {name: FORMATS[name].render(dataclasses.replace(run), OPTS) for name in SHOWN}
    assert forward == backward == fresh


def test_views_are_kept_for_the_same_run_object_only() -> None:
    run = synthetic_run(30)
    assert run_overview(run) is run_overview(run)
    assert view.finding_rows(run)[0][0] is view.finding_rows(run)[0][0]
    copy = dataclasses.replace(run)  # equal, but another object: arranged again
    assert run_overview(copy) is not run_overview(run)
    assert view.finding_rows(copy)[0][0] is not view.finding_rows(run)[0][0]


def test_a_caller_changing_what_it_was_given_changes_nothing_kept() -> None:
    run = synthetic_run(30)
    host = view.sorted_hosts(run)[0]
    threshold = view.fail_on(run)
    lists = (view.sorted_hosts(run), view.finding_rows(run)[0], view.finding_rows(run)[1],
             view.unchecked_hosts(run), view.fleet_rows(run), waived_groups(run),
             view.host_listeners(host), view.listener_rows(host, threshold))
    before = [list(x) for x in lists]
    for x in lists:
        x.clear()
    again = (view.sorted_hosts(run), view.finding_rows(run)[0], view.finding_rows(run)[1],
             view.unchecked_hosts(run), view.fleet_rows(run), waived_groups(run),
             view.host_listeners(host), view.listener_rows(host, threshold))
    assert [list(x) for x in again] == before
    assert before[0] and before[1] and before[4] and before[6]  # the check checked something


def test_a_host_is_known_by_itself_not_by_its_id() -> None:
    """A host view is kept with the host it was made of: another host never gets it."""
    run = synthetic_run(10)
    first = run.hosts[0]
    made = lastrun.of_host(first, "test-key", lambda: "first")
    assert made == "first" and lastrun.of_host(first, "test-key", lambda: "again") == "first"
    other = dataclasses.replace(first)
    assert lastrun.of_host(other, "test-key", lambda: "other") == "other"


def _decoded(run: RunResult) -> list[list[tuple[str, str]]]:
    """Each host's (command, preview) as the page rebuilds them from the embedded data: a
    command several hosts ran from the run's copy (numbered c[9]) with the host's nonce."""
    data = json.loads(hostview.lazy_data(run, list(run.hosts)))
    copies = {c.number: c.parts for c in shared_commands(run.hosts).values()}
    return [[(c[8].join(copies[c[9]] if c[9] else [data["strings"][i] for i in c[0]]),
              c[8].join(data["strings"][i] for i in c[1])) for c in row[6]]
            for row in data["hosts"]]


def test_previews_worked_out_once_per_template_are_each_hosts_own() -> None:
    """Nonces of one length and of others, in the first line (cut there too), with line
    breaks of their own, or none at all: each preview is the one made of its own text."""
    template = ("run {n} now " + "x" * 150 + "{n}\nsecond line\r\nthird {n} line\r", "{n}\n",
                "short {n}", "{n}")
    nonces = ["a1b2", "c3d4", "a1b2c3d4e5", "n\ro", "x-y", "", "9", "zz\x85"]
    run = synthetic_run(len(nonces))
    hosts = []
    for host, nonce in zip(run.hosts, nonces, strict=True):
        commands = tuple(CommandRecord(t.replace("{n}", nonce), 0, "out\n", "", 0.5, nonce)
                         for t in template)
        hosts.append(dataclasses.replace(host, commands=commands))
    run = dataclasses.replace(run, hosts=tuple(hosts))
    for host, got in zip(run.hosts, _decoded(run), strict=True):
        assert got == [(c.command, view.command_preview(c.command, "under Exact command"))
                       for c in host.commands]


def test_shared_commands_are_found_by_their_template() -> None:
    """The reports' numbering of commands that ran on several hosts."""
    run = synthetic_run(6)
    hosts = [dataclasses.replace(h, commands=(CommandRecord(f"probe {n} end", 0, "", "", 0.1,
                                                            n),))
             for h, n in zip(run.hosts, ["aa", "bb", "cc", "dd", "ee", "ff"], strict=True)]
    hosts[2] = dataclasses.replace(hosts[2], commands=(CommandRecord("other", 0, "", "", 0.1),))
    shared = shared_commands(hosts)
    assert [(key, c.hosts) for key, c in shared.items()] == [(("probe ", " end"), 5)]
