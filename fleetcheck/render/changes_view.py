"""What reports show about change, arranged once from the run: the sections that lead the
report (new, reopened, fixed, not verified), each finding's age, the trend chart's geometry
and the waiver rollups per owner. Everything comes from the run record alone.
"""

from __future__ import annotations

import datetime as dt

from fleetcheck.frozen import frozen
from fleetcheck.model import Change, Finding, RunResult, TrendPoint, WaiverRecord
from fleetcheck.render.natural import natural_key
from fleetcheck.render.view import parse_time, service_name
from fleetcheck.words import plural

EXPIRING_DAYS = 14  # waivers expiring this soon are listed under their owner
# A change section lists this many findings, worst first; the rest are counted (the first
# night of a 5,000-host fleet must not open with 15,000 rows: the grouped findings show
# every problem once with its change, and the JSON and CSV carry each finding's).
SHOWN = 100


@frozen
class ChangeRow:
    """One finding in a change section, with its host."""

    host: str
    finding: Finding
    service: str
    last_seen: str | None = None  # fixed and unverified: the last run that saw it open


@frozen
class ChangeSection:
    """One of the sections that lead a report."""

    key: str  # new | reopened | fixed | unverified
    title: str
    note: str  # what the section means, in one sentence
    rows: tuple[ChangeRow, ...]

    @property
    def shown(self) -> tuple[ChangeRow, ...]:
        """The rows a report lists (the worst first)."""
        return self.rows[:SHOWN]

    @property
    def more(self) -> str:
        """'and 14,900 more: …' for the rows not listed, '' when every row is."""
        left = len(self.rows) - SHOWN
        if left <= 0:
            return ""
        return (f"… and {left:,} more, not listed here: the findings above show each "
                "problem once with its change, and the JSON and CSV reports carry every "
                "finding's.")


def against(run: RunResult) -> str:
    """'each host's previous checked run (history: FILE)' or 'run ID (FILE)'."""
    c = run.changes
    where = (c.against or {}) if c else {}
    if where.get("source") == "run":
        return f"baseline run {where.get('run_id') or '?'} ({where.get('path', '?')})"
    return "each host's previous checked run" + (
        f" (history: {where['database']})" if where.get("database") else "")


def _rows_with(run: RunResult, change: Change) -> tuple[ChangeRow, ...]:
    rows = [ChangeRow(h.name, f, service_name(f.port, f.proto))
            for h in run.hosts for f in h.findings if f.change is change]
    rows.sort(key=lambda r: (-r.finding.severity, natural_key(r.host), r.finding.sort_key()))
    return tuple(rows)


def sections(run: RunResult) -> list[ChangeSection]:
    """The four change sections in report order; [] when the run was compared with nothing."""
    c = run.changes
    if c is None:
        return []
    baseline = (c.against or {}).get("source") == "run"
    since = "since the baseline" if baseline else "since last run"
    first = (f" ({plural(c.first_checked, 'host')} checked for the first time: all their "
             "findings are new)") if c.first_checked else ""
    flapping = (f"; {c.flapping} of them flapping (fixed and back within a few runs)"
                if c.flapping else "")
    return [
        ChangeSection("new", f"New {since}", "Open now, not open at the host's previous "
                      f"checked run{first}.", _rows_with(run, Change.NEW)),
        ChangeSection("reopened", "Reopened", f"Fixed earlier, open again{flapping}.",
                      _rows_with(run, Change.REOPENED)),
        ChangeSection("fixed", "Fixed", "Open at the host's previous checked run, gone now "
                      "(the host was checked).", tuple(
                          ChangeRow(hf.host, hf.finding, service_name(hf.finding.port,
                                                                      hf.finding.proto),
                                    hf.last_seen) for hf in c.fixed)),
        ChangeSection("unverified", "Not verified tonight", "Open when the host was last "
                      "checked; it could not be checked in this run, so they are NOT known "
                      "to be fixed.", tuple(
                          ChangeRow(hf.host, hf.finding, service_name(hf.finding.port,
                                                                      hf.finding.proto),
                                    hf.last_seen) for hf in c.unverified)),
    ]


def day(value: str | None) -> str:
    """The date part of an ISO time ('' for None)."""
    return (value or "")[:10]


def age_words(f: Finding) -> str:
    """'new', 'open 12 days (since 2026-11-22)', 'reopened, first seen 2026-10-01 (64 days)';
    `age_days` counts whole days (24 hours), so it is 0 for a finding first seen yesterday
    evening: 'open since 2026-11-22 (under a day)', never 'today' for yesterday's date.

    '' when the run has no history for it.
    """
    if f.first_seen is None:
        return ""
    age = f.age_days or 0
    days = plural(age, "day")
    if f.change is Change.NEW:
        words = "new"
    elif f.change is Change.REOPENED:
        words = f"reopened, first seen {day(f.first_seen)} ({days} ago)"
    elif age == 0:  # a day's run after one late the night before is also under a day
        words = f"open since {day(f.first_seen)} (under a day)"
    else:
        words = f"open {days} (since {day(f.first_seen)})"
    if f.flaps:
        words += f", flapped {plural(f.flaps, 'time')}"
    return words


