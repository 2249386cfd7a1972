"""Writing one run into the database: intervals opened and closed, one row per host and run.

Called inside the run's transaction (store.py). Only hosts the run checked move their
intervals; a host it could not check keeps everything open as it was (its findings are
unverified, never fixed). A scan is its hosts' newest look whatever its start says (runs
are recorded in the order they commit: a clock stepped back does not make tonight's scan
history's past). An imported run older than a host's last checked run leaves that host's
intervals alone; one dated after the present moment (the clock was wrong then) counts as
older than any run.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence

from fleetcheck.clock import now_iso
from fleetcheck.frozen import frozen
from fleetcheck.history.compare import FLAP_RUNS, bare, utc
from fleetcheck.history.identity import Key, finding_key, listener_key
from fleetcheck.history.load import HostRow, host_rows, open_items, row_key
from fleetcheck.model import Change, HostResult, RunResult
from fleetcheck.model.changes import Changes


@frozen
class Counts:
    """What a run changed, as the database saw it (the run's own changes may be relative
    to a --baseline file instead)."""

    changes: Changes
    per_host: dict[str, tuple[int, int, int]]  # host -> (new, reopened, fixed)


def counts_of(changes: Changes, hosts: Sequence[HostResult]) -> Counts:
    """Per-host new/reopened/fixed counts of an annotated run."""
    fixed: dict[str, int] = {}
    for hf in changes.fixed:
        fixed[hf.host] = fixed.get(hf.host, 0) + 1
    per_host = {}
    for h in hosts:
        new = sum(1 for f in h.findings if f.change is Change.NEW)
        back = sum(1 for f in h.findings if f.change is Change.REOPENED)
        per_host[h.name] = (new, back, fixed.get(h.name, 0))
    return Counts(changes, per_host)


# json.dumps with separators makes an encoder per call: one made once writes the same text.
_COMPACT = json.JSONEncoder(separators=(",", ":")).encode


def _detail(host: HostResult) -> dict[Key, str]:
    """Each current finding's identity and JSON (as last seen), first one per identity."""
    out: dict[Key, str] = {}
    for f in host.findings:
        out.setdefault(finding_key(f), _COMPACT(bare(f).to_dict()))
    for jl in host.listeners:
        out.setdefault(listener_key(jl.listener), "")
    return out


def _state(detail: dict[Key, str]) -> str:
    """A digest of everything open at a host: equal digests, nothing to move or refresh."""
    lines = sorted("\x1f".join((*map(str, key), text)) for key, text in detail.items())
    return hashlib.blake2b("\x1e".join(lines).encode(), digest_size=16).hexdigest()


def _ensure_hosts(conn: sqlite3.Connection, names: Sequence[str]) -> dict[str, HostRow]:
    conn.executemany("INSERT OR IGNORE INTO hosts(name) VALUES (?)", [(n,) for n in names])
    return host_rows(conn, names)


def _newer(last_checked_at: str | None, started: str, now: str) -> bool:
    """Whether a host's last checked run is newer than a run started at `started`: started
    after it, and not after the present moment. A run dated in the future was timed by a
    clock that was wrong then: were it newer, every run until that date would leave the
    host's intervals as they were, and report the same changes night after night."""
    return last_checked_at is not None and started < last_checked_at <= now


