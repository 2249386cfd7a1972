"""The times and dates of a saved run, checked against the calendar before anything reads them.

The schema gives their shape ('YYYY-MM-DDTHH:MM:SSZ', or any text for a waiver's dates);
a run edited by hand or written by another tool can still say 2030-02-30, 25:00, or a time
whose offset puts it past year 9999 in UTC. Readers parse them (history, diff, OSCAL, the
waiver roll-ups), so each is checked here once, and the first one wrong is named by its
path, as the schema check names a value of the wrong type.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from fleetcheck.model.runcheck import RunShapeError

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WAIVER_DATES = ("created", "expires", "reviewed_on")


def _timestamp(value: str) -> str | None:
    """Why `value` is no time UTC can hold, or None."""
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if when.tzinfo is not None:
            when.astimezone(dt.UTC)
    except (ValueError, OverflowError) as exc:
        return f"{value!r} is not a time: {exc}"
    return None


def _date(value: str) -> str | None:
    """Why `value` is no date written YYYY-MM-DD, or None."""
    try:
        if not _DATE.fullmatch(value):
            raise ValueError("not written YYYY-MM-DD")
        dt.date.fromisoformat(value)
    except ValueError as exc:
        return f"{value!r} is not a date: {exc}"
    return None


def _items(data: dict[str, Any], key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    value = data.get(key)
    for index, item in enumerate(value if isinstance(value, list) else ()):
        if isinstance(item, dict):
            yield index, item


def _places(data: dict[str, Any]) -> Iterator[tuple[str, Any, bool]]:
    """(path, value, is a date) of every time and date a reader parses."""
    for key in ("started_at", "finished_at"):
        yield f"$.{key}", data.get(key), False
    meta = data.get("meta")
    if isinstance(meta, dict):
        yield "$.meta.waiver_date", meta.get("waiver_date"), True
    for h, host in _items(data, "hosts"):
        for f, finding in _items(host, "findings"):
            yield f"$.hosts[{h}].findings[{f}].first_seen", finding.get("first_seen"), False
    changes = data.get("changes")
    if isinstance(changes, dict):
        for key in ("fixed", "unverified"):
            for i, item in _items(changes, key):
                for field in ("first_seen", "last_seen"):
                    yield f"$.changes.{key}[{i}].{field}", item.get(field), False
    for i, point in _items(data, "trend"):
        yield f"$.trend[{i}].started_at", point.get("started_at"), False
    for i, shard in _items(data, "shards"):
        yield f"$.shards[{i}].started_at", shard.get("started_at"), False
    for i, waiver in _items(data, "waivers"):
        for key in _WAIVER_DATES:
            yield f"$.waivers[{i}].{key}", waiver.get(key), True


def check_times(data: dict[str, Any]) -> None:
    """Raise RunShapeError for the first time or date of the run no calendar holds."""
    for path, value, is_date in _places(data):
        if isinstance(value, str):
            why = _date(value) if is_date else _timestamp(value)
            if why is not None:
                error = RunShapeError(why)
                error.path.append(path[1:])
                raise error