def summary_line(run: RunResult) -> str:
    """'Since last run: 3 new, 1 reopened, 2 fixed, 4 not verified; 40 persisting'."""
    c = run.changes
    if c is None:
        return ""
    base = "Since the baseline" if (c.against or {}).get("source") == "run" else \
        "Since last run"
    return (f"{base}: {c.new} new, {c.reopened} reopened, {len(c.fixed)} fixed, "
            f"{len(c.unverified)} not verified; {c.persisting} persisting")


def gate_line(run: RunResult) -> str:
    """Under --fail-on-new, what decided the exit code ('' otherwise)."""
    s = run.summary
    if s.gate != "new":
        return ""
    return (f"--fail-on-new: exit code 1 only for violations new or reopened since the "
            f"baseline; {plural(s.new_violations, 'such violation')} of {s.violations}")


# -- the trend chart ------------------------------------------------------------------------

@frozen
class Series:
    """One line of the chart: its name, CSS tone, SVG points and last value."""

    name: str
    tone: str
    points: str
    last: int
    values: tuple[int, ...]


@frozen
class Chart:
    """An inline-SVG line chart of the trend, laid out here so the template only draws."""

    width: int
    height: int
    left: int
    top: int
    bottom: int  # y of the x axis
    right: int
    top_value: int
    series: tuple[Series, ...]
    labels: tuple[tuple[float, str], ...]  # (x, date) under the axis
    points: tuple[TrendPoint, ...]


_SERIES = (("violations", "violations", "bad"), ("new", "new and reopened", "new"),
           ("fixed", "fixed", "ok"), ("unchecked", "unchecked hosts", "warn"))


def chart(run: RunResult, width: int = 760, height: int = 220) -> Chart | None:
    """The trend over the run's series (two points at least), None otherwise."""
    points = run.trend
    if len(points) < 2:
        return None
    left, right, top, bottom = 44, width - 180, 12, height - 28
    table = {attr: tuple(int(getattr(p, attr)) for p in points) for attr, _, _ in _SERIES}
    top_value = max(1, *(v for values in table.values() for v in values))
    step = (right - left) / (len(points) - 1)

    def y(v: int) -> float:
        return round(bottom - (bottom - top) * v / top_value, 1)

    series = []
    for attr, name, tone in _SERIES:
        values = table[attr]
        coords = " ".join(f"{round(left + i * step, 1)},{y(v)}" for i, v in enumerate(values))
        series.append(Series(name, tone, coords, values[-1], values))
    every = max(1, (len(points) + 5) // 6)  # at most about six dates under the axis
    labels = tuple((round(left + i * step, 1), day(p.started_at)) for i, p in enumerate(points)
                   if i % every == 0 or i == len(points) - 1)
    return Chart(width, height, left, top, bottom, right, top_value, tuple(series), labels,
                 points)


# -- waivers per owner ---------------------------------------------------------------------

@frozen
class OwnerRollup:
    """One owner's waivers: how many in each status, what they waive, what expires soon."""

    owner: str
    active: int
    expired: int
    unused: int
    matched: int
    expiring: tuple[tuple[WaiverRecord, int], ...]  # (waiver, days left), soonest first


def waiver_day(run: RunResult) -> dt.date | None:
    """The date waivers were judged on (the run's `waiver_date`, else its start)."""
    raw = run.meta.get("waiver_date")
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    start = parse_time(run.started_at)
    return start.date() if start else None


def owners(run: RunResult, days: int = EXPIRING_DAYS) -> list[OwnerRollup]:
    """Waivers rolled up per owner, owners with waivers expiring soonest first."""
    today = waiver_day(run)
    by_owner: dict[str, list[WaiverRecord]] = {}
    for w in run.waivers:
        by_owner.setdefault(w.owner, []).append(w)
    out = []
    for owner, ws in by_owner.items():
        soon = []
        for w in ws:
            left = _days_left(w, today)
            if w.status != "expired" and left is not None and 0 <= left <= days:
                soon.append((w, left))
        soon.sort(key=lambda wl: (wl[1], wl[0].id))
        out.append(OwnerRollup(owner, sum(w.status == "active" for w in ws),
                               sum(w.status == "expired" for w in ws),
                               sum(w.status == "unused" for w in ws),
                               sum(w.matched for w in ws), tuple(soon)))
    out.sort(key=lambda o: (o.expiring[0][1] if o.expiring else days + 1, -o.expired, o.owner))
    return out


def _days_left(w: WaiverRecord, today: dt.date | None) -> int | None:
    if not w.expires or today is None:
        return None
    try:
        return (dt.date.fromisoformat(w.expires) - today).days
    except ValueError:
        return None


def html_context(run: RunResult) -> dict[str, object]:
    """Everything the HTML report's history partials read, in one place."""
    return {"sections": sections(run), "summary": summary_line(run), "against": against(run),
            "gate": gate_line(run), "chart": chart(run), "owners": owners(run),
            "expiring_days": EXPIRING_DAYS, "age": age_words, "day": day,
            "note": run.history}