def record(conn: sqlite3.Connection, run: RunResult, counts: Counts, source: str,
           now: str | None = None) -> int:
    """Insert `run` (its run_id unused so far) and move its checked hosts' intervals, unless
    a host's last checked run is newer; returns the run's row id. The caller holds the
    transaction; `now` is the present moment (default: the clock's)."""
    started, now = utc(run.started_at), utc(now or now_iso())
    s, c = run.summary, counts.changes
    checked = [h for h in run.hosts if h.checked]
    cur = conn.execute(
        "INSERT INTO runs(run_id, started_at, finished_at, source, tool_version, complete, "
        "gate, exit_code, hosts, checked, unchecked, findings, violations, waived, new, "
        "reopened, persisting, fixed, unverified, flapping, open_total) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0)",
        (run.run_id, started, utc(run.finished_at), source, run.tool_version,
         int(s.complete), s.gate, s.exit_code, s.hosts, len(checked),
         s.hosts - len(checked), s.findings, s.violations, s.waived, c.new, c.reopened,
         c.persisting, len(c.fixed), len(c.unverified), c.flapping))
    run_pk = int(cur.lastrowid or 0)
    rows = _ensure_hosts(conn, [h.name for h in run.hosts])
    conn.executemany(
        "INSERT INTO host_runs(host, run, status, error_kind, findings, violations, new, "
        "reopened, fixed) VALUES (?,?,?,?,?,?,?,?,?)",
        [(rows[h.name].id, run_pk, h.status.value, h.error.kind if h.error else None,
          sum(1 for f in h.findings if not f.waived),
          sum(1 for f in h.findings if not f.waived and not f.below_threshold),
          *counts.per_host.get(h.name, (0, 0, 0))) for h in run.hosts])
    # Only an import can be older than what the database knows: a scan compared with each
    # host's last checked run, reported its changes against it and follows it, whatever
    # its clock said (left out, the next run would report the same changes again).
    current = [h for h in checked
               if source != "import" or not _newer(rows[h.name].last_checked_at, started, now)]
    details = {h.name: _detail(h) for h in current}
    states = {name: _state(d) for name, d in details.items()}
    # Most hosts are as they were: only those whose digest moved have items to touch.
    _move_intervals(conn, [h for h in current if states[h.name] != rows[h.name].state],
                    rows, started, details)
    conn.executemany(
        "UPDATE hosts SET checks = checks + 1, last_checked_at = ?, last_checked_run = ?, "
        "last_run_at = ?, state = ? WHERE id = ?",
        [(started, run.run_id, started, states[h.name], rows[h.name].id) for h in current])
    moved = {h.name for h in current}
    conn.executemany("UPDATE hosts SET last_run_at = max(coalesce(last_run_at, ''), ?) "
                     "WHERE id = ?", [(started, rows[h.name].id) for h in run.hosts
                                      if h.name not in moved])
    open_total = conn.execute("SELECT count(*) FROM items INDEXED BY items_open "
                              "WHERE opened_at IS NOT NULL AND category = 'finding'"
                              ).fetchone()[0]
    conn.execute("UPDATE runs SET open_total = ? WHERE id = ?", (open_total, run_pk))
    _daily(conn, started[:10], run, len(checked), open_total, c)
    return run_pk


def _move_intervals(conn: sqlite3.Connection, hosts: Sequence[HostResult],
                    rows: dict[str, HostRow], started: str,
                    details: dict[str, dict[Key, str]]) -> None:
    """Close what is gone, open what is new or back, refresh what changed, for `hosts`."""
    ids = [rows[h.name].id for h in hosts]
    was: dict[int, dict[Key, tuple[int, str]]] = {i: {} for i in ids}
    for row in open_items(conn, ids, None, "id, detail"):
        was[row[0]][row_key(row)] = (row[8], row[9])
    closes, spans, opens, refresh = [], [], [], []
    for h in hosts:
        host_id, check = rows[h.name].id, rows[h.name].checks + 1
        before, now = was[host_id], details[h.name]
        for key, (item, _) in before.items():
            if key not in now:
                closes.append((check, item))
                spans.append((started, check, item))
        for key, detail in now.items():
            old = before.get(key)
            if old is None:
                opens.append((host_id, *key, started, started, check, detail, FLAP_RUNS))
            elif old[1] != detail:
                refresh.append((detail, old[0]))
    # A span's start is the item's open time, read before the item is closed.
    conn.executemany("INSERT INTO spans(item, opened_check, opened_at, closed_at, closed_check) "
                     "SELECT id, opened_check, opened_at, ?, ? FROM items WHERE id = ?", spans)
    conn.executemany("UPDATE items SET opened_at = NULL, opened_check = NULL, closed_check = ? "
                     "WHERE id = ?", closes)
    conn.executemany(
        "INSERT INTO items(host, category, kind, proto, address, port, process, container, "
        "first_seen, opened_at, opened_check, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT(host, category, kind, proto, address, port, process, container) DO UPDATE "
        "SET opened_at = excluded.opened_at, opened_check = excluded.opened_check, "
        "opens = opens + 1, detail = excluded.detail, "
        "flaps = flaps + (excluded.opened_check - closed_check <= ?)", opens)
    conn.executemany("UPDATE items SET detail = ? WHERE id = ?", refresh)


def _daily(conn: sqlite3.Connection, day: str, run: RunResult, checked: int, open_total: int,
           c: Changes) -> None:
    """Fold the run into its day's totals (kept for ever)."""
    s = run.summary
    conn.execute(
        "INSERT INTO daily(day, runs, hosts, checked, unchecked, violations, open_total, new, "
        "reopened, fixed) VALUES (?,1,?,?,?,?,?,?,?,?) ON CONFLICT(day) DO UPDATE SET "
        "runs = runs + 1, hosts = max(hosts, excluded.hosts), "
        "checked = max(checked, excluded.checked), unchecked = excluded.unchecked, "
        "violations = excluded.violations, open_total = excluded.open_total, "
        "new = new + excluded.new, reopened = reopened + excluded.reopened, "
        "fixed = fixed + excluded.fixed",
        (day, s.hosts, checked, s.hosts - checked, s.violations, open_total, c.new,
         c.reopened, len(c.fixed)))
