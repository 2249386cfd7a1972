"""Every parser of remote text runs in time linear in its input, whatever the input.

A backtracking regex over a process name held the GIL for minutes (`users:(` then
64k `("` in one ss row), so no deadline could fire. Here every function that reads
remote text (tests/parsers/hostile_text.py: `TARGETS`) parses each adversarial shape at
n and at 8n chunks; linear time costs about 8 times as much, quadratic 64 times. The
figure is a ratio measured in the same run (CPU time, best of a few tries), never an
absolute time, so a loaded machine slows both sides alike. Property tests then feed
random hostile text: a parser returns listeners or raises ParseError, nothing else.
"""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetcheck.parsers import ParseError
from tests.parsers.hostile_text import CHUNKS, TARGETS, Target, adversarial, attempt

N = 500
FACTOR = 8
# Linear: about FACTOR. Quadratic: FACTOR**2 = 64. Three times linear leaves room for
# noise on a shared machine and stays far below quadratic.
LIMIT = 3 * FACTOR
# Below this much CPU time a run is too short to measure; it counts as this much.
FLOOR = 0.002


def _cpu(target: Target, text: str) -> float:
    start = time.process_time()
    attempt(target, text)
    return time.process_time() - start


def _ratio(target: Target, small: str, big: str, tries: int = 4) -> tuple[float, float]:
    """The best ratio of the big run's CPU time to the small run's, and the big run's time."""
    best, big_time = float("inf"), 0.0
    for _ in range(tries):
        t_small, t_big = _cpu(target, small), _cpu(target, big)
        ratio = max(t_big, FLOOR) / max(t_small, FLOOR)
        if ratio < best:
            best, big_time = ratio, t_big
        if best < LIMIT:
            break
    return best, big_time


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_every_adversarial_shape_parses_in_linear_time(target: Target) -> None:
    smalls = dict(adversarial(target, N))
    bigs = dict(adversarial(target, N * FACTOR))
    assert smalls.keys() == bigs.keys()
    assert len(smalls) == len(CHUNKS) * (1 + 3 * len(target.rows))
    slow = {}
    for label, small in smalls.items():
        ratio, big_time = _ratio(target, small, bigs[label])
        if ratio >= LIMIT:
            slow[label] = f"x{ratio:.0f} ({big_time:.3f} s at {len(bigs[label])} chars)"
    assert not slow, f"{target.name}: superlinear on {slow}"


def test_the_reported_ss_case_is_among_them_and_linear() -> None:
    """The case from the report: `users:(` followed by 64k `("` in one row."""
    ss = next(t for t in TARGETS if t.name == "ss")
    row = "tcp LISTEN 0 128 0.0.0.0:1923 0.0.0.0:* users:("
    small, big = row + '("' * 8192, row + '("' * 65536
    ratio, _ = _ratio(ss, small, big)
    assert ratio < LIMIT
    found = ss.parse(ss.header + big + "\n")
    assert isinstance(found, list) and len(found) == 1  # the listener stays, owner unknown
    assert found[0].port == 1923 and found[0].process is None and found[0].owner_note


# Text made of what hostile names and hosts are made of: each parser's own syntax, the
# characters str.splitlines() would split at, NUL, replacement characters.
_PIECES = st.sampled_from([*CHUNKS, "\r\n", "\x0b", "\x0c", "\x1c", "\x85", "LISTEN", "UNCONN",
                           "0.0.0.0:22", "*.22", "[::]:22", "*:*", "  ", "1923", "-"])
_TEXT = st.lists(_PIECES, max_size=80).map("".join)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(tail=_TEXT, middle=_TEXT)
def test_hostile_text_gives_listeners_or_a_parse_error(target: Target, tail: str,
                                                       middle: str) -> None:
    """Nothing but a result or ParseError, whether the text starts as the tool's or not."""
    attempt(target, target.header + target.row + middle + "\n" + tail)
    attempt(target, middle + tail)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
@pytest.mark.parametrize("odd", ["\x1c1923", "1923\x1c", "\u00b2", "19\u00b23",
                                 "\u0661\u0669\u0662\u0663", "\uff11\uff19\uff12\uff13"])
def test_digits_that_are_not_ascii_are_not_numbers(target: Target, odd: str) -> None:
    """Every number a parser reads (port, PID, fd, queue, uid) as ASCII digits only: a
    superscript, another script's digits or a separator glued to a number is a parse error
    or a word, never a crash (found: tasklist's ',\x1c1923') nor a port nobody saw."""
    for text in (target.header + target.row.replace("1923", odd) + "\n",
                 target.header + target.row + "," + odd + "\n",
                 target.header + target.row.replace("22", odd) + "\n"):
        attempt(target, text)  # listeners or ParseError; a ValueError fails the test


@pytest.mark.parametrize("odd", ["19\u00b23", "\u0661\u0669\u0662\u0663",
                                 "\uff11\uff19\uff12\uff13"])
def test_a_port_in_other_digits_is_not_read_as_that_port(odd: str) -> None:
    """`ss` printing a port in digits no reader takes for 1923 does not yield port 1923."""
    ss = next(t for t in TARGETS if t.name == "ss")
    try:
        found = ss.parse(ss.header + f"tcp LISTEN 0 128 0.0.0.0:{odd} 0.0.0.0:*\n")
    except ParseError:
        return
    assert isinstance(found, list) and all(li.port != 1923 for li in found)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
@pytest.mark.parametrize("digits", [641, 5000])
def test_numbers_too_long_for_int_are_parse_errors(target: Target, digits: int) -> None:
    """A run of more digits than int() reads (4,300 by default) in any numeric place of a
    row, or after it, is a result or a ParseError, never a ValueError from int()."""
    long_number = "1" * digits
    for start in target.rows:
        pieces = re.split(r"(\d+)", start)
        rows = [start + " " + long_number, re.sub(r"\d+", long_number, start)]
        for i in range(1, len(pieces), 2):
            rows.append("".join(long_number if j == i else p for j, p in enumerate(pieces)))
        for row in rows:
            attempt(target, target.header + row + "\n")
