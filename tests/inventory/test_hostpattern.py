"""Host entries, ranges and pattern splitting, checked against ansible-core's own functions.

Hypothesis generates entries; ansible-core (a test dependency) says what they mean.
Where Ansible silently expands a range to no hosts, so does `expand` (the readers warn).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetcheck.inventory import hostpattern
from fleetcheck.inventory.patterns import split_pattern
from tests.inventory.oracle import require_ansible

ENTRY_CHARS = "abcxyzAZ019_-.:[]/@!&*?~, "
BOUND = st.sampled_from(["", "0", "1", "01", "3", "9", "10", "010", "a", "c", "z", "A", "Z",
                         "ab", "-1", "x1", "ff"])
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except Exception:  # we compare *whether* each side refuses, not how
        return "error", None


@pytest.fixture(scope="module")
def ansible_address() -> Callable[..., Any]:
    require_ansible()
    from ansible.parsing.utils.addresses import parse_address

    return parse_address  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def ansible_expand() -> Callable[[str], list[str]]:
    require_ansible()
    from ansible.plugins.inventory import expand_hostname_range

    return expand_hostname_range  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def ansible_split() -> Callable[[str], list[str]]:
    require_ansible()
    from ansible.inventory.manager import split_host_pattern

    return split_host_pattern  # type: ignore[no-any-return]


@SETTINGS
@given(text=st.text(alphabet=ENTRY_CHARS, max_size=24), ranges=st.booleans())
def test_parse_address_agrees_with_ansible(ansible_address: Callable[..., Any], text: str,
                                           ranges: bool) -> None:
    theirs = _outcome(lambda: ansible_address(text, allow_ranges=ranges))
    ours = _outcome(lambda: hostpattern.parse_address(text, allow_ranges=ranges))
    assert ours == theirs


@pytest.mark.parametrize(("entry", "expected"), [
    ("web1:2222", ("web1", 2222)),
    ("10.0.0.1:22", ("10.0.0.1", 22)),
    ("[2001:db8::1]:2200", ("2001:db8::1", 2200)),
    ("2001:db8::1", ("2001:db8::1", None)),
    ("web[01:10].example.com:2222", ("web[01:10].example.com", 2222)),
    ("my_host_:22", ("my_host_:22", None)),  # not a host name: kept whole, as Ansible does
])
def test_split_entry_examples(entry: str, expected: tuple[str, int | None]) -> None:
    assert hostpattern.split_entry(entry) == expected


@SETTINGS
@given(head=st.sampled_from(["web", "db-", "", "h.", "x[1:2]"]), begin=BOUND, end=BOUND,
       step=st.sampled_from([None, "1", "2", "3", "0", "-1", "x", ""]),
       tail=st.sampled_from(["", ".example.com", "-[a:b]", "]", "|"]))
def test_range_expansion_agrees_with_ansible(ansible_expand: Callable[[str], list[str]],
                                             head: str, begin: str, end: str,
                                             step: str | None, tail: str) -> None:
    pattern = f"{head}[{begin}:{end}{'' if step is None else ':' + step}]{tail}"
    kind, theirs = _outcome(lambda: ansible_expand(pattern))
    if kind == "ok":  # an empty expansion too (the inventory readers warn about it)
        assert hostpattern.expand(pattern) == theirs
    else:
        with pytest.raises(hostpattern.RangeError):
            hostpattern.expand(pattern)


@pytest.mark.parametrize(("pattern", "expected"), [
    ("web[01:03]", ["web01", "web02", "web03"]),
    ("web[1:9:4]", ["web1", "web5", "web9"]),
    ("db-[a:c]", ["db-a", "db-b", "db-c"]),
    ("r[1:2]-[a:b]", ["r1-a", "r1-b", "r2-a", "r2-b"]),
    ("n[:2]", ["n0", "n1", "n2"]),
    ("plain", ["plain"]),
])
def test_range_examples(pattern: str, expected: list[str]) -> None:
    assert hostpattern.expand(pattern) == expected


@SETTINGS
@given(text=st.text(alphabet="web01:&!,[]~* .db", max_size=24))
def test_pattern_split_agrees_with_ansible(ansible_split: Callable[[str], list[str]],
                                           text: str) -> None:
    assert split_pattern(text) == ansible_split(text)
